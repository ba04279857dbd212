#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one unit test program; under valgrind's memcheck when GEN_VALGRIND=1.
# libtool wraps uninstalled programs in scripts, so valgrind goes through
# "libtool --mode=execute" to reach the real binary.
if [ "${GEN_VALGRIND:-0}" = 1 ]; then
  if [ -z "$VALGRIND" ]; then
    echo "run-test: GEN_VALGRIND=1 but configure found no valgrind" >&2
    exit 99
  fi
  echo "# memcheck: $VALGRIND $*"
  exec ./libtool --mode=execute "$VALGRIND" --quiet --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --track-origins=yes "$@"
fi
exec "$@"
