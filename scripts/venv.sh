#!/usr/bin/env bash
# Prints the path of a virtual environment holding exactly the pinned requirements
# (requirements*.txt under constraints.txt) and nothing the machine's Python happens to have.
# It is built once per content of those files and Python version, under
# ${INFRA_LEDGER_CACHE:-~/.cache/infra-ledger}/venv/<hash>, and reused by every later run and
# by every work tree of this machine; a build holds a lock, so concurrent runs wait for it.
# Needs the C libraries of scripts/setup-test-env.sh (libvirt-python compiles against them).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
FILES=(requirements.txt requirements-dev.txt requirements-optional.txt constraints.txt)
key=$({ "$PYTHON" -c 'import sys; print(sys.version)'; cat "${FILES[@]}"; } | sha256sum | cut -c1-16)
cache=${INFRA_LEDGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infra-ledger}/venv
venv=$cache/$key
if [ ! -f "$venv/.complete" ]; then
    mkdir -p "$cache"
    exec 9>"$cache/$key.lock"
    flock 9
    if [ ! -f "$venv/.complete" ]; then
        echo "Building the test environment $venv" >&2
        rm -rf "$venv"  # a build that was interrupted
        "$PYTHON" -m venv "$venv"
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
                -r requirements.txt -r requirements-dev.txt -r requirements-optional.txt \
                -c constraints.txt >"$venv/pip.log" 2>&1; then
            cat "$venv/pip.log" >&2
            exit 1
        fi
        # Exactly the pinned set: a package constraints.txt does not name fails here.
        if ! diff <(grep -v '^#' constraints.txt | sort -f) \
                  <("$venv/bin/python" -m pip freeze | sort -f) >&2; then
            echo "The test environment differs from constraints.txt (see above)" >&2
            exit 1
        fi
        "$venv/bin/python" -m pip check >&2
        touch "$venv/.complete"
    fi
fi
echo "$venv"
