# Load and crash safety: Postfix's smtp-source against the gateway (exact message count and
# content shape in the spool), and kill -9 in the middle of load from several clients: after a
# restart on the same spool every acknowledged message must be listed and byte-exact.
import random
import re
import signal
import subprocess
import threading
import time

from conftest import SmtpClient, assert_stored, queued_id, require_tool
from spool_reader import split_received

SMTP_SOURCE = "/usr/sbin/smtp-source"

def source_headers(sender, recipient):
    """The header block smtp-source writes for -f sender -t recipient."""
    return re.compile(rb"From: <" + re.escape(sender) + rb">\r\nTo: <" + re.escape(recipient)
                      + rb">\r\nDate: [^\r\n]+\r\nMessage-Id: <[^\r\n]+>\r\n\r\n")


def smtp_source_body(length):
    """The body smtp-source sends for -l length: 80-byte lines of X, each starting with a
    digit, CRLF-terminated; the last partial line gets a CRLF of its own before the dot."""
    data = bytearray(b"X" * length)
    for i in range(80, length, 80):
        data[i - 80] = ord("0123456789"[(i // 80) % 10])
        data[i - 2:i] = b"\r\n"
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return bytes(data)


def assert_source_message(qid, env, content, want_body, sender, recipient):
    """`content` is what smtp-source sent: a Received header naming `qid`, its headers, then
    `want_body` (smtp_source_body)."""
    received, rest = split_received(content)
    assert (" id " + qid).encode() in received, received
    assert b"with SMTP id" in received, received  # smtp-source says HELO
    m = source_headers(sender, recipient).match(rest)
    assert m, "%s: unexpected header shape %r" % (qid, rest[:200])
    assert rest[m.end():] == want_body, "%s: body differs" % qid
    assert env["sender"] == sender
    assert [r["address"] for r in env["recipients"]] == [recipient]


def test_smtp_source_2000(gateway_factory):
    source = require_tool(SMTP_SOURCE, "postfix")
    gateway = gateway_factory({"server": {"spool_segment_size": 1 << 20}})
    p = subprocess.run([source, "-s", "10", "-m", "2000", "-l", "1024", "-f", "a@example.org",
                        "-t", "b@example.net", "127.0.0.1:%d" % gateway.port],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, "smtp-source exit %d: %s" % (p.returncode, p.stderr.decode())
    scan = gateway.scan()
    assert scan.damage == [], scan.damage
    assert len(scan.messages) == 2000, "want 2000 messages, got %d" % len(scan.messages)
    assert len(scan.segments) > 2, "3 MB in 1 MiB segments should need several segments"
    want_body = smtp_source_body(1024)
    for qid, (env, content) in scan.messages.items():
        assert_source_message(qid, env, content, want_body, b"a@example.org", b"b@example.net")
    assert {m["id"] for m in gateway.queue_list()} == set(scan.messages)


# ---------------------------------------------------------------- crash safety

class LoadClient(threading.Thread):
    """Sends distinct numbered messages on one session until stopped or the server dies;
    records (queue id, stored body expected) for every 250."""

    def __init__(self, port, name, acked, lock):
        super().__init__(daemon=True)
        self.port, self.label, self.acked, self.lock = port, name, acked, lock
        self.stop = threading.Event()
        self.rng = random.Random(name)
        self.error = None    # the connection broke (expected when the server is killed)
        self.failure = None  # a reply that should not have come
        self.shutdown_reply = None

    def message(self, n):
        size = self.rng.choice([100, 300, 2000, 5000, 20000, 100000])
        lines = [b"Subject: %s message %d" % (self.label.encode(), n), b""]
        total = 0
        while total < size:
            line = b"%s-%d " % (self.label.encode(), n) + b"z" * self.rng.randint(0, 90)
            if self.rng.random() < 0.05:
                line = b"." + line  # dot-stuffed on the wire, stored as is
            lines.append(line)
            total += len(line) + 2
        body = b"\r\n".join(lines) + b"\r\n"
        wire = b"\r\n".join((b"." + l if l.startswith(b".") else l) for l in lines) + b"\r\n"
        return body, wire + b".\r\n"

    def run(self):
        n = 0
        try:
            with SmtpClient(self.port, timeout_s=20) as c:
                c.greet()
                while not self.stop.is_set():
                    body, wire = self.message(n)
                    c.send(b"MAIL FROM:<load@example.org>\r\nRCPT TO:<%s-%d@example.net>\r\n"
                           b"DATA\r\n" % (self.label.encode(), n))
                    for want in ("250 2.1.0", "250 2.1.5", "354 "):
                        r = c.read_reply()
                        if r.startswith("421 4.3.2"):
                            self.shutdown_reply = r.lines  # graceful stop between messages
                            return
                        assert r.startswith(want), (want, r.lines)
                    c.send(wire)
                    qid = queued_id(c.read_reply())
                    with self.lock:
                        self.acked[qid] = body
                    n += 1
        except (OSError, EOFError) as e:
            self.error = e
        except AssertionError as e:
            self.failure = e


SOURCE_LENGTH = 2048
# smtp-source -v shows each reply it reads; this is one to the end of DATA.
SOURCE_QUEUED = re.compile(rb"<<< 250 2\.0\.0 Ok: queued as ([0-9A-F]{16})\r?$")


class SourceLoad:
    """smtp-source -v in the background; every queue id it was given is collected."""

    def __init__(self, port, length):
        source = require_tool(SMTP_SOURCE, "postfix")
        self.length = length
        self.acked = set()
        self.proc = subprocess.Popen(
            [source, "-v", "-s", "3", "-m", "1000000", "-l", str(length), "-f", "s@example.org",
             "-t", "t@example.net", "127.0.0.1:%d" % port],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            m = SOURCE_QUEUED.search(line.rstrip(b"\n"))
            if m:
                self.acked.add(m.group(1).decode())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(30)
        assert not self.reader.is_alive(), "smtp-source output reader hung"


def run_load_and_kill(gateway, acked, source_acked, seconds):
    """Python clients and smtp-source load the gateway, which is killed with -9; returns how
    many of the Python clients' messages were acknowledged. The queue ids smtp-source got are
    added to `source_acked`."""
    lock = threading.Lock()
    clients = [LoadClient(gateway.port, "c%d-%d" % (len(acked), i), acked, lock)
               for i in range(4)]
    background = SourceLoad(gateway.port, SOURCE_LENGTH)
    try:
        for c in clients:
            c.start()
        time.sleep(seconds / 2)
        # The control socket answers under load, and lists everything acknowledged so far.
        with lock:
            so_far = set(acked)
        listed = gateway.queue_ids()
        assert so_far <= listed, "queue list under load misses %d acknowledged messages" % (
            len(so_far - listed))
        time.sleep(seconds / 2)
        before = len(acked)
        gateway.kill()
        for c in clients:
            c.stop.set()
            c.join(30)
            assert not c.is_alive(), "load client hung after the kill"
            assert c.failure is None, c.failure
    finally:
        background.stop()
    source_acked |= background.acked
    return before


def check_acknowledged(gateway, acked, source_acked):
    listed = gateway.queue_ids()
    missing = (set(acked) | source_acked) - listed
    assert not missing, "%d acknowledged messages missing from queue list, e.g. %s" % (
        len(missing), sorted(missing)[:5])
    scan = gateway.scan()
    assert scan.damage_not_at_tail() == [], scan.damage
    assert listed == set(scan.messages), "queue list and the spool files disagree"
    for qid, body in acked.items():
        assert_stored(scan.messages, qid, body)
    want_body = smtp_source_body(SOURCE_LENGTH)
    for qid in source_acked:
        env, content = scan.messages[qid]
        assert_source_message(qid, env, content, want_body, b"s@example.org", b"t@example.net")
    return scan


def test_kill_during_load(gateway_factory):
    gateway = gateway_factory({"server": {"spool_segment_size": 1 << 20}})
    acked, source_acked = {}, set()
    for round_number in range(2):
        source_before = len(source_acked)
        before = run_load_and_kill(gateway, acked, source_acked, seconds=1.5)
        assert before >= 20, "round %d: only %d messages acknowledged before the kill" % (
            round_number, before)
        assert len(source_acked) - source_before >= 20, \
            "round %d: smtp-source got only %d queue ids" % (
                round_number, len(source_acked) - source_before)
        assert gateway.exit_codes[-1] == -signal.SIGKILL
        gateway.start()
        scan = check_acknowledged(gateway, acked, source_acked)
        assert len(scan.messages) >= len(acked) + len(source_acked)
    # A final clean stop, then the offline listing still has them all.
    gateway.stop()
    offline = gateway.queue_ids()
    assert set(acked) | source_acked <= offline


def test_sigterm_under_load(gateway_factory):
    """SIGTERM while four clients stream messages: each client gets 250s then a 421 4.3.2 (or
    a close); the gateway exits 0 and every acknowledged message is in the spool."""
    gateway = gateway_factory({"server": {"shutdown_grace_s": 5}})
    acked, lock = {}, threading.Lock()
    clients = [LoadClient(gateway.port, "g%d" % i, acked, lock) for i in range(4)]
    for c in clients:
        c.start()
    time.sleep(1.0)
    gateway.signal_stop()
    rc = gateway.wait_exit(15)
    for c in clients:
        c.join(20)
        assert not c.is_alive()
        assert c.failure is None, c.failure
    assert rc == 0, "exit code %d:\n%s" % (rc, gateway.log_tail())
    assert len(acked) >= 10, "only %d messages acknowledged" % len(acked)
    scan = gateway.scan()
    assert scan.damage == [], scan.damage
    for qid, body in acked.items():
        assert_stored(scan.messages, qid, body)
    assert gateway.queue_ids() == set(scan.messages)
