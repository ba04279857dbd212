#!/usr/bin/env bash
# Gets a fresh Debian 12 machine ready: installs the packages the build, the
# tests and the demo need (as root), then configures and builds into build/.
# Safe to run again: packages already present are not fetched twice.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  gcc make autoconf automake libtool pkg-config perl
  collectd-core collectd-dev
  libcurl4-openssl-dev libjson-c-dev libyajl-dev libssl-dev libwslay-dev
  libmicrohttpd-dev
  valgrind python3 openssl ca-certificates procps man-db groff-base binutils
  faketime
)

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
fi

autoreconf -fi >/dev/null
mkdir -p build
cd build
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
  ../configure --enable-werror --quiet
fi
make -j"$(nproc)" --quiet >/dev/null
echo "setup: built $(ls .libs/genesys_*.so | wc -l) plugins in build/.libs"
