# CPU and memory of the measured servers, read from /proc. CPU is utime+stime in clock ticks;
# Postfix's total also counts children the master has reaped (cutime+cstime), so a process
# that exits mid-run is neither lost nor counted twice. A process gone between reads counts 0.
import os
import threading
import time

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid):
    """Fields after the command name of /proc/PID/stat (index 0 is the state), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_ticks(pid, children=False):
    """utime+stime of PID (all threads); with children, plus its reaped children's."""
    f = _stat_fields(pid)
    if f is None:
        return 0
    total = int(f[11]) + int(f[12])
    if children:
        total += int(f[13]) + int(f[14])
    return total


def children_of(parent_pid):
    """PIDs whose parent is parent_pid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(int(name))
        if f is not None and int(f[1]) == parent_pid:
            out.append(int(name))
    return out


def process_group_cpu_ticks(master_pid):
    """The master's own and reaped-children CPU plus every live child's (Postfix's daemons
    are all children of master)."""
    total = cpu_ticks(master_pid, children=True)
    for pid in children_of(master_pid):
        total += cpu_ticks(pid)
    return total


def rss_bytes(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _kib_field(path, key):
    """The "key: N kB" line of a /proc status-like file, in bytes (0 when absent)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid):
    return _kib_field("/proc/%d/smaps_rollup" % pid, "Pss:")


def vm_hwm_bytes(pid):
    return _kib_field("/proc/%d/status" % pid, "VmHWM:")


class MemorySampler:
    """Samples, every interval_s on its own thread, the summed RSS and PSS of the processes
    pids() returns, and keeps the peaks (and the process count at the RSS peak)."""

    def __init__(self, pids, interval_s=0.5):
        self.pids = pids
        self.interval_s = interval_s
        self.peak_rss = 0
        self.peak_pss = 0
        self.processes_at_peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self):
        pids = self.pids()
        rss = sum(rss_bytes(p) for p in pids)
        pss = sum(pss_bytes(p) for p in pids)
        if rss > self.peak_rss:
            self.peak_rss = rss
            self.processes_at_peak = len(pids)
        self.peak_pss = max(self.peak_pss, pss)
        self.samples += 1

    def _loop(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def monotonic():
    return time.monotonic()
