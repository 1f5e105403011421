# Medians over repetitions and the ringmta/Postfix ratios, from the runs' dicts. End-to-end
# latency comes from the sink (X-Bench-Sent) when the sink measured it, else from the servers'
# own "delay=" log fields (queued -> delivered; ringmta logs seconds with 3 decimals, so 1 ms
# resolution), labelled so.
import statistics

LOG_PERCENTS = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.9, 100]
SOURCE_POINTS = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)]


def percentile(sorted_values, percent):
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, int(round(percent / 100.0 * len(sorted_values))) - 1))
    return sorted_values[rank]


def condense(run):
    """Replaces the raw log delays by percentiles (ms) and adds the e2e latency's origin."""
    delays = sorted(run.pop("log_delays_s", []))
    run["log_delay_ms"] = {"count": len(delays),
                           "points": [(p, percentile(delays, p) * 1000.0) for p in LOG_PERCENTS]
                           if delays else []}
    sink_latency = run.get("sink", {}).get("latency_ms", {})
    if sink_latency.get("count", 0) > 0:
        run["e2e_latency_origin"] = "sink"
        run["e2e_p99_ms"] = sink_latency["p99"]
        run["e2e_points"] = [(pct, sink_latency[k]) for k, pct in SOURCE_POINTS] + \
            [(100, sink_latency["max"])]
    else:
        run["e2e_latency_origin"] = "log"
        run["e2e_p99_ms"] = percentile(delays, 99) * 1000.0 if delays else None
        run["e2e_points"] = run["log_delay_ms"]["points"]
    lat = run.get("source", {}).get("latency_ms", {})
    run["source_p99_ms"] = lat.get("p99")
    run["source_points"] = [(pct, lat[k]) for k, pct in SOURCE_POINTS if k in lat] + \
        ([(100, lat["max"])] if "max" in lat else [])
    run["peak_memory_bytes"] = run["vm_hwm_bytes"] if run["server"] == "ringmta" \
        else run["peak_rss_sampled_bytes"]
    return run


METRICS = [  # key, heading, higher is better
    ("accept_msgs_per_s", "accept msgs/s", True),
    ("e2e_msgs_per_s", "end-to-end msgs/s", True),
    ("source_p99_ms", "p99 EOD->250 ms", False),
    ("e2e_p99_ms", "p99 end-to-end ms", False),
    ("cpu_s_per_1000", "CPU s/1000 msgs", False),
    ("peak_memory_bytes", "peak memory MiB", False),
    ("peak_pss_sampled_bytes", "peak PSS MiB", False),
]


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None and (r["ok"] or key.startswith(
        "accept") or key.startswith("source"))]
    return statistics.median(values) if values else None


def summarize(runs):
    """One row per (size, sessions): medians of each server and the ratio ringmta/Postfix."""
    rows = []
    keys = sorted({(r["size"], r["sessions"]) for r in runs})
    for size, sessions in keys:
        row = {"size": size, "sessions": sessions, "servers": {}}
        for server in ("ringmta", "postfix"):
            mine = [r for r in runs if (r["size"], r["sessions"], r["server"]) ==
                    (size, sessions, server)]
            if not mine:
                continue
            med = {key: median_of(mine, key) for key, _, _ in METRICS}
            med["runs"] = len(mine)
            med["ok_runs"] = sum(1 for r in mine if r["ok"])
            med["e2e_latency_origin"] = mine[0]["e2e_latency_origin"]
            row["servers"][server] = med
        if len(row["servers"]) == 2:
            a, b = row["servers"]["ringmta"], row["servers"]["postfix"]
            row["ratio"] = {key: (a[key] / b[key] if a[key] and b[key] else None)
                            for key, _, _ in METRICS}
        rows.append(row)
    return rows


def representative(runs, size, sessions, server):
    """The run with the median end-to-end rate (for the charts)."""
    mine = sorted((r for r in runs if (r["size"], r["sessions"], r["server"]) ==
                   (size, sessions, server)), key=lambda r: r["e2e_msgs_per_s"])
    return mine[len(mine) // 2] if mine else None


def _fmt(key, v):
    if v is None:
        return "-"
    if key.endswith("_bytes"):
        return "%.1f" % (v / 1048576.0)
    if key.endswith("_ms") or key == "cpu_s_per_1000":
        return "%.2f" % v if v < 100 else "%.0f" % v
    return "%.0f" % v


def ratio_text(ratio):
    return "%.3gx" % ratio if ratio else "-"


def text_table(rows):
    head = ["size", "sess", "metric", "ringmta", "postfix", "ratio r/p"]
    lines = ["%-7s %4s  %-20s %10s %10s %9s" % tuple(head)]
    for row in rows:
        for key, title, _ in METRICS:
            r = row["servers"].get("ringmta", {}).get(key)
            p = row["servers"].get("postfix", {}).get(key)
            ratio = row.get("ratio", {}).get(key)
            lines.append("%-7d %4d  %-20s %10s %10s %9s" % (
                row["size"], row["sessions"], title, _fmt(key, r), _fmt(key, p),
                ratio_text(ratio)))
        lines.append("")
    return "\n".join(lines)
