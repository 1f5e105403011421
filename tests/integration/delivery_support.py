# Peers for the delivery tests: a scripted smart host written in Python (stores what it got
# after dot-unstuffing, counts connections, can refuse chosen recipients, drop idle
# connections or answer 421 mid-session), ringmta-bench sink, dnsmasq and Postfix, each
# started by the test and stopped by PID (Postfix: `postfix stop`, config files restored).
# Invariant: a peer that cannot start skips or fails the test; none is left running.
import email.parser
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import DEFAULT_BENCH_BIN, EML_DIR, free_port, require_tool
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.I | re.M)


def wait_for(predicate, timeout_s, what, interval_s=0.05, detail=None):
    """Polls `predicate` until it returns a truthy value; fails naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() >= deadline:
            extra = detail() if detail else ""
            pytest.fail("timed out after %ss waiting for %s %s" % (timeout_s, what, extra))
        time.sleep(interval_s)


def normalized(raw):
    """What ringmta stores for content sent with stray CR/LF: every line ending CRLF."""
    text = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    if text and not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text


def strip_received(content):
    """(first header incl. continuation lines, the rest): our Received header comes first."""
    assert content.startswith(b"Received: "), "no Received header first: %r" % content[:80]
    pos = 0
    while True:
        end = content.find(b"\r\n", pos)
        assert end >= 0, "Received header without CRLF: %r" % content[:200]
        pos = end + 2
        if content[pos:pos + 1] not in (b" ", b"\t"):
            return content[:pos], content[pos:]


def message_ids(contents):
    """Message-ID -> count over `contents`."""
    counts = {}
    for c in contents:
        m = MESSAGE_ID.search(c.split(b"\r\n\r\n", 1)[0])
        key = m.group(1) if m else None
        counts[key] = counts.get(key, 0) + 1
    return counts


def bare_newlines(wire):
    """Positions of CR not followed by LF or LF not preceded by CR in `wire`."""
    return [m.start() for m in re.finditer(rb"\r(?!\n)|(?<!\r)\n", wire)][:5]


# ---------------------------------------------------------------- the gateway under test

RETRY_FAST = {"retry": {"initial_s": 1, "max_s": 2}}


def relay_gateway(gateway_factory, ports, pool=None, server=None, connectors=(), overrides=None,
                  threads=2, start=True, tls=None):
    """A gateway whose connector `smarthost` (address space *) relays to 127.0.0.1:PORT for
    each of `ports`, with 1-2 s retries; `connectors` are added before it."""
    smart = {"name": "smarthost", "address_spaces": ["*"],
             "smart_hosts": ["127.0.0.1:%d" % p for p in ports]}
    if pool:
        smart["pool"] = pool
    if tls:
        smart["tls"] = tls
    config = {"connectors": list(connectors) + [smart], "delivery": dict(RETRY_FAST)}
    if server:
        config["server"] = server
    if overrides:
        config.update(overrides)
    return gateway_factory(config, threads=threads, start=start)


def spool_segments(gw):
    """{shard dir name: [segment file names]}."""
    out = {}
    for shard in sorted(os.listdir(gw.spool_dir)):
        path = os.path.join(gw.spool_dir, shard)
        if shard.startswith("shard-") and os.path.isdir(path):
            out[shard] = sorted(n for n in os.listdir(path) if n.startswith("seg-"))
    return out


def wait_delivered_and_clean(gw, timeout_s=30):
    """The queue is empty and each shard keeps only its active segment."""
    wait_for(lambda: gw.queue_list() == [], timeout_s, "an empty queue",
             interval_s=0.2, detail=lambda: "queue: %s\n%s" % (
                 json.dumps(gw.queue_list()[:3]), gw.log_tail(20)))
    wait_for(lambda: all(len(s) <= 1 for s in spool_segments(gw).values()), 10,
             "finished spool segments to be deleted", interval_s=0.2,
             detail=lambda: str(spool_segments(gw)))


def make_message(tag, i, size=300):
    """A small message with Message-ID <tag.i@sender.test> and a dot-stuffing line."""
    body = b"".join(b"line %d of message %d\r\n" % (k, i) for k in range(max(1, size // 24)))
    return (b"From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: %s %d\r\n"
            b"Message-ID: <%s.%d@sender.test>\r\n\r\n.leading dot\r\n%s"
            % (tag.encode(), i, tag.encode(), i, body))


def send_messages(port, tag, count, sender="alice@sender.test", rcpts=("bob@dest.test",)):
    """Sends `count` messages over one smtplib session; returns their Message-IDs."""
    ids = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for i in range(count):
            refused = client.sendmail(sender, list(rcpts), make_message(tag, i))
            assert refused == {}, refused
            ids.append(b"<%s.%d@sender.test>" % (tag.encode(), i))
    return ids


def log_lines(gw, status):
    """Delivery log lines of the gateway with `status=<status>`."""
    return [l for l in gw.log_text().splitlines() if "status=%s" % status in l]


# ---------------------------------------------------------------- scripted smart host

class SinkMessage:
    def __init__(self, sender, recipients, content, wire, connection, commands=()):
        self.sender = sender            # str, "" for the null reverse path
        self.recipients = recipients    # [str]
        self.content = content          # bytes after dot-unstuffing, without the final dot
        self.wire = wire                # bytes as received between 354 and the dot line
        self.connection = connection    # index of the connection it came on
        self.commands = list(commands)  # the MAIL and RCPT lines (bytes, without CRLF)

    def __repr__(self):
        return "SinkMessage(%r -> %r, %d bytes)" % (self.sender, self.recipients,
                                                    len(self.content))


class _Closed(Exception):
    pass


class PySink:
    """A threaded SMTP server on (host, port) that accepts everything unless told otherwise.

    reject_rcpt: {address: reply line} answered to RCPT TO of that address.
    idle_close_s: between transactions, a connection silent this long is closed without a word.
    rcpt_421_every: every Nth transaction (counted at MAIL) gets `421` to its first RCPT, then
    the connection is closed.
    extensions: the EHLO keywords offered (default PIPELINING, 8BITMIME, SMTPUTF8,
    ENHANCEDSTATUSCODES, SIZE).
    starttls: with STARTTLS among the extensions, the answer to it: "garbage" (220, then bytes
    that are no TLS handshake, then close) or a reply line such as "454 4.7.0 TLS not available".
    greeting: the greeting line; None greets never (the connection stays open, silent).
    stall_at_ehlo: EHLO gets no reply.
    close_reused_mail: a connection that already carried a transaction is closed without a
    word right after it sends MAIL (a server dropping an idle client just as it reuses it).
    """

    DEFAULT_EXTENSIONS = ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES",
                          "SIZE 104857600")

    def __init__(self, host="127.0.0.1", port=None, reject_rcpt=None, idle_close_s=None,
                 rcpt_421_every=0, name="sink", extensions=DEFAULT_EXTENSIONS, starttls=None,
                 greeting="220 %s ESMTP test sink", stall_at_ehlo=False, close_reused_mail=False):
        self.host = host
        self.greeting = greeting % name if greeting and "%s" in greeting else greeting
        self.stall_at_ehlo = stall_at_ehlo
        self.close_reused_mail = close_reused_mail
        self.reused_mail_closes = 0
        self.name = name
        self.extensions = list(extensions)
        self.starttls = starttls
        self.starttls_connections = []  # indices of the connections that sent STARTTLS
        self.reject_rcpt = {k.lower(): v for k, v in (reject_rcpt or {}).items()}
        self.idle_close_s = idle_close_s
        self.rcpt_421_every = rcpt_421_every
        self.messages = []
        self.connections = 0
        self.idle_closes = 0
        self.rcpt_421s = 0
        self.protocol_errors = []
        self.transactions = 0
        self._lock = threading.Lock()
        self._conns = []
        self._stopping = False
        self._listener = None
        self.port = port
        self._thread = None

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port or 0))
        s.listen(256)
        s.settimeout(0.1)
        self.port = s.getsockname()[1]
        self._listener = s
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Closes the listener and every open connection (a smart host going down)."""
        self._stopping = True
        if self._thread:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self._lock:
                index = self.connections
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()
        self._listener.close()

    # -- one connection

    def _serve(self, conn, index):
        reader = _LineReader(conn)
        try:
            if self.greeting is None:
                self._stall(conn)
            conn.sendall(self.greeting.encode() + b"\r\n")
            if not self.greeting.startswith("220"):
                return
            self._dialogue(conn, reader, index)
        except (_Closed, OSError):
            pass
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()

    def _stall(self, conn):
        """Reads and ignores everything until the client closes or the sink stops."""
        conn.settimeout(0.2)
        while not self._stopping:
            try:
                if not conn.recv(65536):
                    break
            except socket.timeout:
                continue
        raise _Closed()

    def _dialogue(self, conn, reader, index):
        sender, rcpts, fail_this, commands = None, [], False, []
        mails = 0
        while True:
            idle = sender is None and self.idle_close_s is not None
            conn.settimeout(self.idle_close_s if idle else 30)
            try:
                line = reader.line()
            except socket.timeout:
                if idle:
                    with self._lock:
                        self.idle_closes += 1
                    return  # silent close, as a server dropping idle clients does
                raise _Closed()
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                if self.stall_at_ehlo:
                    self._stall(conn)
                lines = [self.name] + self.extensions
                conn.sendall(b"".join(b"250%s%s\r\n" % (b" " if i == len(lines) - 1 else b"-",
                                                          l.encode())
                                      for i, l in enumerate(lines)))
                sender, rcpts = None, []
            elif line.upper() == b"STARTTLS" and "STARTTLS" in self.extensions:
                with self._lock:
                    self.starttls_connections.append(index)
                if self.starttls == "garbage":
                    conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    reader._fill()  # the start of the ClientHello
                    conn.sendall(b"this is not a TLS handshake\r\n")
                    raise _Closed()
                conn.sendall(self.starttls.encode() + b"\r\n")
            elif verb == b"MAIL":
                m = re.match(rb"MAIL FROM:\s*<([^>]*)>", line, re.I)
                if not m:
                    self._error(conn, "bad MAIL %r" % line)
                    continue
                sender, rcpts, commands = m.group(1).decode("utf-8", "replace"), [], [line]
                mails += 1
                if self.close_reused_mail and mails > 1:
                    with self._lock:
                        self.reused_mail_closes += 1
                    return
                with self._lock:
                    self.transactions += 1
                    fail_this = (self.rcpt_421_every and
                                 self.transactions % self.rcpt_421_every == 0)
                conn.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                m = re.match(rb"RCPT TO:\s*<([^>]*)>", line, re.I)
                if not m or sender is None:
                    self._error(conn, "bad RCPT %r" % line)
                    continue
                address = m.group(1).decode("utf-8", "replace")
                if fail_this:
                    with self._lock:
                        self.rcpt_421s += 1
                    conn.sendall(b"421 4.3.2 test sink shutting down mid-session\r\n")
                    return
                reply = self.reject_rcpt.get(address.lower())
                if reply:
                    conn.sendall(reply.encode() + b"\r\n")
                else:
                    rcpts.append(address)
                    commands.append(line)
                    conn.sendall(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                if sender is None or not rcpts:
                    conn.sendall(b"554 5.5.1 no valid recipients\r\n")
                    continue
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                wire = reader.until_dot()
                content = b"".join(l[1:] if l.startswith(b".") else l
                                   for l in wire.splitlines(keepends=True))
                with self._lock:
                    self.messages.append(SinkMessage(sender, rcpts, content, wire, index,
                                                     commands))
                conn.sendall(b"250 2.0.0 Ok: stored\r\n")
                sender, rcpts = None, []
            elif verb == b"RSET":
                sender, rcpts = None, []
                conn.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == b"NOOP":
                conn.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                self._error(conn, "unknown command %r" % line)

    def _error(self, conn, what):
        with self._lock:
            self.protocol_errors.append(what)
        conn.sendall(b"500 5.5.2 " + what.encode()[:200] + b"\r\n")

    # -- inspection

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def count(self):
        with self._lock:
            return len(self.messages)


class _LineReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            if b"\n" in self.buf:  # a command ending in a bare LF: still a line
                break
            self._fill()
        sep = b"\r\n" if b"\r\n" in self.buf else b"\n"
        line, self.buf = self.buf.split(sep, 1)
        return line

    def until_dot(self):
        """DATA content up to CRLF.CRLF (the dot line is consumed, not returned)."""
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            end = self.buf.find(b"\r\n.\r\n", max(0, start - 4))
            if end >= 0:
                wire, self.buf = self.buf[:end + 2], self.buf[end + 5:]
                return wire
            start = len(self.buf)
            self._fill()


# ---------------------------------------------------------------- ringmta-bench sink

def bench_bin():
    path = os.environ.get("RINGMTA_BENCH_BIN")
    if not path:
        rb = os.environ.get("RINGMTA_BIN")
        path = os.path.join(os.path.dirname(os.path.dirname(rb)), "bench", "ringmta-bench") \
            if rb else DEFAULT_BENCH_BIN
    if not os.access(path, os.X_OK):
        pytest.skip("ringmta-bench not found at %s (set RINGMTA_BENCH_BIN)" % path)
    return path


class BenchSink:
    """`ringmta-bench sink` on host:port; stop() returns its final JSON report."""

    def __init__(self, *args, host="127.0.0.1", port=None, store=None):
        self.host = host
        self.port = port or free_port()
        self.store = store
        cmd = [bench_bin(), "sink", "--listen", "%s:%d" % (host, self.port), "--json"]
        if store:
            os.makedirs(store, exist_ok=True)
            cmd += ["--store", store]
        self.proc = subprocess.Popen(cmd + [str(a) for a in args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "listening" in line, "sink did not start: %r" % line
        self.report = None

    def stored(self):
        names = sorted(os.listdir(self.store), key=int)
        out = []
        for n in names:
            with open(os.path.join(self.store, n), "rb") as f:
                out.append(f.read())
        return out

    def stored_count(self):
        return len(os.listdir(self.store))

    def stop(self):
        if self.report is not None:
            return self.report
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0, "sink exit %d: %s" % (self.proc.returncode, err)
        self.report = json.loads(out.strip().splitlines()[-1])
        return self.report

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def bench_source(port, *args, timeout_s=120):
    """`ringmta-bench source` against the gateway; its JSON report."""
    cmd = [bench_bin(), "source", "--to", "127.0.0.1:%d" % port, "--json", "--quiet"]
    r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout_s)
    assert r.returncode == 0, "source exit %d: %s" % (r.returncode, r.stderr)
    return json.loads(r.stdout)


# ---------------------------------------------------------------- dnsmasq

def _dns_query(port, name, qtype=15, timeout_s=0.3):
    """One UDP query to 127.0.0.1:port; the reply's rcode and answer count, or None."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH",
                                                                                     qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            reply = s.recv(4096)
        except OSError:
            return None
    _, flags, _, answers, _, _ = struct.unpack(">HHHHHH", reply[:12])
    return flags & 0xF, answers


class Dnsmasq:
    """dnsmasq answering only from its command line (`--mx-host`, `--host-record`...)."""

    def __init__(self, records):
        binary = require_tool("/usr/sbin/dnsmasq", "dnsmasq-base")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
             "--port=%d" % self.port, "--pid-file=", "--local-ttl=1",
             "--log-facility=/dev/null"] + list(records),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, probe_name):
        def answered():
            if self.proc.poll() is not None:
                pytest.fail("dnsmasq exited: %s" % self.proc.stderr.read().decode())
            return _dns_query(self.port, probe_name) is not None
        wait_for(answered, 10, "dnsmasq to answer on port %d" % self.port)
        return self

    def stop(self):
        stop_process(self.proc)


def stop_process(proc, timeout_s=5):
    """SIGTERM to a peer started by the test, SIGKILL if it is still there after timeout_s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- Postfix

class Postfix:
    """A private Postfix instance on loopback as a smart host (TLS on its smtpd, relayhost =
    another sink): its own main.cf, master.cf, queue and log in a directory of its own under
    /var/tmp, driven with `postfix -c`, so the system's /etc/postfix and /var/spool/postfix
    are never touched and two such instances could run side by side."""

    def __init__(self, in_port, relay_port, cert, key):
        require_tool("/usr/sbin/postfix", "postfix")
        # Postfix's own user must traverse to its queue: a directory of its own, mode 0755
        # like /var/spool/postfix (a test's own temporary directory is private to root).
        self.dir = tempfile.mkdtemp(prefix="ringmta-test-postfix.", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.log_path = os.path.join(self.dir, "maillog")
        for d in (self.etc, self.spool):
            os.makedirs(d)
        self.in_port = in_port
        self.started = False
        # Debian ships the stock master.cf as master.cf.dist; only our listener and the
        # services a relay needs are kept, chroot off, postlogd for maillog_file (no syslog).
        shutil.copy("/usr/share/postfix/master.cf.dist", os.path.join(self.etc, "master.cf"))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join([
                "compatibility_level = 3.6",
                "queue_directory = %s" % self.spool,
                "data_directory = %s" % os.path.join(self.dir, "data"),
                "myhostname = pgp.test",
                "mydomain = test",
                "myorigin = $myhostname",
                "mydestination =",
                "local_recipient_maps =",
                "local_transport = error:local delivery is disabled",
                "alias_maps =",
                "alias_database =",
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "mynetworks = 127.0.0.0/8",
                "relay_domains =",
                "relayhost = [127.0.0.1]:%d" % relay_port,
                "smtpd_relay_restrictions = permit_mynetworks, reject",
                "smtpd_recipient_restrictions = permit_mynetworks, reject",
                "smtp_dns_support_level = disabled",
                "smtpd_peername_lookup = no",
                "smtputf8_enable = no",
                "biff = no",
                "append_dot_mydomain = no",
                "maillog_file = %s" % self.log_path,
                "maillog_file_prefixes = %s" % self.dir,
                "smtpd_tls_cert_file = %s" % cert,
                "smtpd_tls_key_file = %s" % key,
                "smtpd_tls_security_level = may",
                "smtpd_tls_loglevel = 1",
                "smtpd_tls_received_header = yes",
                "smtp_tls_security_level = none",
                "",
            ]))
        listed = self._postconf("-M").stdout
        for line in listed.splitlines():
            fields = line.split()
            if len(fields) > 1 and fields[1] == "inet":
                self._postconf("-MX", fields[0] + "/inet")
        self._postconf("-M", "127.0.0.1:%d/inet=127.0.0.1:%d inet n - n - - smtpd"
                       % (in_port, in_port), check=True)
        self._postconf("-F", "*/*/chroot = n", check=True)
        if not self._postconf("-M", "postlog/unix-dgram").stdout.strip():
            self._postconf("-M", "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd",
                           check=True)
        # Creates the queue's subdirectories with Postfix's owners and modes.
        subprocess.run(["postfix", "-c", self.etc, "check"], capture_output=True, text=True)

    def _postconf(self, *args, check=False):
        return subprocess.run(["postconf", "-c", self.etc, *args], capture_output=True,
                              text=True, check=check)

    def start(self):
        r = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True, text=True)
        if r.returncode != 0:
            check = subprocess.run(["postfix", "-c", self.etc, "check"], capture_output=True,
                                   text=True)
            pytest.fail("postfix start failed: %s %s %s" % (r.stdout, r.stderr, check.stderr))
        self.started = True

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.in_port), timeout=1) as s:
                    return s.recv(100).startswith(b"220")
            except OSError:
                return False
        wait_for(accepting, 20, "Postfix to accept on port %d" % self.in_port, 0.2)
        return self

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.started:
            self._stop_master()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_master(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                master = int(f.read().strip())
        except (OSError, ValueError):
            master = None
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
        deadline = time.monotonic() + 10
        while master and time.monotonic() < deadline:
            try:
                os.kill(master, 0)
            except OSError:
                break
            time.sleep(0.1)
        self.started = False


# ---------------------------------------------------------------- test CA

def make_test_ca(directory, server_name):
    """(ca.pem, server cert.pem, server key.pem): a CA and a server certificate it signed
    for `server_name` (subjectAltName DNS:server_name)."""
    openssl = require_tool("openssl")
    d = str(directory)
    ca_key, ca_cert = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                % server_name)
    run = lambda *a: subprocess.run([openssl, *a], check=True, capture_output=True, timeout=30)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert,
        "-days", "2", "-subj", "/CN=ringmta test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=" + server_name)
    run("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    os.chmod(key, 0o600)
    return ca_cert, cert, key


# ---------------------------------------------------------------- DSN parsing

def parse_dsn(content):
    """(top-level message, {field: value} of the first per-recipient block) of a DSN."""
    msg = email.parser.BytesParser().parsebytes(content)
    report = None
    for part in msg.walk():
        if part.get_content_type() in ("message/delivery-status",
                                       "message/global-delivery-status"):
            report = part
    fields = {}
    if report is not None:
        payload = report.get_payload()
        # email parses message/delivery-status into a list of header blocks.
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:2]:
            for k, v in block.items():
                fields[k.lower()] = v
    return msg, fields
