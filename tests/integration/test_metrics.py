# The metrics endpoint against a scripted load: the counters must be exactly what the load
# produced (accepted, refused by reason, delivered, committed), and the health endpoints answer.
import re
import urllib.request

from conftest import free_port, queued_id
from delivery_support import wait_for
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


def queue_series(text, connector):
    return {state: value(text, "ringmta_queue_recipients",
                         '{connector="%s",state="%s"}' % (connector, state))
            for state in ("ready", "deferred", "in_flight")}


def segment_bytes(spool_dir):
    import glob
    import os
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(spool_dir, "shard-*", "seg-*.log")))


def test_queue_metrics_agree_with_the_listing_for_a_dead_destination(gateway_factory):
    import json
    metrics_port, dead_port = free_port(), free_port()  # nothing listens on dead_port
    gw = gateway_factory({
        "metrics": {"address": "127.0.0.1:%d" % metrics_port},
        "connectors": [
            {"name": "spare", "address_spaces": ["spare.example"],
             "smart_hosts": ["127.0.0.1:%d" % free_port()]},
            {"name": "dead", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:%d" % dead_port]},
        ],
        "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
    })
    # Before any mail: every connector's series exist, at 0; the spool gauge counts the files.
    _, text = scrape(metrics_port)
    for connector in ("dead", "spare"):
        assert queue_series(text, connector) == {"ready": 0, "deferred": 0, "in_flight": 0}, text
    assert value(text, "ringmta_spool_bytes") == segment_bytes(gw.spool_dir)

    for i in range(20):
        send(gw, b"dead-%d" % i)
    def listed():
        return [r["state"] for m in gw.queue_list() for r in m["recipients"]]
    wait_for(lambda: listed() == ["deferred"] * 20, 20, "all 20 listed as deferred",
             detail=lambda: gw.queue_list())
    # The same rule in the metrics: ready recipients of a destination that is down are deferred.
    _, text = scrape(metrics_port)
    assert queue_series(text, "dead") == {"ready": 0, "deferred": 20, "in_flight": 0}, text
    assert queue_series(text, "spare") == {"ready": 0, "deferred": 0, "in_flight": 0}, text
    assert value(text, "ringmta_queue_messages") == 20
    on_disk = segment_bytes(gw.spool_dir)
    assert on_disk > 0 and value(text, "ringmta_spool_bytes") == on_disk

    # The summary says the same, from the running gateway and from the stopped one's spool --
    # but for the suspension, which lives in the running gateway's memory only: offline, the
    # recipients never attempted are pending (the next start tries them at once).
    p = gw.cli("queue", "summary", "--json")
    online = json.loads(p.stdout.decode())
    assert (online["total"]["recipients"], online["total"]["deferred"],
            online["total"]["pending"]) == (20, 20, 0), online
    gw.stop()
    p = gw.cli("queue", "summary", "--json")
    assert p.returncode == 0, p
    offline = json.loads(p.stdout.decode())

    def folded(summary):
        rows = [dict(r) for r in [summary["total"]] + summary["rows"]]
        for r in rows:
            r["waiting"] = r.pop("pending") + r.pop("deferred")
        return summary["age_bounds_minutes"], rows
    assert folded(offline) == folded(online), (offline, online)
    assert 1 <= offline["total"]["deferred"] < 20, offline
    p = gw.cli("queue", "summary", "--state", "deferred")
    assert p.returncode == 2 and b'unexpected argument "--state"' in p.stderr, p
