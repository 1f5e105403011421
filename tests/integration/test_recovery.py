# Recovery of a damaged spool at start-up (queue/recovery.hh): damage is made by hand in the
# segment files of a stopped gateway, then the gateway starts on them. What must hold: every
# readable message survives byte-exact, the damaged one is dropped with a log line, offline
# `queue list` changes nothing on disk, and the gateway keeps accepting mail afterwards.
import hashlib
import os
import re
import struct

import pytest

from conftest import assert_stored, queued_id
import spool_reader


def body_of(i):
    return b"Subject: message %d\r\n\r\n" % i + b"line of message %d\r\n" % i * (20 + i)


def fill(gateway, count):
    ids = []
    with gateway.client() as c:
        c.greet()
        for i in range(count):
            ids.append(queued_id(c.send_message("a@example.org", ["b%d@example.net" % i],
                                                body_of(i) + b".\r\n")))
    return ids


def tree_digest(root):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            h.update(path.encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def patch(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def record_extent(scan, qid):
    path, offset = scan.locations[qid]
    with open(path, "rb") as f:
        f.seek(offset)
        header = f.read(16)
    size = struct.unpack("<I", header[4:8])[0]
    return path, offset, spool_reader.record_size_for(size)


DAMAGE = {
    # A byte of the content flipped: the header checks, the record CRC does not.
    "payload byte": lambda path, off, size: patch(path, off + size - 12, b"\xff"),
    # A byte of payload_size flipped: the header CRC fails, the reader must resynchronise.
    "header byte": lambda path, off, size: patch(path, off + 5, b"\x7f"),
    # The whole record zeroed: a hole inside written data.
    "zeroed record": lambda path, off, size: patch(path, off, bytes(size)),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_record_in_the_middle(gateway_factory, kind):
    gateway = gateway_factory(threads=1)
    ids = fill(gateway, 6)
    gateway.stop()
    victim = ids[2]
    path, offset, size = record_extent(gateway.scan(), victim)
    DAMAGE[kind](path, offset, size)
    scan = gateway.scan()
    assert scan.damage_not_at_tail(), "the damage is not visible to the reader"
    assert set(scan.messages) == set(ids) - {victim}

    before = tree_digest(gateway.spool_dir)
    offline = gateway.queue_ids()
    assert tree_digest(gateway.spool_dir) == before, "offline queue list changed the spool"
    assert offline == set(ids) - {victim}, "offline listing: got %s" % sorted(offline)

    gateway.start()
    assert gateway.queue_ids() == set(ids) - {victim}
    scan = gateway.scan()
    assert scan.damage == [], "damage left in live segments after recovery: %s" % scan.damage
    for i, qid in enumerate(ids):
        if qid != victim:
            assert_stored(scan.messages, qid, body_of(i))
    corrupt = os.path.join(gateway.spool_dir, "shard-0", "corrupt")
    assert os.path.isdir(corrupt) and os.listdir(corrupt), "damaged segment not kept aside"
    assert os.path.basename(path) in gateway.log_text(), "no log line names the damaged segment"

    # Business as usual afterwards, and a second restart changes nothing.
    new = fill(gateway, 2)
    gateway.stop()
    gateway.start()
    want = (set(ids) - {victim}) | set(new)
    assert gateway.queue_ids() == want
    scan = gateway.scan()
    assert scan.damage == [] and set(scan.messages) == want
    for i, qid in enumerate(new):
        assert_stored(scan.messages, qid, body_of(i))


def test_torn_tail_is_cut(gateway_factory):
    gateway = gateway_factory(threads=1)
    ids = fill(gateway, 4)
    gateway.stop()
    path, offset, size = record_extent(gateway.scan(), ids[-1])
    # Half of a record written after the last one: the start of a copy of the last record.
    with open(path, "rb") as f:
        f.seek(offset)
        partial = f.read(size // 2)
    patch(path, offset + size, partial)
    scan = gateway.scan()
    assert [d[3] for d in scan.damage] == ["tail"], scan.damage
    assert set(scan.messages) == set(ids)

    gateway.start()
    assert gateway.queue_ids() == set(ids)
    last_start = gateway.log_text().rsplit("==== start", 1)[-1]
    cut = [int(n) for n in re.findall(r"(\d+) bytes of torn tail cut", last_start)]
    assert cut and cut[0] > 0, "no torn tail reported as cut:\n%s" % last_start
    scan = gateway.scan()
    assert scan.damage == [], scan.damage
    new = fill(gateway, 1)
    gateway.stop()
    gateway.start()
    scan = gateway.scan()
    assert scan.damage == []
    assert set(scan.messages) == set(ids) | set(new) == gateway.queue_ids()
    for i, qid in enumerate(ids):
        assert_stored(scan.messages, qid, body_of(i))


# ---------------------------------------------------------------- queue id high-water mark

def test_queue_ids_continue_above_the_mark(gateway_factory):
    """Ids continue above each shard's queue_id_mark even with an empty spool and the clock far
    behind it, each new segment rewrites the mark, and a malformed mark stops the start."""
    gateway = gateway_factory(start=False)
    high = 0x0FFF000000000000 >> 8  # a sequence decades ahead of the clock
    for shard in range(gateway.threads):
        d = os.path.join(gateway.spool_dir, "shard-%d" % shard)
        os.makedirs(d)
        with open(os.path.join(d, "queue_id_mark"), "w") as f:
            f.write("%016X\n" % (high << 8 | shard))
    gateway.start()
    ids = fill(gateway, 4)
    for qid in ids:
        assert int(qid, 16) >> 8 > high, "queue id %s is not above the mark" % qid
    for shard in {int(qid, 16) & 0xFF for qid in ids}:
        with open(os.path.join(gateway.spool_dir, "shard-%d" % shard, "queue_id_mark")) as f:
            mark = int(f.read(), 16)
        assert mark >> 8 >= high, "mark of shard %d went down: %016X" % (shard, mark)
    gateway.stop()
    with open(os.path.join(gateway.spool_dir, "shard-0", "queue_id_mark"), "w") as f:
        f.write("not a queue id\n")
    with pytest.raises(AssertionError, match="exited with"):
        gateway.start()
    assert "not a queue id high-water mark" in gateway.log_text(), gateway.log_tail()
