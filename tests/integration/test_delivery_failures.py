# Delivery when the smart host misbehaves: down then back (deferred, then delivered exactly
# once), a 550 for one recipient (bounce to the sender's route, the others delivered), idle
# pooled connections dropped by the server (later messages go out on new connections, none
# lost or failed, no attempt counted, also when the server drops one just as it is reused),
# 421 after RCPT mid-session (retried until delivered exactly once), and failover to the next
# smart host when one refuses, greets with 421 or stalls before the session is set up.
import time

import pytest

from conftest import free_port
from delivery_support import (RETRY_FAST, PySink, log_lines, message_ids, parse_dsn, relay_gateway,
                              send_messages, strip_received, wait_delivered_and_clean, wait_for)


def contents_without_received(sink):
    return [strip_received(m.content)[1] for m in sink.snapshot()]


def assert_exactly_once(sink, ids):
    counts = message_ids(contents_without_received(sink))
    missing = [i for i in ids if i not in counts]
    twice = {k: v for k, v in counts.items() if v != 1}
    assert missing == [] and twice == {} and len(counts) == len(ids), \
        "at the sink: missing %s, more than once %s, %d distinct, want %d" % (
            missing[:5], twice, len(counts), len(ids))


def test_smart_host_down_then_back_delivers_each_message_once(gateway_factory):
    port = free_port()
    sink = PySink(port=port)  # not listening yet: connections are refused
    gw = relay_gateway(gateway_factory, [port])
    ids = send_messages(gw.port, "down", 20)

    def all_deferred():
        q = gw.queue_list()
        rs = [r for m in q for r in m["recipients"]]
        # The first attempts fail and mark the destination down; the rest are held without
        # an attempt of their own and listed as deferred ("delivery temporarily suspended").
        return (len(q) == 20 and all(r["state"] == "deferred" and r["next_attempt"] for r in rs)
                and any(r["attempts"] >= 1 for r in rs))
    wait_for(all_deferred, 15, "all 20 recipients deferred, at least one after an attempt",
             detail=lambda: str(gw.queue_list()[:2]))
    assert log_lines(gw, "deferred"), "no status=deferred log line"
    sink.start()
    try:
        # Retries are 1-2 s apart: the smart host must be tried again within a few seconds.
        wait_for(lambda: sink.count() >= 20, 20, "the 20 deferred messages at the sink",
                 interval_s=0.2, detail=lambda: "(have %d)\n%s" % (sink.count(),
                                                                   gw.log_tail(15)))
        wait_delivered_and_clean(gw)
        time.sleep(1)  # a duplicate would come in this second
        assert_exactly_once(sink, ids)
        assert log_lines(gw, "bounced") == []
    finally:
        sink.stop()


def test_550_for_one_recipient_bounces_it_and_delivers_the_others(gateway_factory):
    sink = PySink(reject_rcpt={"nobody@dest.test": "550 5.1.1 <nobody@dest.test>: no such user"})
    bounces = PySink(name="sender-mx")
    sink.start()
    bounces.start()
    try:
        senders = {"name": "senders", "address_spaces": ["sender.test"],
                   "smart_hosts": ["127.0.0.1:%d" % bounces.port]}
        gw = relay_gateway(gateway_factory, [sink.port], connectors=[senders])
        rcpts = ("ok1@dest.test", "nobody@dest.test", "ok2@dest.test")
        send_messages(gw.port, "perm", 1, rcpts=rcpts)
        wait_for(lambda: sink.count() >= 1 and bounces.count() >= 1, 20,
                 "the message at the smart host and a bounce at the sender's route",
                 detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        got = sink.snapshot()
        assert len(got) == 1 and got[0].recipients == ["ok1@dest.test", "ok2@dest.test"], got
        dsn = bounces.snapshot()
        assert len(dsn) == 1, dsn
        assert dsn[0].sender == "" and dsn[0].recipients == ["alice@sender.test"], dsn[0]
        content = dsn[0].content  # generated here: no Received header of its own
        msg, fields = parse_dsn(content)
        assert msg.get_content_type() == "multipart/report", msg.get_content_type()
        assert msg.get_param("report-type") == "delivery-status"
        assert fields.get("status") == "5.1.1", fields
        assert fields.get("action") == "failed", fields
        assert "nobody@dest.test" in fields.get("final-recipient", ""), fields
        assert "550 5.1.1" in fields.get("diagnostic-code", ""), fields
        assert b"Message-ID: <perm.0@sender.test>" in content, "original not returned"
        bounced = log_lines(gw, "bounced")
        assert len(bounced) == 1 and "to=<nobody@dest.test>" in bounced[0] \
            and "dsn=5.1.1" in bounced[0], bounced
        assert len(log_lines(gw, "sent")) == 3, log_lines(gw, "sent")  # 2 + the bounce
    finally:
        sink.stop()
        bounces.stop()


def test_unroutable_recipients_bounce_at_once_with_5_4_4(gateway_factory):
    """No connector carries nowhere.test: such recipients fail at once (Exchange's 5.4.4), a
    message with only such recipients included, and the sender gets each DSN."""
    sink, bounces = PySink().start(), PySink(name="sender-mx").start()
    try:
        gw = gateway_factory({
            "connectors": [
                {"name": "senders", "address_spaces": ["sender.test"],
                 "smart_hosts": ["127.0.0.1:%d" % bounces.port]},
                {"name": "dest", "address_spaces": ["dest.test"],
                 "smart_hosts": ["127.0.0.1:%d" % sink.port]},
            ]})
        send_messages(gw.port, "mixed", 1, rcpts=("ok@dest.test", "lost@nowhere.test"))
        send_messages(gw.port, "only", 1, rcpts=("gone@nowhere.test",))
        wait_for(lambda: sink.count() >= 1 and bounces.count() >= 2, 20,
                 "one delivery and two bounces", detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        assert [m.recipients for m in sink.snapshot()] == [["ok@dest.test"]]
        reports = {}
        for m in bounces.snapshot():
            assert m.sender == "" and m.recipients == ["alice@sender.test"], m
            msg, fields = parse_dsn(m.content)
            assert fields.get("status") == "5.4.4" and fields.get("action") == "failed", fields
            reports[fields["final-recipient"].split(";")[-1].strip()] = m.content
        assert sorted(reports) == ["gone@nowhere.test", "lost@nowhere.test"], sorted(reports)
        assert b"Message-ID: <only.0@sender.test>" in reports["gone@nowhere.test"]
        assert "cannot read the message" not in gw.log_text()
    finally:
        sink.stop()
        bounces.stop()


def test_refused_smart_host_fails_over_to_the_next_without_deferring(gateway_factory):
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [free_port(), sink.port])
        ids = send_messages(gw.port, "failover", 4)
        wait_for(lambda: sink.count() >= 4, 10, "4 messages at the second smart host",
                 detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        assert_exactly_once(sink, ids)
        # The first smart host refuses: that is one connect failure, the second host takes
        # the mail at once; nothing waits for a retry.
        assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
        refused = [l for l in gw.log_text().splitlines() if "connector=smarthost:" in l]
        assert len(refused) == 1 and "Connection refused" in refused[0], \
            "connect failure log lines: got %r, want one saying Connection refused" % refused
    finally:
        sink.stop()


def max_attempts(gw):
    return max([r["attempts"] for m in gw.queue_list() for r in m["recipients"]], default=0)


def test_idle_connections_closed_by_the_server_are_replaced(gateway_factory):
    sink = PySink(idle_close_s=1).start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port],
                           pool={"max_connections_per_host": 2, "idle_timeout_s": 30})
        ids = []
        attempts = []  # the most attempts any queued recipient had, sampled while waiting
        for round_ in range(3):
            ids += send_messages(gw.port, "idle%d" % round_, 5)
            wait_for(lambda: attempts.append(max_attempts(gw)) or sink.count() >= len(ids), 10,
                     "%d messages at the sink after round %d" % (len(ids), round_),
                     detail=lambda: "(have %d)\n%s" % (sink.count(), gw.log_tail(15)))
            time.sleep(1.6)  # the sink drops the pooled connections meanwhile
        wait_delivered_and_clean(gw)
        assert sink.idle_closes >= 2, "the sink closed %d idle connections" % sink.idle_closes
        assert sink.connections >= 3, sink.connections
        assert_exactly_once(sink, ids)
        assert log_lines(gw, "bounced") == []
        # A connection found closed before it was used again is no failed attempt.
        assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
        assert max(attempts) == 0, "a queued recipient had %d attempts" % max(attempts)
        assert len(log_lines(gw, "sent")) == 15
    finally:
        sink.stop()


def test_pooled_connection_closed_right_after_mail_is_requeued_not_deferred(gateway_factory):
    """The server drops a reused connection just after reading MAIL (the race of an idle
    close): the message goes out on a new connection, counted as no attempt, nothing lost."""
    sink = PySink(close_reused_mail=True).start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], threads=1,
                           pool={"max_connections_per_host": 1, "idle_timeout_s": 30})
        ids = []
        attempts = []
        for round_ in range(3):
            ids += send_messages(gw.port, "race%d" % round_, 2)
            wait_for(lambda: attempts.append(max_attempts(gw)) or sink.count() >= len(ids), 15,
                     "%d messages at the sink after round %d" % (len(ids), round_),
                     detail=lambda: "(have %d)\n%s" % (sink.count(), gw.log_tail(15)))
        wait_delivered_and_clean(gw)
        # One connection at a time, each closed at its second MAIL: every message but the first
        # met a dropped connection once.
        assert sink.reused_mail_closes >= 5, "closes at MAIL: %d" % sink.reused_mail_closes
        assert sink.connections == sink.reused_mail_closes + 1, \
            (sink.connections, sink.reused_mail_closes)
        assert_exactly_once(sink, ids)
        assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
        assert log_lines(gw, "bounced") == []
        assert len(log_lines(gw, "requeued")) == sink.reused_mail_closes, \
            log_lines(gw, "requeued")
        assert max(attempts) == 0, "a queued recipient had %d attempts" % max(attempts)
        assert len(log_lines(gw, "sent")) == 6
    finally:
        sink.stop()


@pytest.mark.parametrize("label,first_host", [
    ("421 greeting", dict(greeting="421 4.3.2 busy")),
    ("no greeting", dict(greeting=None)),
    ("no EHLO reply", dict(stall_at_ehlo=True)),
])
def test_smart_host_that_will_not_set_up_a_session_fails_over(gateway_factory, label,
                                                               first_host):
    bad = PySink(name="bad", **first_host).start()
    good = PySink(name="good").start()
    try:
        # One shard, one connection: the first goes to the bad host while all the mail waits.
        gw = relay_gateway(gateway_factory, [bad.port, good.port], threads=1,
                           pool={"max_connections_per_host": 1},
                           overrides={"delivery": dict(RETRY_FAST, helo_timeout_s=1)})
        ids = send_messages(gw.port, "setup", 4)
        wait_for(lambda: good.count() >= 4, 10, "4 messages at the second smart host",
                 detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        assert_exactly_once(good, ids)
        assert bad.connections >= 1 and bad.count() == 0, (bad.connections, bad.count())
        # The host is marked down and skipped: nothing waits for a retry.
        assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
        want = {"421 greeting": "refused to talk to me: 421 4.3.2 busy",
                "no greeting": "timed out while receiving the initial server greeting",
                "no EHLO reply": "timed out while performing the EHLO handshake"}[label]
        down = [l for l in gw.log_text().splitlines() if "connector=smarthost:" in l]
        assert down and all(want in l for l in down), \
            "host-down log lines: got %r, want each to say %r" % (down, want)
    finally:
        bad.stop()
        good.stop()


def test_421_after_rcpt_is_retried_until_delivered_once(gateway_factory):
    sink = PySink(rcpt_421_every=3).start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port])
        ids = send_messages(gw.port, "t421", 30)
        wait_for(lambda: sink.count() >= 30, 40, "30 messages at the sink", interval_s=0.2,
                 detail=lambda: "(have %d)\n%s" % (sink.count(), gw.log_tail(15)))
        wait_delivered_and_clean(gw)
        assert sink.rcpt_421s >= 5, "the sink answered 421 only %d times" % sink.rcpt_421s
        # A 421 before DATA means the server took nothing: each message arrives exactly once.
        assert_exactly_once(sink, ids)
        assert log_lines(gw, "bounced") == []
        assert len(log_lines(gw, "deferred")) >= sink.rcpt_421s - 2, \
            "deferrals logged: %d, 421s sent: %d" % (len(log_lines(gw, "deferred")),
                                                     sink.rcpt_421s)
    finally:
        sink.stop()
