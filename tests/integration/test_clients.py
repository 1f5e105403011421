# Real SMTP clients (swaks, curl, Python smtplib) against the gateway: exact replies, and the
# spooled content read back with the independent spool reader must be byte-exact: a Received
# header naming the queue id, then what the client sent after dot-unstuffing.
import re
import smtplib
import subprocess

import pytest

from conftest import assert_stored, dot_unstuff, queued_id, require_tool

QUEUED = re.compile(r"250 2\.0\.0 Ok: queued as ([0-9A-F]{16})")

# DATA as it goes on the wire: CRLF lines, one dot-stuffed line, the terminating dot.
WIRE_DATA = (b"From: Alice <a@example.org>\r\n"
             b"To: Bob <b@example.net>\r\n"
             b"Subject: integration test\r\n"
             b"\r\n"
             b"first line\r\n"
             b"..a line that starts with a dot\r\n"
             b"\r\n"
             b"last line\r\n"
             b".\r\n")


def run_swaks(gateway, tmp_path, *extra):
    swaks = require_tool("swaks")
    data = tmp_path / "data.eml"
    data.write_bytes(WIRE_DATA)
    p = subprocess.run(
        [swaks, "--server", "127.0.0.1", "--port", str(gateway.port), "--from", "a@example.org",
         "--to", "b@example.net", "--helo", "client.test.example", "--data", "@%s" % data,
         "--no-data-fixup", "--timeout", "15", *extra],
        capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, "swaks exit %d:\n%s\n%s" % (p.returncode, out, p.stderr.decode())
    ids = QUEUED.findall(out)
    assert len(ids) == 1, "swaks output has %d queue ids, want 1:\n%s" % (len(ids), out)
    return ids[0], out


@pytest.mark.parametrize("label,extra", [("plain", []), ("pipeline", ["--pipeline"])])
def test_swaks(gateway, tmp_path, label, extra):
    qid, out = run_swaks(gateway, tmp_path, *extra)
    if label == "pipeline":
        assert "PIPELINING" in out
    env, received = assert_stored(gateway.spool(), qid, dot_unstuff(WIRE_DATA),
                                  sender="a@example.org", recipients=["b@example.net"])
    assert b" with ESMTP id " in received, received
    assert env["helo_name"] == b"client.test.example"
    assert env["client_ip"] == b"127.0.0.1"
    assert env["tls_protocol"] == b""
    assert gateway.queue_ids() == {qid}


def test_swaks_starttls(gateway_factory, tls_files, tmp_path):
    gateway = gateway_factory(tls=tls_files)
    qid, out = run_swaks(gateway, tmp_path, "--tls")
    assert "220 2.0.0 Ready to start TLS" in out, out
    env, received = assert_stored(gateway.spool(), qid, dot_unstuff(WIRE_DATA),
                                  sender="a@example.org", recipients=["b@example.net"])
    assert b" with ESMTPS id " in received, received
    assert env["tls_protocol"] in (b"TLSv1.2", b"TLSv1.3"), env["tls_protocol"]
    assert b"(using " + env["tls_protocol"] + b" with cipher " + env["tls_cipher"] + b")" \
        in received, received
    assert env["tls_cipher"], "no cipher recorded"


def test_curl(gateway, tmp_path):
    curl = require_tool("curl")
    # A file of CRLF lines: curl escapes the leading dot and appends CRLF.CRLF.
    body = (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: curl\r\n\r\n"
            b"hello from curl\r\n.dot line\r\n..two dots\r\nend\r\n")
    f = tmp_path / "mail.txt"
    f.write_bytes(body)
    p = subprocess.run(
        [curl, "-sS", "-v", "smtp://127.0.0.1:%d/client.test.example" % gateway.port,
         "--mail-from", "a@example.org", "--mail-rcpt", "b@example.net",
         "--mail-rcpt", "c@example.net", "-T", str(f), "--max-time", "20"],
        capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, "curl exit %d:\n%s" % (p.returncode, err)
    ids = QUEUED.findall(err)
    assert len(ids) == 1, "curl -v shows %d queue ids, want 1:\n%s" % (len(ids), err)
    assert_stored(gateway.spool(), ids[0], body, sender="a@example.org",
                  recipients=["b@example.net", "c@example.net"])


class RecordingSMTP(smtplib.SMTP):
    """smtplib client that keeps the reply to the end of DATA."""

    def data(self, msg):
        self.last_data_reply = super().data(msg)
        return self.last_data_reply


def data_reply_id(client):
    code, text = client.last_data_reply
    return queued_id("%d %s" % (code, text.decode()))


def test_smtplib_several_recipients(gateway):
    body = b"Subject: many\r\n\r\nto several recipients\r\n.leading dot\r\n"
    rcpts = ["r%d@example.net" % i for i in range(5)]
    with RecordingSMTP("127.0.0.1", gateway.port, local_hostname="py.test.example",
                       timeout=10) as s:
        refused = s.sendmail("a@example.org", rcpts, body)
        assert refused == {}
        qid = data_reply_id(s)
    env, received = assert_stored(gateway.spool(), qid, body, sender="a@example.org",
                                  recipients=rcpts)
    assert b"\tfor <" not in received, "several recipients, yet a 'for' clause: %r" % received
    assert [r["notify_bits"] for r in env["recipients"]] == [0] * 5


def test_smtplib_8bitmime(gateway):
    body = "Subject: =?utf-8?q?8bit?=\r\nContent-Type: text/plain; charset=utf-8\r\n" \
           "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln — ½ €\r\n".encode()
    with RecordingSMTP("127.0.0.1", gateway.port, timeout=10) as s:
        s.ehlo("py.test.example")
        assert s.has_extn("8bitmime")
        s.sendmail("a@example.org", ["b@example.net"], body, mail_options=["BODY=8BITMIME"])
        qid = data_reply_id(s)
    env, received = assert_stored(gateway.spool(), qid, body)
    assert env["body_type"] == "8bitmime"
    assert b"\tfor <b@example.net>; " in received, received


def test_smtplib_smtputf8(gateway):
    sender, rcpt = "jörg@exämple.org", "søren@example.net"
    body = "Subject: utf8\r\n\r\nÜnïcödé\r\n".encode()
    with RecordingSMTP("127.0.0.1", gateway.port, timeout=10) as s:
        s.ehlo("py.test.example")
        assert s.has_extn("smtputf8")
        s.sendmail(sender, [rcpt], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        qid = data_reply_id(s)
    env, received = assert_stored(gateway.spool(), qid, body, sender=sender, recipients=[rcpt])
    assert env["smtputf8"] is True
    assert b" with UTF8SMTP id " in received, received


def test_smtplib_dsn_parameters(gateway):
    body = b"Subject: dsn\r\n\r\nplease tell me\r\n"
    with RecordingSMTP("127.0.0.1", gateway.port, timeout=10) as s:
        s.ehlo("py.test.example")
        assert s.has_extn("dsn")
        code, text = s.mail("a@example.org", ["RET=HDRS", "ENVID=abc"])
        assert (code, text) == (250, b"2.1.0 Ok")
        code, text = s.rcpt("x@example.net", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@y"])
        assert (code, text) == (250, b"2.1.5 Ok")
        code, text = s.rcpt("z@example.net", ["NOTIFY=NEVER"])
        assert (code, text) == (250, b"2.1.5 Ok")
        s.data(body)
        qid = data_reply_id(s)
    env, _ = assert_stored(gateway.spool(), qid, body, recipients=["x@example.net",
                                                                   "z@example.net"])
    assert env["ret"] == "hdrs"
    assert env["envid"] == b"abc"
    r0, r1 = env["recipients"]
    assert r0["notify"] == ["SUCCESS", "FAILURE"] and r0["orcpt"] == b"rfc822;x@y", r0
    assert r1["notify"] == ["NEVER"] and r1["orcpt"] == b"", r1
