#!/usr/bin/env bash
# Installs and starts the system packages and services the test suite needs (Debian packages,
# PostgreSQL). Idempotent: safe to run on every test run. Called by scripts/test.sh before it
# builds or reuses the Python environment (scripts/venv.sh); nothing here is done by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

# Python packages are not installed here: scripts/venv.sh builds the test environment from
# the pinned requirement files alone, after the C libraries below are in place.

# Debian packages of the real servers the tests run against: influxd 1.6 for the store,
# snmpd and the net-snmp tools for the SNMP collector, prometheus-snmp-exporter for its benchmark,
# prometheus-node-exporter for the Prometheus collector, prometheus-alertmanager for alert forwarding.
# libvirt-dev and pkg-config let pip build libvirt-python (requirements-optional.txt).
# golang-go and govmomi's sources build the vCenter simulator (tests/apis/vcsim) offline.
# chromium and fonts-noto-cjk: the Playwright tests sign in as each role in a real browser.
# fonts-wqy-zenhei: PDF reports embed its TrueType outlines (reportlab cannot embed Noto's CFF).
# victoria-metrics: the second time-series server the store contract runs against.
APT_PACKAGES=(influxdb victoria-metrics snmpd snmp prometheus-snmp-exporter prometheus-node-exporter
              libvirt-dev pkg-config golang-go golang-github-vmware-govmomi-dev chromium
              fonts-noto-cjk fonts-wqy-zenhei prometheus-alertmanager)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # The packages' own services are not started here; tests start their own on free ports.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test environment is a venv of the machine's python3: Debian's own python3 needs
# python3-venv for that (pyenv and python.org builds bring venv and ensurepip).
if ! "${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null; then
    echo "Installing Debian packages: python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null
fi

# The OpenID Connect provider the single sign-on tests start (oidc-provider, from npm).
[ -d tests/oidc/node_modules/oidc-provider ] || npm ci --prefix tests/oidc --no-audit --no-fund --silent

# PostgreSQL: the ledger tests run on it. It is normally running; start it if it is not.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && break
        sleep 1
    done
    pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable at 127.0.0.1:5432" >&2; exit 1; }
fi
