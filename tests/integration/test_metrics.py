# The metrics endpoint against a scripted load: the counters must be exactly what the load
# produced (accepted, refused by reason, delivered, committed), and the health endpoints answer.
import re
import urllib.request

from conftest import free_port, queued_id
from test_reload import Sink, send


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.status, r.read().decode()


def value(text, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    assert m, "no sample %s%s in:\n%s" % (name, labels, text[:2000])
    return float(m.group(1))


def test_metrics_count_what_the_load_did(gateway_factory, workdir):
    sink = Sink(workdir, "sink-m")
    metrics_port = free_port()
    try:
        gw = gateway_factory({
            "metrics": {"address": "127.0.0.1:%d" % metrics_port},
            "relay": {"networks": ["10.0.0.0/8"]},
            "accepted_domains": [{"domain": "example.net", "connector": "outbound"}],
            "limits": {"recipients_per_message_max": 2},
            "connectors": [{"name": "outbound", "address_spaces": ["*"],
                            "smart_hosts": ["127.0.0.1:%d" % sink.port]}],
        })
        status, body = scrape(metrics_port, "/healthz")
        assert status == 200
        status, body = scrape(metrics_port, "/readyz")
        assert status == 200
        for i in range(5):
            send(gw, b"metric-%d" % i)  # to b@example.net, an accepted domain
        with gw.client() as c:
            c.greet()
            c.expect("MAIL FROM:<a@example.org>", "250")
            c.expect("RCPT TO:<x@elsewhere.example>", "554 5.7.1")  # not ours, not a relay client
            c.expect("RCPT TO:<b@example.net>", "250")
            c.expect("RCPT TO:<c@example.net>", "250")
            c.expect("RCPT TO:<d@example.net>", "452 4.5.3")
        for i in range(5):
            assert sink.wait_for(b"metric-%d" % i), gw.log_tail()
        _, text = scrape(metrics_port)
        assert value(text, "ringmta_messages_accepted_total") == 5
        assert value(text, "ringmta_spool_committed_messages_total") == 5
        assert value(text, "ringmta_recipients_delivered_total") == 5
        assert value(text, "ringmta_messages_rejected_total", '{reason="relay_denied"}') == 1
        assert value(text, "ringmta_messages_rejected_total", '{reason="recipients"}') == 1
        assert value(text, "ringmta_accept_latency_seconds_count") == 5
        assert value(text, "ringmta_delivery_latency_seconds_count") == 5
        assert value(text, "ringmta_queue_messages") == 0
        assert value(text, "ringmta_pool_connections_opened_total") >= 1
        assert value(text, "ringmta_shards_running") == 2
    finally:
        sink.stop()
