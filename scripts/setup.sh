#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Gets a fresh Debian 12 machine ready: installs the packages the build, the
# tests and the demo need (as root), then configures and builds into build/.
# Safe to run again: packages already present are not fetched twice.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  gcc make autoconf automake libtool pkg-config perl
  collectd-core collectd-dev
  # the first-hour test runs the system collectd from /etc/collectd as the
  # README says (collectd brings /etc/collectd/collectd.conf), and curl
  collectd curl
  libcurl4-openssl-dev libjson-c-dev libyajl-dev libssl-dev libwslay-dev
  libmicrohttpd-dev libgnutls28-dev
  valgrind gdb python3 openssl ca-certificates procps man-db groff-base binutils
  debhelper dpkg-dev fakeroot lintian rpm
  # real backends for the end-to-end tests and the demo (each test starts
  # its own instances on loopback ports; the system services stay off)
  prometheus graphite-carbon python3-whisper influxdb influxdb-client libprotobuf-c1
  faketime
  # tests/e2e/test_standby.py and bench/bench_standby.py: a real etcd
  etcd-server
  # bench/bench_daemon.py's Python peers (its Node peers: npm ci --prefix bench/peers)
  python3-websockets python3-prometheus-client
)
# Server packages whose system service must not keep running after install.
SERVICES=(prometheus:prometheus graphite-carbon:carbon-cache influxdb:influxdb
  collectd:collectd etcd-server:etcd)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these packages are missing and installing needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # Package scripts must not start a system collectd here (the tests and the
  # demo run their own); a policy-rc.d the machine already has is left alone.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  # policy-rc.d kept them from starting; on a systemd machine they were still
  # enabled for the next boot: the packages installed now are disabled and
  # stopped (an existing installation is left as it was).
  for entry in "${SERVICES[@]}"; do
    pkg=${entry%%:*} unit=${entry#*:}
    [[ " ${missing[*]} " == *" $pkg "* ]] || continue
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$unit" ]; then
      "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
    fi
  done
fi

autoreconf -fi >/dev/null
mkdir -p build
cd build
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
  ../configure --enable-werror --quiet
fi
make -j"$(nproc)" --quiet >/dev/null
echo "setup: built $(ls .libs/genesys_*.so | wc -l) plugins in build/.libs"
