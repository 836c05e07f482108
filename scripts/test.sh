#!/usr/bin/env bash
# The test command (README, .ci/run): set up what the tests need, then run the whole suite in
# the virtual environment of the pinned requirements (scripts/venv.sh), never in whatever the
# machine's Python has installed. Re-runs reuse that environment; arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-env.sh
venv=$(bash scripts/venv.sh)
# Tests start tools the environment installs (snmpsim-command-responder) by name.
export VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH
# One worker per core (pytest-xdist); INFRA_LEDGER_TEST_WORKERS=0 runs in this process.
exec "$venv/bin/python" -m pytest -n "${INFRA_LEDGER_TEST_WORKERS:-auto}" "$@"
