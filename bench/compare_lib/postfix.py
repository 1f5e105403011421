# The Postfix side of the comparison: takes /tmp/ringmta-postfix.lock (the system Postfix is
# shared), waits while a Postfix configured by someone else runs, then configures and starts it
# through bench/postfix-relay.sh. A foreign main.cf/master.cf is set aside and put back at exit.
import fcntl
import os
import shutil
import subprocess
import sys
import time

from compare_lib.procstat import children_of

LOCK_PATH = "/tmp/ringmta-postfix.lock"
MARK = "# managed by ringmta bench (postfix-relay.sh)"
QUEUE_DIR = "/var/spool/postfix"
LOG_PATH = "/var/log/postfix-bench.log"
SAVED_SUFFIX = ".ringmta-compare-saved"
CONF_FILES = ("/etc/postfix/main.cf", "/etc/postfix/master.cf")


def _say(text):
    print("compare: " + text, file=sys.stderr, flush=True)


def _relay_sh(repo, call):
    """Runs one function of bench/postfix-relay.sh in bash; returns its stdout."""
    script = ". %s/bench/postfix-relay.sh; %s" % (repo, call)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("postfix-relay.sh %s failed: %s" % (call, out.stderr.strip()))
    return out.stdout


def running():
    return subprocess.run(["postfix", "status"], capture_output=True).returncode == 0


def ours():
    try:
        with open(CONF_FILES[0]) as f:
            return MARK in f.read()
    except OSError:
        return False


def master_pid():
    try:
        with open(os.path.join(QUEUE_DIR, "pid/master.pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def queue_count(repo):
    return int(_relay_sh(repo, "postfix_queue_count").strip() or 0)


class PostfixRelay:
    """Context manager: lock, wait for a foreign Postfix to stop, set up and start Postfix as
    a relay from 127.0.0.1:in_port to relayhost [127.0.0.1]:sink_port; stop and restore."""

    def __init__(self, repo, in_port, sink_port, wait_s=600, poll_s=10):
        self.repo, self.in_port, self.sink_port = repo, in_port, sink_port
        self.wait_s, self.poll_s = wait_s, poll_s
        self._lock = None
        self._saved = []
        self.version = ""

    def __enter__(self):
        self._lock = open(LOCK_PATH, "a")
        _say("waiting for %s" % LOCK_PATH)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._wait_for_foreign()
            if not ours():
                self._set_aside()
            _relay_sh(self.repo, "postfix_setup %d %d" % (self.in_port, self.sink_port))
            _relay_sh(self.repo, "postfix_start")
            self.version = subprocess.run(["postconf", "-h", "mail_version"],
                                          capture_output=True, text=True).stdout.strip()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_for_foreign(self):
        deadline = time.monotonic() + self.wait_s
        while running() and not ours():
            if time.monotonic() > deadline:
                raise RuntimeError("a Postfix not configured by bench/postfix-relay.sh is still "
                                   "running after %d s; not touching it" % self.wait_s)
            _say("a Postfix configured by someone else is running; waiting")
            time.sleep(self.poll_s)

    def _set_aside(self):
        for path in CONF_FILES:
            if os.path.exists(path):
                shutil.copy2(path, path + SAVED_SUFFIX)
                self._saved.append(path)
        os.remove(CONF_FILES[0])
        _say("set aside a main.cf not written by postfix-relay.sh (restored at exit)")

    def __exit__(self, *exc):
        try:
            if ours():
                _relay_sh(self.repo, "postfix_stop")
            for path in self._saved:
                os.replace(path + SAVED_SUFFIX, path)
        finally:
            if self._lock is not None:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self._lock.close()
                self._lock = None

    def pids(self):
        """The master and its children (every Postfix daemon)."""
        m = master_pid()
        return [m] + children_of(m) if m else []

    def wait_empty(self, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while queue_count(self.repo) > 0:
            if time.monotonic() > deadline:
                _relay_sh(self.repo, "postfix_flush_queue")
                return False
            time.sleep(0.2)
        return True
