# Smart hosts that want more than plain SMTP: aiosmtpd with STARTTLS and AUTH (PLAIN, or LOGIN
# alone) gets the mail authenticated with auth.username and the password from
# auth.password_file; a wrong password defers and never bounces (as Postfix's
# smtp_sasl_auth_soft_bounce); tls.mode required to a host without STARTTLS defers with nothing
# delivered; the TLS ClientHello names the expected server (SNI).
import os
import ssl
import threading

import pytest

from conftest import free_port
from delivery_support import (RETRY_FAST, Dnsmasq, PySink, log_lines, make_test_ca,
                              relay_gateway, send_messages, strip_received,
                              wait_delivered_and_clean, wait_for)

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller",
                                          reason="python3-aiosmtpd not installed")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")

USERNAME = "relay-user"
PASSWORD = "s3cret pass:word"


@pytest.fixture(scope="module")
def smart_host_ca(tmp_path_factory):
    """(ca.pem, cert, key) for the smart host name pgp.sni.test."""
    return make_test_ca(tmp_path_factory.mktemp("smarthost-ca"), "pgp.sni.test")


class AiosmtpdSmartHost:
    """aiosmtpd on 127.0.0.1 with STARTTLS (required before MAIL) and, with `auth`, AUTH
    required over TLS. Records each message with its session's TLS and AUTH facts and every
    SNI name a ClientHello carried (None for a ClientHello without one)."""

    def __init__(self, cert, key, auth=True, mechanisms=("PLAIN", "LOGIN")):
        self.messages = []   # (mail_from, rcpt_tos, content, authenticated, login, tls)
        self.auth_attempts = []  # (mechanism, login, success)
        self.sni = []
        self._lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = self._on_sni
        kwargs = {}
        if auth:
            excluded = [m for m in ("PLAIN", "LOGIN") if m not in mechanisms]
            kwargs = dict(auth_required=True, auth_require_tls=True,
                          authenticator=self._authenticate, auth_exclude_mechanism=excluded)
        self.port = free_port()
        self.controller = aiosmtpd_controller.Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="pgp.sni.test",
            tls_context=context, require_starttls=True, **kwargs)
        self.controller.start()

    def _on_sni(self, ssl_object, server_name, context):
        with self._lock:
            self.sni.append(server_name)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode()
        ok = (login, auth_data.password.decode()) == (USERNAME, PASSWORD)
        with self._lock:
            self.auth_attempts.append((mechanism, login, ok))
        if not ok:  # handled=False: aiosmtpd answers 535 5.7.8 itself
            return aiosmtpd_smtp.AuthResult(success=False, handled=False)
        return aiosmtpd_smtp.AuthResult(success=True, auth_data=login)

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                                  session.authenticated, session.auth_data,
                                  session.ssl is not None))
        return "250 2.0.0 Ok: stored"

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def stop(self):
        self.controller.stop()


def auth_connector(tmp_path, password):
    path = tmp_path / "smarthost.pass"
    path.write_text(password + "\n")  # the first line is the password
    os.chmod(path, 0o600)
    return {"username": USERNAME, "password_file": str(path)}


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_over_starttls_delivers_authenticated(gateway_factory, smart_host_ca, tmp_path,
                                                   mechanism):
    _, cert, key = smart_host_ca
    host = AiosmtpdSmartHost(cert, key, mechanisms=(mechanism,))
    try:
        gw = relay_gateway(gateway_factory, [host.port], tls={"mode": "required"}, start=False)
        gw.config["connectors"][-1]["auth"] = auth_connector(tmp_path, PASSWORD)
        gw.rewrite_config({})
        gw.start()
        ids = send_messages(gw.port, "auth-" + mechanism, 2)
        wait_for(lambda: len(host.snapshot()) >= 2, 15, "2 messages at the AUTH smart host",
                 detail=lambda: gw.log_tail(10))
        wait_delivered_and_clean(gw)
        got = host.snapshot()
        arrived = []
        for sender, rcpts, content, authenticated, login, tls in got:
            assert (sender, rcpts) == ("alice@sender.test", ["bob@dest.test"])
            assert authenticated is True and login == USERNAME and tls, got
            _, rest = strip_received(content)
            arrived += [i for i in ids if b"Message-ID: " + i + b"\r\n" in rest]
        assert sorted(arrived) == sorted(ids), arrived
        # One authentication per connection, with the only mechanism offered.
        assert host.auth_attempts and all(a == (mechanism, USERNAME, True)
                                          for a in host.auth_attempts), host.auth_attempts
        assert len(log_lines(gw, "sent")) == 2
    finally:
        host.stop()


WRONG_PASSWORD_SAID = ("SASL authentication failed; server 127.0.0.1[127.0.0.1] said: "
                       "535 5.7.8 Authentication credentials invalid")


@pytest.fixture
def wrong_password(gateway_factory, smart_host_ca, tmp_path):
    """A message to a smart host that refuses our password, tried twice (1-2 s retries):
    (gateway, its queue entry, smart host, sender's sink)."""
    _, cert, key = smart_host_ca
    host = AiosmtpdSmartHost(cert, key)
    bounces = PySink(name="sender-mx").start()
    try:
        gw = gateway_factory({
            "connectors": [
                {"name": "senders", "address_spaces": ["sender.test"],
                 "smart_hosts": ["127.0.0.1:%d" % bounces.port]},
                {"name": "smarthost", "address_spaces": ["*"],
                 "smart_hosts": ["127.0.0.1:%d" % host.port], "tls": {"mode": "required"},
                 "auth": auth_connector(tmp_path, "not the password")},
            ],
            "delivery": dict(RETRY_FAST),
        })
        send_messages(gw.port, "badpass", 1)

        def retried():
            q = gw.queue_list()
            return len(q) == 1 and q[0]["recipients"][0]["attempts"] >= 2 and q[0]
        m = wait_for(retried, 15, "two refused authentications",
                     detail=lambda: (gw.queue_list(), gw.log_tail(10)))
        yield gw, m, host, bounces
    finally:
        host.stop()
        bounces.stop()


def test_wrong_password_defers_and_never_bounces(wrong_password):
    gw, m, host, bounces = wrong_password
    r = m["recipients"][0]
    assert r["state"] == "deferred" and r["diagnostic"] == WRONG_PASSWORD_SAID, r
    deferred = log_lines(gw, "deferred")
    assert len(deferred) >= 2 and all(
        "to=<bob@dest.test>, relay=none, connector=smarthost" in l and
        "status=deferred (%s)" % WRONG_PASSWORD_SAID in l for l in deferred), deferred
    assert host.snapshot() == [], "delivered without authentication"
    assert len(host.auth_attempts) >= 2 and \
        all(a == ("PLAIN", USERNAME, False) for a in host.auth_attempts), host.auth_attempts
    assert log_lines(gw, "bounced") == [] and bounces.count() == 0


def test_wrong_password_deferral_has_a_temporary_status(wrong_password):
    gw, _, _, _ = wrong_password
    deferred = log_lines(gw, "deferred")
    assert deferred and all(", dsn=4.7.8, status=deferred (" in l for l in deferred), deferred


def test_tls_required_without_starttls_defers(gateway_factory):
    sink = PySink().start()  # offers no STARTTLS
    try:
        gw = relay_gateway(gateway_factory, [sink.port], tls={"mode": "required"})
        send_messages(gw.port, "notls", 1)

        def deferred():
            q = gw.queue_list()
            return len(q) == 1 and q[0]["recipients"][0]["attempts"] >= 1 and q[0]
        m = wait_for(deferred, 15, "the recipient deferred", detail=lambda: gw.log_tail(10))
        r = m["recipients"][0]
        want = "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]"
        assert r["state"] == "deferred" and r["diagnostic"] == want, r
        lines = log_lines(gw, "deferred")
        assert lines and "dsn=4.7.4, status=deferred (%s)" % want in lines[0], lines
        # It said EHLO and stopped there: no transaction began, nothing was delivered.
        assert sink.connections >= 1 and sink.transactions == 0 and sink.count() == 0
        assert log_lines(gw, "sent") == [] and log_lines(gw, "bounced") == []
    finally:
        sink.stop()


# ---------------------------------------------------------------- SNI

def sni_of_one_delivery(gw, host, tag):
    """Relays one message to `host`; the SNI names its ClientHellos carried."""
    send_messages(gw.port, tag, 1)
    wait_for(lambda: len(host.snapshot()) >= 1, 15, "the message over TLS",
             detail=lambda: gw.log_tail(10))
    wait_delivered_and_clean(gw)
    return host.sni

def test_sni_carries_tls_name_in_verify_mode(gateway_factory, smart_host_ca):
    ca, cert, key = smart_host_ca
    host = AiosmtpdSmartHost(cert, key, auth=False)
    try:
        gw = relay_gateway(gateway_factory, [host.port],
                           tls={"mode": "verify", "ca_file": ca, "name": "pgp.sni.test"})
        sni = sni_of_one_delivery(gw, host, "sni")
        assert sni == ["pgp.sni.test"], sni
    finally:
        host.stop()


def test_sni_is_the_smart_host_name_without_tls_name(gateway_factory, smart_host_ca):
    """verify without tls.name: the smart host's own name is checked and sent as SNI."""
    ca, cert, key = smart_host_ca
    host = AiosmtpdSmartHost(cert, key, auth=False)
    dns = Dnsmasq(["--local=/test/", "--host-record=pgp.sni.test,127.0.0.1"])
    try:
        dns.wait_ready("pgp.sni.test")
        gw = gateway_factory({
            "connectors": [{"name": "smarthost", "address_spaces": ["*"],
                            "smart_hosts": ["pgp.sni.test:%d" % host.port],
                            "tls": {"mode": "verify", "ca_file": ca}}],
            "dns": {"servers": ["127.0.0.1:%d" % dns.port]},
            "delivery": dict(RETRY_FAST),
        })
        sni = sni_of_one_delivery(gw, host, "sni-host")
        assert sni == ["pgp.sni.test"], sni
    finally:
        host.stop()
        dns.stop()


def test_no_sni_for_an_ip_literal_smart_host(gateway_factory, smart_host_ca):
    """RFC 6066 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName"."""
    _, cert, key = smart_host_ca
    host = AiosmtpdSmartHost(cert, key, auth=False)
    try:
        gw = relay_gateway(gateway_factory, [host.port], tls={"mode": "required"})
        sni = sni_of_one_delivery(gw, host, "sni-ip")
        assert sni == [None], sni
    finally:
        host.stop()
