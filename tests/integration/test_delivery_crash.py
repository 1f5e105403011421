# kill -9 of ringmta while it relays 5,000 acknowledged messages to a slow smart host, then a
# restart on the same spool: every acknowledged message reaches the smart host at least once
# (a crash between the remote 250 and the journal write may duplicate, never lose); the
# duplicates are counted and bounded by what was in flight at the kill.
import time

from delivery_support import (BenchSink, bench_source, message_ids, relay_gateway,
                              wait_delivered_and_clean, wait_for)

MESSAGES = 5000
CONNECTIONS = 8


def test_kill_9_mid_relay_loses_nothing(gateway_factory, tmp_path):
    sink = BenchSink("--latency-ms", 10, store=str(tmp_path / "store"))
    try:
        gw = relay_gateway(gateway_factory, [sink.port],
                           pool={"max_connections_per_host": CONNECTIONS},
                           server={"spool_segment_size": 1 << 20})
        rep = bench_source(gw.port, "--messages", MESSAGES, "--sessions", 8, "--size", 1000,
                           "--pipelining")
        assert rep["messages_accepted"] == MESSAGES and rep["messages_failed"] == 0, rep
        wait_for(lambda: sink.stored_count() >= MESSAGES // 5, 60,
                 "a fifth of the messages at the sink before the kill", interval_s=0.1)
        gw.kill()
        at_kill = sink.stored_count()
        assert at_kill < MESSAGES, "all delivered before the kill: the sink is not slow enough"
        time.sleep(0.5)
        gw.start()
        wait_for(lambda: sink.stored_count() >= MESSAGES, 90,
                 "%d messages at the sink after the restart" % MESSAGES, interval_s=0.5,
                 detail=lambda: "(have %d)\n%s" % (sink.stored_count(), gw.log_tail(15)))
        wait_delivered_and_clean(gw)
        sink.stop()
        ids = message_ids(sink.stored())
        duplicates = sum(v - 1 for v in ids.values())
        assert None not in ids, "a stored message without Message-ID"
        assert len(ids) == MESSAGES, "distinct Message-IDs at the sink: got %d, want %d" % (
            len(ids), MESSAGES)
        print("kill -9 after %d of %d delivered; %d duplicates after the restart"
              % (at_kill, MESSAGES, duplicates))
        # Only transactions in flight at the kill may go out twice: at most one per connection
        # (pipelined transactions wait for the previous one's reply), a few more for safety.
        assert duplicates <= 2 * CONNECTIONS, "%d duplicates" % duplicates
    finally:
        sink.kill()
