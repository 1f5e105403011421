#!/usr/bin/env python3
"""How long `ringmta queue list|summary` take on a large queue, and what they cost delivery.

Starts ringmta on a temporary spool whose only smart host refuses connections (so everything
stays queued, deferred), fills the queue with ringmta-bench, then times each queue command
(median of --reps runs). Meanwhile a light load generator keeps sending: its accept latency
with listings running is compared with the same load without them, which shows whether a
listing stalls the shards. Usage:

    bench/queue_listing.py [--messages 100000] [--reps 3] [--bin build/mta/ringmta]
                           [--bench-bin build/bench/ringmta-bench]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def timed(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.decode()}")
    return time.monotonic() - t, len(p.stdout)


def source(bench_bin, port, *args):
    cmd = [bench_bin, "source", "--to", f"127.0.0.1:{port}", "--json", "--quiet", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report_of(proc):
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        sys.exit(f"ringmta-bench source failed: {err}")
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default=os.environ.get("RINGMTA_BIN", "build/mta/ringmta"))
    ap.add_argument("--bench-bin",
                    default=os.environ.get("RINGMTA_BENCH_BIN", "build/bench/ringmta-bench"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ringmta-qlist.")
    port = free_port()
    cfg = {
        "server": {"spool_dir": f"{work}/spool", "threads": args.threads,
                   "control_socket": f"{work}/control.sock"},
        "listeners": [{"address": f"127.0.0.1:{port}"}],
        # Port 9 on loopback refuses: every message stays queued.
        "connectors": [{"name": "outbound", "address_spaces": ["*"],
                        "smart_hosts": ["127.0.0.1:9"]}],
        "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
        "limits": {"queue_messages_max": args.messages * 2 + 100000},
    }
    config = f"{work}/ringmta.json"
    with open(config, "w") as f:
        json.dump(cfg, f)
    log = open(f"{work}/ringmta.log", "wb")
    gw = subprocess.Popen([args.bin, "serve", "-c", config], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        fill = report_of(source(args.bench_bin, port, "--messages", args.messages,
                                "--sessions", 8, "--pipelining", "--size", 1000))
        print(f"queued {fill['messages_accepted']} messages "
              f"({fill['msgs_per_s']:.0f}/s)", file=sys.stderr)

        commands = {
            "queue list --json": [args.bin, "queue", "list", "--json", "-c", config],
            "queue list": [args.bin, "queue", "list", "-c", config],
            "queue summary": [args.bin, "queue", "summary", "-c", config],
            "queue list --domain (no match)":
                [args.bin, "queue", "list", "--domain", "none.example", "-c", config],
        }
        # A light steady load, first alone, then while the listings run back to back.
        quiet = report_of(source(args.bench_bin, port, "--duration", 4, "--sessions", 2,
                                 "--rate", 200, "--size", 1000))
        busy_load = source(args.bench_bin, port, "--duration", 4 * args.reps, "--sessions", 2,
                           "--rate", 200, "--size", 1000)
        results = {}
        for name, cmd in commands.items():
            runs = [timed(cmd) for _ in range(args.reps)]
            results[name] = (statistics.median(r[0] for r in runs), runs[0][1])
        busy = report_of(busy_load)

        print(f"{'command':34} {'median s':>9} {'output bytes':>13}")
        for name, (seconds, size) in results.items():
            print(f"{name:34} {seconds:9.3f} {size:13d}")
        for label, rep in (("load alone", quiet), ("load during listings", busy)):
            lat = rep.get("latency_ms", {})
            print(f"{label:22} accept latency p50 {lat.get('p50', 0):.2f} ms, "
                  f"p99 {lat.get('p99', 0):.2f} ms, max {lat.get('max', 0):.2f} ms, "
                  f"failed {rep['messages_failed']}")
    finally:
        gw.send_signal(signal.SIGTERM)
        gw.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
