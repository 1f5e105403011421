# Operating a running gateway: a second `serve` on the same spool is refused and the first keeps
# running; the control socket is owner-only whatever the umask; a reload that lowers or raises
# limits.message_size_max applies to the next session; `queue flush --domain` flushes only
# that domain's mail; the metrics count exactly what a scripted load with one dead connector
# and one refusing smart host did.
import json
import os
import stat
import subprocess
import time
import urllib.request

from conftest import free_port, queued_id, ringmta_bin
from delivery_support import PySink, wait_for

# ---------------------------------------------------------------- one instance per spool


def test_second_serve_on_the_same_spool_is_refused(gateway_factory):
    first = gateway_factory()
    # Same spool, everything else its own: only the spool lock can stop it.
    second = gateway_factory({"server": {"spool_dir": first.spool_dir}}, start=False)
    proc = subprocess.Popen([ringmta_bin(), "serve", "-c", second.config_path, "--threads", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=second.dir)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("a second serve on the same spool kept running: %r" % err[-500:])
    text = (out + err).decode()
    assert proc.returncode == 1, "second serve: exit %d, want 1: %s" % (proc.returncode, text)
    want = "spool %s is in use by another running ringmta (pid %d)" % (first.spool_dir,
                                                                       first.proc.pid)
    assert want in text, "second serve said %r, want %r" % (text, want)
    with open(os.path.join(first.spool_dir, "lock")) as f:
        assert f.read() == "%d\n" % first.proc.pid, "the refused instance rewrote the lock file"
    # The first instance is untouched: it runs, accepts and queues.
    assert first.running()
    with first.client() as c:
        c.greet()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"],
                                       b"Subject: still here\r\n\r\nbody\r\n.\r\n"))
    assert qid in first.queue_ids()


def test_control_socket_is_owner_only(gateway_factory):
    old = os.umask(0)  # the gateway must not rely on the umask it inherits
    try:
        gw = gateway_factory()
    finally:
        os.umask(old)
    st = os.stat(gw.config["server"]["control_socket"])
    assert stat.S_ISSOCK(st.st_mode), "control socket is not a socket: %o" % st.st_mode
    assert stat.S_IMODE(st.st_mode) == 0o600, \
        "control socket mode: got %o, want 600" % stat.S_IMODE(st.st_mode)
    assert st.st_uid == os.geteuid()
    assert gw.cli("status").returncode == 0


# ---------------------------------------------------------------- reloading a limit

def size_transaction(gw, size, declare=False):
    """One new session sending a message of exactly `size` bytes; (EHLO reply, final reply)."""
    head = b"Subject: size\r\n\r\n"
    body = head + b"x" * (size - len(head) - 2) + b"\r\n"
    assert len(body) == size
    with gw.client() as c:
        ehlo = c.greet()
        mail = "MAIL FROM:<a@example.org>" + (" SIZE=%d" % size if declare else "")
        r = c.cmd(mail)
        if r.code != 250:
            return ehlo, r
        c.expect("RCPT TO:<b@example.net>", "250 2.1.5")
        return ehlo, c.data(body + b".\r\n")


def reload(gw, limit):
    gw.rewrite_config({"limits": {"message_size_max": limit}})
    p = gw.cli("reload")
    assert p.returncode == 0, "reload: exit %d: %s" % (p.returncode, p.stderr.decode())
    assert b"configuration reloaded" in p.stdout, p.stdout


def test_reload_lowers_then_raises_message_size_max(gateway_factory):
    gw = gateway_factory({"limits": {"message_size_max": 100000}})
    ehlo, r = size_transaction(gw, 50000)
    assert "SIZE 100000" in ehlo.text and r.startswith("250 2.0.0"), (ehlo.lines, r.lines)

    reload(gw, 10000)
    ehlo, r = size_transaction(gw, 50000)
    assert "250-SIZE 10000" in ehlo.text, ehlo.lines
    assert r.startswith("552 5.3.4"), "50000 bytes after lowering to 10000: %r" % r.lines
    _, r = size_transaction(gw, 10001, declare=True)
    assert r.startswith("552 5.3.4"), "MAIL SIZE=10001 after lowering: %r" % r.lines
    _, r = size_transaction(gw, 10000)
    assert r.startswith("250 2.0.0"), "exactly the new limit: %r" % r.lines

    reload(gw, 100000)
    ehlo, r = size_transaction(gw, 50000, declare=True)
    assert "250-SIZE 100000" in ehlo.text, ehlo.lines
    assert r.startswith("250 2.0.0"), "50000 bytes after raising back: %r" % r.lines
    assert len(gw.queue_list()) == 3


# ---------------------------------------------------------------- flush by domain

def send(gw, rcpts, subject):
    with gw.client() as c:
        c.greet()
        body = ("Subject: %s\r\n\r\nbody of %s\r\n.\r\n" % (subject, subject)).encode()
        return queued_id(c.send_message("alice@corp.example", rcpts, body))


def recipient_states(gw):
    """{address: state} over the whole queue."""
    return {r["address"]: r["state"] for m in gw.queue_list() for r in m["recipients"]}


def test_flush_by_domain_flushes_only_that_domain(gateway_factory):
    port = free_port()  # nothing listens yet: every attempt is refused
    gw = gateway_factory({
        "connectors": [{"name": "outbound", "address_spaces": ["*"],
                        "smart_hosts": ["127.0.0.1:%d" % port]}],
        # Hour-long retries: nothing goes out on its own while the test runs.
        "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
    })
    # two.example's recipient is tried (and refused) first: deferred for an hour of its own.
    two = send(gw, ["c@two.example"], "two")

    def attempted():
        m = [m for m in gw.queue_list() if m["id"] == two]
        return m and m[0]["recipients"][0]["state"] == "deferred" and \
            m[0]["recipients"][0]["attempts"] == 1
    wait_for(attempted, 20, "c@two.example deferred after one attempt",
             detail=lambda: json.dumps(gw.queue_list()))
    one_a = send(gw, ["a@one.example"], "one-a")
    one_b = send(gw, ["b@one.example"], "one-b")
    wait_for(lambda: recipient_states(gw) == {"a@one.example": "deferred",
                                              "b@one.example": "deferred",
                                              "c@two.example": "deferred"}, 20,
             "every recipient deferred", detail=lambda: json.dumps(gw.queue_list()))
    sink = PySink(port=port).start()
    try:
        p = gw.cli("queue", "flush", "--domain", "ONE.example")
        assert (p.returncode, p.stdout.decode()) == (0, "flushed 2 messages\n"), p
        wait_for(lambda: sorted(r for m in sink.snapshot() for r in m.recipients) ==
                 ["a@one.example", "b@one.example"], 15,
                 "the two one.example recipients delivered",
                 detail=lambda: (sink.snapshot(), gw.log_tail(15)))
        wait_for(lambda: [m["id"] for m in gw.queue_list()] == [two], 10,
                 "only the two.example message left", detail=lambda: gw.queue_list())
        assert one_a not in gw.queue_ids() and one_b not in gw.queue_ids()
        time.sleep(1)  # a wrongly flushed recipient would go out on the open connection now
        assert recipient_states(gw) == {"c@two.example": "deferred"}, gw.queue_list()
        assert sink.count() == 2, sink.snapshot()
    finally:
        sink.stop()


# ---------------------------------------------------------------- metrics after a scripted load

def metric_samples(port):
    """{name{labels}: value} of every sample on /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_metrics_after_deferred_and_bounced_load(gateway_factory):
    metrics_port, dead_port = free_port(), free_port()
    refusing = PySink(name="refusing", reject_rcpt={
        "x@reject.test": "550 5.1.1 <x@reject.test>: no such user",
        "y@reject.test": "550 5.1.1 <y@reject.test>: no such user"}).start()
    bounces = PySink(name="sender-mx").start()
    try:
        gw = gateway_factory({
            "metrics": {"address": "127.0.0.1:%d" % metrics_port},
            "connectors": [
                {"name": "senders", "address_spaces": ["sender.test"],
                 "smart_hosts": ["127.0.0.1:%d" % bounces.port]},
                {"name": "dead", "address_spaces": ["dead.test"],
                 "smart_hosts": ["127.0.0.1:%d" % dead_port]},
                {"name": "refusing", "address_spaces": ["reject.test"],
                 "smart_hosts": ["127.0.0.1:%d" % refusing.port]},
            ],
            # One attempt each in the test's time: the deferred count cannot grow by retries.
            "delivery": {"retry": {"initial_s": 3600, "max_s": 7200}},
        })
        for rcpts in (["a@dead.test", "b@dead.test", "c@dead.test"],  # one transaction
                      ["x@reject.test", "y@reject.test"], ["ok@reject.test"]):
            with gw.client() as c:
                c.greet()
                queued_id(c.send_message("alice@sender.test", rcpts,
                                         b"Subject: load\r\n\r\nbody\r\n.\r\n"))
        want = {
            "ringmta_messages_accepted_total": 3,
            "ringmta_recipients_delivered_total": 2,  # ok@reject.test and the DSN
            "ringmta_recipients_deferred_total": 3,
            "ringmta_recipients_bounced_total": 2,
            "ringmta_dsn_sent_total": 1,
            "ringmta_queue_messages": 1,
            'ringmta_queue_recipients{connector="dead",state="deferred"}': 3,
            'ringmta_queue_recipients{connector="dead",state="ready"}': 0,
            'ringmta_queue_recipients{connector="dead",state="in_flight"}': 0,
        }

        def settled():
            got = metric_samples(metrics_port)
            return {k: got.get(k) for k in want} == want and got
        got = wait_for(settled, 20, "the metrics of the load",
                       detail=lambda: "%s\n%s" % (
                           {k: metric_samples(metrics_port).get(k) for k in want},
                           gw.log_tail(15)))
        # Every other connector's queue is empty; a gauge that is present must say 0.
        others = {k: v for k, v in got.items()
                  if k.startswith("ringmta_queue_recipients{") and 'connector="dead"' not in k}
        assert all(v == 0 for v in others.values()), others
        assert [m.recipients for m in refusing.snapshot()] == [["ok@reject.test"]]
        assert [m.recipients for m in bounces.snapshot()] == [["alice@sender.test"]]
        assert {r["address"]: r["state"] for m in gw.queue_list() for r in m["recipients"]} == \
            {"a@dead.test": "deferred", "b@dead.test": "deferred", "c@dead.test": "deferred"}
    finally:
        refusing.stop()
        bounces.stop()
