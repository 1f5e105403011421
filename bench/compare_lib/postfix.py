# The Postfix side of the comparison: a private instance in its own temporary directory (config,
# queue, log) set up, started and removed through bench/postfix-relay.sh. The system Postfix is
# not touched, so no lock is taken: each run has its own config, queue, sockets and ports.
import os
import subprocess
import sys
import tempfile
import time

from compare_lib.procstat import children_of


def _say(text):
    print("compare: " + text, file=sys.stderr, flush=True)


def _relay_sh(repo, call, *args):
    """Runs one function of bench/postfix-relay.sh in bash; returns its stdout. stderr (the
    same-disk warning, postfix check's notes) passes through. The step runs in its own session
    and is waited for on Ctrl-C: a `postfix start` cut in half would leave a master that the
    cleanup cannot find (no pid file yet)."""
    script = '. "$0"/bench/postfix-relay.sh; "$@"'
    proc = subprocess.Popen(["bash", "-c", script, repo, call] + [str(a) for a in args],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate()
    except BaseException:
        proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError("postfix-relay.sh %s failed (exit %d)" % (call, proc.returncode))
    return out


class PostfixRelay:
    """Context manager: a Postfix instance under parent (the queue on the same filesystem as
    same_disk_as, warned about otherwise), relaying from 127.0.0.1:in_port to relayhost
    [127.0.0.1]:sink_port; stopped and removed at exit, also after an exception or Ctrl-C."""

    def __init__(self, repo, parent, in_port, sink_port, same_disk_as):
        self.repo, self.parent = repo, parent
        self.in_port, self.sink_port, self.same_disk_as = in_port, sink_port, same_disk_as
        self.dir = None
        self.version = ""

    @property
    def log_path(self):
        return os.path.join(self.dir, "maillog")

    def __enter__(self):
        # made here, not in the shell, so that __exit__ knows what to remove however early
        # an interrupt comes
        self.dir = tempfile.mkdtemp(prefix="ringmta-postfix.", dir=self.parent)
        try:
            _relay_sh(self.repo, "postfix_setup", self.dir, self.in_port, self.sink_port)
            _relay_sh(self.repo, "postfix_same_disk", self.dir, self.same_disk_as)
            _relay_sh(self.repo, "postfix_start", self.dir)
            self.version = subprocess.run(
                ["postconf", "-c", os.path.join(self.dir, "etc"), "-h", "mail_version"],
                capture_output=True, text=True).stdout.strip()
            _say("Postfix %s instance in %s" % (self.version, self.dir))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        if self.dir is not None:
            _relay_sh(self.repo, "postfix_remove", self.dir)
            self.dir = None

    def master_pid(self):
        # read here rather than through the shell: the memory sampler asks every 0.5 s
        try:
            with open(os.path.join(self.dir, "spool/pid/master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError, TypeError):
            return 0

    def pids(self):
        """The master and its children (every Postfix daemon)."""
        m = self.master_pid()
        return [m] + children_of(m) if m else []

    def queue_count(self):
        return int(_relay_sh(self.repo, "postfix_queue_count", self.dir).strip() or 0)

    def wait_empty(self, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while self.queue_count() > 0:
            if time.monotonic() > deadline:
                _relay_sh(self.repo, "postfix_flush_queue", self.dir)
                return False
            time.sleep(0.2)
        return True
