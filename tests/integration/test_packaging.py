# Packaging: `meson install` into a DESTDIR puts the binaries, the default config, the systemd
# unit and the sysusers/tmpfiles snippets where systemd looks; the unit's paths follow the
# install prefix and pass `systemd-analyze verify`; the snippets create the ringmta account and
# a private spool; the installed default config passes check-config. The build directory is the
# one holding $RINGMTA_BIN (it must be fully built: the install does not rebuild).
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from conftest import require_tool, ringmta_bin

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIT = "lib/systemd/system/ringmta.service"
SYSUSERS = "lib/sysusers.d/ringmta.conf"
TMPFILES = "lib/tmpfiles.d/ringmta.conf"


class Installed:
    def __init__(self, destdir, prefix, bindir, sysconfdir):
        self.destdir = destdir
        self.prefix = prefix
        self.bindir = os.path.join(prefix, bindir)           # as seen on the target system
        self.config_dir = os.path.join(prefix, sysconfdir, "ringmta")

    def path(self, target_path):
        """Where a target-system path lies inside the DESTDIR."""
        return os.path.join(self.destdir, target_path.lstrip("/"))

    def under_prefix(self, relative):
        return self.path(os.path.join(self.prefix, relative))


@pytest.fixture(scope="module")
def installed():
    build_dir = os.path.dirname(os.path.dirname(ringmta_bin()))
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        pytest.skip("%s is not a meson build directory" % build_dir)
    options = json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", build_dir],
        check=True, capture_output=True, text=True).stdout)
    value = {o["name"]: o["value"] for o in options}
    destdir = tempfile.mkdtemp(prefix="ringmta-destdir-")
    try:
        r = subprocess.run(["meson", "install", "-C", build_dir, "--no-rebuild",
                            "--destdir", destdir],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "meson install failed:\n%s%s" % (r.stdout, r.stderr)
        yield Installed(destdir, value["prefix"], value["bindir"], value["sysconfdir"])
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


def read_unit(path):
    """The unit as {section: {key: [values in order]}} (systemd keys may repeat)."""
    sections = {}
    current = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), {})
                continue
            key, _, val = line.partition("=")
            current.setdefault(key, []).append(val)
    return sections


def test_install_puts_every_file_in_place(installed):
    for name in ("ringmta", "ringmta-bench"):
        binary = installed.path(os.path.join(installed.bindir, name))
        assert os.access(binary, os.X_OK), "%s not installed at %s" % (name, binary)
    config = installed.path(os.path.join(installed.config_dir, "ringmta.json"))
    with open(config) as got, open(os.path.join(REPO, "packaging/ringmta.json")) as want:
        assert json.load(got) == json.load(want), "installed config differs from packaging/"
    for rel in (UNIT, SYSUSERS, TMPFILES):
        assert os.path.isfile(installed.under_prefix(rel)), "missing <prefix>/" + rel


def test_unit_paths_follow_the_prefix(installed):
    unit_path = installed.under_prefix(UNIT)
    with open(unit_path) as f:
        text = f.read()
    assert not re.search(r"@[A-Z_]+@", text), "unsubstituted placeholder in the unit"
    unit = read_unit(unit_path)["Service"]
    binary = os.path.join(installed.bindir, "ringmta")
    config = os.path.join(installed.config_dir, "ringmta.json")
    want_start = "%s serve -c %s" % (binary, config)
    assert unit["ExecStart"] == [want_start], "got %r, want %r" % (unit["ExecStart"], want_start)
    assert unit["ExecReload"] == ["%s check-config -c %s" % (binary, config),
                                  "/bin/kill -HUP $MAINPID"], unit["ExecReload"]


def test_unit_runs_unprivileged_and_hardened(installed):
    unit = read_unit(installed.under_prefix(UNIT))["Service"]
    want = {
        "Type": "notify", "User": "ringmta", "Group": "ringmta", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "CapabilityBoundingSet": "CAP_NET_BIND_SERVICE",
        "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "LimitNOFILE": "65536",
        "RuntimeDirectory": "ringmta", "ReadWritePaths": "/var/spool/ringmta /run/ringmta",
    }
    for key, value in want.items():
        assert unit.get(key) == [value], "%s: got %r, want %r" % (key, unit.get(key), value)
    allowed = " ".join(unit["SystemCallFilter"]).split()
    for call in ("@system-service", "io_uring_setup", "io_uring_enter", "io_uring_register"):
        assert call in allowed, "SystemCallFilter lacks %s: %r" % (call, allowed)
    # systemd must not kill the gateway while it lets transactions finish.
    with open(installed.path(os.path.join(installed.config_dir, "ringmta.json"))) as f:
        grace_s = json.load(f).get("server", {}).get("shutdown_grace_s", 30)
    stop_s = int(unit["TimeoutStopSec"][0])
    assert stop_s > grace_s, "TimeoutStopSec %d s is not above shutdown_grace_s %d s" % (
        stop_s, grace_s)


def test_unit_passes_systemd_analyze(installed, tmp_path):
    analyze = require_tool("systemd-analyze", "systemd")
    # verify checks that ExecStart's binary exists: point it into the DESTDIR.
    with open(installed.under_prefix(UNIT)) as f:
        text = f.read().replace(installed.bindir + "/", installed.path(installed.bindir) + "/")
    unit = tmp_path / "ringmta.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    # verify exits 0 on warnings ("Unknown key", "Failed to parse"): every line naming the
    # unit is a finding. Lines about the host's own units are not ours.
    findings = [l for l in (r.stdout + r.stderr).splitlines() if "ringmta.service" in l]
    assert r.returncode == 0 and not findings, "systemd-analyze verify:\n" + "\n".join(findings)

    r = subprocess.run([analyze, "security", "--offline=true", str(unit)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for ringmta\.service: ([0-9.]+)", r.stdout)
    if not m:
        pytest.skip("systemd-analyze security --offline unsupported here: " + r.stderr[-200:])
    assert float(m.group(1)) <= 2.5, "exposure %s, want <= 2.5:\n%s" % (m.group(1), r.stdout)


def test_sysusers_and_tmpfiles_create_account_and_spool(installed):
    sysusers = require_tool("systemd-sysusers", "systemd")
    tmpfiles = require_tool("systemd-tmpfiles", "systemd")
    root = installed.destdir
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    # With --root, a bare name is looked up in the root's sysusers.d/tmpfiles.d search path,
    # which includes /usr/local/lib/... and /usr/lib/...: this also checks the install location.
    r = subprocess.run([sysusers, "--root=" + root, "ringmta.conf"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(root, "etc/passwd")) as f:
        entry = [l.split(":") for l in f if l.startswith("ringmta:")]
    assert entry, "sysusers did not create the ringmta account"
    uid, gid, home, shell = int(entry[0][2]), int(entry[0][3]), entry[0][5], entry[0][6].strip()
    assert home == "/var/spool/ringmta" and shell.endswith("nologin"), entry[0]
    r = subprocess.run([tmpfiles, "--root=" + root, "--create", "ringmta.conf"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    st = os.stat(os.path.join(root, "var/spool/ringmta"))
    assert stat.S_IMODE(st.st_mode) == 0o700, "spool mode got %o, want 700" % st.st_mode
    assert (st.st_uid, st.st_gid) == (uid, gid), "spool owner got %d:%d, want %d:%d" % (
        st.st_uid, st.st_gid, uid, gid)


def test_installed_default_config_passes_check_config(installed):
    binary = installed.path(os.path.join(installed.bindir, "ringmta"))
    config = installed.path(os.path.join(installed.config_dir, "ringmta.json"))
    r = subprocess.run([binary, "check-config", "-c", config], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, "check-config: exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    assert "ok (1 connectors" in r.stdout, r.stdout


def test_default_config_is_what_the_unit_expects(installed):
    with open(installed.path(os.path.join(installed.config_dir, "ringmta.json"))) as f:
        config = json.load(f)
    assert config["server"]["spool_dir"] == "/var/spool/ringmta"        # tmpfiles, ReadWritePaths
    assert config["server"]["control_socket"].startswith("/run/ringmta/")  # RuntimeDirectory
    assert config["metrics"]["address"].startswith("127.0.0.1:")        # loopback only
    with open(installed.under_prefix(TMPFILES)) as f:
        assert re.search(r"(?m)^d /var/spool/ringmta 0700 ringmta ringmta", f.read())


def test_reinstall_keeps_an_edited_config(installed):
    """A second `meson install` over an edited config leaves the operator's file alone; the
    default stays available beside the other data files."""
    build_dir = os.path.dirname(os.path.dirname(ringmta_bin()))
    config = installed.path(os.path.join(installed.config_dir, "ringmta.json"))
    edited = '{"server": {"hostname": "edited.example"}}\n'
    with open(config, "w") as f:
        f.write(edited)
    r = subprocess.run(["meson", "install", "-C", build_dir, "--no-rebuild", "--destdir",
                        installed.destdir], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(config) as f:
        assert f.read() == edited
    assert os.path.isfile(installed.under_prefix("share/ringmta/ringmta.json"))
