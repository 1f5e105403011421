# Fixtures for integration tests against a real ringmta on loopback: a config in a private temp
# dir, the gateway started as a child process and stopped by PID (SIGTERM, then SIGKILL), a raw
# SMTP client, and skip helpers for missing peer tools. Invariant: every process a test starts
# is stopped at teardown, pass or fail; a clean stop must exit 0 or the test fails.
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

import spool_reader

# Paths relative to this checkout: the build scripts/test.sh makes, and ../shared (the
# project's shared material, beside the repository where it exists; RINGMTA_SHARED overrides).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO, "build-ci", "mta", "ringmta")
DEFAULT_BENCH_BIN = os.path.join(REPO, "build-ci", "bench", "ringmta-bench")
SHARED_DIR = os.environ.get("RINGMTA_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
EML_DIR = os.path.join(SHARED_DIR, "data", "eml")
SANITIZER_MARK = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: ")
HOSTNAME = "gw.test.example"


def ringmta_bin():
    path = os.environ.get("RINGMTA_BIN", DEFAULT_BIN)
    if not os.access(path, os.X_OK):
        pytest.skip("ringmta binary not found at %s (set RINGMTA_BIN)" % path)
    return path


def require_tool(path_or_name, package=None):
    """Absolute path of a peer tool, or skip the test saying what to install."""
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if not found or not os.access(found, os.X_OK):
        pytest.skip("%s not installed (Debian package %s)"
                    % (path_or_name, package or os.path.basename(path_or_name)))
    return found


def free_port():
    """A port that was free a moment ago (the gateway refuses port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deep_merge(base, extra):
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- raw SMTP client

class Reply:
    def __init__(self, lines):
        self.lines = lines                    # text lines without CRLF
        self.code = int(lines[-1][:3])
        self.text = "\n".join(lines)

    def __repr__(self):
        return "Reply(%r)" % self.lines

    def startswith(self, prefix):
        return self.lines[-1].startswith(prefix)


class SmtpClient:
    """A minimal SMTP client over a raw socket: bytes out exactly as given, replies parsed."""

    def __init__(self, port, host="127.0.0.1", timeout_s=10, source=None):
        self.sock = socket.create_connection((host, port), timeout=timeout_s,
                                             source_address=source)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server; unread: %r" % self.buf)
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_reply(self):
        lines = []
        while True:
            line = self.read_line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return Reply(lines)

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply()

    def expect(self, line, prefix):
        """Sends a command; asserts the reply's last line starts with `prefix`."""
        r = self.cmd(line)
        assert r.startswith(prefix), "%r: got %r, want %r" % (line, r.lines, prefix)
        return r

    def greet(self, ehlo="client.test.example"):
        r = self.read_reply()
        assert r.startswith("220 "), "greeting: got %r, want 220" % r.lines
        return self.expect("EHLO " + ehlo, "250 ")

    def starttls(self, context=None):
        self.expect("STARTTLS", "220 2.0.0")
        assert self.buf == b"", "bytes after the 220 to STARTTLS: %r" % self.buf
        self.wrap_tls(context)

    def wrap_tls(self, context=None):
        """TLS handshake on the connection (certificate not verified: it is self-signed)."""
        if context is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        self.sock = context.wrap_socket(self.sock, server_hostname=HOSTNAME)

    def wait_closed(self, timeout_s=5):
        """True when the server closes the connection within timeout_s (data is kept)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def begin_data(self, sender="a@example.org", recipients=("b@example.net",)):
        """MAIL, RCPT..., DATA, each asserted to succeed; the client sends content next."""
        self.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        for r in recipients:
            self.expect("RCPT TO:<%s>" % r, "250 2.1.5")
        self.expect("DATA", "354 ")

    def send_message(self, sender, recipients, data_lines_bytes):
        """A whole transaction; `data_lines_bytes` is sent as is (must end with CRLF.CRLF).

        Returns the reply to the final dot."""
        self.expect("MAIL FROM:<%s>" % sender, "250 2.1.0")
        for r in recipients:
            self.expect("RCPT TO:<%s>" % r, "250 2.1.5")
        return self.data(data_lines_bytes)

    def data(self, wire):
        """DATA (asserted 354), then `wire` as is; returns the reply after the content."""
        self.expect("DATA", "354 ")
        self.send(wire)
        return self.read_reply()


def queued_id(reply):
    """The queue id of a `250 2.0.0 Ok: queued as <ID>` reply (asserted)."""
    last = reply.lines[-1] if isinstance(reply, Reply) else reply
    prefix = "250 2.0.0 Ok: queued as "
    assert last.startswith(prefix), "got %r, want %r<ID>" % (last, prefix)
    qid = last[len(prefix):].strip()
    assert len(qid) == 16 and all(c in "0123456789ABCDEF" for c in qid), \
        "queue id %r is not 16 upper-case hex digits" % qid
    return qid


# ---------------------------------------------------------------- the gateway process

class Gateway:
    """One ringmta instance with its own temp dir, config, spool and log."""

    def __init__(self, workdir, overrides=None, threads=2, tls=None):
        self.dir = workdir
        self.port = free_port()
        self.threads = threads
        self.spool_dir = os.path.join(workdir, "spool")
        self.config_path = os.path.join(workdir, "ringmta.json")
        self.log_path = os.path.join(workdir, "ringmta.log")
        listener = {"address": "127.0.0.1:%d" % self.port}
        if tls:
            listener["tls"] = {"cert_file": tls[0], "key_file": tls[1]}
        base = {
            "server": {
                "hostname": HOSTNAME,
                "spool_dir": self.spool_dir,
                "control_socket": os.path.join(workdir, "control.sock"),
                "spool_segment_size": 4 << 20,
                "shutdown_grace_s": 5,
            },
            "listeners": [listener],
            "connectors": [
                # Delivery is not exercised here; port 9 on loopback refuses connections.
                {"name": "outbound", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:9"]},
            ],
        }
        self.config = base
        self.rewrite_config(overrides or {})
        self.proc = None
        self.log_file = None
        self.exit_codes = []
        self.env = None  # environment of the process; None: the test's own
        self.extra_args = []  # appended to the serve command line
        self.preexec_fn = None  # run in the child before exec (e.g. to set resource limits)

    def rewrite_config(self, overrides):
        """Merges `overrides` into the config file (read again at the next start)."""
        self.config = deep_merge(self.config, overrides)
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    # -- process control

    def start(self, timeout_s=15):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.log_file = open(self.log_path, "ab")
        self.log_file.write(b"==== start\n")
        self.log_file.flush()
        self.proc = subprocess.Popen(
            [ringmta_bin(), "serve", "-c", self.config_path, "--threads", str(self.threads)]
            + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT,
            cwd=self.dir, env=self.env, preexec_fn=self.preexec_fn)
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s):
        """Waits until the port accepts and greets; the probe session quits cleanly."""
        deadline = time.monotonic() + timeout_s
        last_error = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError("ringmta exited with %d at start:\n%s"
                                     % (rc, self.log_tail()))
            try:
                with SmtpClient(self.port, timeout_s=2) as c:
                    r = c.read_reply()
                    assert r.startswith("220 "), r.lines
                    c.expect("QUIT", "221 2.0.0")
                    c.wait_closed(2)
                return
            except (OSError, EOFError) as e:
                last_error = e
                time.sleep(0.05)
        raise AssertionError("ringmta not accepting on port %d after %ss (%s):\n%s"
                             % (self.port, timeout_s, last_error, self.log_tail()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal_stop(self):
        self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout_s):
        try:
            rc = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            self._closed(rc)
            raise AssertionError("ringmta did not exit within %ss of SIGTERM; killed:\n%s"
                                 % (timeout_s, self.log_tail()))
        self._closed(rc)
        return rc

    def stop(self, timeout_s=None):
        """SIGTERM, wait, assert exit code 0 (SIGKILL and fail after the timeout)."""
        if not self.running():
            return
        if timeout_s is None:
            timeout_s = self.config["server"].get("shutdown_grace_s", 30) + 10
        self.signal_stop()
        rc = self.wait_exit(timeout_s)
        assert rc == 0, "ringmta exited with %d after SIGTERM:\n%s" % (rc, self.log_tail())

    def kill(self):
        """kill -9: the crash the spool must survive."""
        if self.running():
            self.proc.kill()
            self._closed(self.proc.wait())

    def _closed(self, rc):
        self.exit_codes.append(rc)
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    # -- inspection

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def cli(self, *args, timeout_s=30):
        return subprocess.run([ringmta_bin(), *args, "-c", self.config_path],
                              capture_output=True, timeout=timeout_s, cwd=self.dir)

    def queue_list(self):
        p = self.cli("queue", "list", "--json")
        assert p.returncode == 0, "queue list: exit %d: %s" % (p.returncode, p.stderr.decode())
        return json.loads(p.stdout.decode())

    def queue_ids(self):
        return {m["id"] for m in self.queue_list()}

    def spool(self):
        return self.scan().messages

    def scan(self):
        """The spool as the independent reader sees it; format anomalies fail the test."""
        scan = spool_reader.scan_spool(self.spool_dir)
        assert scan.anomalies() == [], "spool format anomalies: %s" % scan.anomalies()[:5]
        return scan

    def client(self, **kw):
        return SmtpClient(self.port, **kw)


@pytest.fixture
def workdir():
    # Short paths under /tmp: the control socket path must fit in sun_path (108 bytes).
    d = tempfile.mkdtemp(prefix="rmta-it-")
    yield d
    if not os.environ.get("RINGMTA_KEEP_TMP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def gateway_factory(request, workdir):
    """make(overrides=None, threads=2, tls=None, start=True) -> Gateway; all stopped after."""
    made = []

    def make(overrides=None, threads=2, tls=None, start=True, name=None):
        sub = os.path.join(workdir, name or "gw%d" % len(made))
        os.makedirs(sub)
        g = Gateway(sub, overrides, threads=threads, tls=tls)
        made.append(g)
        request.node.ringmta_gateways = made
        if start:
            g.start()
        return g

    yield make
    errors = []
    for g in made:
        try:
            g.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            if g.running():
                g.proc.kill()
                g.proc.wait()
        # A sanitizer build reports into the log; such a report fails the test.
        report = [l for l in g.log_text().splitlines() if SANITIZER_MARK.search(l)]
        if report:
            errors.append("sanitizer report in %s:\n%s" % (g.log_path, "\n".join(report[:20])))
    if errors:
        pytest.fail("\n".join(errors))


@pytest.fixture
def gateway(gateway_factory):
    return gateway_factory()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """(cert.pem, key.pem): a self-signed certificate for the test host name."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl not installed (Debian package openssl)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + HOSTNAME,
                    "-addext", "subjectAltName=DNS:" + HOSTNAME],
                   check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, g in enumerate(getattr(item, "ringmta_gateways", [])):
            report.sections.append(("ringmta log %d (%s)" % (i, g.log_path), g.log_tail(60)))


# ---------------------------------------------------------------- content expectations

def assert_stored(spool, qid, want_body, sender=None, recipients=None):
    """The message `qid` is in `spool` and its content is a Received header naming `qid`
    followed by exactly `want_body`. Returns (envelope, received header bytes)."""
    assert qid in spool, "queue id %s not in spool (have %d messages: %s)" % (
        qid, len(spool), sorted(spool)[:10])
    env, content = spool[qid]
    received, body = spool_reader.split_received(content)
    assert (" id " + qid).encode() in received, \
        "Received header does not name %s: %r" % (qid, received)
    assert body == want_body, "stored body: got %r, want %r" % (body[:500], want_body[:500])
    if sender is not None:
        assert env["sender"] == sender.encode(), "sender: got %r, want %r" % (env["sender"], sender)
    if recipients is not None:
        got = [r["address"] for r in env["recipients"]]
        want = [r.encode() for r in recipients]
        assert got == want, "recipients: got %r, want %r" % (got, want)
    return env, received


def dot_unstuff(wire):
    """What SMTP DATA content `wire` (CRLF lines, ending CRLF.CRLF) means after unstuffing."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n", wire[-10:]
    body = wire[:-3] if wire != b".\r\n" else b""
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
