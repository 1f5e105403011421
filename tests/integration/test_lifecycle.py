# The gateway's life cycle and command line: graceful stop with a transaction in flight,
# `queue list` online (control socket) against offline (spool files), and check-config's
# verdicts on good and bad files.
import json
import subprocess
import time

import pytest

from conftest import assert_stored, queued_id, ringmta_bin

BODY = b"Subject: graceful\r\n\r\nfinished after SIGTERM\r\n"


def test_sigterm_lets_data_in_flight_finish(gateway_factory):
    gateway = gateway_factory({"server": {"shutdown_grace_s": 5}})
    busy = gateway.client()
    idle = gateway.client()
    try:
        busy.greet()
        idle.greet()
        busy.begin_data()
        busy.send(BODY[:20])
        gateway.signal_stop()
        # A session between transactions is told at once.
        r = idle.read_reply()
        assert r.startswith("421 4.3.2"), "idle session: got %r, want 421 4.3.2" % r.lines
        assert idle.wait_closed(3)
        time.sleep(1.0)
        assert gateway.running(), "exited while a transaction was in flight:\n" + \
            gateway.log_tail()
        busy.send(BODY[20:] + b".\r\n")
        qid = queued_id(busy.read_reply())
        r = busy.read_reply()
        assert r.startswith("421 4.3.2"), "after the message: got %r, want 421 4.3.2" % r.lines
        assert busy.wait_closed(3)
    finally:
        busy.close()
        idle.close()
    rc = gateway.wait_exit(10)
    assert rc == 0, "exit code %d after SIGTERM:\n%s" % (rc, gateway.log_tail())
    assert_stored(gateway.spool(), qid, BODY)
    assert gateway.queue_ids() == {qid}  # offline listing


def test_sigterm_grace_runs_out(gateway_factory):
    gateway = gateway_factory({"server": {"shutdown_grace_s": 1}})
    with gateway.client() as c:
        c.greet()
        c.begin_data()
        c.send(b"Subject: never finished\r\n\r\n")
        start = time.monotonic()
        gateway.signal_stop()
        rc = gateway.wait_exit(6)
        took = time.monotonic() - start
        assert rc == 0, "exit code %d:\n%s" % (rc, gateway.log_tail())
        assert took < 4, "took %.1fs to stop with a 1s grace period" % took
        assert c.wait_closed(2), "the stalled session was not closed"
    assert gateway.spool() == {}


def test_new_connections_refused_while_stopping(gateway_factory):
    gateway = gateway_factory({"server": {"shutdown_grace_s": 5}})
    with gateway.client() as busy:
        busy.greet()
        busy.expect("MAIL FROM:<a@example.org>", "250 2.1.0")
        gateway.signal_stop()
        time.sleep(0.5)
        try:
            with gateway.client(timeout_s=3) as late:
                r = late.read_reply()
                assert r.startswith("421 4.3.2"), "late client: got %r, want 421 or refusal" \
                    % r.lines
        except (ConnectionRefusedError, EOFError, ConnectionResetError):
            pass  # the listener is already closed: also fine
        busy.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        qid = queued_id(busy.data(BODY + b".\r\n"))
    assert gateway.wait_exit(10) == 0
    assert set(gateway.spool()) == {qid}


def test_queue_list_offline_matches_online(gateway):
    ids = []
    with gateway.client() as c:
        c.greet()
        for i in range(6):
            rcpts = ["r%d-%d@example.net" % (i, j) for j in range(1 + i % 3)]
            ids.append(queued_id(c.send_message("s%d@example.org" % i, rcpts,
                                                b"Subject: %d\r\n\r\nx\r\n.\r\n" % i)))
    online = gateway.queue_list()
    assert {m["id"] for m in online} == set(ids)
    by_id = {m["id"]: m for m in online}
    for i, qid in enumerate(ids):
        m = by_id[qid]
        assert m["sender"] == "s%d@example.org" % i, m
        assert [r["address"] for r in m["recipients"]] == \
            ["r%d-%d@example.net" % (i, j) for j in range(1 + i % 3)], m
    gateway.stop()
    offline = gateway.queue_list()
    assert {m["id"] for m in offline} == set(ids)
    # A recipient that waits for a destination that is down is listed as deferred by the
    # running gateway (it knows the destination's state); on disk it is still pending.
    suspended = "delivery temporarily suspended: the destination is not reachable"
    for m in online:
        for r in m["recipients"]:
            if r["diagnostic"] == suspended:
                r.update(state="pending", next_attempt=None, diagnostic="")
    assert sorted(offline, key=lambda m: m["id"]) == sorted(online, key=lambda m: m["id"]), \
        "offline listing differs from online:\n%s\n%s" % (online, offline)


def test_restart_keeps_queue(gateway):
    with gateway.client() as c:
        c.greet()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: keep\r\n\r\nx\r\n.\r\n"))
    gateway.stop()
    gateway.start()
    assert gateway.queue_ids() == {qid}
    with gateway.client() as c:
        c.greet()
        qid2 = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                        b"Subject: keep 2\r\n\r\ny\r\n.\r\n"))
    assert qid2 != qid
    assert gateway.queue_ids() == {qid, qid2}
    assert_stored(gateway.spool(), qid, b"Subject: keep\r\n\r\nx\r\n")


# ---------------------------------------------------------------- check-config

GOOD = {
    "server": {"hostname": "gw.example.com", "spool_dir": "/tmp/unused-spool"},
    "listeners": [{"address": "127.0.0.1:2525"}],
    "accepted_domains": [
        {"domain": "example.com", "type": "authoritative", "connector": "to-exchange"}],
    "connectors": [
        {"name": "to-pgp-gateway", "address_spaces": ["*;10"], "smart_hosts": ["[192.0.2.7]:25"]},
        {"name": "to-exchange", "address_spaces": [], "smart_hosts": ["[192.0.2.5]:25"]},
    ],
}


def check_config(tmp_path, config):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config) if not isinstance(config, str) else config)
    p = subprocess.run([ringmta_bin(), "check-config", "-c", str(path)], capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode(), str(path)


def test_check_config_good(tmp_path):
    rc, out, err, path = check_config(tmp_path, GOOD)
    assert rc == 0, "exit %d: %s%s" % (rc, out, err)
    assert out.startswith(path + ": ok"), out


def with_change(path, value):
    """GOOD with the value at `path` (a list of keys/indexes) replaced or added."""
    c = json.loads(json.dumps(GOOD))
    node = c
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return c


BAD_CASES = [
    ("unknown key", with_change(["server", "bogus"], 1), "server.bogus"),
    ("wrong type", with_change(["limits"], {"message_size_max": "big"}),
     "limits.message_size_max"),
    ("bad address space", with_change(["connectors", 0, "address_spaces"], ["*contoso.com"]),
     'connectors[0].address_spaces[0]: "*contoso.com" is not a valid address space'),
    ("port 0", with_change(["listeners"], [{"address": "127.0.0.1:0"}]), "listeners[0].address"),
    ("bad bare_newline", with_change(["relay"], {"bare_newline": "maybe"}),
     "relay.bare_newline"),
    ("unknown connector", with_change(["accepted_domains", 0, "connector"], "nowhere"),
     "accepted_domains[0]"),
]


@pytest.mark.parametrize("label,config,key_path", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_check_config_bad(tmp_path, label, config, key_path):
    rc, out, err, path = check_config(tmp_path, config)
    assert rc == 1, "%s: exit %d, want 1 (%s%s)" % (label, rc, out, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert any(l.startswith(path + ": ") and key_path in l for l in lines), \
        "%s: no line naming %s and %s in:\n%s" % (label, path, key_path, err)


def test_check_config_reports_each_error(tmp_path):
    c = with_change(["server", "bogus"], 1)
    c["limits"] = {"connections_max": -5, "command_timeout_s": "x"}
    rc, out, err, path = check_config(tmp_path, c)
    assert rc == 1
    for key in ("server.bogus", "limits.connections_max", "limits.command_timeout_s"):
        assert any(l.startswith(path + ": ") and key in l for l in err.splitlines()), \
            "no line for %s in:\n%s" % (key, err)


def test_check_config_not_json(tmp_path):
    rc, out, err, path = check_config(tmp_path, "{ not json")
    assert rc == 1
    assert err.startswith(path + ": "), err


def test_serve_refuses_bad_config(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(with_change(["server", "bogus"], 1)))
    p = subprocess.run([ringmta_bin(), "serve", "-c", str(path)], capture_output=True,
                       timeout=30)
    assert p.returncode == 1, p
    assert "server.bogus" in p.stderr.decode()


def test_restart_with_fewer_threads(gateway_factory):
    """A spool written by two shards is still served (and fully listed) by a 1-thread start."""
    gateway = gateway_factory(threads=2)
    ids = set()
    for _ in range(6):  # new connections spread over both shards
        with gateway.client() as c:
            c.greet()
            ids.add(queued_id(c.send_message("a@example.org", ["b@example.net"],
                                             b"Subject: s\r\n\r\nx\r\n.\r\n")))
    gateway.stop()
    gateway.threads = 1
    gateway.start()
    assert gateway.queue_ids() == ids
    with gateway.client() as c:
        c.greet()
        ids.add(queued_id(c.send_message("a@example.org", ["b@example.net"],
                                         b"Subject: s\r\n\r\ny\r\n.\r\n")))
    assert gateway.queue_ids() == ids
    assert set(gateway.spool()) == ids
