#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the simulator's own tests.  Last line: "sim: N passed, N failed".
# Usage: tests/sim/run_tests.sh [unittest test names, e.g. T05Notifications]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-python3}
exec "$PY" -W ignore::ResourceWarning - "$HERE" "$@" <<'PYEOF'
import os, sys, unittest
here = sys.argv[1]
sys.path.insert(0, here)
os.chdir(here)
import test_sim
loader = unittest.TestLoader()
if len(sys.argv) > 2:
    suite = loader.loadTestsFromNames(sys.argv[2:], test_sim)
else:
    suite = loader.loadTestsFromModule(test_sim)
res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
passed = res.testsRun - failed - len(res.skipped)
sys.stdout.flush()
print("sim: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or res.testsRun == 0 else 0)
PYEOF
