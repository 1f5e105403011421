#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's archive. Idempotent: packages that
# are already there are left alone, and apt-get update runs only when something is missing.
# Postfix is preseeded to "No configuration" so it installs without asking and starts nothing.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config cmake g++ liburing-dev libsimdjson-dev libmimalloc-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libc-ares-dev libidn2-dev
  # test peers and tools
  postfix swaks libnet-ssleay-perl libnet-dns-perl libio-socket-inet6-perl libauthen-sasl-perl
  dnsmasq-base bind9-dnsutils curl openssl python3 python3-pytest python3-aiosmtpd procps iproute2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string ringmta.test" | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
