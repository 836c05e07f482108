#!/usr/bin/env bash
# Installs and starts what the test suite needs. Idempotent: safe to run on every test run.
# Called by scripts/test.sh; nothing here needs to be done by hand on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# Python packages (pinned in requirements*.txt); pip does nothing when they are present.
"$PYTHON" -m pip install --quiet --disable-pip-version-check \
    -r requirements.txt -r requirements-dev.txt 2>&1 | grep -v -e "^WARNING: Location" \
    -e "Running pip as the 'root' user" -e "^$" || true
"$PYTHON" -c "import flask, sqlalchemy, psycopg, pytest" # fail loudly if the install did not work

# Debian packages of the real servers the tests run against: influxd 1.6 for the store,
# snmpd and the net-snmp tools for the SNMP collector, prometheus-snmp-exporter for its benchmark,
# prometheus-node-exporter for the Prometheus collector.
# libvirt-dev and pkg-config let pip build libvirt-python (requirements-optional.txt).
# golang-go and govmomi's sources build the vCenter simulator (tests/apis/vcsim) offline.
# chromium and fonts-noto-cjk: the Playwright tests sign in as each role in a real browser.
APT_PACKAGES=(influxdb snmpd snmp prometheus-snmp-exporter prometheus-node-exporter libvirt-dev
              pkg-config golang-go golang-github-vmware-govmomi-dev chromium fonts-noto-cjk)
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

# Collectors whose Python bindings compile against a C library installed above.
"$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements-optional.txt \
    2>&1 | grep -v -e "^WARNING: Location" -e "Running pip as the 'root' user" -e "^$" || true
"$PYTHON" -c "import libvirt"  # fail loudly if the build did not work

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
