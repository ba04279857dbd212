#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One command: get a fresh Debian 12 machine ready and run the whole test
# suite. The last line is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bash tests/run-all.sh
