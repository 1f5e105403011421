# Clients that send without reading: the gateway must neither buffer their replies without
# bound (limits.unread_reply_bytes_max) nor be held open by one that stopped reading after
# its 421 (limits.final_reply_timeout_s). Memory is read from /proc; connections from `ss`.
import socket
import subprocess
import time

NOOPS = b"NOOP\r\n" * 10000  # 60 KB of commands, about 140 KB of replies


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def flood_without_reading(port, seconds):
    """Pushes NOOPs for `seconds` from a socket that never reads; returns (socket, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sent += s.send(NOOPS)
        except BlockingIOError:
            time.sleep(0.01)
    return s, sent


def established_from(gateway_port, client_port):
    out = subprocess.run(["ss", "-Htn", "state", "established",
                          "( sport = :%d and dport = :%d )" % (gateway_port, client_port)],
                         capture_output=True, text=True).stdout
    return out.strip() != ""


def test_client_that_never_reads_cannot_grow_memory(gateway_factory):
    gateway = gateway_factory({"limits": {"unread_reply_bytes_max": 65536}}, threads=1)
    before = rss_kib(gateway.proc.pid)
    s, sent = flood_without_reading(gateway.port, 3.0)
    try:
        grown = rss_kib(gateway.proc.pid) - before
        # Without backpressure every NOOP's reply stays in memory (about 2.3 bytes of reply
        # per byte sent, so hundreds of MB in 3 s); with it, the client is blocked once the
        # socket buffers and 64 KiB of replies are full.
        assert sent < 64 << 20, "the gateway kept reading: %d bytes taken" % sent
        assert grown < 16 << 10, "RSS grew by %d KiB while a client did not read" % grown
    finally:
        s.close()
    # The gateway is still answering others.
    with gateway.client() as c:
        c.greet()
        c.expect("NOOP", "250 2.0.0")


def test_client_that_stops_reading_is_closed_after_its_timeout(gateway_factory):
    gateway = gateway_factory({"limits": {"command_timeout_s": 2, "final_reply_timeout_s": 1}},
                              threads=1)
    s, _ = flood_without_reading(gateway.port, 1.0)
    client_port = s.getsockname()[1]
    try:
        assert established_from(gateway.port, client_port)
        # command timeout (2 s) + final reply timeout (1 s) + the once-a-second checks.
        deadline = time.monotonic() + 8
        while established_from(gateway.port, client_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not established_from(gateway.port, client_port), \
            "a client that stopped reading still holds its connection:\n" + gateway.log_tail()
        assert "timeout after command from 127.0.0.1" in gateway.log_text()
    finally:
        s.close()
