# Queue control from the command line against a running gateway (and a stopped one): list with
# filters, show, summary, hold and release (kept across a restart), delete, bounce, flush.
# The smart hosts are loopback ports where nothing listens at first, so mail stays deferred
# until the test starts a scripted smart host there and flushes.
import json
import re
import time

from conftest import free_port, queued_id
from delivery_support import PySink, wait_for


def gateway_with_dead_smart_hosts(gateway_factory):
    main_port, pgp_port = free_port(), free_port()
    gw = gateway_factory({
        "connectors": [
            {"name": "pgp", "address_spaces": ["secure.example;1"],
             "smart_hosts": ["127.0.0.1:%d" % pgp_port]},
            {"name": "outbound", "address_spaces": ["*;10"],
             "smart_hosts": ["127.0.0.1:%d" % main_port]},
        ],
        # Long retries: nothing is retried on its own while the test runs.
        "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
    })
    return gw, main_port, pgp_port


def send(gw, sender, rcpts, subject):
    with gw.client() as c:
        c.greet()
        body = ("Subject: %s\r\nMessage-ID: <%s@test>\r\n\r\nbody of %s\r\n.\r\n"
                % (subject, subject, subject)).encode()
        return queued_id(c.send_message(sender, rcpts, body))


def cli_json(gw, *args):
    p = gw.cli(*args, "--json")
    assert p.returncode == 0, "%s: exit %d: %s" % (args, p.returncode, p.stderr.decode())
    return json.loads(p.stdout.decode())


def delivered_subjects(sink):
    """The test messages the smart host got, by their (first) Subject; DSNs are left out."""
    out = []
    for m in sink.snapshot():
        subject = re.search(rb"^Subject: ([^\r\n]*)", m.content, re.M).group(1)
        if subject.startswith(b"msg-"):
            out.append(subject.decode())
    return sorted(out)


def ids(listing):
    return sorted(m["id"] for m in listing)


def states(gw, qid):
    for m in gw.queue_list():
        if m["id"] == qid:
            return [r["state"] for r in m["recipients"]]
    return None


def test_queue_commands_against_running_gateway(gateway_factory):
    gw, main_port, pgp_port = gateway_with_dead_smart_hosts(gateway_factory)
    a = send(gw, "alice@corp.example", ["x@dest.example"], "msg-a")
    b = send(gw, "alice@corp.example", ["y@dest.example"], "msg-b")
    c = send(gw, "carol@corp.example", ["z@dest.example", "w@other.example"], "msg-c")
    d = send(gw, "dave@corp.example", ["s@secure.example"], "msg-d")
    everything = sorted([a, b, c, d])
    # Every connection is refused: each recipient is deferred once (or waits for its down
    # destination, which a listing also shows as deferred).
    wait_for(lambda: ids(cli_json(gw, "queue", "list", "--state", "deferred")) == everything,
             20, "all four messages deferred", detail=lambda: json.dumps(gw.queue_list()))

    # Filters: connector (the route each recipient is queued for), domain, state.
    assert ids(cli_json(gw, "queue", "list", "--connector", "pgp")) == [d]
    assert ids(cli_json(gw, "queue", "list", "--connector", "outbound")) == sorted([a, b, c])
    assert ids(cli_json(gw, "queue", "list", "--domain", "OTHER.example")) == [c]
    assert cli_json(gw, "queue", "list", "--state", "delivered") == []
    p = gw.cli("queue", "list", "--state", "sleeping")
    assert p.returncode != 0 and b'unknown state "sleeping"' in p.stderr, p

    # Hold: shown as held, kept out of delivery, refused twice.
    p = gw.cli("queue", "hold", a)
    assert (p.returncode, p.stdout.decode()) == (0, "%s: placed on hold\n" % a), p
    p = gw.cli("queue", "hold", a)
    assert p.returncode == 1 and p.stderr.decode() == "%s: already on hold\n" % a, p
    assert states(gw, a) == ["held"]
    assert ids(cli_json(gw, "queue", "list", "--state", "held")) == [a]

    # Show: envelope, per-recipient state and connector, the stored headers.
    shown = cli_json(gw, "queue", "show", c)
    assert shown["id"] == c and shown["sender"] == "carol@corp.example"
    assert shown["held"] is False
    # One attempt each, or none when the destination was already down when they arrived.
    assert [(r["address"], r["connector"], min(r["attempts"], 1))
            for r in shown["recipients"]] == \
        [("z@dest.example", "outbound", r0), ("w@other.example", "outbound", r0)] \
        if (r0 := shown["recipients"][0]["attempts"]) in (0, 1) else False, shown
    assert all(r["state"] == "deferred" for r in shown["recipients"])
    assert shown["client"]["ip"] == "127.0.0.1"
    assert shown["headers"].startswith("Received: from ")
    assert shown["headers"].endswith("Subject: msg-c\r\nMessage-ID: <msg-c@test>\r\n")
    assert "(queued as " not in shown["headers"] or c in shown["headers"]
    text = gw.cli("queue", "show", a).stdout.decode()
    assert text.startswith("id:           %s (on hold)\n" % a), text
    assert "  <x@dest.example>  held  connector outbound  attempts " in text, text
    assert "  Subject: msg-a\n" in text, text
    p = gw.cli("queue", "show", "00000000000000FF")
    assert p.returncode == 1 and b"no such message in the queue" in p.stderr, p
    p = gw.cli("queue", "show", "not-an-id")
    assert p.returncode == 1 and b"is not a queue id" in p.stderr, p

    # Summary: counts by connector and domain, with the held one apart.
    summary = cli_json(gw, "queue", "summary")
    total = summary["total"]
    assert (total["messages"], total["recipients"], total["held"], total["deferred"]) == \
        (4, 5, 1, 4), summary
    rows = {(r["connector"], r["domain"]): r for r in summary["rows"]}
    assert set(rows) == {("outbound", "dest.example"), ("outbound", "other.example"),
                         ("pgp", "secure.example")}
    assert rows[("outbound", "dest.example")]["recipients"] == 3
    assert rows[("outbound", "dest.example")]["held"] == 1
    assert sum(total["by_age"][1:]) == 0 and total["by_age"][0] == 5, "all under 5 minutes"
    text = gw.cli("queue", "summary").stdout.decode()
    assert text.splitlines()[1].startswith("TOTAL"), text

    # Delete: gone, logged, not delivered later.
    p = gw.cli("queue", "delete", b)
    assert (p.returncode, p.stdout.decode()) == (0, "%s: deleted\n" % b), p
    assert b not in {m["id"] for m in gw.queue_list()}
    assert "%s: removed (deleted by the operator)" % b in gw.log_text()
    p = gw.cli("queue", "delete", b)
    assert p.returncode == 1 and b"no such message" in p.stderr, p

    # Bounce: the message leaves the queue and a DSN to its sender takes its place.
    p = gw.cli("queue", "bounce", d)
    assert (p.returncode, p.stdout.decode()) == (0, "%s: returned to the sender\n" % d), p
    def dsn():
        return [m for m in gw.queue_list() if m["sender"] == "" and
                [r["address"] for r in m["recipients"]] == ["dave@corp.example"]]
    wait_for(lambda: len(dsn()) == 1, 10, "a DSN to dave", detail=lambda: gw.queue_list())
    assert d not in {m["id"] for m in gw.queue_list()}
    assert "%s: to=<s@secure.example>, relay=none, dsn=5.0.0, status=bounced" % d in gw.log_text()

    # The smart host comes up; flush delivers at once what waited for an hour-long retry.
    sink = PySink(port=main_port).start()
    try:
        p = gw.cli("queue", "flush")
        assert p.returncode == 0 and p.stdout.decode().startswith("flushed "), p
        wait_for(lambda: delivered_subjects(sink) == ["msg-c"], 20, "msg-c delivered after the flush",
                 detail=lambda: (gw.queue_list(), gw.log_tail(20)))
        # The DSN (to dave@corp.example, routed by "*") went out as well; the held one did not.
        wait_for(lambda: [m["id"] for m in gw.queue_list()] == [a], 20, "only the held message left",
                 detail=lambda: gw.queue_list())
        assert states(gw, a) == ["held"]

        # Release: delivered at once, no retry wait.
        p = gw.cli("queue", "release", a)
        assert (p.returncode, p.stdout.decode()) == (0, "%s: released from hold\n" % a), p
        wait_for(lambda: gw.queue_list() == [], 20, "an empty queue after the release",
                 detail=lambda: (gw.queue_list(), gw.log_tail(20)))
        assert delivered_subjects(sink) == ["msg-a", "msg-c"], \
            "msg-b deleted and msg-d bounced stay undelivered"
        p = gw.cli("queue", "release", a)
        assert p.returncode == 1 and b"no such message" in p.stderr, p
    finally:
        sink.stop()


def test_flush_by_connector_touches_only_that_connector(gateway_factory):
    gw, main_port, pgp_port = gateway_with_dead_smart_hosts(gateway_factory)
    outbound = send(gw, "alice@corp.example", ["x@dest.example"], "msg-out")
    pgp = send(gw, "alice@corp.example", ["s@secure.example"], "msg-pgp")
    wait_for(lambda: all(s == ["deferred"] for s in (states(gw, outbound), states(gw, pgp))),
             20, "both deferred", detail=lambda: gw.queue_list())
    main_sink, pgp_sink = PySink(port=main_port).start(), PySink(port=pgp_port).start()
    try:
        p = gw.cli("queue", "flush", "--connector", "pgp")
        assert (p.returncode, p.stdout.decode()) == (0, "flushed 1 messages\n"), p
        wait_for(lambda: pgp_sink.count() == 1, 20, "the pgp message delivered",
                 detail=lambda: gw.log_tail(20))
        time.sleep(1)
        assert main_sink.count() == 0, "the outbound connector was not flushed"
        assert states(gw, outbound) == ["deferred"]
        p = gw.cli("queue", "flush", outbound)
        assert (p.returncode, p.stdout.decode()) == (0, "%s: due for delivery now\n" % outbound), p
        wait_for(lambda: main_sink.count() == 1, 20, "the outbound message delivered after flush ID",
                 detail=lambda: gw.log_tail(20))
    finally:
        main_sink.stop()
        pgp_sink.stop()


def test_hold_survives_restart_and_offline_commands(gateway_factory):
    gw, main_port, _ = gateway_with_dead_smart_hosts(gateway_factory)
    held = send(gw, "alice@corp.example", ["x@dest.example"], "msg-held")
    other = send(gw, "alice@corp.example", ["y@dest.example"], "msg-other")
    assert gw.cli("queue", "hold", held).returncode == 0
    # A hold and a release in a row, then a hold again: the last record wins at recovery.
    assert gw.cli("queue", "hold", other).returncode == 0
    assert gw.cli("queue", "release", other).returncode == 0
    gw.stop()
    scan = gw.scan()
    assert scan.held == {held: True, other: False}, scan.held

    # Stopped: listing, show and summary read the spool; changes need the running gateway.
    assert states(gw, held) == ["held"]
    shown = cli_json(gw, "queue", "show", held)
    assert shown["held"] is True and shown["recipients"][0]["connector"] == "outbound"
    assert "Subject: msg-held\r\n" in shown["headers"]
    summary = cli_json(gw, "queue", "summary")
    assert summary["total"]["held"] == 1 and summary["total"]["messages"] == 2, summary
    p = gw.cli("queue", "release", held)
    assert p.returncode == 3 and b"needs the running gateway" in p.stderr, p

    sink = PySink(port=main_port).start()
    try:
        gw.start()
        # `other` waits for its hour-long retry, `held` for a release; flush skips held mail.
        p = gw.cli("queue", "flush")
        assert (p.returncode, p.stdout.decode()) == (0, "flushed 1 messages\n"), p
        wait_for(lambda: sink.count() == 1, 20, "the released message delivered after restart",
                 detail=lambda: gw.log_tail(20))
        time.sleep(1)
        assert sink.count() == 1, "a held message was delivered after a restart"
        assert states(gw, held) == ["held"]
        assert gw.cli("queue", "release", held).returncode == 0
        wait_for(lambda: sink.count() == 2, 20, "the held message delivered once released",
                 detail=lambda: gw.log_tail(20))
    finally:
        sink.stop()


def history(shown, index=0):
    return [(h["attempt"], h["result"], h["connector"], h["dsn"], h["diagnostic"], h["relay"])
            for h in shown["recipients"][index]["history"]]


def test_show_lists_each_attempt_from_the_journal_across_a_restart(gateway_factory):
    sink = PySink(reject_rcpt={"x@dest.example": "450 4.2.0 mailbox busy"}).start()
    try:
        gw = gateway_factory({
            "connectors": [{"name": "outbound", "address_spaces": ["*"],
                            "smart_hosts": ["127.0.0.1:%d" % sink.port]}],
            "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
        })
        qid = send(gw, "alice@corp.example", ["x@dest.example"], "msg-twice")

        def attempts():
            return history(cli_json(gw, "queue", "show", qid))
        # Deferred once on arrival, once more after a flush; the history is read from the
        # journal, whose records follow the index by one group commit.
        wait_for(lambda: len(attempts()) == 1, 20, "the first attempt journaled",
                 detail=lambda: (attempts(), gw.log_tail(20)))
        assert gw.cli("queue", "flush", qid).returncode == 0
        wait_for(lambda: len(attempts()) == 2, 20, "the second attempt journaled",
                 detail=lambda: (attempts(), gw.log_tail(20)))
        online = cli_json(gw, "queue", "show", qid)
        got = history(online)
        relay = got[0][5]
        assert re.fullmatch(r"\S*\[127\.0\.0\.1\]:%d" % sink.port, relay), got
        diagnostic = got[0][4]
        assert "450 4.2.0 mailbox busy" in diagnostic, got
        assert got == [(1, "deferred", "outbound", "4.2.0", diagnostic, relay),
                       (2, "deferred", "outbound", "4.2.0", diagnostic, relay)], got
        assert online["recipients"][0]["history_left_out"] == 0
        times = [h["time"] for h in online["recipients"][0]["history"]]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in times), times
        assert times == sorted(times), times
        text = gw.cli("queue", "show", qid).stdout.decode()
        assert "      history (oldest first):\n" in text, text
        for n in (1, 2):
            assert re.search(r"^        %s  attempt %d  deferred  connector=outbound  relay=%s  "
                             r"dsn=4\.2\.0  \(.*450 4\.2\.0 mailbox busy.*\)$"
                             % (re.escape(times[n - 1]), n, re.escape(relay)), text, re.M), text

        # Stopped: the same history from the spool files; started again: still the same.
        gw.stop()
        offline = cli_json(gw, "queue", "show", qid)
        assert history(offline) == got
        assert gw.cli("queue", "show", qid).stdout.decode() == text
        gw.start()
        assert history(cli_json(gw, "queue", "show", qid)) == got
        assert sink.count() == 0
    finally:
        sink.stop()
