# The spool failing under the gateway: a file size limit (RLIMIT_FSIZE) below the segment size
# makes every new segment fail to preallocate. DATA must then be answered 451 4.3.0 with
# nothing acknowledged or queued, and once the limit is lifted the same process accepts mail.
import resource
import signal

from conftest import queued_id, assert_stored

FSIZE_LIMIT = 2 << 20  # below the 4 MiB server.spool_segment_size of the test config
WRITE_ERROR = "451 4.3.0 Error: queue file write error, try again later"


def limit_file_size():
    # The kernel sends SIGXFSZ on a write past the limit; ignored, the write fails with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # Only the soft limit: the test raises it again on the running process, which needs no
    # privilege up to the hard limit.
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_LIMIT, resource.RLIM_INFINITY))


def test_queue_file_write_error_is_451_and_nothing_is_queued(gateway_factory):
    gateway = gateway_factory({"server": {"spool_segment_size": 4 << 20}}, start=False)
    gateway.preexec_fn = limit_file_size
    gateway.start()
    data = b"Subject: no room\r\n\r\nbody\r\n.\r\n"
    with gateway.client() as c:
        c.greet()
        for _ in range(2):  # the second try goes to a fresh segment, which fails the same way
            r = c.send_message("a@example.org", ["b@example.net"], data)
            assert r.lines == [WRITE_ERROR], r.lines
        c.expect("NOOP", "250 2.0.0")
    assert gateway.running()
    assert gateway.queue_ids() == set()
    assert gateway.spool() == {}
    assert "spool: " in gateway.log_text()

    # Room again (the limit lifted on the running process): the next message is queued.
    resource.prlimit(gateway.proc.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    with gateway.client() as c:
        c.greet()
        qid = queued_id(c.send_message("a@example.org", ["b@example.net"], data))
        c.expect("QUIT", "221 2.0.0")
    spool = gateway.spool()
    assert set(spool) == {qid}, "only the acknowledged message may be in the spool: %s" % (
        sorted(spool))
    assert_stored(spool, qid, b"Subject: no room\r\n\r\nbody\r\n")
    assert gateway.queue_ids() == {qid}
