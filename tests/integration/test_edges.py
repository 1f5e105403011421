# Edges of the ESMTP server found by pushing on it: several transactions in one write (input
# held while a message commits), byte-by-byte input, big messages, BINARYMIME, address forms,
# memory budget, TLS handshake failures and timeouts, IPv6 peers, many concurrent sessions.
import email.utils
import os
import random
import re
import socket
import threading
import time

import pytest

from conftest import SmtpClient, assert_stored, free_port, queued_id


def require_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")


def test_two_transactions_in_one_write(gateway):
    """The second transaction arrives while the first commits; replies stay in order."""
    m1 = b"Subject: one\r\n\r\nfirst\r\n"
    m2 = b"Subject: two\r\n\r\n..second\r\n"
    batch = (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n" + m1 +
             b".\r\nMAIL FROM:<c@example.org>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n" + m2 +
             b".\r\nQUIT\r\n")
    with gateway.client() as c:
        c.greet()
        c.send(batch)
        got = [c.read_reply().lines[-1] for _ in range(9)]
        assert got[0:3] == ["250 2.1.0 Ok", "250 2.1.5 Ok",
                            "354 End data with <CR><LF>.<CR><LF>"], got
        assert got[4:7] == got[0:3], got
        assert got[8] == "221 2.0.0 Bye", got
        q1, q2 = queued_id(got[3]), queued_id(got[7])
        assert c.wait_closed(3)
    spool = gateway.spool()
    assert set(spool) == {q1, q2}
    assert_stored(spool, q1, m1, sender="a@example.org")
    assert_stored(spool, q2, b"Subject: two\r\n\r\n.second\r\n", sender="c@example.org")


def test_byte_by_byte(gateway):
    data = b"Subject: slow\r\n\r\n..dot\r\nbare\nlf\r\n.\r\n"
    with gateway.client() as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.greet()
        for line in (b"MAIL FROM:<a@example.org>\r\n", b"RCPT TO:<b@example.net>\r\n",
                     b"DATA\r\n"):
            for i in range(len(line)):
                c.send(line[i:i + 1])
                time.sleep(0.001)
            assert c.read_reply().code in (250, 354)
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(0.001)
        qid = queued_id(c.read_reply())
    assert_stored(gateway.spool(), qid, b"Subject: slow\r\n\r\n.dot\r\nbare\r\nlf\r\n")


def test_big_message_exact(gateway):
    rng = random.Random(7)
    lines = [b"Subject: big", b""]
    size = 0
    while size < 6 << 20:
        n = rng.choice([0, 1, 70, 76, 998, 5000])
        line = bytes(rng.choice(b"abc .\t") for _ in range(min(n, 30))) + b"q" * max(0, n - 30)
        lines.append(line)
        size += len(line) + 2
    body = b"\r\n".join(lines) + b"\r\n"
    wire = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines) + b"\r\n.\r\n"
    with gateway.client(timeout_s=60) as c:
        c.greet()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"], wire))
    assert_stored(gateway.spool(), qid, body)


def test_binarymime_refused_because_not_advertised(gateway):
    # BINARYMIME is not offered (a binary body could not be relayed to most next hops), so
    # the parameter is refused up front rather than accepted and bounced later.
    with gateway.client() as c:
        c.greet()
        c.expect("MAIL FROM:<a@example.org> BODY=BINARYMIME", "555 5.5.4")
        c.expect("MAIL FROM:<a@example.org> BODY=8BITMIME", "250 2.1.0")
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        c.send(b"BDAT 5 LAST\r\nabc\r\n")
        qid = queued_id(c.read_reply())
    env, _ = assert_stored(gateway.spool(), qid, b"abc\r\n")
    assert env["body_type"] == "8bitmime"


@pytest.mark.parametrize("line,want,stored", [
    ("MAIL FROM: <a@example.org>", "250 2.1.0", "a@example.org"),
    ("MAIL FROM:<@relay.example,@other.example:a@example.org>", "250 2.1.0", "a@example.org"),
    ("MAIL FROM:<a@example.org.>", "250 2.1.0", "a@example.org"),
    ('MAIL FROM:<"john doe"@example.org>', "250 2.1.0", '"john doe"@example.org'),
    ("MAIL FROM:<a@[192.0.2.1]>", "250 2.1.0", "a@[192.0.2.1]"),
    ("MAIL FROM:a@example.org", "501 5.1.7", None),
    ("MAIL FROM:<a@exa mple.org>", "501 5.", None),  # read as path "<a@exa" + parameters
    ("MAIL FROM:<jörg@example.org>", "553 5.6.7", None),  # UTF-8 without SMTPUTF8
    ("MAIL FROM:<a@example.org> FOO=BAR", "555 5.5.4", None),
    ("MAIL FROM:<a@example.org> SIZE=abc", "501 5.5.4", None),
])
def test_reverse_path_forms(gateway, line, want, stored):
    with gateway.client() as c:
        c.greet()
        r = c.cmd(line)
        assert r.startswith(want), "%r: got %r, want %s" % (line, r.lines, want)
        if stored is None:
            return
        qid = None
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        qid = queued_id(c.data(b"Subject: x\r\n\r\nx\r\n.\r\n"))
    assert_stored(gateway.spool(), qid, b"Subject: x\r\n\r\nx\r\n", sender=stored)


def test_helo_then_mail_params(gateway):
    with gateway.client() as c:
        assert c.read_reply().startswith("220 ")
        c.expect("HELO old.example", "250 ")
        c.expect("MAIL FROM:<a@example.org> SIZE=10", "555 5.5.4")
        c.begin_data()
        c.send(b"Subject: helo\r\n\r\nx\r\n.\r\n")
        qid = queued_id(c.read_reply())
    _, received = assert_stored(gateway.spool(), qid, b"Subject: helo\r\n\r\nx\r\n")
    assert received.startswith(b"Received: from old.example (unknown [127.0.0.1])\r\n"), received
    assert b" with SMTP id " in received


def test_received_header_sanitises_helo(gateway):
    with gateway.client() as c:
        c.greet("evil(x)\\y")
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: x\r\n\r\nx\r\n.\r\n"))
    env, received = assert_stored(gateway.spool(), qid, b"Subject: x\r\n\r\nx\r\n")
    assert env["helo_name"] == b"evil(x)\\y"
    first = received.split(b"\r\n")[0]
    assert first == b"Received: from evil?x??y (unknown [127.0.0.1])", first


def test_memory_budget(gateway_factory):
    gateway = gateway_factory({"limits": {"memory_max": 1 << 20}})
    big = b"Subject: big\r\n\r\n" + (b"m" * 998 + b"\r\n") * 2200  # 2.2 MB
    with gateway.client(timeout_s=30) as c:
        c.greet()
        r = c.send_message("a@example.org", ["b@example.net"], big + b".\r\n")
        assert r.startswith("452 4.3.1"), "got %r, want 452 4.3.1" % r.lines
        # The budget was refunded: a small message still goes through.
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: small\r\n\r\nx\r\n.\r\n"))
    assert set(gateway.spool()) == {qid}


def test_client_vanishes_mid_data(gateway):
    with gateway.client() as c:
        c.greet()
        c.begin_data()
        c.send(b"Subject: cut\r\n\r\nhalf")
    time.sleep(0.3)
    with gateway.client() as c:  # the gateway is fine
        c.greet()
        c.expect("NOOP", "250 2.0.0")
    assert gateway.spool() == {}


def test_tls_garbage_handshake(gateway_factory, tls_files):
    gateway = gateway_factory(tls=tls_files)
    with gateway.client() as c:
        c.greet()
        c.expect("STARTTLS", "220 2.0.0")
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        assert c.wait_closed(5), "connection not closed after a bad handshake"
    with gateway.client() as c:
        c.greet()
        c.starttls()
        c.expect("EHLO again.example", "250 ")
        c.expect("NOOP", "250 2.0.0")


def test_tls_handshake_timeout(gateway_factory, tls_files):
    gateway = gateway_factory({"limits": {"tls_handshake_timeout_s": 1}}, tls=tls_files)
    with gateway.client() as c:
        c.greet()
        c.expect("STARTTLS", "220 2.0.0")
        start = time.monotonic()
        assert c.wait_closed(5), "no close after the TLS handshake timeout"
        waited = time.monotonic() - start
        assert 0.8 <= waited <= 3.0, "closed after %.2fs, want about 1s" % waited


def test_ipv6_peer(gateway_factory):
    require_ipv6_loopback()
    gateway = gateway_factory(start=False)
    port6 = free_port()
    gateway.rewrite_config({"listeners": gateway.config["listeners"] +
                            [{"address": "[::1]:%d" % port6}]})
    gateway.start()
    with SmtpClient(port6, host="::1") as c:
        c.greet()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: v6\r\n\r\nx\r\n.\r\n"))
    env, received = assert_stored(gateway.spool(), qid, b"Subject: v6\r\n\r\nx\r\n")
    assert env["client_ip"] == b"::1"
    assert b"(unknown [IPv6:::1])" in received, received


def test_many_concurrent_sessions(gateway):
    """60 sessions open at once, each sends two messages; every ack is in the spool."""
    results, errors = {}, []
    lock = threading.Lock()
    start = threading.Barrier(60)

    def session(i):
        try:
            with gateway.client(timeout_s=30) as c:
                c.greet()
                start.wait(20)
                for k in range(2):
                    body = b"Subject: s%d m%d\r\n\r\n" % (i, k) + b"p" * (i * 37) + b"\r\n"
                    qid = queued_id(c.send_message("a@example.org", ["s%d@example.net" % i],
                                                   body + b".\r\n"))
                    with lock:
                        results[qid] = body
                c.expect("QUIT", "221 2.0.0")
        except Exception as e:  # reported below with the session number
            with lock:
                errors.append((i, repr(e)))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [], errors[:5]
    assert len(results) == 120
    spool = gateway.spool()
    assert set(spool) == set(results)
    for qid, body in results.items():
        assert_stored(spool, qid, body)
    shards = {spool[q][0]["shard"] for q in spool}
    assert all(int(q[-2:], 16) == spool[q][0]["shard"] for q in spool), \
        "queue id low byte must be the shard"
    assert shards <= {0, 1}


def test_dual_stack_listener(gateway_factory):
    """On a [::] listener an IPv4 client is still 127.0.0.1: relay allowed, plain in headers."""
    require_ipv6_loopback()
    gateway = gateway_factory(start=False)
    gateway.rewrite_config({"listeners": [{"address": "[::]:%d" % gateway.port}]})
    gateway.start()
    ids = {}
    for host in ("127.0.0.1", "::1"):
        with SmtpClient(gateway.port, host=host) as c:
            c.greet()
            ids[host] = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                                 b"Subject: ds\r\n\r\nx\r\n.\r\n"))
    spool = gateway.spool()
    for host, literal in (("127.0.0.1", b"[127.0.0.1]"), ("::1", b"[IPv6:::1]")):
        env, received = assert_stored(spool, ids[host], b"Subject: ds\r\n\r\nx\r\n")
        assert env["client_ip"] == host.encode(), env["client_ip"]
        assert b"(unknown " + literal + b")" in received, received


def test_thousand_recipients_pipelined(gateway):
    rcpts = ["r%d@example.net" % i for i in range(1000)]
    with gateway.client(timeout_s=30) as c:
        c.greet()
        c.send(b"MAIL FROM:<a@example.org>\r\n" +
               b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts) +
               b"DATA\r\nSubject: many\r\n\r\nx\r\n.\r\n")
        got = [c.read_reply().lines[-1] for _ in range(1003)]
        assert got[0] == "250 2.1.0 Ok"
        assert set(got[1:1001]) == {"250 2.1.5 Ok"}, set(got[1:1001])
        assert got[1001].startswith("354 ")
        qid = queued_id(got[1002])
    assert_stored(gateway.spool(), qid, b"Subject: many\r\n\r\nx\r\n", recipients=rcpts)


def test_noop_flood_answered_in_order(gateway):
    """300,000 pipelined commands: every one answered, none lost or merged."""
    count = 300000
    answered, failures = [0], []
    with gateway.client(timeout_s=30) as c:
        c.greet()

        def reader():
            try:
                while answered[0] < count:
                    line = c.read_line()
                    if line != "250 2.0.0 Ok":
                        failures.append((answered[0], line))
                        return
                    answered[0] += 1
            except (OSError, EOFError) as e:
                failures.append((answered[0], repr(e)))

        t = threading.Thread(target=reader)
        t.start()
        c.send(b"NOOP\r\n" * count)
        t.join(60)
        assert failures == [] and answered[0] == count, (answered[0], failures[:3])
        c.expect("QUIT", "221 2.0.0")


RECEIVED_SHAPE = re.compile(
    rb"Received: from client\.test\.example \(unknown \[127\.0\.0\.1\]\)\r\n"
    rb"\tby gw\.test\.example \(ringmta\) with ESMTP id (?P<id>[0-9A-F]{16})\r\n"
    rb"\tfor <b@example\.net>; (?P<date>[^\r\n]+)\r\n")


@pytest.mark.parametrize("tz,offset", [("UTC", "+0000"), ("Asia/Kolkata", "+0530"),
                                       ("America/St_Johns", None)])
def test_received_header_date(gateway_factory, tz, offset):
    """The whole header has the documented shape and its date is now, in the local zone."""
    if not os.path.exists("/usr/share/zoneinfo/" + tz) and tz != "UTC":
        pytest.skip("no zoneinfo for " + tz)
    gateway = gateway_factory(start=False)
    gateway.env = dict(os.environ, TZ=tz)
    gateway.start()
    with gateway.client() as c:
        c.greet()
        before = time.time()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: date\r\n\r\nx\r\n.\r\n"))
        after = time.time()
    env, received = assert_stored(gateway.spool(), qid, b"Subject: date\r\n\r\nx\r\n")
    m = RECEIVED_SHAPE.fullmatch(received)
    assert m and m.group("id") == qid.encode(), received
    date = m.group("date").decode()
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
                        r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                        r"\d\d:\d\d:\d\d [+-]\d{4}", date), date
    if offset is None:  # St John's: -0330 or -0230 depending on the season
        assert date.endswith(("-0330", "-0230")), date
    else:
        assert date.endswith(offset), date
    when = email.utils.parsedate_to_datetime(date).timestamp()
    assert int(before) - 1 <= when <= after + 1, "date %s is not now" % date
    assert abs(env["arrival_us"] / 1e6 - when) < 1.5, (env["arrival_us"], date)
