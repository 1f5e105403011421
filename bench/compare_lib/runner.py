# One measured run: a fresh ringmta-bench sink, the same ringmta-bench source load into one
# server (ringmta started fresh on an empty spool, or the running Postfix), timings from the
# source's and the sink's JSON, CPU and memory from /proc. A run that does not deliver every
# message before its timeout is returned with ok = False and what it did deliver.
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from compare_lib import procstat

SENT_DELAY = re.compile(r"delay=([0-9.]+),.*status=sent")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when something listens on 127.0.0.1:port (read from /proc/net/tcp, no connect)."""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[1].endswith(want) and cols[3] == "0A":
                return True
    return False


def wait_listening(port, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while not listening(port):
        if time.monotonic() > deadline:
            raise RuntimeError("nothing listens on 127.0.0.1:%d after %d s" % (port, timeout_s))
        time.sleep(0.02)


class Sink:
    """ringmta-bench sink with a JSON report every interval; each report line is kept with
    its arrival time so that throughput over time and the time of the last delivery can be
    placed on this process's monotonic clock."""

    def __init__(self, bench, port, interval_s=0.1):
        self.reports = []  # (arrival monotonic s, report dict)
        self.target = None
        self.reached = threading.Event()
        self.proc = subprocess.Popen(
            [bench, "sink", "--listen", "127.0.0.1:%d" % port, "--json",
             "--report-interval", str(interval_s)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening" not in line:
            self.proc.kill()
            raise RuntimeError("sink did not start: %s" % line.strip())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            t = time.monotonic()
            try:
                report = json.loads(line)
            except ValueError:
                continue
            self.reports.append((t, report))
            if self.target is not None and report.get("messages", 0) >= self.target:
                self.reached.set()

    def cpu_ticks(self):
        return procstat.cpu_ticks(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return self.reports[-1][1] if self.reports else {}

    def timeline(self, t0):
        """[(seconds since t0, messages received)] and the time (since t0) the last message
        arrived, or None. The sink reports elapsed_s since it started and active_s = last -
        first message; every report gives an upper bound of the first message's time
        (report time - active_s, exact when a message arrived just before the report), so
        the smallest bound is used and the last arrival is that plus the final active_s."""
        if not self.reports:
            return [], None
        start = min(t - r["elapsed_s"] for t, r in self.reports)
        series = [(start + r["elapsed_s"] - t0, r["messages"]) for _, r in self.reports]
        busy = [(start + r["elapsed_s"] - r["active_s"], r) for _, r in self.reports
                if r["messages"] > 0]
        if not busy:
            return series, None
        first = min(b for b, _ in busy)
        last = first + busy[-1][1]["active_s"]
        return series, last - t0


def write_ringmta_config(path, workdir, in_port, sink_port, pool_max):
    config = {
        "server": {"hostname": "ringmta.bench.test", "spool_dir": os.path.join(workdir, "spool")},
        "listeners": [{"address": "127.0.0.1:%d" % in_port}],
        "connectors": [{"name": "sink", "address_spaces": ["*"],
                        "smart_hosts": ["127.0.0.1:%d" % sink_port],
                        "pool": {"max_connections_per_host": pool_max}}],
    }
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def sent_delays(path, offset):
    """Per-message delay= (seconds, queued -> delivered) of status=sent lines after offset."""
    out = []
    with open(path, errors="replace") as f:
        f.seek(offset)
        for line in f:
            m = SENT_DELAY.search(line)
            if m:
                out.append(float(m.group(1)))
    return out


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Server:
    """The measured server behind a uniform face: port, pids(), cpu_ticks(), log."""

    def __init__(self, kind, port, log_path, pid_list, cpu, hwm=None, stop=None):
        self.kind, self.port, self.log_path = kind, port, log_path
        self.pids, self.cpu_ticks = pid_list, cpu
        self.hwm = hwm or (lambda: 0)
        self.stop = stop or (lambda: None)


def start_ringmta(binary, workdir, sink_port, pool_max):
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    config = os.path.join(workdir, "ringmta.json")
    write_ringmta_config(config, workdir, port, sink_port, pool_max)
    log_path = os.path.join(workdir, "ringmta.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "serve", "-c", config], stdout=log, stderr=log)
    log.close()
    try:
        wait_listening(port)
    except RuntimeError:
        proc.kill()
        raise

    def stop():
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return Server("ringmta", port, log_path, lambda: [proc.pid],
                  lambda: procstat.cpu_ticks(proc.pid), lambda: procstat.vm_hwm_bytes(proc.pid),
                  stop)


def postfix_server(relay):
    return Server("postfix", relay.in_port, relay.log_path, relay.pids,
                  lambda: procstat.process_group_cpu_ticks(relay.master_pid()))


def source_command(bench, port, load):
    cmd = [bench, "source", "--to", "127.0.0.1:%d" % port, "--sessions", str(load["sessions"]),
           "--messages", str(load["messages"]), "--size", str(load["size"]), "--json", "--quiet"]
    if load["pipelining"]:
        cmd.append("--pipelining")
    return cmd


def measure(server, sink, bench, load, timeout_s):
    """Drives load into server, waits for the sink to count every message, returns a dict."""
    messages = load["messages"]
    sink.target = messages
    log_offset = file_size(server.log_path)
    load_before = procstat.load_average()
    cpu0 = server.cpu_ticks()
    sink_cpu0 = sink.cpu_ticks()
    with procstat.MemorySampler(server.pids, 0.5) as memory:
        t0 = time.monotonic()
        src = subprocess.run(source_command(bench, server.port, load), capture_output=True,
                             text=True, timeout=timeout_s)
        t_accepted = time.monotonic() - t0
        delivered_all = sink.reached.wait(max(1.0, timeout_s - t_accepted))
        t_seen = time.monotonic() - t0
        cpu1 = server.cpu_ticks()
        sink_cpu1 = sink.cpu_ticks()
    hwm = server.hwm()
    load_after = procstat.load_average()
    try:
        source = json.loads(src.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        source = {"error": (src.stderr or src.stdout).strip()[-500:]}
    final = sink.stop()
    series, last_s = sink.timeline(t0)
    delays = sent_delays(server.log_path, log_offset)
    delivered = final.get("messages", 0)
    ok = delivered_all and delivered >= messages and "error" not in source
    e2e_s = last_s if ok and last_s else None
    return {
        "server": server.kind, "ok": ok, "messages": messages, "delivered": delivered,
        "source_exit": src.returncode, "source": source, "sink": final,
        "accept_s": source.get("elapsed_s", t_accepted),
        "accept_msgs_per_s": source.get("msgs_per_s", 0.0),
        "e2e_s": e2e_s, "e2e_seen_s": t_seen if ok else None, "e2e_msgs_per_s": messages / e2e_s if e2e_s else 0.0,
        "cpu_s": (cpu1 - cpu0) * procstat.TICK_S,
        "cpu_s_per_1000": (cpu1 - cpu0) * procstat.TICK_S * 1000.0 / messages,
        "sink_cpu_s": (sink_cpu1 - sink_cpu0) * procstat.TICK_S,
        "peak_rss_sampled_bytes": memory.peak_rss, "peak_pss_sampled_bytes": memory.peak_pss,
        "processes_at_peak": memory.processes_at_peak, "vm_hwm_bytes": hwm,
        "log_delays_s": delays, "throughput": series,
        "load_average": [load_before, load_after],
    }
