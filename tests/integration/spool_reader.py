# An independent reader of ringmta's on-disk spool (queue/record_format.hh), written from the
# documented format only, so byte-exact checks in the integration tests cross-check the writer.
# Invariant: a record counts only if magic, version, type, header CRC and record CRC all check;
# damage is never silently skipped: it is listed in SpoolScan.damage for the tests to judge.
import glob
import os
import re
import struct

# ---------------------------------------------------------------- CRC32C (Castagnoli)

_CRC32C_POLY_REFLECTED = 0x82F63B78


def _make_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _CRC32C_POLY_REFLECTED if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _make_table()


def crc32c_bytewise(data, crc=0):
    """CRC32C of `data`, continuing from a previous result `crc` (0 to start)."""
    table = _TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# Slicing-by-8 tables: _SLICES[k][n] is the CRC state after byte n followed by k zero bytes.
_SLICES = [_TABLE]
for _k in range(1, 8):
    _SLICES.append(tuple((_SLICES[-1][n] >> 8) ^ _TABLE[_SLICES[-1][n] & 0xFF]
                         for n in range(256)))
_PAIRS = struct.Struct("<II")


def crc32c(data, crc=0):
    """Same result as crc32c_bytewise, eight bytes per step (spools hold megabytes)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _SLICES
    c = crc ^ 0xFFFFFFFF
    view = memoryview(data)
    whole = len(view) // 8 * 8
    for lo, hi in _PAIRS.iter_unpack(view[:whole]):
        lo ^= c
        c = (t7[lo & 0xFF] ^ t6[(lo >> 8) & 0xFF] ^ t5[(lo >> 16) & 0xFF] ^ t4[lo >> 24]
             ^ t3[hi & 0xFF] ^ t2[(hi >> 8) & 0xFF] ^ t1[(hi >> 16) & 0xFF] ^ t0[hi >> 24])
    for b in view[whole:]:
        c = t0[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


for _f in (crc32c_bytewise, crc32c):
    assert _f(b"123456789") == 0xE3069283  # the standard check value (RFC 3720 B.4)
    assert _f(b"6789", _f(b"12345")) == 0xE3069283
    assert _f(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4: 32 bytes of zeros
    assert _f(bytes(range(32))) == 0x46DD794E  # RFC 3720 B.4: incrementing bytes

# ---------------------------------------------------------------- record framing

MAGIC = 0x5152
# The newest version of each record type (outcome records went to 2 with the attempt history;
# version 1 ones are still read).
VERSIONS = {1: 1, 2: 2, 3: 1, 4: 1}
HEADER_SIZE = 16
ALIGNMENT = 8
PAYLOAD_MAX = 1 << 30
TYPE_MESSAGE, TYPE_OUTCOME, TYPE_REMOVAL, TYPE_HOLD = 1, 2, 3, 4
_HEADER = struct.Struct("<HBBIII")
_ZERO_HEADER = bytes(HEADER_SIZE)


def record_size_for(payload_size):
    return (HEADER_SIZE + payload_size + ALIGNMENT - 1) & ~(ALIGNMENT - 1)


def read_frame(buf, pos):
    """Returns (status, type, record_size, payload) for the record at buf[pos:].

    status: 'ok', 'end', 'truncated', 'bad_header', 'bad_crc' (as FrameStatus in the C++).
    """
    left = len(buf) - pos
    if left < HEADER_SIZE:
        tail = buf[pos:]
        return ("end" if tail.count(0) == len(tail) else "bad_header"), 0, 0, None
    header = buf[pos:pos + HEADER_SIZE]
    if header == _ZERO_HEADER:
        return "end", 0, 0, None
    magic, rtype, version, size, record_crc, header_crc = _HEADER.unpack(header)
    if (magic != MAGIC or rtype not in (1, 2, 3, 4) or not 1 <= version <= VERSIONS.get(rtype, 0)
            or size > PAYLOAD_MAX
            or crc32c(header[:12]) != header_crc):
        return "bad_header", rtype, 0, None
    rsize = record_size_for(size)
    if HEADER_SIZE + size > left:
        return "truncated", rtype, rsize, None
    payload = buf[pos + HEADER_SIZE:pos + HEADER_SIZE + size]
    if crc32c(payload, crc32c(header[:8])) != record_crc:
        return "bad_crc", rtype, rsize, None
    return "ok", rtype, rsize, payload


def _next_valid_record(buf, start):
    """Offset of the next 8-aligned valid record at or after `start`, or None."""
    pos = start
    while True:
        hit = buf.find(b"RQ", pos)
        if hit < 0:
            return None
        if hit % ALIGNMENT == 0 and read_frame(buf, hit)[0] == "ok":
            return hit
        pos = hit + 1


# ---------------------------------------------------------------- payload decoding

class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise ValueError("payload ends early (need %d bytes at %d of %d)"
                             % (n, self.pos, len(self.data)))
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def str(self):
        return bytes(self.take(self.u32()))


BODY_TYPES = {0: "7bit", 1: "8bitmime", 2: "binarymime"}
DSN_RETS = {0: "none", 1: "full", 2: "hdrs"}
NOTIFY_BITS = [(1, "NEVER"), (2, "SUCCESS"), (4, "FAILURE"), (8, "DELAY")]


def format_queue_id(queue_id):
    return "%016X" % queue_id


def decode_message(payload):
    """Message payload -> (envelope dict, content bytes). Raises ValueError when malformed."""
    r = _Reader(payload)
    env = {}
    env["queue_id"] = format_queue_id(r.u64())
    env["arrival_us"] = r.u64()
    env["shard"] = r.u16()
    flags = r.u8()
    if flags & ~1:
        raise ValueError("unknown flag bits 0x%02x" % flags)
    env["smtputf8"] = bool(flags & 1)
    body_type = r.u8()
    dsn_ret = r.u8()
    if body_type not in BODY_TYPES or dsn_ret not in DSN_RETS:
        raise ValueError("bad body_type %d or dsn_ret %d" % (body_type, dsn_ret))
    env["body_type"] = BODY_TYPES[body_type]
    env["ret"] = DSN_RETS[dsn_ret]
    if r.take(3) != b"\0\0\0":
        raise ValueError("reserved bytes after dsn_ret are not zero")
    count = r.u32()
    for key in ("sender", "envid", "client_ip", "helo_name", "tls_protocol", "tls_cipher"):
        env[key] = r.str()
    recipients = []
    for _ in range(count):
        notify = r.u8()
        if r.take(3) != b"\0\0\0":
            raise ValueError("reserved bytes after notify are not zero")
        address = r.str()
        orcpt = r.str()
        recipients.append({
            "address": address,
            "notify": [name for bit, name in NOTIFY_BITS if notify & bit],
            "notify_bits": notify,
            "orcpt": orcpt,
        })
    env["recipients"] = recipients
    content_size = r.u64()
    content = bytes(r.take(content_size))
    if r.pos != len(payload):
        raise ValueError("%d bytes after the content" % (len(payload) - r.pos))
    return env, content


def decode_removal(payload):
    if len(payload) != 16:
        raise ValueError("removal payload of %d bytes" % len(payload))
    queue_id, reason = struct.unpack("<QB", payload[:9])
    return format_queue_id(queue_id), reason


def decode_hold(payload):
    """(queue id hex, held) of a hold record: u64 id, u8 1 hold / 0 release, u8[7] zero."""
    if len(payload) != 16:
        raise ValueError("hold payload of %d bytes" % len(payload))
    queue_id, held = struct.unpack("<QB", payload[:9])
    if held not in (0, 1) or payload[9:] != bytes(7):
        raise ValueError("hold flag %d" % held)
    return format_queue_id(queue_id), bool(held)


def decode_outcome_queue_id(payload):
    if len(payload) < 32:
        raise ValueError("outcome payload of %d bytes" % len(payload))
    return format_queue_id(struct.unpack("<Q", payload[:8])[0])


# ---------------------------------------------------------------- segments and spool

_SEGMENT_NAME = re.compile(r"^seg-([0-9A-F]{16})\.log$")


class SpoolScan:
    """Everything found in a spool directory."""

    def __init__(self):
        self.messages = {}       # queue id hex -> (envelope dict, content bytes)
        self.locations = {}      # queue id hex -> (segment path, offset)
        self.removed = {}        # queue id hex -> removal reason
        self.held = {}           # queue id hex -> held (the last hold record wins)
        self.outcome_ids = []    # queue ids named by outcome records
        self.damage = []         # (segment path, offset, status, detail)
        self.segments = []       # segment paths in the order read
        self.records = 0
        self._anomalies = []     # (path, offset or None, what): format rules broken

    def damage_not_at_tail(self):
        """Damage followed by a valid record: never expected, even after kill -9."""
        return [d for d in self.damage if d[3] != "tail"]

    def anomalies(self):
        """Format rules the writer must keep beyond the CRCs (see check_layout)."""
        return self._anomalies


def segment_paths(spool_dir):
    """[(shard, seq, path)] sorted by shard then sequence."""
    out = []
    for shard_dir in glob.glob(os.path.join(spool_dir, "shard-*")):
        m = re.search(r"shard-(\d+)$", shard_dir)
        if not m or not os.path.isdir(shard_dir):
            continue
        for name in os.listdir(shard_dir):
            s = _SEGMENT_NAME.match(name)
            if s:
                out.append((int(m.group(1)), int(s.group(1), 16), os.path.join(shard_dir, name)))
    out.sort()
    return out


def scan_segment(path, scan, shard=None):
    with open(path, "rb") as f:
        buf = f.read()
    scan.segments.append(path)
    pos = 0
    while pos < len(buf):
        status, rtype, rsize, payload = read_frame(buf, pos)
        if status == "ok":
            scan.records += 1
            padding = buf[pos + HEADER_SIZE + len(payload):pos + rsize]
            if padding.count(0) != len(padding):
                scan._anomalies.append((path, pos, "non-zero padding %r" % padding))
            env = _apply_record(scan, path, pos, rtype, payload)
            if env is not None and shard is not None:
                if env["shard"] != shard or int(env["queue_id"], 16) & 0xFF != shard:
                    scan._anomalies.append((path, pos, "message %s of shard %d in shard-%d"
                                            % (env["queue_id"], env["shard"], shard)))
            pos += rsize
            continue
        # Resynchronise: after a bad_crc record its (trusted) length, else the next boundary.
        # No valid record later means this is the tail: clean if it was all zeros.
        later = _next_valid_record(buf, pos + (rsize if status == "bad_crc" else ALIGNMENT))
        if later is None:
            if status != "end" or buf[pos:].count(0) != len(buf) - pos:
                scan.damage.append((path, pos, status, "tail"))
            return
        scan.damage.append((path, pos, status, "mid, next record at %d" % later))
        pos = later


def _apply_record(scan, path, pos, rtype, payload):
    """Adds the record to `scan`; returns the envelope of a decoded message record."""
    try:
        if rtype == TYPE_MESSAGE:
            env, content = decode_message(payload)
            qid = env["queue_id"]
            if qid in scan.messages:
                scan.damage.append((path, pos, "duplicate queue id", qid))
            scan.messages[qid] = (env, content)
            scan.locations[qid] = (path, pos)
            return env
        if rtype == TYPE_REMOVAL:
            qid, reason = decode_removal(payload)
            scan.removed[qid] = reason
        elif rtype == TYPE_OUTCOME:
            scan.outcome_ids.append(decode_outcome_queue_id(payload))
        elif rtype == TYPE_HOLD:
            qid, held = decode_hold(payload)
            scan.held[qid] = held
    except ValueError as e:
        scan.damage.append((path, pos, "undecodable record of type %d" % rtype, str(e)))
    return None


def scan_spool(spool_dir):
    scan = SpoolScan()
    for shard, _seq, path in segment_paths(spool_dir):
        scan_segment(path, scan, shard)
    for shard_dir in glob.glob(os.path.join(spool_dir, "shard-*")):
        for name in os.listdir(shard_dir):
            # queue_id_mark(.tmp): the queue id high-water mark (queue/queue_id.hh).
            if not _SEGMENT_NAME.match(name) and name not in (
                    "corrupt", "queue_id_mark", "queue_id_mark.tmp"):
                scan._anomalies.append((os.path.join(shard_dir, name), None, "unexpected file"))
    for qid in scan.removed:
        scan.messages.pop(qid, None)
    return scan


def read_spool(spool_dir):
    """{queue_id_hex: (envelope dict, content bytes)} for every message not removed."""
    return scan_spool(spool_dir).messages


# ---------------------------------------------------------------- content helpers

def split_received(content):
    """(Received header bytes incl. its final CRLF, the rest) of stored content.

    The header is the first line and every following line that starts with a space or tab.
    """
    if not content.startswith(b"Received: from "):
        raise ValueError("content does not start with 'Received: from ': %r" % content[:60])
    pos = 0
    while True:
        end = content.find(b"\r\n", pos)
        if end < 0:
            raise ValueError("Received header has no CRLF: %r" % content[:200])
        pos = end + 2
        if pos >= len(content) or content[pos:pos + 1] not in (b" ", b"\t"):
            return content[:pos], content[pos:]
