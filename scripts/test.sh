#!/usr/bin/env bash
# The test command (README, .ci/run): set up what the tests need, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
exec "${PYTHON:-python3}" -m pytest "$@"
