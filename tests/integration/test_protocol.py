# Protocol edges over raw sockets: BDAT chunking (RFC 3030), STARTTLS command injection
# (RFC 3207 4.2) and SMTP smuggling through bare CR/LF around the end-of-data dot. Each test
# checks exact replies and what (and how much) ended up in the spool.
import re

import pytest

from conftest import assert_stored, queued_id

CHUNK_OK = "250 2.0.0 Ok: chunk received"


def reference_data(wire):
    """Stored content for DATA bytes `wire` (up to and including CRLF.CRLF): lines are split
    on real CRLFs only, a leading dot is removed, then each bare CR or LF becomes CRLF."""
    lines = wire.split(b"\r\n")
    end = lines.index(b".")
    content = b"".join((l[1:] if l.startswith(b".") else l) + b"\r\n" for l in lines[:end])
    return re.sub(rb"\r\n|\r|\n", b"\r\n", content)


def open_transaction(gateway, rcpts=("b@example.net",)):
    c = gateway.client()
    c.greet()
    c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
    for r in rcpts:
        c.expect("RCPT TO:<%s>" % r, "250 2.1.5")
    return c


# ---------------------------------------------------------------- BDAT

BDAT_CASES = [
    # label, chunks (the last one goes with LAST unless the list ends with b""), stored content
    ("lines and CRLF split across chunks",
     [b"Subject: bd", b"at\r\n\r", b"\nline one\r", b"\n.line two is not unstuffed\r\n"],
     b"Subject: bdat\r\n\r\nline one\r\n.line two is not unstuffed\r\n"),
    ("BDAT 0 LAST ends the message",
     [b"Subject: zero\r\n\r\n", b"body\r\n", b""],
     b"Subject: zero\r\n\r\nbody\r\n"),
    ("a dot line is content in BDAT",
     [b"Subject: dot\r\n\r\n.\r\n", b"after the dot\r\n"],
     b"Subject: dot\r\n\r\n.\r\nafter the dot\r\n"),
    ("bare LF and CR are normalised",
     [b"Subject: bare\r\n\r\na\nb\rc\r", b"\n"],
     b"Subject: bare\r\n\r\na\r\nb\r\nc\r\n"),
]


@pytest.mark.parametrize("label,chunks,want", BDAT_CASES, ids=[c[0] for c in BDAT_CASES])
def test_bdat_chunks(gateway, label, chunks, want):
    with open_transaction(gateway) as c:
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
            r = c.read_reply()
            if not last:
                assert r.lines == [CHUNK_OK], "chunk %d: got %r, want %r" % (i, r.lines, CHUNK_OK)
        qid = queued_id(r)
        c.expect("QUIT", "221 2.0.0")
    assert_stored(gateway.spool(), qid, want)
    assert gateway.queue_ids() == {qid}


def test_bdat_pipelined_with_chunk_data(gateway):
    """Everything from MAIL to the last chunk in one write; replies come back in order."""
    body1, body2 = b"Subject: pipelined bdat\r\n\r\nfirst half, ", b"second half\r\n"
    with gateway.client() as c:
        c.greet()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
               b"RCPT TO:<c@example.net>\r\n"
               b"BDAT %d\r\n%sBDAT %d LAST\r\n%sNOOP\r\n" % (len(body1), body1, len(body2), body2))
        got = [c.read_reply().lines for _ in range(5)]
        assert got[:4] == [["250 2.1.0 Ok"], ["250 2.1.5 Ok"], ["250 2.1.5 Ok"], [CHUNK_OK]], got
        qid = queued_id(got[4][0])
        assert c.read_reply().lines == ["250 2.0.0 Ok"]
    assert_stored(gateway.spool(), qid, body1 + body2,
                  recipients=["b@example.net", "c@example.net"])


def test_bdat_without_transaction_discards_chunk(gateway):
    """RFC 3030: a refused BDAT's chunk is still read, so the session stays in step."""
    with gateway.client() as c:
        c.greet()
        chunk = b"MAIL FROM:<evil@example.org>\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        r = c.read_reply()
        assert r.startswith("503 5.5.1"), "got %r, want 503 5.5.1" % r.lines
        c.expect("NOOP", "250 2.0.0")
        # The chunk was not executed as a command: RCPT still has no transaction.
        c.expect("RCPT TO:<b@example.net>", "503 5.5.1")
    assert gateway.spool() == {}


# ---------------------------------------------------------------- STARTTLS injection

@pytest.mark.parametrize("injected", [
    b"MAIL FROM:<x@example.org>\r\n",
    b"EHLO evil.example\r\nMAIL FROM:<x@example.org>\r\nRCPT TO:<y@example.net>\r\n",
], ids=["mail", "ehlo-mail-rcpt"])
def test_starttls_discards_pipelined_commands(gateway_factory, tls_files, injected):
    gateway = gateway_factory(tls=tls_files)
    with gateway.client() as c:
        c.greet()
        c.send(b"STARTTLS\r\n" + injected)  # one write: arrives with the STARTTLS
        r = c.read_reply()
        assert r.lines == ["220 2.0.0 Ready to start TLS"], r.lines
        assert c.buf == b"", "plaintext after the 220: %r" % c.buf
        c.wrap_tls()
        # No EHLO and no MAIL survived the handshake.
        r = c.cmd("RCPT TO:<y@example.net>")
        assert r.startswith("503 5.5.1"), "RCPT after TLS: got %r, want 503 5.5.1" % r.lines
        r = c.cmd("MAIL FROM:<x@example.org>")
        assert r.startswith("503 5.5.1"), "MAIL before EHLO: got %r, want 503 5.5.1" % r.lines
        r = c.expect("EHLO client.test.example", "250 ")
        assert "STARTTLS" not in r.text, "STARTTLS offered again under TLS: %r" % r.lines
        c.expect("RCPT TO:<y@example.net>", "503 5.5.1")
        data = b"Subject: after tls\r\n\r\nok\r\n.\r\n"
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"], data))
        c.expect("QUIT", "221 2.0.0")
    _, received = assert_stored(gateway.spool(), qid, reference_data(data),
                                sender="a@example.org", recipients=["b@example.net"])
    assert b" with ESMTPS id " in received
    assert set(gateway.spool()) == {qid}


def test_starttls_without_tls_configured(gateway):
    with gateway.client() as c:
        r = c.greet()
        assert "STARTTLS" not in r.text, r.lines
        r = c.cmd("HELP")
        assert r.lines == ["214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT "
                           "VRFY HELP"], r.lines
        c.expect("STARTTLS", "502 5.5.1")
        c.expect("NOOP", "250 2.0.0")


# ---------------------------------------------------------------- smuggling

SMUGGLED = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nevil\r\n")
SMUGGLE_SEPARATORS = [b"\n.\r\n", b"\n.\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r\r\n", b"\r.\n"]


def smuggling_data(sep):
    return b"Subject: legit\r\n\r\nbefore" + sep + SMUGGLED + b".\r\n"


@pytest.mark.parametrize("sep", SMUGGLE_SEPARATORS, ids=[repr(s) for s in SMUGGLE_SEPARATORS])
def test_smuggling_normalize(gateway, sep):
    data = smuggling_data(sep)
    with open_transaction(gateway) as c:
        qid = queued_id(c.data(data + b"NOOP\r\n"))
        # Exactly one reply for the whole message: the next one answers our NOOP.
        assert c.read_reply().lines == ["250 2.0.0 Ok"]
        c.expect("QUIT", "221 2.0.0")
    spool = gateway.spool()
    assert set(spool) == {qid}, "want one message, got %d" % len(spool)
    assert_stored(spool, qid, reference_data(data))
    content = spool[qid][1]
    assert SMUGGLED in content
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", content) is None, "bare CR or LF stored"


@pytest.mark.parametrize("sep", SMUGGLE_SEPARATORS, ids=[repr(s) for s in SMUGGLE_SEPARATORS])
def test_smuggling_reject(gateway_factory, sep):
    gateway = gateway_factory({"relay": {"bare_newline": "reject"}})
    with open_transaction(gateway) as c:
        r = c.data(smuggling_data(sep) + b"NOOP\r\n")
        assert r.startswith("550 5.6.0"), "got %r, want 550 5.6.0" % r.lines
        assert c.read_reply().lines == ["250 2.0.0 Ok"]
        # The session goes on: a clean message is still accepted.
        clean = b"Subject: clean\r\n\r\nclean\r\n.\r\n"
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"], clean))
    spool = gateway.spool()
    assert set(spool) == {qid}
    assert_stored(spool, qid, reference_data(clean))


def test_dot_stuffing_exact(gateway):
    """Leading dots are removed once; a lone '..' line stores as '.'."""
    data = (b"Subject: dots\r\n\r\n..\r\n...\r\n.x\r\nx.\r\n. \r\n\r\n.\r\n")
    with open_transaction(gateway) as c:
        qid = queued_id(c.data(data))
    assert_stored(gateway.spool(), qid,
                  b"Subject: dots\r\n\r\n.\r\n..\r\nx\r\nx.\r\n \r\n\r\n")


def test_empty_data(gateway):
    with open_transaction(gateway) as c:
        qid = queued_id(c.data(b".\r\n"))
    assert_stored(gateway.spool(), qid, b"")


def test_starttls_pipelined_after_a_message(gateway_factory, tls_files):
    """STARTTLS and an injected MAIL wait behind a committing message; the MAIL is still
    discarded once the STARTTLS runs."""
    gateway = gateway_factory(tls=tls_files)
    data = b"Subject: before tls\r\n\r\nplain\r\n.\r\n"
    with gateway.client() as c:
        c.greet()
        c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + data +
               b"STARTTLS\r\nMAIL FROM:<x@example.org>\r\n")
        got = [c.read_reply().lines[-1] for _ in range(5)]
        assert got[:3] == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                           "354 End data with <CR><LF>.<CR><LF>"], got
        qid = queued_id(got[3])
        assert got[4] == "220 2.0.0 Ready to start TLS", got
        assert c.buf == b"", "plaintext after the 220: %r" % c.buf
        c.wrap_tls()
        c.expect("EHLO client.test.example", "250 ")
        c.expect("RCPT TO:<y@example.net>", "503 5.5.1")
    assert set(gateway.spool()) == {qid}
    assert_stored(gateway.spool(), qid, reference_data(data))


def test_starttls_resets_open_transaction(gateway_factory, tls_files):
    gateway = gateway_factory(tls=tls_files)
    with gateway.client() as c:
        c.greet()
        c.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        c.starttls()
        c.expect("EHLO client.test.example", "250 ")
        c.expect("DATA", "503 5.5.1")
        c.expect("STARTTLS", "503 5.5.1")  # already under TLS
    assert gateway.spool() == {}


def test_tls_two_transactions_in_one_write(gateway_factory, tls_files):
    gateway = gateway_factory(tls=tls_files)
    big = b"Subject: big over tls\r\n\r\n" + (b"t" * 500 + b"\r\n") * 400
    small = b"Subject: small\r\n\r\nx\r\n"
    with gateway.client() as c:
        c.greet()
        c.starttls()
        c.expect("EHLO client.test.example", "250 ")
        tx = b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n%s.\r\n"
        c.send(tx % big + tx % small + b"NOOP\r\n")
        got = [c.read_reply().lines[-1] for _ in range(9)]
        q1, q2 = queued_id(got[3]), queued_id(got[7])
        assert got[8] == "250 2.0.0 Ok", got
    spool = gateway.spool()
    assert set(spool) == {q1, q2}
    assert_stored(spool, q1, big)
    assert_stored(spool, q2, small)
