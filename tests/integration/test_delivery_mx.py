# Direct delivery by MX through dnsmasq: the lower preference value gets the mail and the next
# one takes over when it is down; a domain with only an A record is its own MX (RFC 5321 5.1);
# a null MX (RFC 7505) bounces at once with 5.1.10, the DSN routed to the sender's connector.
# The MX hosts are sinks on 127.0.0.2 and 127.0.0.3 on the same port (the connector's port).
import socket

import pytest

from delivery_support import (RETRY_FAST, Dnsmasq, PySink, log_lines, parse_dsn, send_messages,
                              wait_delivered_and_clean, wait_for)

RECORDS = [
    "--local=/test/",  # answer for the whole zone: NODATA, not REFUSED
    "--host-record=mx1.pref.test,127.0.0.2",
    "--host-record=mx2.pref.test,127.0.0.3",
    "--mx-host=pref.test,mx1.pref.test,10",
    "--mx-host=pref.test,mx2.pref.test,20",
    "--host-record=aonly.test,127.0.0.3",
    "--mx-host=nullmx.test,.,0",
]


def port_free_on(hosts):
    """A port that is free on every one of `hosts` (loopback addresses)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        try:
            for h in hosts[1:]:
                with socket.socket() as t:
                    t.bind((h, port))
            return port
        except OSError:
            continue
    pytest.fail("no port free on all of %s" % hosts)


@pytest.fixture
def mx_world(gateway_factory):
    """(gateway, {"127.0.0.2": sink, "127.0.0.3": sink}, bounce sink)."""
    port = port_free_on(["127.0.0.2", "127.0.0.3"])
    sinks = {h: PySink(host=h, port=port, name="mx-" + h).start()
             for h in ("127.0.0.2", "127.0.0.3")}
    bounces = PySink(name="sender-mx").start()
    dns = Dnsmasq(RECORDS).wait_ready("pref.test")
    try:
        gw = gateway_factory({
            "connectors": [
                {"name": "senders", "address_spaces": ["sender.test"],
                 "smart_hosts": ["127.0.0.1:%d" % bounces.port]},
                {"name": "direct", "address_spaces": ["*"], "dns_routing": True, "port": port},
            ],
            "dns": {"servers": ["127.0.0.1:%d" % dns.port]},
            "delivery": dict(RETRY_FAST),
        })
        yield gw, sinks, bounces
    finally:
        for s in list(sinks.values()) + [bounces]:
            s.stop()
        dns.stop()


def test_lowest_preference_gets_the_mail_then_the_next_when_it_is_down(mx_world):
    gw, sinks, _ = mx_world
    primary, backup = sinks["127.0.0.2"], sinks["127.0.0.3"]
    send_messages(gw.port, "pref", 3, rcpts=("user@pref.test",))
    wait_for(lambda: primary.count() >= 3, 15, "3 messages at the preference-10 MX",
             detail=lambda: gw.log_tail(15))
    wait_delivered_and_clean(gw)
    assert backup.count() == 0, "the preference-20 MX got %d messages" % backup.count()
    assert all("relay=mx1.pref.test[127.0.0.2]" in l for l in log_lines(gw, "sent")), \
        log_lines(gw, "sent")

    primary.stop()  # refuses connections from now on; pooled ones are closed
    send_messages(gw.port, "backup", 3, rcpts=("user@pref.test",))
    wait_for(lambda: backup.count() >= 3, 15, "3 messages at the preference-20 MX",
             detail=lambda: gw.log_tail(15))
    wait_delivered_and_clean(gw)
    assert primary.count() == 3
    assert log_lines(gw, "bounced") == []
    # One refused connection to the preferred MX moves on to the next MX at once.
    assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")


def test_a_record_only_is_the_implicit_mx(mx_world):
    gw, sinks, _ = mx_world
    send_messages(gw.port, "implicit", 2, rcpts=("user@aonly.test",))
    wait_for(lambda: sinks["127.0.0.3"].count() >= 2, 15, "2 messages at aonly.test's A address",
             detail=lambda: gw.log_tail(15))
    wait_delivered_and_clean(gw)
    assert sinks["127.0.0.2"].count() == 0
    assert [m.recipients for m in sinks["127.0.0.3"].snapshot()] == [["user@aonly.test"]] * 2


def test_null_mx_bounces_at_once_with_5_1_10(mx_world):
    gw, sinks, bounces = mx_world
    send_messages(gw.port, "nullmx", 1, rcpts=("user@nullmx.test",))
    # Retries would be 1-2 s apart: a bounce within that time is no retry-then-expire.
    wait_for(lambda: bounces.count() >= 1, 5, "the bounce at the sender's route",
             detail=lambda: gw.log_tail(15))
    wait_delivered_and_clean(gw)
    assert sinks["127.0.0.2"].count() == sinks["127.0.0.3"].count() == 0
    dsn = bounces.snapshot()
    assert len(dsn) == 1 and dsn[0].sender == "" and dsn[0].recipients == ["alice@sender.test"]
    msg, fields = parse_dsn(dsn[0].content)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert fields.get("status") == "5.1.10", fields
    assert "user@nullmx.test" in fields.get("final-recipient", ""), fields
    assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
    bounced = log_lines(gw, "bounced")
    assert len(bounced) == 1 and "dsn=5.1.10" in bounced[0], bounced
