#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite. Expects scripts/setup.sh to have run (scripts/test.sh
# does both). Each stage reports its tests; the last line is the total:
#   N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc)
total_pass=0
total_fail=0
stage_results=()

# What the stages leave behind is checked at the end (stage 7): the
# project's temporary directories in /tmp, by their prefixes.
tmp_entries() { ls -1 /tmp | grep -E '^(gen-|gensim-|collectd-genesys-demo)' | sort; }
tmp_before=$(tmp_entries)

stage_started=$SECONDS
record() { # stage passed failed
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  stage_results+=("$1: $2 passed, $3 failed")
  echo "== $1: $2 passed, $3 failed ($((SECONDS - stage_started)) s)"
  stage_started=$SECONDS
}

# Counts the collectd-style test cases ("Success." / "FAILURE.") in the logs
# of automake's test harness; a program that died without reporting (crash,
# sanitizer or valgrind error) counts as one more failure.
count_unit_logs() { # build dir, stage name
  local dir=$1 pass=0 fail=0 log trs
  for trs in "$dir"/test_*.trs; do
    [ -f "$trs" ] || continue
    log=${trs%.trs}.log
    local p f
    p=$(grep -c '^Success\.$' "$log" || true)
    f=$(grep -c '^FAILURE\.$' "$log" || true)
    if grep -q '^:test-result: FAIL' "$trs" && [ "$f" -eq 0 ]; then
      f=1
      echo "-- $(basename "$log"): the program failed outside a test case:"
      tail -n 30 "$log"
    elif [ "$f" -gt 0 ]; then
      grep -B 8 '^FAILURE\.$' "$log" | head -n 60
    elif [ "$p" -eq 0 ] && grep -q '^:test-result: PASS' "$trs"; then
      p=1 # a program without test cases (the fuzz corpus replay) passed
    fi
    pass=$((pass + p))
    fail=$((fail + f))
  done
  record "$2" "$pass" "$fail"
}

run_make_check() { # build dir, stage name, extra env
  local dir=$1 name=$2
  shift 2
  (cd "$dir" && env "$@" make -j"$JOBS" check >/dev/null 2>&1)
  count_unit_logs "$dir" "$name"
}

# 1. Unit tests, normal build (warnings are errors: configure --enable-werror).
if (cd build && make -j"$JOBS" >/dev/null && make -j"$JOBS" check TESTS= >/dev/null); then
  run_make_check build "unit"
else
  echo "unit: the build failed"; record "unit build" 0 1
fi

# 2. The same tests under AddressSanitizer and UBSan. A failed allocation
# answers NULL, as malloc does (the out-of-memory paths are tested by asking
# for more than any allocator gives), not a sanitizer abort.
mkdir -p build-asan
if (cd build-asan && { [ -f Makefile ] || ../configure --quiet --enable-sanitizers --enable-werror; } &&
    make -j"$JOBS" >/dev/null 2>&1); then
  run_make_check build-asan "unit (asan+ubsan)" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  echo "asan: the build failed"; record "asan build" 0 1
fi

# 2b. The same tests under ThreadSanitizer (a race reported fails the test:
# TSan's exit code; failed allocations answer NULL as above).
mkdir -p build-tsan
if (cd build-tsan && { [ -f Makefile ] || ../configure --quiet --enable-tsan --enable-werror; } &&
    make -j"$JOBS" >/dev/null 2>&1); then
  run_make_check build-tsan "unit (tsan)" TSAN_OPTIONS=halt_on_error=0:exitcode=66:allocator_may_return_null=1
else
  echo "tsan: the build failed"; record "tsan build" 0 1
fi

# 3. The same tests under valgrind's memcheck (normal build).
rm -f build/test_*.log build/test_*.trs
run_make_check build "unit (valgrind)" GEN_VALGRIND=1

# 4. The simulator's own tests.
if [ -x tests/sim/run_tests.sh ]; then
  out=$(bash tests/sim/run_tests.sh 2>&1)
  echo "$out" | tail -n 40
  line=$(echo "$out" | grep -E '^sim: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -n "$line" ]; then
    record "simulator" "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"
  else
    record "simulator (no summary)" 0 1
  fi
fi

# 5. End to end with the real collectd daemon. The files run in
# GEN_E2E_JOBS lanes (default 3): they mostly wait on the simulator's clock
# (a file uses 15 to 50 % of a core, measured: three lanes about one core),
# and each starts its own simulator, collectd and backends on ports of its
# own (test_packages serialises itself on dpkg with a lock). The longest
# go first; the results are recorded in file order.
e2e_out=$(mktemp -d)
trap 'rm -rf "$e2e_out"' EXIT
run_e2e() { # test file -> $e2e_out/<name>.out, its seconds in .s
  local name start=$SECONDS
  name=$(basename "$1" .py)
  GEN_BUILD_DIR="$ROOT/build" python3 "$1" >"$e2e_out/$name.out" 2>&1
  echo $((SECONDS - start)) >"$e2e_out/$name.s"
}
export -f run_e2e
export ROOT e2e_out
LONGEST="test_packages test_realtime_faults test_revisit_pipeline test_standby
  test_realtime_gaps test_analytics test_operational_events test_platform test_analytics_mos
  test_realtime_campaigns test_notifications test_revisit_schedule test_flowmetrics
  test_analytics_catalogue test_backends"
{
  for n in $LONGEST; do [ -f "tests/e2e/$n.py" ] && echo "tests/e2e/$n.py"; done
  for t in tests/e2e/test_*.py; do
    [[ " $(echo $LONGEST) " == *" $(basename "$t" .py) "* ]] || echo "$t"
  done
} | xargs -P "${GEN_E2E_JOBS:-3}" -I{} bash -c 'run_e2e "$@"' _ {}
for t in tests/e2e/test_*.py; do
  name=$(basename "$t" .py)
  out=$(cat "$e2e_out/$name.out" 2>/dev/null)
  line=$(echo "$out" | grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  echo "$out" | grep -E '(FAIL|ERROR|Traceback|AssertionError)' -A 15 | head -n 80
  stage_started=$((SECONDS - $(cat "$e2e_out/$name.s" 2>/dev/null || echo 0)))
  if [ -n "$line" ]; then
    record "e2e $name" "$(echo "$line" | awk '{print $2}')" "$(echo "$line" | awk '{print $4}')"
  else
    echo "$out" | tail -n 40
    record "e2e $name (no summary)" 0 1
  fi
done
stage_started=$SECONDS

# 6. make distcheck: the tarball builds and passes its tests out of tree.
if [ "${GEN_SKIP_DISTCHECK:-0}" != 1 ]; then
  if (cd build && make -j"$JOBS" distcheck >distcheck.out 2>&1); then
    record "distcheck" 1 0
  else
    tail -n 40 build/distcheck.out
    record "distcheck" 0 1
  fi
fi

# 7. Nothing left behind: every test removes the temporary directories it
# made and stops the simulators, daemons and servers it started (theirs run
# from /tmp/gen-* directories). A process on its way out gets 10 s.
left=$(comm -13 <(echo "$tmp_before") <(tmp_entries))
for _ in $(seq 10); do
  procs=$(pgrep -af 'gensim\.py|/tmp/gen-' || true)
  [ -z "$procs" ] && break
  sleep 1
done
if [ -z "$left$procs" ]; then
  record "nothing left behind" 1 0
else
  [ -n "$left" ] && echo "left in /tmp:" && echo "$left" | sed 's/^/  /'
  [ -n "$procs" ] && echo "still running:" && echo "$procs" | sed 's/^/  /'
  record "nothing left behind" 0 1
fi

echo
for r in "${stage_results[@]}"; do echo "  $r"; done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
