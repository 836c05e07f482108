"""The ``security:`` section: defaults, overrides, and errors naming file and key."""

from __future__ import annotations

import pytest

from monitor.config import ConfigError, parse_settings


def settings(security, **flags):
    return parse_settings({"security": security}, "site.yaml", data_dir="/tmp/il", **flags)


def test_defaults_follow_the_third_grade():
    policy = settings({}).security.policy
    assert (policy.password_min_length, policy.lockout_attempts, policy.session_idle) == \
        (12, 5, 1800.0)
    assert settings({}).security.allowed_hosts == ("localhost", "127.0.0.1", "::1")
    assert "ledger.example" in settings({}, host="ledger.example").security.allowed_hosts


def test_overrides():
    sec = settings({"password": {"max_age": "60d"}, "session": {"idle": "10m"},
                    "lockout": {"attempts": 3, "period": "1h"}, "metrics": "token",
                    "allowed_hosts": ["Ledger.Gov.Example"], "max_body": "2MiB"}).security
    assert (sec.policy.password_max_age, sec.policy.session_idle, sec.policy.lockout_attempts,
            sec.policy.lockout_period) == (60 * 86400, 600, 3, 3600)
    assert (sec.metrics, sec.allowed_hosts, sec.max_body) == (
        "token", ("ledger.gov.example",), 2 * 2**20)


@pytest.mark.parametrize("security, key", [
    ({"metrics": "everyone"}, "security.metrics"),
    ({"password": {"min_length": 4}}, "security.password.min_length"),
    ({"totp_roles": ["operator"]}, "security.totp_roles"),
    ({"oidc": {"issuer": "https://idp"}}, "security.oidc.client_id"),
    ({"oidc": {"issuer": "https://idp", "client_id": "x", "role_map": {"a": "root"}}},
     "security.oidc.role_map"),
    ({"colour": 1}, "security.colour"),
])
def test_errors_name_the_key(security, key):
    with pytest.raises(ConfigError) as error:
        settings(security)
    assert error.value.key == key and error.value.file == "site.yaml"
