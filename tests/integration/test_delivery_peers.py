# Delivery against real peers: Postfix's smtp-sink as the smart host (swaks and smtp-source in,
# every message dumped and compared byte for byte), the connection pool's per-connection
# message limit and idle timeout, round robin over two smart hosts, and MX routing through
# dnsmasq where NXDOMAIN bounces and SERVFAIL defers (a try-later never becomes a bounce).
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import free_port, require_tool
from delivery_support import (RETRY_FAST, BenchSink, Dnsmasq, PySink, bare_newlines,
                              bench_source, log_lines, message_ids, parse_dsn, relay_gateway,
                              send_messages, stop_process, strip_received, wait_delivered_and_clean,
                              wait_for)
from test_delivery_relay import clients_reference, run_clients

# ---------------------------------------------------------------- Postfix smtp-sink


class SmtpSink:
    """/usr/sbin/smtp-sink on 127.0.0.1, one dump file per transaction in a directory of its own
    (as root it runs as nobody, which must reach the directory: pytest's tmp dirs are 0700)."""

    def __init__(self):
        binary = require_tool("/usr/sbin/smtp-sink", "postfix")
        self.dir = tempfile.mkdtemp(prefix="rmta-smtp-sink-")
        self.port = free_port()
        cmd = [binary, "-d", os.path.join(self.dir, "%M.")]
        if os.geteuid() == 0:  # smtp-sink refuses to run as root without -u
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            cmd += ["-u", "nobody"]
        self.proc = subprocess.Popen(cmd + ["127.0.0.1:%d" % self.port, "64"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def listening():
            if self.proc.poll() is not None:
                pytest.fail("smtp-sink exited: %s" % self.proc.stderr.read().decode())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    return s.recv(100).startswith(b"220")
            except OSError:
                return False
        wait_for(listening, 10, "smtp-sink to greet on port %d" % self.port)

    def status(self):
        """Why smtp-sink is gone, or that it still runs."""
        if self.proc.poll() is None:
            return "smtp-sink running"
        return "smtp-sink exited %d: %s" % (self.proc.returncode,
                                            self.proc.stderr.read().decode()[-500:])

    def dumps(self):
        """[(file name, bytes)] of every complete dump file."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), "rb") as f:
                out.append((name, f.read()))
        return out

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


SINK_RECEIVED = re.compile(
    rb"Received: from gw\.test\.example \(\[127\.0\.0\.1\]\)\n"
    rb"\tby smtp-sink \(smtp-sink\) with ESMTP id ([0-9a-f]+);\n"
    rb"\t[^\n]+\n")


def parse_sink_dump(name, dump):
    """(sender, recipients, content with LF line ends) of one smtp-sink dump.

    smtp-sink's format (smtp-sink(1), DUMP FILE FORMAT): X-Client-Addr, X-Client-Proto,
    X-Helo-Args, X-Mail-Args, one X-Rcpt-Args per RCPT, its three-line Received header, then
    the content as received (unstuffed, each line ended by LF) and one empty line."""
    lines = dump.split(b"\n")
    assert lines[0] == b"X-Client-Addr: 127.0.0.1", lines[:6]
    assert lines[1] == b"X-Client-Proto: ESMTP", lines[:6]
    assert lines[2] == b"X-Helo-Args: gw.test.example", lines[:6]
    m = re.match(rb"X-Mail-Args: <([^>]*)>", lines[3])
    assert m, lines[:6]
    sender = m.group(1).decode()
    rcpts, i = [], 4
    while lines[i].startswith(b"X-Rcpt-Args: "):
        m = re.match(rb"X-Rcpt-Args: <([^>]*)>", lines[i])
        assert m, lines[i]
        rcpts.append(m.group(1).decode())
        i += 1
    rest = b"\n".join(lines[i:])
    m = SINK_RECEIVED.match(rest)
    assert m, "no smtp-sink Received header where expected in %s: %r" % (name, rest[:300])
    assert name.endswith("." + m.group(1).decode()), (name, m.group(1))
    content = rest[m.end():]
    assert content.endswith(b"\n\n"), "%s: no empty line at the end: %r" % (name, content[-20:])
    return sender, rcpts, content[:-1]


def test_swaks_and_smtp_source_through_ringmta_to_postfix_smtp_sink(gateway_factory, tmp_path):
    # smtp-sink dumps with LF line ends: the reference is compared the same way.
    want = []
    for sender, rcpts, content in clients_reference(tmp_path):
        assert bare_newlines(content) == [], "the clients sent a bare CR or LF"
        want.append((sender, rcpts, content.replace(b"\r\n", b"\n")))
    want.sort()

    sink = SmtpSink()
    try:
        gw = relay_gateway(gateway_factory, [sink.port])
        run_clients(gw.port, tmp_path)
        wait_for(lambda: len(sink.dumps()) >= 6, 30, "6 dump files from smtp-sink",
                 detail=lambda: "%s\n%s" % (sink.status(), gw.log_tail(20)))
        wait_delivered_and_clean(gw)
        got = []
        for name, dump in sink.dumps():
            sender, rcpts, content = parse_sink_dump(name, dump)
            received, rest = strip_received(content.replace(b"\n", b"\r\n"))
            assert b"by gw.test.example" in received, received
            got.append((sender, tuple(rcpts), rest.replace(b"\r\n", b"\n")))
        got.sort()
        assert len(got) == 6, "got %d dumps, want 6" % len(got)
        for g, w in zip(got, want):
            assert g == w, "at smtp-sink: got %r, want %r" % (g, w)
        assert len(log_lines(gw, "sent")) == 6
    finally:
        sink.stop()


# ---------------------------------------------------------------- the connection pool

def test_max_messages_per_connection(gateway_factory, tmp_path):
    n = 50
    sink = BenchSink(store=str(tmp_path / "store"))
    try:
        # One shard and one connection at a time: without the limit one connection carries all.
        gw = relay_gateway(gateway_factory, [sink.port], threads=1,
                           pool={"max_connections_per_host": 1,
                                 "max_messages_per_connection": 10, "idle_timeout_s": 30})
        rep = bench_source(gw.port, "--messages", n, "--sessions", 2, "--size", 800)
        assert rep["messages_accepted"] == n and rep["messages_failed"] == 0, rep
        wait_for(lambda: sink.stored_count() >= n, 30, "%d messages at the sink" % n,
                 detail=lambda: gw.log_tail(10))
        wait_delivered_and_clean(gw)
        report = sink.stop()
        ids = message_ids(sink.stored())
        assert len(ids) == n and set(ids.values()) == {1}, ids
        assert report["messages"] == n, report
        assert report["connections"] >= n // 10, report
        assert report["messages_per_connection"]["max"] <= 10, report
    finally:
        sink.kill()


def established_to(port):
    """Established TCP connections to 127.0.0.1:port (as `ss` lists them)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", "dst", "127.0.0.1:%d" % port],
                         capture_output=True, text=True, check=True).stdout
    return len([l for l in out.splitlines() if l.strip()])


def test_idle_timeout_closes_pooled_connections(gateway_factory):
    require_tool("ss", "iproute2")
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], threads=1,
                           pool={"max_connections_per_host": 1, "idle_timeout_s": 2})
        send_messages(gw.port, "idle", 1)
        wait_for(lambda: sink.count() >= 1, 10, "the message at the sink",
                 detail=lambda: gw.log_tail(10))
        delivered = time.monotonic()
        # Pooled: the connection stays open after the transaction...
        assert established_to(sink.port) == 1, "the delivery connection was not kept"
        send_messages(gw.port, "idle-reuse", 1)
        wait_for(lambda: sink.count() >= 2, 10, "the second message at the sink")
        assert sink.connections == 1, "the second message did not reuse the pooled connection"
        reused = time.monotonic()
        # ...until it has been idle for idle_timeout_s; ringmta ends it (QUIT), not the sink.
        # (The default, 30 s, would outlast the wait.)
        wait_for(lambda: established_to(sink.port) == 0, 8, "the idle connection closed",
                 interval_s=0.1)
        idle_s = time.monotonic() - reused
        assert idle_s >= 1.5, "closed after %.1f s idle, want about 2" % idle_s
        assert sink.idle_closes == 0 and delivered <= reused
        wait_delivered_and_clean(gw)
    finally:
        sink.stop()


def test_round_robin_over_two_smart_hosts(gateway_factory):
    first, second = PySink(name="first").start(), PySink(name="second").start()
    try:
        # Smart hosts rotate per new connection. Five messages per connection make the
        # rotation independent of how large the backlog grows on a busy machine.
        gw = relay_gateway(gateway_factory, [first.port, second.port], threads=1,
                           pool={"max_messages_per_connection": 5})
        ids = send_messages(gw.port, "rr", 40)
        wait_for(lambda: first.count() + second.count() >= 40, 30, "40 messages delivered",
                 detail=lambda: gw.log_tail(10))
        wait_delivered_and_clean(gw)
        contents = [strip_received(m.content)[1] for m in first.snapshot() + second.snapshot()]
        counts = message_ids(contents)
        assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}, counts
        # At least 8 connections, alternating: each host carries a fair share; failover alone
        # would leave the second one idle.
        assert first.connections >= 4 and second.connections >= 4, \
            (first.connections, second.connections)
        assert first.count() >= 10 and second.count() >= 10, \
            "messages per host: %d and %d of 40" % (first.count(), second.count())
    finally:
        first.stop()
        second.stop()


# ---------------------------------------------------------------- DNS: NXDOMAIN and SERVFAIL

class ServfailServer:
    """A UDP DNS server on loopback answering every query with SERVFAIL (rcode 2)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            if len(query) < 12:
                continue
            qid, flags, qdcount = struct.unpack(">HHH", query[:6])
            # QR, the query's opcode and RD, RA, rcode SERVFAIL; the question echoed.
            reply_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 2
            self.queries += 1
            self.sock.sendto(struct.pack(">HHHHHH", qid, reply_flags, qdcount, 0, 0, 0)
                             + query[12:], peer)

    def stop(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def test_nxdomain_bounces_and_servfail_defers(gateway_factory):
    upstream = ServfailServer()
    # dnsmasq answers test. itself (NXDOMAIN for unknown names) and forwards fail.test to
    # the SERVFAIL server, whose answer it passes on.
    dns = Dnsmasq(["--local=/test/", "--server=/fail.test/127.0.0.1#%d" % upstream.port])
    bounces = PySink(name="sender-mx").start()
    try:
        dns.wait_ready("nx.test")
        gw = gateway_factory({
            "connectors": [
                {"name": "senders", "address_spaces": ["sender.test"],
                 "smart_hosts": ["127.0.0.1:%d" % bounces.port]},
                {"name": "direct", "address_spaces": ["*"], "dns_routing": True,
                 "port": free_port()},
            ],
            "dns": {"servers": ["127.0.0.1:%d" % dns.port]},
            "delivery": dict(RETRY_FAST),
        })
        send_messages(gw.port, "nx", 1, rcpts=("user@nx.test",))
        send_messages(gw.port, "fail", 1, rcpts=("user@fail.test",))
        wait_for(lambda: bounces.count() >= 1, 10, "the bounce for nx.test",
                 detail=lambda: gw.log_tail(15))
        dsn = bounces.snapshot()[0]
        assert dsn.sender == "" and dsn.recipients == ["alice@sender.test"], dsn
        msg, fields = parse_dsn(dsn.content)
        assert fields.get("status") == "5.1.2", fields
        assert "user@nx.test" in fields.get("final-recipient", ""), fields
        assert b"Message-ID: <nx.0@sender.test>" in dsn.content

        # Retries are 1-2 s apart: after several of them fail.test is still only deferred.
        def retried():
            m = [m for m in gw.queue_list() if m["recipients"][0]["address"] == "user@fail.test"]
            return m and m[0]["recipients"][0]["attempts"] >= 2 and m[0]
        m = wait_for(retried, 15, "user@fail.test tried twice", interval_s=0.2,
                     detail=lambda: (gw.queue_list(), gw.log_tail(10)))
        r = m["recipients"][0]
        assert r["state"] == "deferred", r
        # c-ares passes a SERVFAIL on as "no server could be reached"; either way a try-later.
        assert "Name service error for name=fail.test type=MX" in r["diagnostic"], r
        assert upstream.queries >= 2, "dnsmasq never asked the SERVFAIL server"
        bounced = log_lines(gw, "bounced")
        assert len(bounced) == 1 and "to=<user@nx.test>" in bounced[0] \
            and "dsn=5.1.2" in bounced[0], bounced
        deferred = log_lines(gw, "deferred")
        assert deferred and all("to=<user@fail.test>" in l and "dsn=4." in l
                                for l in deferred), deferred
        assert bounces.count() == 1, "a bounce for the SERVFAIL domain: %r" % bounces.snapshot()
        assert [q["id"] for q in gw.queue_list()] == [m["id"]]
    finally:
        bounces.stop()
        dns.stop()
        upstream.stop()
