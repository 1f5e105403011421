# Bad and unusual input over raw sockets: relay denial, size, recipient and line limits, NUL,
# unknown commands, error budget, timeouts, per-IP connection limit and command sequencing.
# Every case checks the exact reply code and enhanced code, and that nothing was queued that
# should not be.
import time

import pytest

from conftest import assert_stored, queued_id

BODY = b"Subject: t\r\n\r\nbody\r\n"


def data_of(body):
    return body + b".\r\n"


# ---------------------------------------------------------------- relay

RELAY_CONFIG = {
    "relay": {"networks": ["10.0.0.0/8"]},
    "accepted_domains": [
        {"domain": "example.com", "type": "authoritative", "connector": "to-exchange"},
    ],
    "connectors": [
        {"name": "outbound", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:9"]},
        {"name": "to-exchange", "address_spaces": [], "smart_hosts": ["[127.0.0.1]:9"]},
    ],
}


def test_relay_denied_outside_relay_networks(gateway_factory):
    gateway = gateway_factory(RELAY_CONFIG)
    with gateway.client() as c:
        c.greet()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        r = c.cmd("RCPT TO:<b@example.net>")
        assert r.lines == ["554 5.7.1 <b@example.net>: Relay access denied"], r.lines
        c.expect("DATA", "554 5.5.1")  # no valid recipients
        c.expect("RSET", "250 2.0.0")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<b@example.net>", "554 5.7.1")
        c.expect("RCPT TO:<ours@example.com>", "250 2.1.5")
        c.expect("RCPT TO:<Ours2@EXAMPLE.COM>", "250 2.1.5")
        c.expect("RCPT TO:<postmaster>", "250 2.1.5")
        c.expect("RCPT TO:<c@other.example>", "554 5.7.1")
        qid = queued_id(c.data(data_of(BODY)))
    # The domain is stored in canonical (lower) case, the local part as given.
    assert_stored(gateway.spool(), qid, BODY,
                  recipients=["ours@example.com", "Ours2@example.com", "postmaster"])
    assert gateway.queue_ids() == {qid}


# ---------------------------------------------------------------- size

SIZE_MAX = 1000


def body_of_size(n):
    head = b"Subject: size\r\n\r\n"
    filler = n - len(head) - 2
    assert filler > 0
    return head + b"x" * filler + b"\r\n"


def test_size_declared_too_big(gateway_factory):
    gateway = gateway_factory({"limits": {"message_size_max": SIZE_MAX}})
    with gateway.client() as c:
        r = c.greet()
        assert "SIZE %d" % SIZE_MAX in r.text, r.lines
        c.expect("MAIL FROM:<a@example.org> SIZE=%d" % (SIZE_MAX + 1), "552 5.3.4")
        c.expect("RCPT TO:<b@example.net>", "503 5.5.1")  # the MAIL was refused
        c.expect("MAIL FROM:<a@example.org> SIZE=%d" % SIZE_MAX, "250 2.1.0")
    assert gateway.spool() == {}


@pytest.mark.parametrize("mode", ["DATA", "BDAT"])
def test_size_actual_too_big(gateway_factory, mode):
    gateway = gateway_factory({"limits": {"message_size_max": SIZE_MAX}})
    with gateway.client() as c:
        c.greet()
        for size, want in [(SIZE_MAX + 1, "552 5.3.4"), (SIZE_MAX, "250 2.0.0"),
                           (50 * SIZE_MAX, "552 5.3.4")]:
            body = body_of_size(size)
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
            if mode == "DATA":
                c.expect("DATA", "354 ")
                c.send(data_of(body))
            else:
                c.send(b"BDAT %d LAST\r\n" % len(body) + body)
            r = c.read_reply()
            assert r.startswith(want), "%d bytes by %s: got %r, want %s" % (size, mode, r.lines,
                                                                             want)
            if want.startswith("250"):
                accepted = (queued_id(r), body)
        c.expect("NOOP", "250 2.0.0")
    spool = gateway.spool()
    assert set(spool) == {accepted[0]}, "only the message of exactly the limit is queued"
    assert_stored(spool, *accepted)


# ---------------------------------------------------------------- recipients, lines, NUL

def test_too_many_recipients(gateway_factory):
    gateway = gateway_factory({"limits": {"recipients_per_message_max": 3}})
    with gateway.client() as c:
        c.greet()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        for i in range(3):
            c.expect("RCPT TO:<r%d@example.net>" % i, "250 2.1.5")
        c.expect("RCPT TO:<r3@example.net>", "452 4.5.3")
        c.expect("RCPT TO:<r4@example.net>", "452 4.5.3")
        qid = queued_id(c.data(data_of(BODY)))
    assert_stored(gateway.spool(), qid, BODY,
                  recipients=["r0@example.net", "r1@example.net", "r2@example.net"])


def test_command_line_length(gateway_factory):
    gateway = gateway_factory({"limits": {"command_line_length_max": 512}})
    with gateway.client() as c:
        c.greet()
        at_limit = "NOOP " + "x" * (512 - 7)  # 512 bytes with CRLF
        c.expect(at_limit, "250 2.0.0")
        c.expect(at_limit + "y", "500 5.5.2")
        c.expect("MAIL FROM:<a@example.org> " + "X" * 5000, "500 5.5.2")
        c.expect("NOOP", "250 2.0.0")  # the session is still in step
        c.expect("RCPT TO:<b@example.net>", "503 5.5.1")  # the long MAIL did nothing
    assert gateway.spool() == {}


@pytest.mark.parametrize("octets,want", [(998, "250 2.0.0"), (999, "500 5.5.2"),
                                          (5000, "500 5.5.2")])
def test_text_line_length(gateway_factory, octets, want):
    """text_line_length_max counts the CRLF: 1000 admits a line of 998 octets."""
    gateway = gateway_factory({"limits": {"text_line_length_max": 1000}})
    body = b"Subject: long\r\n\r\n" + b"y" * octets + b"\r\n"
    with gateway.client() as c:
        c.greet()
        r = c.send_message("a@example.org", ["b@example.net"], body + b".\r\n")
        assert r.startswith(want), "%d octets: got %r, want %s" % (octets, r.lines, want)
    spool = gateway.spool()
    if want.startswith("250"):
        assert_stored(spool, queued_id(r), body)
    else:
        assert spool == {}


@pytest.mark.parametrize("line", [b"NOOP\0", b"MAIL FROM:<a\0@example.org>", b"\0EHLO x"])
def test_nul_in_command(gateway, line):
    with gateway.client() as c:
        c.greet()
        r = c.cmd(line)
        assert r.startswith("500 5.5.2"), "%r: got %r, want 500 5.5.2" % (line, r.lines)
        c.expect("NOOP", "250 2.0.0")
        c.expect("RCPT TO:<b@example.net>", "503 5.5.1")
    assert gateway.spool() == {}


def test_nul_in_data_refused(gateway):
    with gateway.client() as c:
        c.greet()
        r = c.send_message("a@example.org", ["b@example.net"],
                           b"Subject: nul\r\n\r\na\0b\r\n.\r\n")
        assert r.startswith("554 5.6.0"), "got %r, want 554 5.6.0" % r.lines
    assert gateway.spool() == {}


# ---------------------------------------------------------------- simple commands

@pytest.mark.parametrize("line,want", [
    ("FOO", "500 5.5.1"),
    ("MAIL FROM:<a@example.org>", "503 5.5.1"),   # before EHLO
    ("RCPT TO:<b@example.net>", "503 5.5.1"),
    ("DATA", "503 5.5.1"),
    ("VRFY postmaster", "252 "),
    ("HELP", "214 "),
    ("RSET", "250 2.0.0"),
    ("NOOP", "250 2.0.0"),
    ("EHLO", "501 5.5.4"),
    ("AUTH PLAIN AGVIAGY=", "502 5.5.1"),
])
def test_command_reply_before_ehlo(gateway, line, want):
    with gateway.client() as c:
        assert c.read_reply().startswith("220 ")
        c.expect(line, want)
        c.expect("QUIT", "221 2.0.0")
        assert c.wait_closed(3), "still open after QUIT"
    assert gateway.spool() == {}


def test_sequence_errors_in_session(gateway):
    with gateway.client() as c:
        c.greet()
        c.expect("RCPT TO:<b@example.net>", "503 5.5.1")
        c.expect("DATA", "503 5.5.1")
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("MAIL FROM:<a@example.org>", "503 5.5.1")  # nested
        c.expect("DATA", "554 5.5.1")  # no valid recipients
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        c.expect("RSET", "250 2.0.0")
        c.expect("DATA", "503 5.5.1")  # RSET dropped the transaction
        c.expect("MAIL FROM:<>", "250 2.1.0")  # null sender
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        qid = queued_id(c.data(data_of(BODY)))
    assert_stored(gateway.spool(), qid, BODY, sender="")


def test_error_budget(gateway_factory):
    gateway = gateway_factory({"limits": {"errors_per_session_max": 3}})
    with gateway.client() as c:
        c.greet()
        c.expect("FOO", "500 5.5.1")
        c.expect("BAR", "500 5.5.1")
        c.send(b"BAZ\r\n")
        assert c.read_reply().startswith("500 5.5.1")
        r = c.read_reply()
        assert r.startswith("421 4.7.0"), "got %r, want 421 4.7.0" % r.lines
        assert c.wait_closed(3), "still open after 421"
    assert gateway.spool() == {}


# ---------------------------------------------------------------- timeouts, connection limits

@pytest.mark.parametrize("where", ["command", "data", "bdat"])
def test_idle_timeout(gateway_factory, where):
    gateway = gateway_factory({"limits": {"command_timeout_s": 2, "data_timeout_s": 2}})
    with gateway.client() as c:
        c.greet()
        if where == "data":
            c.begin_data()
            c.send(b"Subject: half a message\r\n\r\nno end")
        elif where == "bdat":
            c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
            c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
            c.send(b"BDAT 100 LAST\r\nonly part of the chunk")
        start = time.monotonic()
        c.sock.settimeout(5)
        r = c.read_reply()
        waited = time.monotonic() - start
        assert r.startswith("421 4.4.2"), "got %r, want 421 4.4.2" % r.lines
        # Never early (the idle time counts from when the last bytes arrived); at most one
        # check interval (1 s) late.
        assert 1.95 <= waited <= 3.5, "timeout reply after %.2fs, want 2 to 3 s" % waited
        assert c.wait_closed(2), "still open after the timeout reply"
    assert gateway.spool() == {}


def test_connections_per_ip_max(gateway_factory):
    gateway = gateway_factory({"limits": {"connections_per_ip_max": 2}})
    held = [gateway.client(), gateway.client()]
    try:
        for c in held:
            c.greet()
        with gateway.client() as third:
            r = third.read_reply()
            assert r.startswith("421 4.7.0"), "got %r, want 421 4.7.0" % r.lines
            assert third.wait_closed(3)
        # From another loopback address the per-IP count starts again.
        with gateway.client(source=("127.0.0.2", 0)) as other:
            other.greet()
        held.pop().close()
        time.sleep(0.3)  # let the server see the close
        with gateway.client() as again:
            again.greet()
    finally:
        for c in held:
            c.close()


def test_connections_max(gateway_factory):
    gateway = gateway_factory({"limits": {"connections_max": 5}})
    held = []
    try:
        for i in range(5):
            c = gateway.client(source=("127.0.0.%d" % (i + 1), 0))
            held.append(c)
            c.greet()
        with gateway.client(source=("127.0.0.9", 0)) as sixth:
            r = sixth.read_reply()
            assert r.startswith("421 4.7.0"), "got %r, want 421 4.7.0" % r.lines
            assert sixth.wait_closed(3)
        # The held sessions still work.
        for c in held:
            c.expect("NOOP", "250 2.0.0")
        # Closed sessions give their slots back.
        for c in held[:2]:
            c.expect("QUIT", "221 2.0.0")
            assert c.wait_closed(3)
        time.sleep(0.3)
        for i in range(2):
            with gateway.client(source=("127.0.0.%d" % (20 + i), 0)) as c:
                c.greet()
    finally:
        for c in held:
            c.close()


def test_queue_full(gateway_factory):
    # One shard: the limit is shared out among shards, so with one the count is exact.
    gateway = gateway_factory({"limits": {"queue_messages_max": 2}}, threads=1)
    ids = []
    with gateway.client() as c:
        c.greet()
        for _ in range(2):
            ids.append(queued_id(c.send_message("a@example.org", ["b@example.net"],
                                                data_of(BODY))))
        c.expect("MAIL FROM:<a@example.org>", "452 4.3.1")
    assert set(gateway.spool()) == set(ids)
