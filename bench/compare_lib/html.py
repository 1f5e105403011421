# The self-contained HTML report: the summary table, and per load a chart of delivered msgs/s
# over time (0.5 s windows at the sink) and one of the latency distributions, as inline SVG.
# No scripts, no external files: the page is one document that opens anywhere.
import html
import math

from compare_lib import summary

COLORS = {"ringmta": "#1f77b4", "postfix": "#d62728"}
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 300, 64, 150, 20, 44


def _nice_step(span, ticks=5):
    raw = span / ticks if span > 0 else 1
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _line_chart(lines, x_title, y_title, log_x=False):
    """lines: [(label, color, dash, [(x, y)])]; returns an <svg> element."""
    pts = [p for _, _, _, ps in lines for p in ps if p[0] is not None and p[1] is not None]
    if log_x:
        pts = [(x, y) for x, y in pts if x > 0]
    if not pts:
        return "<p>(no data)</p>"
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    x0, x1 = min(fx(x) for x, _ in pts), max(fx(x) for x, _ in pts)
    if log_x:
        x0, x1 = math.floor(x0), math.ceil(x1)
    else:
        x0 = min(0, x0)
    y0, y1 = 0, max(y for _, y in pts) * 1.05 or 1
    x1 = x1 if x1 > x0 else x0 + 1
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def sx(v):
        return PAD_L + (fx(v) - x0) / (x1 - x0) * pw

    def sy(v):
        return PAD_T + ph - (v - y0) / (y1 - y0) * ph

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (W, H)]
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>'
               % (PAD_L, PAD_T, pw, ph))
    step = _nice_step(y1 - y0)
    v = y0
    while v <= y1:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>'
                   '<text x="%d" y="%.1f" text-anchor="end">%g</text>'
                   % (PAD_L, PAD_L + pw, sy(v), sy(v), PAD_L - 4, sy(v) + 4, v))
        v += step
    if log_x:
        xticks = [10 ** e for e in range(int(x0), int(x1) + 1)]
    else:
        xs = _nice_step(x1 - x0)
        xticks = [x0 + i * xs for i in range(int((x1 - x0) / xs) + 1)]
    for t in xticks:
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>'
                   '<text x="%.1f" y="%d" text-anchor="middle">%g</text>'
                   % (sx(t), sx(t), PAD_T, PAD_T + ph, sx(t), PAD_T + ph + 14, t))
    out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
               % (PAD_L + pw // 2, H - 8, html.escape(x_title)))
    out.append('<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>'
               % (PAD_T + ph // 2, PAD_T + ph // 2, html.escape(y_title)))
    for i, (label, color, dash, ps) in enumerate(lines):
        ps = [(x, y) for x, y in ps if x is not None and y is not None and (x > 0 or not log_x)]
        if ps:
            path = " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in ps)
            out.append('<polyline fill="none" stroke="%s" stroke-width="1.8" %s points="%s"/>'
                       % (color, 'stroke-dasharray="5,3"' if dash else "", path))
        ly = PAD_T + 14 + 16 * i
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" %s/>'
                   '<text x="%d" y="%d">%s</text>'
                   % (W - PAD_R + 8, W - PAD_R + 28, ly - 4, ly - 4, color,
                      'stroke-dasharray="5,3"' if dash else "", W - PAD_R + 32, ly,
                      html.escape(label)))
    out.append("</svg>")
    return "".join(out)


def _rate_points(series, window_s=0.5):
    """Cumulative (t, count) samples -> (window end, msgs/s) per window_s window."""
    out, prev_t, prev_n, edge = [], 0.0, 0, window_s
    for t, n in series:
        if t >= edge:
            out.append((t, (n - prev_n) / (t - prev_t) if t > prev_t else 0.0))
            prev_t, prev_n = t, n
            edge = t + window_s
    return out


def _table(rows):
    out = ["<table><tr><th>size</th><th>sessions</th><th>metric</th><th>ringmta</th>"
           "<th>Postfix</th><th>ringmta / Postfix</th></tr>"]
    for row in rows:
        for key, title, _ in summary.METRICS:
            r = row["servers"].get("ringmta", {}).get(key)
            p = row["servers"].get("postfix", {}).get(key)
            ratio = row.get("ratio", {}).get(key)
            out.append("<tr><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                       "</tr>" % (row["size"], row["sessions"], html.escape(title),
                                  summary._fmt(key, r), summary._fmt(key, p),
                                  summary.ratio_text(ratio)))
    out.append("</table>")
    return "".join(out)


def render(report):
    runs, rows, settings = report["runs"], report["summary"], report["settings"]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>ringmta vs Postfix</title>"
             "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:right}pre{background:#f6f6f6;padding:8px}</style></head><body>",
             "<h1>ringmta against Postfix, end to end</h1>",
             "<pre>%s</pre>" % html.escape(report["description"]),
             _table(rows)]
    for row in rows:
        size, sessions = row["size"], row["sessions"]
        parts.append("<h2>%d-byte messages, %d sessions</h2>" % (size, sessions))
        rate_lines, lat_lines = [], []
        for server in ("ringmta", "postfix"):
            run = summary.representative(runs, size, sessions, server)
            if run is None:
                continue
            color = COLORS[server]
            rate_lines.append((server, color, False, _rate_points(run["throughput"])))
            lat_lines.append((server + " EOD->250", color, True,
                              [(v, p) for p, v in run["source_points"]]))
            lat_lines.append((server + " end to end (%s)" % run["e2e_latency_origin"], color,
                              False, [(v, p) for p, v in run["e2e_points"]]))
        parts.append("<p>Delivered at the sink, msgs/s per 0.5 s (the run with the median "
                     "end-to-end rate of each server; time from the start of the source)</p>")
        parts.append(_line_chart(rate_lines, "seconds since the source started", "msgs/s"))
        parts.append("<p>Latency distribution: percentile against milliseconds (log scale). "
                     "Dashed: source, end of DATA to 250. Solid: end to end.</p>")
        parts.append(_line_chart(lat_lines, "latency (ms, log scale)", "percentile",
                                 log_x=True))
    parts.append("<h2>Settings</h2><pre>%s</pre></body></html>"
                 % html.escape(repr(settings)))
    return "\n".join(parts)
