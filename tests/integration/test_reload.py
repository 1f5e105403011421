# Reload (SIGHUP and `ringmta reload`): a changed route is followed by the next message while
# the gateway keeps running and keeps its connections; an invalid config is refused and the
# running one stays; a renewed TLS certificate is served to new sessions after a reload.
# Delivery goes to two `ringmta-bench sink` instances that store messages.
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import time

import pytest

from conftest import free_port, queued_id


def bench_bin():
    path = os.environ.get("RINGMTA_BENCH_BIN",
                          os.path.join(os.path.dirname(os.environ.get("RINGMTA_BIN", "")),
                                       "..", "bench", "ringmta-bench"))
    if not os.access(path, os.X_OK):
        pytest.skip("ringmta-bench not found (set RINGMTA_BENCH_BIN)")
    return path


class Sink:
    def __init__(self, workdir, name, *options):
        self.port = free_port()
        self.store = os.path.join(workdir, name)
        os.makedirs(self.store)
        self.proc = subprocess.Popen(
            [bench_bin(), "sink", "--listen", "127.0.0.1:%d" % self.port, "--store", self.store,
             *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if subprocess.run(["ss", "-Htln", "sport = :%d" % self.port],
                              capture_output=True).stdout.strip():
                return
            time.sleep(0.05)
        raise AssertionError("sink did not start")

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.store)):
            with open(os.path.join(self.store, name), "rb") as f:
                out.append(f.read())
        return out

    def wait_for(self, marker, timeout_s=15):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(marker in m for m in self.messages()):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def sinks(workdir):
    made = [Sink(workdir, "sink-a"), Sink(workdir, "sink-b")]
    yield made
    for s in made:
        s.stop()


def send(gw, marker):
    with gw.client() as c:
        c.greet()
        body = b"Subject: " + marker + b"\r\n\r\n" + marker + b"\r\n"
        return queued_id(c.send_message("a@example.org", ["b@example.net"], body + b".\r\n"))


def routes_to(port):
    return {"connectors": [{"name": "outbound", "address_spaces": ["*"],
                            "smart_hosts": ["127.0.0.1:%d" % port]}]}


@pytest.mark.parametrize("how", ["sighup", "cli"])
def test_reload_changes_route_for_next_message(gateway_factory, sinks, how):
    a, b = sinks
    gw = gateway_factory(routes_to(a.port))
    # A client connected before the reload keeps its session through it.
    with gw.client() as held:
        held.greet()
        send(gw, b"before-reload")
        assert a.wait_for(b"before-reload"), gw.log_tail()
        gw.rewrite_config(routes_to(b.port))
        if how == "sighup":
            gw.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "configuration reloaded" not in gw.log_text() and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            p = gw.cli("reload")
            assert p.returncode == 0, p.stderr.decode()
            assert b"configuration reloaded" in p.stdout
        assert "configuration reloaded" in gw.log_text()
        send(gw, b"after-reload")
        assert b.wait_for(b"after-reload"), gw.log_tail()
        assert not any(b"after-reload" in m for m in a.messages())
        # The session that was open during the reload still works.
        held.expect("NOOP", "250 2.0.0")


def test_reload_under_load_loses_nothing(gateway_factory, sinks):
    """Reloads that flip the route back and forth while a load generator sends: every message
    is accepted, every accepted message is delivered exactly once, to one of the two routes."""
    a, b = sinks
    gw = gateway_factory(routes_to(a.port))
    load = subprocess.Popen(
        [bench_bin(), "source", "--to", "127.0.0.1:%d" % gw.port, "--duration", "3",
         "--sessions", "4", "--rate", "400", "--size", "2000", "--json", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reloads = 0
    time.sleep(0.5)
    while load.poll() is None and reloads < 8:
        gw.rewrite_config(routes_to((b if reloads % 2 == 0 else a).port))
        p = gw.cli("reload")
        assert p.returncode == 0, p.stderr.decode()
        reloads += 1
        time.sleep(0.25)
    out, err = load.communicate(timeout=60)
    assert load.returncode == 0, err
    report = json.loads(out)
    assert reloads >= 4, "the load ended before the reloads (%d)" % reloads
    assert report["messages_failed"] == 0 and report["messages_accepted"] > 100, report
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and \
            len(a.messages()) + len(b.messages()) < report["messages_accepted"]:
        time.sleep(0.2)
    delivered = a.messages() + b.messages()
    assert len(delivered) == report["messages_accepted"], (len(delivered), report)
    # The load generator gives every message its own Message-ID: none twice, none missing.
    message_ids = [re.search(rb"^Message-ID:\s*(\S+)", m, re.M | re.I).group(1) for m in delivered]
    assert len(set(message_ids)) == len(delivered), "a message was delivered twice"
    assert a.messages() and b.messages(), "both routes were used"
    assert gw.queue_list() == []


def route_generation(gw):
    status = gw.cli("status").stdout.decode()
    return re.search(r"route table generation: (\d+)", status).group(1)


def reload_and_read_outcome(gw, how):
    """Reloads by SIGHUP or through the CLI; returns what the gateway (or the CLI) said."""
    if how == "cli":
        p = gw.cli("reload")
        assert p.returncode in (0, 1), p
        return p.stdout.decode() + p.stderr.decode()
    seen = gw.log_text().count("SIGHUP: ")
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while gw.log_text().count("SIGHUP: ") == seen and time.monotonic() < deadline:
        time.sleep(0.05)
    return gw.log_text().split("SIGHUP: ")[-1].splitlines()[0]


@pytest.mark.parametrize("how", ["sighup", "cli"])
def test_invalid_reload_is_refused_and_old_config_stays(gateway_factory, sinks, how):
    a, b = sinks
    gw = gateway_factory(routes_to(a.port))
    gw.rewrite_config({"connectors": [{"name": "outbound", "address_spaces": ["*contoso.com"],
                                       "smart_hosts": ["127.0.0.1:%d" % b.port]}]})
    said = reload_and_read_outcome(gw, how)
    assert "reload refused" in said, said
    assert 'connectors[0].address_spaces[0]: "*contoso.com" is not a valid address space' in said
    send(gw, b"still-old-route")
    assert a.wait_for(b"still-old-route"), gw.log_tail()
    assert b.messages() == []


def test_reload_refused_for_a_bad_key_keeps_the_old_routes(gateway_factory, sinks, workdir):
    """A config whose routes are valid but whose listener key does not load is refused as a
    whole over SIGHUP (which no CLI pre-check guards): the new route must not take effect."""
    a, b = sinks
    cert, key = make_cert(workdir, "gw", "gw.test.example")
    _, other_key = make_cert(workdir, "other", "other.test.example")
    gw = gateway_factory(routes_to(a.port), tls=(cert, key))
    generation = route_generation(gw)
    gw.rewrite_config(routes_to(b.port))
    gw.config["listeners"][0]["tls"]["key_file"] = other_key
    gw.rewrite_config({})
    said = reload_and_read_outcome(gw, "sighup")
    assert said.startswith("reload refused") and "listeners[0].tls" in said, said
    assert route_generation(gw) == generation
    send(gw, b"old-route-after-refusal")
    assert a.wait_for(b"old-route-after-refusal"), gw.log_tail()
    assert b.messages() == []


def test_status_and_unreachable_instance(gateway_factory):
    gw = gateway_factory()
    p = gw.cli("status")
    assert p.returncode == 0
    assert b"ringmta running" in p.stdout
    gw.stop()
    p = gw.cli("status")
    assert p.returncode == 3, "exit code for an unreachable instance"
    assert b"cannot reach the running gateway" in p.stderr


def make_cert(directory, name, common_name):
    """A self-signed certificate and key at directory/name.{crt,key}; returns their paths."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + common_name],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def served_common_name(gw):
    """The CN of the certificate a new STARTTLS session is shown."""
    with gw.client() as c:
        c.greet()
        c.starttls()
        der = c.sock.getpeercert(binary_form=True)
        c.expect("EHLO again.test.example", "250 ")
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("CN = ")[-1].split("CN=")[-1]


def test_reload_picks_up_renewed_certificate(gateway_factory, workdir):
    old_cert, old_key = make_cert(workdir, "old", "old.gw.test.example")
    new_cert, new_key = make_cert(workdir, "new", "new.gw.test.example")
    live_cert, live_key = os.path.join(workdir, "live.crt"), os.path.join(workdir, "live.key")
    shutil.copy(old_cert, live_cert)
    shutil.copy(old_key, live_key)
    gw = gateway_factory(tls=(live_cert, live_key))
    assert served_common_name(gw) == "old.gw.test.example"
    with gw.client() as before:
        before.greet()
        before.starttls()
        before.expect("EHLO before.test.example", "250 ")
        # Renewal: new files in place, then reload. A session already under TLS keeps going.
        shutil.copy(new_cert, live_cert)
        shutil.copy(new_key, live_key)
        p = gw.cli("reload")
        assert p.returncode == 0, p.stderr.decode()
        assert served_common_name(gw) == "new.gw.test.example"
        before.expect("NOOP", "250 2.0.0")
        before.expect("MAIL FROM:<a@example.org>", "250 ")
        # A key that does not match its certificate refuses the reload; the served one stays.
        shutil.copy(old_key, live_key)
        p = gw.cli("reload")
        assert p.returncode == 1
        err = p.stdout.decode() + p.stderr.decode()
        assert "reload refused" in err and "listeners[0].tls" in err, err
        assert served_common_name(gw) == "new.gw.test.example"
        before.expect("RSET", "250 ")


def test_reload_reroutes_mail_already_queued(gateway_factory, sinks):
    """Mail deferred on a dead smart host follows a reload that fixes the route at its next
    attempt (as Postfix re-resolves each time): not at once, since its retry time stays, and
    at once on `queue flush`."""
    _, b = sinks
    gw = gateway_factory({"connectors": [{"name": "outbound", "address_spaces": ["*"],
                                          "smart_hosts": ["127.0.0.1:%d" % free_port()]}],
                          "delivery": {"retry": {"initial_s": 600, "max_s": 3600}}}, threads=1)
    qid = send(gw, b"queued-before-reload")
    deadline = time.monotonic() + 15
    while "status=deferred" not in gw.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "status=deferred" in gw.log_text(), gw.log_tail()
    gw.rewrite_config(routes_to(b.port))
    said = reload_and_read_outcome(gw, "cli")
    assert "configuration reloaded" in said, said
    deadline = time.monotonic() + 5
    while "queued messages routed again" not in gw.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "1 queued messages routed again" in gw.log_text(), gw.log_tail()
    time.sleep(1.5)
    assert b.messages() == [], "a reload made deferred mail due before its retry time"
    p = gw.cli("queue", "flush", qid)
    assert p.returncode == 0, p.stderr.decode()
    assert b.wait_for(b"queued-before-reload"), gw.log_tail()
    deadline = time.monotonic() + 5
    while gw.queue_list() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gw.queue_list() == []


def test_reload_moves_transactions_waiting_for_a_connection(gateway_factory, workdir):
    """Mail handed to a pool that has not got a connection for it yet follows a reload too:
    with one connection to a slow smart host for two shards, the shard without it holds a
    transaction waiting for the slot; a reload that points the route elsewhere sends that one
    to the new host, and leaves the old host only what was on its connection then."""
    slow = Sink(workdir, "slow", "--latency-ms", "300")
    fast = Sink(workdir, "fast")
    try:
        gw = gateway_factory({"connectors": [{
            "name": "outbound", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:%d" % slow.port],
            "pool": {"max_connections_per_host": 1}}]}, threads=2)
        n = 20
        for i in range(n):
            send(gw, b"backlog-%02d" % i)
        assert slow.wait_for(b"backlog-"), gw.log_tail()
        gw.rewrite_config({"connectors": [{
            "name": "outbound", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:%d" % fast.port],
            "pool": {"max_connections_per_host": 1}}]})
        assert "configuration reloaded" in reload_and_read_outcome(gw, "cli")
        at_reload = len(slow.messages())
        deadline = time.monotonic() + 20
        while len(slow.messages()) + len(fast.messages()) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        got = slow.messages() + fast.messages()
        ids = [re.search(rb"backlog-\d+", m).group(0) for m in got]
        assert sorted(ids) == sorted(b"backlog-%02d" % i for i in range(n)), ids
        # The one transaction on the slow connection at the reload may still finish there.
        assert len(slow.messages()) <= at_reload + 1, (at_reload, len(slow.messages()))
        assert "routed again after a reload" in gw.log_text(), gw.log_tail()
    finally:
        slow.stop()
        fast.stop()


def test_missing_connector_file_refuses_reload_but_not_status(gateway_factory, sinks, workdir):
    """A CA file that vanished is a config error for what runs the gateway (reload, over the
    CLI and SIGHUP) but does not lock the operator out of `status` and `queue`."""
    a, b = sinks
    gw = gateway_factory(routes_to(a.port))
    missing = os.path.join(workdir, "gone-ca.pem")
    broken = routes_to(b.port)
    broken["connectors"][0]["tls"] = {"mode": "verify", "ca_file": missing}
    gw.rewrite_config(broken)
    for how in ("cli", "sighup"):
        said = reload_and_read_outcome(gw, how)
        assert "reload refused" in said and "connectors[0].tls.ca_file: cannot read" in said, said
    p = gw.cli("status")
    assert p.returncode == 0 and b"ringmta running" in p.stdout, p.stderr.decode()
    assert gw.cli("queue", "list").returncode == 0
    send(gw, b"old-route-kept")
    assert a.wait_for(b"old-route-kept"), gw.log_tail()
