# The log as a pipeline reads it: with --log-format json every line is one JSON object, and
# the events of a relayed message (queued, delivered, removed) carry the queue id the 250 reply
# gave. A burst of refused connections is rate-limited and every refusal is still accounted
# for. log.file is reopened on SIGHUP, as logrotate expects.
import json
import os
import re
import signal
import smtplib
import time

from delivery_support import PySink, make_message, relay_gateway, wait_delivered_and_clean, wait_for

START_MARK = "==== start"  # written into the log file by the Gateway fixture, not by ringmta


def json_lines(gw):
    """Every line ringmta wrote, parsed; a line that is not a JSON object fails the test."""
    out = []
    for line in gw.log_text().splitlines():
        if line == START_MARK:
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError("log line is not JSON (%s): %r" % (e, line))
        assert isinstance(obj, dict), "log line is not an object: %r" % line
        for key, kind in (("time", str), ("level", str), ("pid", int), ("message", str)):
            assert isinstance(obj.get(key), kind), "line without %s %s: %r" % (kind, key, line)
        out.append(obj)
    return out


def send_one(port, tag):
    """One message over smtplib; returns the queue id of the 250 reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.test.example")
        code, _ = client.mail("alice@sender.test")
        assert code == 250
        code, _ = client.rcpt("bob@dest.test")
        assert code == 250
        code, reply = client.data(make_message(tag, 0))
    assert code == 250, (code, reply)
    prefix = b"2.0.0 Ok: queued as "
    assert reply.startswith(prefix), reply
    return reply[len(prefix):].decode()


def test_json_events_carry_the_queue_id_of_the_250_reply(gateway_factory):
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], start=False)
        gw.extra_args = ["--log-format", "json"]
        gw.start()
        qid = send_one(gw.port, "json-log")
        wait_for(lambda: sink.count() >= 1, 15, "the message at the sink",
                 detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        gw.stop()
    finally:
        sink.stop()

    lines = json_lines(gw)
    mine = [l for l in lines if l.get("queue_id") == qid]
    events = [l["event"] for l in mine]
    assert events == ["queued", "delivered", "removed"], \
        "events of %s: got %r, want queued, delivered, removed\n%s" % (qid, events, mine)
    queued, delivered, removed = mine
    assert "from=<alice@sender.test>" in queued["message"], queued
    assert "to=<bob@dest.test>" in delivered["message"], delivered
    assert "relay=127.0.0.1[127.0.0.1]:%d" % sink.port in delivered["message"], delivered
    assert "dsn=2.0.0, status=sent (" in delivered["message"], delivered
    # Postfix's delays=a/b/c/d follows delay=, inside the message text like every field.
    assert re.search(r", connector=smarthost, delay=\d+\.\d{3}, delays=[0-9.]+/[0-9.]+/[0-9.]+/"
                     r"[0-9.]+, dsn=2\.0\.0, ", delivered["message"]), delivered
    assert removed["message"] == "removed", removed
    assert all(l["level"] == "info" for l in mine), mine
    # The text form must not leak into JSON: the id is a field, not a message prefix.
    assert not any(l["message"].startswith(qid) for l in lines)

    # Inbound sessions: the readiness probe and the smtplib client each connect and go.
    connects = [l for l in lines if l.get("event") == "connect"]
    disconnects = [l for l in lines if l.get("event") == "disconnect"]
    assert len(connects) >= 2 and len(disconnects) == len(connects), (connects, disconnects)
    assert all("queue_id" not in l for l in connects + disconnects)
    assert any("queued=1" in l["message"] for l in disconnects), disconnects


def test_refused_connection_burst_is_limited_and_counted(gateway_factory):
    gw = gateway_factory({"limits": {"connections_per_ip_max": 2}, "log": {"burst_max": 5}},
                         start=False)
    gw.extra_args = ["--log-format", "json"]
    gw.start()
    refusals = 40
    held = [gw.client(), gw.client()]
    try:
        for c in held:
            c.greet()
        for _ in range(refusals):
            with gw.client() as c:
                r = c.read_reply()
                assert r.startswith("421 4.7.0"), r.lines
    finally:
        for c in held:
            c.close()
    gw.stop()  # what is still held back is reported at exit

    lines = json_lines(gw)
    written = [l for l in lines if l.get("event") == "connect_refused"]
    reports = [l for l in lines if l.get("event") == "suppressed"
               and "connect from [%s] refused" in l["message"]]
    suppressed = sum(l["suppressed"] for l in reports)
    assert all(l["level"] == "warning" for l in written + reports), written + reports
    assert written and reports, "want some lines and a suppressed report: %r" % lines[-10:]
    # Windows are one second: however the refusals fell across seconds, at most 5 a window
    # are written and the rest are counted, none lost.
    assert len(written) + suppressed == refusals, \
        "written %d + suppressed %d, want %d" % (len(written), suppressed, refusals)
    for r in reports:
        assert r["message"].startswith("%d similar messages suppressed: " % r["suppressed"]), r


def test_log_file_is_reopened_on_sighup(gateway_factory):
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], start=False)
        path = os.path.join(gw.dir, "mail.log")
        gw.rewrite_config({"log": {"file": path}})
        gw.start()
        first = send_one(gw.port, "before-rotate")
        wait_for(lambda: sink.count() >= 1, 15, "the first message at the sink")
        # logrotate's default: rename, then signal.
        os.rename(path, path + ".1")
        gw.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(path), 10, "the log file to be created again",
                 detail=lambda: gw.log_tail(15))
        second = send_one(gw.port, "after-rotate")
        wait_for(lambda: sink.count() >= 2, 15, "the second message at the sink")
        wait_delivered_and_clean(gw)
        gw.stop()
    finally:
        sink.stop()

    with open(path + ".1") as f:
        old = f.read()
    with open(path) as f:
        new = f.read()
    assert "%s: client=[127.0.0.1]" % first in old, old
    assert second not in old, old
    assert "%s: client=[127.0.0.1]" % second in new, new
    assert "%s: removed" % second in new, new
    assert "SIGHUP: configuration reloaded" in new, new
    assert first not in new, new
