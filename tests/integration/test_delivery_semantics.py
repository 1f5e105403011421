# Outbound delivery semantics that follow Postfix: opportunistic TLS falls back to plaintext
# after a failed STARTTLS handshake (and remembers the host), SMTPUTF8 bounces only messages
# that need it, NOTIFY=SUCCESS to a next hop without DSN gets a "relayed" DSN while one with
# DSN gets the parameters passed on, and delivery lines carry delays=a/b/c/d.
import re
import smtplib

from delivery_support import (PySink, log_lines, make_message, parse_dsn, relay_gateway,
                              send_messages, wait_delivered_and_clean, wait_for)

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


# ---------------------------------------------------------------- NOTIFY=SUCCESS

def send_with_notify(port, tag):
    """bob asks for NOTIFY=SUCCESS,FAILURE with an ORCPT; carol says nothing."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("client.test")
        assert client.mail("alice@sender.test", ["RET=HDRS", "ENVID=env+2B1"])[0] == 250
        assert client.rcpt("bob@dest.test", ["NOTIFY=SUCCESS,FAILURE",
                                             "ORCPT=rfc822;bob@dest.test"])[0] == 250
        assert client.rcpt("carol@dest.test")[0] == 250
        assert client.data(make_message(tag, 0))[0] == 250


def test_notify_success_to_a_next_hop_without_dsn_sends_a_relayed_dsn(gateway_factory):
    sink = PySink().start()  # no DSN offered
    bounces = PySink(name="sender-mx").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], connectors=[sender_route(bounces)])
        send_with_notify(gw.port, "relayed")
        wait_for(lambda: sink.count() >= 1 and bounces.count() >= 1, 20,
                 "the message and a relayed DSN", detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        got = sink.snapshot()[0]
        assert all(b"NOTIFY" not in c and b"ENVID" not in c for c in got.commands), got.commands
        dsns = bounces.snapshot()
        assert len(dsns) == 1, dsns
        assert dsns[0].sender == "" and dsns[0].recipients == ["alice@sender.test"]
        msg, fields = parse_dsn(dsns[0].content)
        assert msg["Subject"] == "Successful Mail Delivery Report", msg["Subject"]
        assert fields.get("action") == "relayed" and fields.get("status") == "2.0.0", fields
        assert fields.get("final-recipient") == "rfc822; bob@dest.test", fields
        assert fields.get("remote-mta") == "dns; 127.0.0.1", fields
        assert fields.get("diagnostic-code") == "smtp; 250 2.0.0 Ok: stored", fields
        # Only bob asked; carol (NOTIFY unset) gets no success report.
        assert b"carol@dest.test" not in dsns[0].content, dsns[0].content.decode()
        assert any("sender delivery status notification" in l
                   for l in gw.log_text().splitlines()), gw.log_tail(10)
    finally:
        sink.stop()
        bounces.stop()


def test_notify_and_dsn_parameters_are_passed_to_a_next_hop_with_dsn(gateway_factory):
    sink = PySink(extensions=PySink.DEFAULT_EXTENSIONS + ("DSN",)).start()
    bounces = PySink(name="sender-mx").start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port], connectors=[sender_route(bounces)])
        send_with_notify(gw.port, "passed")
        wait_for(lambda: sink.count() >= 1, 20, "the message", detail=lambda: gw.log_tail(15))
        wait_delivered_and_clean(gw)
        got = sink.snapshot()[0]
        assert got.commands[0].endswith(b" RET=HDRS ENVID=env+2B1"), got.commands
        assert got.commands[1] == (b"RCPT TO:<bob@dest.test> NOTIFY=SUCCESS,FAILURE "
                                   b"ORCPT=rfc822;bob@dest.test"), got.commands
        assert got.commands[2] == b"RCPT TO:<carol@dest.test>", got.commands
        # The next hop reports success itself: no DSN from us.
        assert bounces.count() == 0, bounces.snapshot()
    finally:
        sink.stop()
        bounces.stop()


# ---------------------------------------------------------------- delays=

DELAYS = re.compile(r"delay=(\d+\.\d{3}), delays=([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+), dsn=")


def test_delivery_lines_carry_postfix_delays(gateway_factory):
    sink = PySink().start()
    try:
        gw = relay_gateway(gateway_factory, [sink.port])
        send_messages(gw.port, "delays", 1)
        wait_delivered_and_clean(gw)
        sent = log_lines(gw, "sent")
        assert len(sent) == 1, sent
        m = DELAYS.search(sent[0])
        assert m, sent[0]
        total = float(m.group(1))
        parts = [float(x) for x in m.groups()[1:]]
        for text in m.groups()[1:]:
            # Postfix's style: at most two decimals, no trailing zeros, "0" for nothing.
            assert re.fullmatch(r"0|[1-9]\d*|\d+\.\d?[1-9]", text), sent[0]
        assert abs(sum(parts) - total) <= 0.05, sent[0]
        assert ", connector=smarthost, delay=" in sent[0], sent[0]
    finally:
        sink.stop()
