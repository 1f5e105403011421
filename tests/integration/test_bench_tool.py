# ringmta-bench end to end on loopback: source -> sink counts, stored content byte-exact
# (dot-stuffing, LF normalisation, the X-Bench-Sent and Message-ID headers), injected
# 4xx/5xx shares reported by code, max-per-conn reconnects, max-conns refusals, drops, reply
# latency, STARTTLS, and the --eml corpus. Every sink is stopped by PID at teardown.
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import DEFAULT_BENCH_BIN, EML_DIR, free_port
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def bench_bin():
    path = os.environ.get("RINGMTA_BENCH_BIN", DEFAULT_BENCH_BIN)
    if not os.access(path, os.X_OK):
        pytest.skip("ringmta-bench not found at %s (set RINGMTA_BENCH_BIN)" % path)
    return path


class Sink:
    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [bench_bin(), "sink", "--listen", "127.0.0.1:%d" % self.port, "--json"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "listening" in line, "sink did not start: %r" % line

    def stop(self):
        """SIGTERM, then the final JSON report."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, "sink exit %d: %s" % (self.proc.returncode, err)
        return json.loads(out.strip().splitlines()[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def sinks():
    made = []

    def make(*args):
        s = Sink(*args)
        made.append(s)
        return s

    yield make
    for s in made:
        s.kill()


def source(sink, *args, timeout_s=30, want_rc=0):
    cmd = [bench_bin(), "source", "--to", "127.0.0.1:%d" % sink.port, "--json", "--quiet"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout_s)
    assert r.returncode == want_rc, \
        "source exit %d, want %d: %s" % (r.returncode, want_rc, r.stderr)
    return json.loads(r.stdout)


def stored(store_dir):
    names = sorted(os.listdir(store_dir), key=int)
    return [open(os.path.join(store_dir, n), "rb").read() for n in names]


def generated_body(size):
    """The body ringmta-bench generates, written independently of its C++."""
    out, k = [], 0
    total = 0
    while total + 3 <= size:
        n = min(76, size - total - 2)
        line = "".join("." if (j == 0 and k % 8 == 3) else ALPHABET[(k + j) % 62]
                       for j in range(n))
        out.append(line + "\r\n")
        total += n + 2
        k += 1
    return "".join(out).encode()


def normalized(raw):
    text = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    if text and not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text


def without_message_id(message):
    head, sep, body = message.partition(b"\r\n\r\n")
    if not sep:
        head, body = message, b""
    lines, dropping = [], False
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):
            dropping = line.lower().startswith(b"message-id:")
        if not dropping:
            lines.append(line)
    return b"\r\n".join(lines) + sep + body


HEADER_RE = re.compile(rb"X-Bench-Sent: (\d+)\r\n"
                       rb"Message-ID: <(\d+)\.(\d+)@ringmta-bench\.invalid>\r\n")


@pytest.mark.parametrize("mode", [["--pipelining"], [], ["--bdat", "--pipelining"],
                                  ["--new-connection-per-message"]],
                         ids=["pipelining", "lockstep", "bdat", "connection-per-message"])
def test_counts_and_stored_content(sinks, tmp_path, mode):
    store = tmp_path / "store"
    store.mkdir()
    sink = sinks("--store", str(store))
    n = 300 if "--new-connection-per-message" in mode else 2000
    start_ns = time.time_ns()
    rep = source(sink, "--messages", n, "--sessions", 8, "--size", 1500, "--rcpts", 2, *mode)
    got = sink.stop()
    assert rep["messages_accepted"] == n, rep
    assert rep["messages_failed"] == 0 and rep["replies"] == {}, rep
    assert rep["recipients_accepted"] == 2 * n
    assert rep["latency_ms"]["count"] == n
    assert got["messages"] == n, got
    assert got["latency_ms"]["count"] == n
    want_conns = n if "--new-connection-per-message" in mode else 8
    assert got["connections"] == want_conns and rep["connections"] == want_conns
    files = stored(store)
    assert len(files) == n
    body = generated_body(1500 - 260)
    ids = set()
    for content in files:
        m = HEADER_RE.match(content)
        assert m, content[:200]
        assert start_ns <= int(m.group(1)) <= time.time_ns()
        ids.add(m.group(2))
        head, _, rest = content[m.end():].partition(b"\r\n\r\n")
        assert head.startswith(b"Date: ") and b"\r\nFrom: <bench@source.example>" in head
        assert head.endswith(b"Subject: ringmta-bench message " + m.group(2)), head
        assert rest == body, "stored body: got %r, want %r" % (rest[:300], body[:300])
    assert len(ids) == n, "Message-IDs are not unique"
    assert b"\r\n.EFGH" in body and b"\r\n..EFGH" not in files[0], "dot lines arrive unstuffed"


def test_tempfail_and_permfail_shares_by_code(sinks):
    sink = sinks("--tempfail", "0.2", "--permfail", "10%", "--seed", "7")
    n = 5000
    rep = source(sink, "--messages", n, "--sessions", 10, "--pipelining")
    got = sink.stop()
    t, p = rep["replies"].get("451", 0), rep["replies"].get("554", 0)
    assert 0.16 * n <= t <= 0.24 * n, "451 count: got %d of %d, want about 20%%" % (t, n)
    assert 0.07 * n <= p <= 0.13 * n, "554 count: got %d of %d, want about 10%%" % (p, n)
    assert rep["messages_failed"] == t + p
    assert rep["messages_accepted"] + rep["messages_failed"] == n
    assert got["replies"] == {"451": t, "554": p}, got
    assert got["messages"] == rep["messages_accepted"]


def test_rcpt_failures_by_code(sinks):
    sink = sinks("--tempfail", "0.3", "--fail-at", "rcpt", "--seed", "3")
    n = 2000
    rep = source(sink, "--messages", n, "--sessions", 5, "--rcpts", 2)
    got = sink.stop()
    t = rep["replies"].get("451", 0)
    assert 0.25 * 2 * n <= t <= 0.35 * 2 * n, "451 per RCPT: got %d of %d" % (t, 2 * n)
    assert rep["recipients_accepted"] == 2 * n - t
    # A message fails only when both of its recipients were refused (about 9%).
    assert 0.05 * n <= rep["messages_failed"] <= 0.13 * n, rep
    assert got["messages"] == rep["messages_accepted"]


def test_max_per_conn_forces_reconnects(sinks):
    sink = sinks("--max-per-conn", "10")
    n = 1000
    rep = source(sink, "--messages", n, "--sessions", 5, "--pipelining")
    got = sink.stop()
    assert rep["messages_accepted"] == n and rep["messages_failed"] == 0, rep
    assert got["messages_per_connection"]["max"] == 10, got
    assert got["connections"] >= n // 10, got
    assert rep["connections"] == got["connections"]
    assert rep["replies"].get("421", 0) >= n // 10 - 5, rep


def test_max_conns_refuses_at_greeting(sinks):
    sink = sinks("--max-conns", "2")
    rep = source(sink, "--messages", 600, "--sessions", 6)
    got = sink.stop()
    assert rep["messages_accepted"] == 600, rep
    assert got["refused_connections"] > 0
    assert got["replies"].get("421") == got["refused_connections"], got


def test_drop_loses_verdicts_and_reconnects(sinks):
    sink = sinks("--drop", "0.05", "--seed", "11")
    n = 2000
    rep = source(sink, "--messages", n, "--sessions", 4, "--pipelining")
    got = sink.stop()
    assert got["dropped_connections"] > 0
    assert rep["messages_failed"] == got["dropped_connections"], (rep, got)
    assert rep["messages_accepted"] == got["messages"] == n - got["dropped_connections"]
    assert rep["connections"] == 4 + got["dropped_connections"]


def test_reply_latency_is_injected(sinks):
    sink = sinks("--latency-ms", "40")
    rep = source(sink, "--messages", 20, "--sessions", 2, "--pipelining")
    sink.stop()
    assert rep["latency_ms"]["p50"] >= 39, rep["latency_ms"]


def test_starttls(sinks, tls_files):
    cert, key = tls_files
    sink = sinks("--tls-cert", cert, "--tls-key", key)
    rep = source(sink, "--messages", 300, "--sessions", 3, "--starttls", "--pipelining")
    got = sink.stop()
    assert rep["messages_accepted"] == 300 and got["messages"] == 300, (rep, got)


@pytest.mark.parametrize("mode", [["--pipelining"], ["--bdat"]], ids=["data", "bdat"])
def test_eml_corpus_arrives_byte_exact(sinks, tmp_path, mode):
    if not os.path.isdir(EML_DIR):
        pytest.skip("%s does not exist: no .eml corpus to send" % EML_DIR)
    names = sorted(n for n in os.listdir(EML_DIR) if n.endswith(".eml"))
    store = tmp_path / "store"
    store.mkdir()
    sink = sinks("--store", str(store))
    rep = source(sink, "--eml", EML_DIR, "--messages", len(names), "--sessions", 1, *mode)
    sink.stop()
    assert rep["messages_accepted"] == len(names), rep
    files = stored(store)
    for name, content in zip(names, files):
        want = without_message_id(normalized(open(os.path.join(EML_DIR, name), "rb").read()))
        m = HEADER_RE.match(content)
        assert m, "%s: stored without the bench headers: %r" % (name, content[:200])
        got = content[m.end():]
        assert got == want, "%s: got %r, want %r" % (name, got[:300], want[:300])
    assert any(b"\r\n." in f for f in files), "the corpus exercises dot-stuffing"


def test_usage_errors_exit_2():
    for args in (["source"], ["source", "--to", "127.0.0.1:1", "--bogus"], ["sink"], ["nope"]):
        r = subprocess.run([bench_bin()] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, "%s: exit %d, want 2" % (args, r.returncode)


def test_unreachable_target_exits_3(tmp_path):
    port = free_port()
    r = subprocess.run([bench_bin(), "source", "--to", "127.0.0.1:%d" % port, "--messages", "5",
                        "--sessions", "1", "--timeout", "0.5", "--json", "--quiet"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3, "exit %d, want 3: %s" % (r.returncode, r.stderr)


@pytest.mark.parametrize("command", ["source", "sink"])
def test_help_prints_usage_and_exits_0(command):
    for flag in ("--help", "-h"):
        r = subprocess.run([bench_bin(), command, flag], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, "%s %s: exit %d: %s" % (command, flag, r.returncode, r.stderr)
        assert r.stdout.startswith("usage: ringmta-bench %s " % command), r.stdout[:200]
        assert "--threads N" in r.stdout and r.stderr == "", (r.stdout, r.stderr)


@pytest.mark.parametrize("bound,min_s", [(["--duration", "2"], 1.9),
                                         (["--messages", "5", "--connect-timeout", "1"], 0.9)],
                         ids=["duration", "connect-timeout"])
def test_unreachable_target_gives_up_in_time(bound, min_s):
    """Refused connections are retried as long as the run or the connect timeout lasts, and no
    longer (--timeout left at its 30 s default, which once bounded the retries)."""
    port = free_port()
    started = time.monotonic()
    r = subprocess.run([bench_bin(), "source", "--to", "127.0.0.1:%d" % port, "--sessions", "3",
                        "--json", "--quiet"] + bound, capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - started
    assert r.returncode == 3, "exit %d, want 3: %s" % (r.returncode, r.stderr)
    assert min_s <= elapsed < 5, "took %.1f s" % elapsed
    report = json.loads(r.stdout)
    assert report["messages_accepted"] == 0 and report["sessions_given_up"] == 3, report
    assert report["connect_errors"] > 3, report
    assert "giving up on 127.0.0.1:%d" % port in r.stderr, r.stderr
