"""``python -m monitor user ...``: the first administrators, grants, tokens, lockouts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyotp

from ledger.census.anchor import AuditChain
from ledger.census.audit import list_records, verify
from ledger.db import Ledger

REPO = Path(__file__).resolve().parents[2]


def user(data_dir, *args, password=None):
    return subprocess.run([sys.executable, "-m", "monitor", "user", *args, "--data-dir",
                           str(data_dir)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, input=None if password is None else password + "\n")


def test_first_administrators_and_tokens(tmp_path):
    data = tmp_path / "data"
    created = user(data, "create", "sysadmin", "--role", "system_admin", "--password-stdin",
                   password="First-Admin-2026!")
    assert created.returncode == 0, created.stderr
    uri = next(line for line in created.stdout.splitlines() if line.startswith("uri: "))
    assert pyotp.parse_uri(uri[5:]).name == "sysadmin"
    two = user(data, "create", "both", "--role", "system_admin", "--role", "audit_admin",
               "--password-stdin", password="Other-Admin-2026!")
    assert two.returncode == 1 and "三员分立" in two.stderr
    weak = user(data, "create", "weak", "--role", "operator", "--password-stdin",
                password="password")
    assert weak.returncode == 1 and "至少 12 个字符" in weak.stderr
    assert user(data, "create", "ops", "--role", "operator", "--password-stdin",
                password="Operator-2026-ok").returncode == 0
    token = user(data, "token", "create", "ops", "--role", "operator", "--days", "7")
    assert token.returncode == 0 and token.stdout.startswith("ilt_")
    refused = user(data, "token", "create", "sysadmin", "--role", "system_admin")
    assert refused.returncode == 1
    listing = user(data, "list").stdout
    assert "sysadmin\tlocal\tsystem_admin\t-\ttotp=yes" in listing and "ops\tlocal\toperator" in \
        listing
    tokens = user(data, "token", "list").stdout
    assert "\tops\toperator" in tokens
    # The expiry in the configured zone with its offset, to the second, not a bare UTC date.
    assert re.search(r"\texpires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00$", tokens.strip())
    assert user(data, "token", "revoke", "1").returncode == 0
    assert user(data, "unlock", "ops").returncode == 0
    assert user(data, "disable", "ops").returncode == 0
    ledger = Ledger(f"sqlite:///{data / 'ledger.sqlite'}")
    with ledger.engine.connect() as conn:
        chain = AuditChain("sha256", f"file:{data / 'audit.key'}",
                           data / "audit-checkpoints.jsonl")
        assert verify(conn, chain=chain).problems == []
        actions = [r["action"] for r in reversed(list_records(conn))]
    ledger.close()
    assert actions == ["create", "grant", "totp_enroll", "create", "grant", "token_create",
                       "token_revoke", "unlock", "disable"]
    assert (data / "secret.key").stat().st_mode & 0o777 == 0o600


def test_the_cli_reads_infra_ledger_config_like_the_web(tmp_path):
    """Without ``--config`` every command takes ``INFRA_LEDGER_CONFIG``: the user lands in
    the ledger that file names, not in the default one."""
    import os

    ledger_file = tmp_path / "named" / "ledger.db"
    ledger_file.parent.mkdir()
    config = tmp_path / "site.yaml"
    config.write_text(f'ledger: {{url: "sqlite:///{ledger_file}"}}\n', encoding="utf-8")
    default = tmp_path / "default"
    env = {**os.environ, "INFRA_LEDGER_CONFIG": str(config),
           "INFRA_LEDGER_DATA_DIR": str(default)}
    checked = subprocess.run([sys.executable, "-m", "monitor", "check-config"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr
    assert f"OK: {config}" in checked.stdout and f"data_dir: {default}" in checked.stdout
    created = subprocess.run([sys.executable, "-m", "monitor", "user", "create", "envadmin",
                              "--role", "system_admin", "--password-stdin"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120,
                             input="Env-Admin-2026-ok\n")
    assert created.returncode == 0, created.stderr
    assert ledger_file.exists() and not (default / "ledger.db").exists()


def test_a_zone_collector_shows_its_zone_and_a_zone_no_target_has_is_warned(tmp_path):
    data = tmp_path / "data"
    config = tmp_path / "c.yaml"
    config.write_text("targets: [{name: far, kind: host, zone: east}]\n", encoding="utf-8")
    made = user(data, "create", "zone-east", "--role", "zone_collector", "--zone", "east",
                "--config", str(config), "--password-stdin", password="Collector-E-2026-ok")
    assert made.returncode == 0, made.stderr
    assert "zone east" in made.stdout and "warning" not in made.stderr
    typo = user(data, "create", "zone-typo", "--role", "zone_collector", "--zone", "esat",
                "--config", str(config), "--password-stdin", password="Collector-T-2026-ok")
    assert typo.returncode == 0, typo.stderr
    assert "no configured target has zone 'esat' (zones: east)" in typo.stderr
    listing = user(data, "list", "--config", str(config)).stdout
    assert "\tzone=east" in listing and "\tzone=esat" in listing
