# End-to-end relay through ringmta to a smart host on loopback: swaks, Postfix smtp-source and
# Python smtplib as clients; every message must arrive exactly once and byte-exact apart from
# the Received header ringmta puts first; 2,000 messages must share the configured number of
# pooled connections; the queue must end empty and finished spool segments must be deleted.
import os
import smtplib
import subprocess

import pytest

from conftest import require_tool
from delivery_support import (EML_DIR, BenchSink, PySink, bare_newlines, bench_source,
                              message_ids, normalized, relay_gateway, strip_received,
                              wait_delivered_and_clean, wait_for)

SWAKS_BODY = (b"From: Test Sender <alice@sender.test>\r\nTo: bob@dest.test\r\n"
              b"Subject: relayed by swaks\r\nMessage-ID: <swaks.1@sender.test>\r\n\r\n"
              b"first line\r\n.a line that starts with a dot\r\n..two dots\r\n"
              b"\tindented\r\n \r\nlast line\r\n")
SOURCE_BODY = (b"From: <alice@sender.test>\nSubject: relayed by smtp-source\n\n"
               b"body line\n.dot line\n.\n..\nend\n")


def run_clients(port, tmp_path):
    """Sends one message with swaks and five with smtp-source -F to `port`."""
    swaks = require_tool("swaks")
    source = require_tool("/usr/sbin/smtp-source", "postfix")
    data = tmp_path / "swaks.eml"
    data.write_bytes(SWAKS_BODY)
    lf = tmp_path / "source.eml"
    lf.write_bytes(SOURCE_BODY)
    r = subprocess.run([swaks, "--server", "127.0.0.1:%d" % port, "--from", "alice@sender.test",
                        "--to", "bob@dest.test", "--data", "@%s" % data, "--silent", "2"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "swaks exit %d: %s%s" % (r.returncode, r.stdout, r.stderr)
    r = subprocess.run([source, "-m", "5", "-s", "2", "-f", "carol@sender.test",
                        "-t", "dave@dest.test", "-F", str(lf), "127.0.0.1:%d" % port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, "smtp-source exit %d: %s" % (r.returncode, r.stderr)


def clients_reference(tmp_path):
    """What run_clients puts on the wire, as a sink sees it when they talk to it directly:
    sorted (sender, recipients, content), six of them."""
    reference = PySink(name="reference").start()
    try:
        run_clients(reference.port, tmp_path)
    finally:
        reference.stop()
    want = sorted((m.sender, tuple(m.recipients), m.content) for m in reference.snapshot())
    assert len(want) == 6, want
    return want


def test_swaks_and_smtp_source_arrive_byte_exact(gateway_factory, tmp_path):
    want = clients_reference(tmp_path)

    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port])
        run_clients(gw.port, tmp_path)
        wait_for(lambda: sink.count() >= 6, 30, "6 messages at the sink",
                 detail=lambda: gw.log_tail(20))
        wait_delivered_and_clean(gw)
        got = []
        for m in sink.snapshot():
            received, rest = strip_received(m.content)
            assert b"by gw.test.example" in received, received
            assert bare_newlines(m.wire) == [], "bare CR/LF on the wire at %s" % bare_newlines(
                m.wire)
            got.append((m.sender, tuple(m.recipients), rest))
        got.sort()
        assert len(got) == len(want), "got %d messages, want %d" % (len(got), len(want))
        for g, w in zip(got, want):
            assert g == w, "relayed: got %r, want %r" % (g, w)
        assert sink.protocol_errors == [], sink.protocol_errors
    finally:
        sink.stop()


def eml_names():
    if not os.path.isdir(EML_DIR):
        pytest.skip("%s does not exist: no .eml corpus to relay" % EML_DIR)
    return sorted(n for n in os.listdir(EML_DIR) if n.endswith(".eml"))


def test_eml_corpus_arrives_byte_exact(gateway_factory):
    names = eml_names()
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port])
        want = {}
        # smtplib sends bytes as they are (it only dot-stuffs), so the CRLF form is sent: a bare
        # LF would be normalised by the gateway, which is its own subject elsewhere.
        with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as client:
            for i, name in enumerate(names):
                with open(os.path.join(EML_DIR, name), "rb") as f:
                    content = normalized(f.read())
                # smtplib ends what it sends with CRLF, even an empty message.
                content = content or b"\r\n"
                rcpt = "m%03d@dest.test" % i
                want[rcpt] = (name, content)
                refused = client.sendmail("alice@sender.test", [rcpt], content)
                assert refused == {}, "%s: refused %r" % (name, refused)
        wait_for(lambda: sink.count() >= len(names), 60,
                 "%d messages at the sink" % len(names),
                 detail=lambda: "(have %d)\n%s" % (sink.count(), gw.log_tail(20)))
        wait_delivered_and_clean(gw)
        got = sink.snapshot()
        assert len(got) == len(names), "got %d messages, want %d" % (len(got), len(names))
        mismatched = []
        for m in got:
            assert len(m.recipients) == 1, m
            name, content = want.pop(m.recipients[0])
            _, rest = strip_received(m.content)
            if rest != content:
                at = next((i for i in range(min(len(rest), len(content)))
                           if rest[i] != content[i]), min(len(rest), len(content)))
                mismatched.append("%s: first difference at byte %d: got %r, want %r"
                                  % (name, at, rest[at - 40:at + 40], content[at - 40:at + 40]))
            assert bare_newlines(m.wire) == [], "%s: bare CR/LF on the wire" % name
        assert want == {}, "never arrived: %s" % sorted(v[0] for v in want.values())
        assert mismatched == [], "%d of %d differ:\n%s" % (len(mismatched), len(names),
                                                          "\n".join(mismatched))
    finally:
        sink.stop()


@pytest.mark.parametrize("threads", [2, 3])
def test_pool_reuse_2000_messages_within_the_cap_across_shards(gateway_factory, tmp_path,
                                                                threads):
    """max_connections_per_host is one cap for all shards, here one that no shard count
    divides: the sink refuses (421) any connection beyond it, and must never have to."""
    n, cap = 2000, 5
    sink = BenchSink("--max-conns", cap, store=str(tmp_path / "store"))
    try:
        gw = relay_gateway(gateway_factory, [sink.port], threads=threads,
                           pool={"max_connections_per_host": cap,
                                 "max_messages_per_connection": 10000, "idle_timeout_s": 30},
                           server={"spool_segment_size": 1 << 20})
        rep = bench_source(gw.port, "--messages", n, "--sessions", 8, "--size", 1500,
                           "--pipelining")
        assert rep["messages_accepted"] == n and rep["messages_failed"] == 0, rep
        wait_for(lambda: sink.stored_count() >= n, 90, "%d messages at the sink" % n,
                 interval_s=0.2, detail=lambda: "(have %d)\n%s" % (sink.stored_count(),
                                                                   gw.log_tail(20)))
        wait_delivered_and_clean(gw)
        report = sink.stop()
        ids = message_ids(sink.stored())
        assert len(ids) == n and set(ids.values()) == {1}, \
            "Message-IDs: %d distinct, duplicated: %s" % (
                len(ids), [k for k, v in ids.items() if v > 1][:5])
        assert report["messages"] == n, report
        assert report["refused_connections"] == 0, \
            "connections refused at the sink: %d (more than %d open at once)" % (
                report["refused_connections"], cap)
        # Pooled connections carry the load: a shard that waits for a slot gets one handed
        # over by another, which costs a connection now and then (more often on a loaded
        # machine), never one per message: at least 50 messages per connection on average.
        assert report["connections"] <= n // 50, \
            "connections at the sink: got %d, want <= %d" % (report["connections"], n // 50)
        assert gw.log_text().count("status=deferred") == 0
    finally:
        sink.kill()
