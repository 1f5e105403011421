# ringmta → a real Postfix standing in for the PGP gateway, over STARTTLS verified against a
# test CA (certificate for pgp.test), Postfix relaying on to a sink: the message arrives and
# both logs show TLS. With the wrong expected name the recipient is deferred, not delivered,
# with a diagnostic about certificate verification. Postfix is configured through main.cf
# (marked as ours) and restored and stopped at teardown.
import time

import pytest

from conftest import free_port
from delivery_support import (Postfix, PySink, log_lines, make_test_ca, relay_gateway,
                              send_messages, strip_received, wait_delivered_and_clean, wait_for)


@pytest.fixture(scope="module")
def pgp_gateway(tmp_path_factory):
    """(Postfix, final sink, CA file): Postfix on loopback with STARTTLS, relayhost = sink."""
    d = tmp_path_factory.mktemp("pgp")
    ca, cert, key = make_test_ca(d, "pgp.test")
    sink = PySink(name="final").start()
    postfix = Postfix(free_port(), sink.port, cert, key)
    try:
        postfix.start()
        yield postfix, sink, ca
    finally:
        postfix.stop()
        sink.stop()


def test_verified_starttls_to_postfix_then_on_to_the_sink(gateway_factory, pgp_gateway):
    postfix, sink, ca = pgp_gateway
    before = sink.count()
    gw = relay_gateway(gateway_factory, [postfix.in_port],
                       tls={"mode": "verify", "ca_file": ca, "name": "pgp.test"})
    ids = send_messages(gw.port, "pgp", 2)
    wait_for(lambda: sink.count() >= before + 2, 30, "2 messages relayed through Postfix",
             interval_s=0.2, detail=lambda: "%s\n--- postfix:\n%s" % (
                 gw.log_tail(10), postfix.log()[-2000:]))
    wait_delivered_and_clean(gw)
    got = sink.snapshot()[before:]
    for m in got:
        postfix_received, rest = strip_received(m.content)
        # Postfix records the TLS session of the hop from ringmta in its Received header.
        assert b"using TLS" in postfix_received and b"ESMTPS" in postfix_received, \
            postfix_received
        ours, original = strip_received(rest)
        assert b"by gw.test.example" in ours, ours
        assert any(original.find(b"Message-ID: " + i) >= 0 for i in ids), original[:300]
    assert "TLS connection established from" in postfix.log(), postfix.log()[-2000:]
    sent = log_lines(gw, "sent")
    assert len(sent) == 2 and all("relay=127.0.0.1[127.0.0.1]:%d" % postfix.in_port in l
                                  for l in sent), sent


def test_wrong_certificate_name_defers_with_a_verification_diagnostic(gateway_factory,
                                                                      pgp_gateway):
    postfix, sink, ca = pgp_gateway
    before = sink.count()
    gw = relay_gateway(gateway_factory, [postfix.in_port],
                       tls={"mode": "verify", "ca_file": ca, "name": "other.test"})
    send_messages(gw.port, "wrongname", 1)

    def deferred():
        q = gw.queue_list()
        return len(q) == 1 and q[0]["recipients"][0]["state"] == "deferred" and q[0]
    m = wait_for(deferred, 15, "the recipient deferred", detail=lambda: gw.log_tail(10))
    r = m["recipients"][0]
    assert r["attempts"] >= 1, r
    assert "verif" in r["diagnostic"].lower(), \
        "diagnostic: got %r, want one about certificate verification" % r["diagnostic"]
    lines = log_lines(gw, "deferred")
    assert lines and "verif" in lines[0].lower(), lines
    time.sleep(1)
    assert sink.count() == before, "a message was delivered despite the wrong name"
    assert log_lines(gw, "sent") == [] and log_lines(gw, "bounced") == []
