# Outbound delivery semantics that follow Postfix: opportunistic TLS falls back to plaintext
# after a failed STARTTLS handshake (and remembers the host), SMTPUTF8 bounces only messages
# that need it.
import smtplib

from delivery_support import (PySink, log_lines, make_message, relay_gateway, send_messages,
                              wait_delivered_and_clean, wait_for)

NO_SMTPUTF8 = ("PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 104857600")


def sender_route(bounces):
    return {"name": "senders", "address_spaces": ["sender.test"],
            "smart_hosts": ["127.0.0.1:%d" % bounces.port]}


# ---------------------------------------------------------------- opportunistic TLS

def test_failed_starttls_handshake_falls_back_to_plaintext_and_is_remembered(gateway_factory):
    sink = PySink(extensions=NO_SMTPUTF8 + ("STARTTLS",), starttls="garbage").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], tls={"mode": "opportunistic"},
                           threads=1, pool={"max_messages_per_connection": 1})
        send_messages(gw.port, "tlsfb", 1)
        wait_for(lambda: sink.count() >= 1, 20, "the message in plaintext after the failed "
                 "handshake", detail=lambda: gw.log_tail(15))
        got = sink.snapshot()
        # Connection 0 offered STARTTLS and answered garbage; the message came on connection 1,
        # which did not try STARTTLS again.
        assert sink.starttls_connections == [0], sink.starttls_connections
        assert [m.connection for m in got] == [1], got
        why = [l for l in gw.log_text().splitlines() if "retrying in plaintext" in l]
        assert len(why) == 1, gw.log_tail(15)
        assert "Cannot start TLS with host 127.0.0.1[127.0.0.1]" in why[0], why[0]
        assert "no STARTTLS to 127.0.0.1[127.0.0.1]:%d for 3600 s" % sink.port in why[0], why[0]
        assert "dsn=2.0.0, status=sent" in log_lines(gw, "sent")[0]
        # The next connection (one message per connection) goes plaintext at once.
        send_messages(gw.port, "tlsfb2", 1)
        wait_for(lambda: sink.count() >= 2, 20, "the second message",
                 detail=lambda: gw.log_tail(15))
        assert sink.starttls_connections == [0], sink.starttls_connections
        assert sink.snapshot()[1].connection == 2
        assert len([l for l in gw.log_text().splitlines() if "retrying in plaintext" in l]) == 1
        assert log_lines(gw, "deferred") == [], log_lines(gw, "deferred")
    finally:
        sink.stop()


def test_starttls_refused_goes_on_in_plaintext_on_the_same_connection(gateway_factory):
    """Postfix at "may" continues the session in plaintext after a 4xx/5xx to STARTTLS."""
    sink = PySink(extensions=NO_SMTPUTF8 + ("STARTTLS",),
                  starttls="454 4.7.0 TLS not available due to local problem").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], tls={"mode": "opportunistic"})
        send_messages(gw.port, "tls454", 1)
        wait_for(lambda: sink.count() >= 1, 20, "the message in plaintext",
                 detail=lambda: gw.log_tail(15))
        assert sink.starttls_connections == [0] and sink.snapshot()[0].connection == 0
        wait_delivered_and_clean(gw)
    finally:
        sink.stop()


def test_failed_handshake_with_tls_required_defers(gateway_factory):
    sink = PySink(extensions=NO_SMTPUTF8 + ("STARTTLS",), starttls="garbage").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], tls={"mode": "required"})
        send_messages(gw.port, "tlsreq", 1)
        wait_for(lambda: log_lines(gw, "deferred"), 20, "a deferral",
                 detail=lambda: gw.log_tail(15))
        assert sink.count() == 0
        assert "dsn=4.7.5" in log_lines(gw, "deferred")[0], log_lines(gw, "deferred")
        assert "retrying in plaintext" not in gw.log_text()
    finally:
        sink.stop()


# ---------------------------------------------------------------- SMTPUTF8

def test_smtputf8_only_bounces_messages_that_need_it(gateway_factory):
    sink = PySink(extensions=NO_SMTPUTF8).start()
    bounces = PySink(name="sender-mx").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], connectors=[sender_route(bounces)])
        with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as client:
            client.ehlo("client.test")
            # All ASCII, but sent with SMTPUTF8: must arrive, without the parameter.
            client.sendmail("alice@sender.test", ["bob@dest.test"], make_message("ascii", 0),
                            mail_options=["SMTPUTF8"])
            # A UTF-8 recipient: needs SMTPUTF8, which the next hop lacks.
            client.sendmail("alice@sender.test", ["jörg@dest.test"],
                            make_message("utf8", 0), mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        wait_for(lambda: sink.count() >= 1 and bounces.count() >= 1, 20,
                 "the ASCII message at the sink and a bounce at the sender's route",
                 detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        got = sink.snapshot()
        assert len(got) == 1 and got[0].recipients == ["bob@dest.test"], got
        assert got[0].commands[0] == b"MAIL FROM:<alice@sender.test> SIZE=%d" % (
            len(got[0].content)), got[0].commands
        assert b"Message-ID: <ascii.0@sender.test>" in got[0].content
        bounced = log_lines(gw, "bounced")
        assert len(bounced) == 1 and "dsn=5.6.7" in bounced[0], bounced
        assert "does not offer SMTPUTF8" in bounced[0], bounced[0]
        dsn = bounces.snapshot()
        assert len(dsn) == 1 and dsn[0].sender == "" and \
            dsn[0].recipients == ["alice@sender.test"], dsn
        # A report about a UTF-8 address is message/global-delivery-status (RFC 6533), which
        # Python's email package leaves as text.
        report = dsn[0].content.decode("utf-8")
        assert "Content-Type: message/global-delivery-status" in report, report
        assert "Final-Recipient: utf-8; jörg@dest.test\r\nAction: failed\r\n" \
            "Status: 5.6.7\r\n" in report, report
    finally:
        sink.stop()
        bounces.stop()
