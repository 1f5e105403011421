#!/usr/bin/env python3
"""Ceiling of the load tools: ringmta-bench source -> ringmta-bench sink against Postfix's
smtp-source -> smtp-sink (and the crossed pairs) on loopback, in one run, median of N.
Reports msgs/s (the source's count of accepted messages over wall time) and CPU per message
of each side (getrusage for the source, /proc/PID/stat for the sink).

usage: bench/load/measure_ceiling.py [--bench BIN] [--reps 3] [--sizes 1024,102400]
                                     [--sessions 10,50] [--port 27100]
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import time

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def start_sink(kind, bench, port):
    if kind == "ringmta":
        cmd = [bench, "sink", "--listen", "127.0.0.1:%d" % port]
    else:
        cmd = ["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % port, "1024"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import socket
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.recv(100)
            return p
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sink %s did not start" % kind)


def run_source(kind, bench, port, size, sessions, messages, pipelining):
    if kind == "ringmta":
        cmd = [bench, "source", "--to", "127.0.0.1:%d" % port, "--sessions", str(sessions),
               "--messages", str(messages), "--size", str(size), "--json", "--quiet"]
        if pipelining:
            cmd.append("--pipelining")
    else:
        cmd = ["smtp-source", "-d", "-s", str(sessions), "-m", str(messages), "-l", str(size),
               "-f", "bench@source.example", "-t", "user@example.net", "127.0.0.1:%d" % port]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if kind == "ringmta":
        report = json.loads(out.stdout)
        accepted = report["messages_accepted"]
        rate = report["msgs_per_s"]
    else:
        accepted = messages if out.returncode == 0 else 0
        rate = accepted / wall
    return rate, cpu / max(accepted, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build-bench/bench/ringmta-bench")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="1024,102400")
    ap.add_argument("--sessions", default="10,50")
    ap.add_argument("--port", type=int, default=27100)
    a = ap.parse_args()
    pairs = [("postfix", "postfix", False), ("ringmta", "ringmta", False),
             ("ringmta", "ringmta", True), ("postfix", "ringmta", False),
             ("ringmta", "postfix", True)]
    print("| size | sessions | source -> sink | msgs/s (median of %d) | source CPU us/msg "
          "| sink CPU us/msg |" % a.reps)
    print("|---:|---:|---|---:|---:|---:|")
    for size in [int(s) for s in a.sizes.split(",")]:
        messages = 30000 if size <= 4096 else 6000
        for sessions in [int(s) for s in a.sessions.split(",")]:
            results = {p: [] for p in pairs}
            for _ in range(a.reps):
                for pair in pairs:  # interleaved, so load changes hit every pair alike
                    src, snk, pipe = pair
                    port = a.port
                    a.port += 1
                    sink = start_sink(snk, a.bench, port)
                    sink_cpu0 = cpu_s(sink.pid)
                    rate, src_cpu = run_source(src, a.bench, port, size, sessions, messages, pipe)
                    sink_cpu = (cpu_s(sink.pid) - sink_cpu0) / messages
                    sink.send_signal(signal.SIGTERM)
                    sink.wait()
                    results[pair].append((rate, src_cpu, sink_cpu))
            for pair in pairs:
                src, snk, pipe = pair
                rs = results[pair]
                name = "%s%s -> %s" % ("ringmta-bench" if src == "ringmta" else "smtp-source -d",
                                        " --pipelining" if pipe else "",
                                        "ringmta-bench" if snk == "ringmta" else "smtp-sink")
                print("| %d | %d | %s | %.0f | %.1f | %.1f |" % (
                    size, sessions, name, statistics.median(r[0] for r in rs),
                    statistics.median(r[1] for r in rs) * 1e6,
                    statistics.median(r[2] for r in rs) * 1e6), flush=True)


if __name__ == "__main__":
    main()
