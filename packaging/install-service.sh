#!/bin/sh
# Run by `meson install` once the files are in place. Puts the default config in place unless
# one is there already (an operator's edited file is never overwritten). On a live install
# (no DESTDIR) as root it also creates the ringmta account and /var/spool/ringmta, as a
# distribution package's postinst would; into a DESTDIR (a package build) it leaves that to
# the package's own scripts. Usage: install-service.sh DEFAULT_JSON CONFIG_DIR PREFIX
set -eu
default_json=$1
config_dir=$2
prefix=$3
dest=${DESTDIR:-}

target="$dest$config_dir/ringmta.json"
if [ -e "$target" ]; then
  echo "ringmta: keeping the existing $config_dir/ringmta.json (the default is $default_json)"
else
  install -D -m 0644 "$dest$default_json" "$target"
fi

[ -z "$dest" ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ringmta: not root: run systemd-sysusers ringmta.conf and systemd-tmpfiles --create ringmta.conf"
  exit 0
fi
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers "$prefix/lib/sysusers.d/ringmta.conf"
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
  systemd-tmpfiles --create "$prefix/lib/tmpfiles.d/ringmta.conf"
fi
