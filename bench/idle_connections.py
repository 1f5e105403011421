#!/usr/bin/env python3
"""Peak memory of ringmta holding many idle SMTP connections.

Starts ringmta on a temporary spool with connection limits raised, opens N connections (each
reads its 220 greeting and then idles), and reports the gateway's resident memory before and
with them open (VmRSS, VmHWM from /proc). Usage:

    bench/idle_connections.py [--connections 10000] [--bin build/mta/ringmta]
"""
import argparse
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time


def mem_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--bin", default=os.environ.get("RINGMTA_BIN", "build/mta/ringmta"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.connections + 100 > hard:
        sys.exit(f"need {args.connections + 100} file descriptors, the hard limit is {hard}")

    work = tempfile.mkdtemp(prefix="ringmta-idle.")
    port = free_port()
    cfg = {
        "server": {"spool_dir": f"{work}/spool", "threads": args.threads},
        "listeners": [{"address": f"127.0.0.1:{port}"}],
        "limits": {"connections_max": args.connections + 10,
                   "connections_per_ip_max": args.connections + 10},
    }
    with open(f"{work}/ringmta.json", "w") as f:
        json.dump(cfg, f)
    log = open(f"{work}/ringmta.log", "w")
    proc = subprocess.Popen([args.bin, "serve", "-c", f"{work}/ringmta.json"],
                            stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)
        base_rss = mem_kib(proc.pid, "VmRSS")
        sel = selectors.DefaultSelector()
        socks = []
        t0 = time.time()
        for i in range(args.connections):
            s = socket.socket()
            s.setblocking(True)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        greeted = 0
        deadline = time.time() + 60
        while greeted < args.connections and time.time() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(512)
                if data.startswith(b"220 "):
                    greeted += 1
                sel.unregister(key.fileobj)
        elapsed = time.time() - t0
        time.sleep(1.0)
        rss = mem_kib(proc.pid, "VmRSS")
        hwm = mem_kib(proc.pid, "VmHWM")
        print(json.dumps({
            "connections": args.connections, "greeted": greeted, "shards": args.threads,
            "seconds_to_open": round(elapsed, 2),
            "rss_before_kib": base_rss, "rss_with_connections_kib": rss, "peak_rss_kib": hwm,
            "bytes_per_idle_connection": round((rss - base_rss) * 1024 / max(1, greeted)),
        }, indent=1))
        for s in socks:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
