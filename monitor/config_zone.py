"""The ``zone:`` section of the configuration: where a zone's schedulers deliver and how
they share their targets.

Every scheduler reads the same target list; a target's ``zone`` (default ``central``)
says which zone polls it, and ``python -m monitor scheduler --zone Z`` runs the
schedulers of zone Z. Keys (all optional, documented in ``config/example.yaml``)::

    zone:
      center_url: https://ledger.example.gov.cn   # the central web tier (ingest API)
      token_env: INFRA_LEDGER_ZONE_TOKEN          # variable holding the zone's API token
      ca_file: /etc/infra-ledger/center-ca.pem    # trust this CA for center_url (HTTPS)
      coordination_url: postgresql+psycopg://coord@10.8.0.5/coord  # the zone's own PostgreSQL
      lease: 15s                                  # membership lease; targets move within it
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from pathlib import Path

DEFAULT_ZONE = "central"
ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_LEASE_SECONDS = 15.0


@dataclasses.dataclass(frozen=True)
class ZoneSettings:
    """Validated ``zone:`` settings."""

    center_url: str | None = None
    token_env: str = "INFRA_LEDGER_ZONE_TOKEN"
    ca_file: Path | None = None
    coordination_url: str | None = None
    lease_seconds: float = DEFAULT_LEASE_SECONDS


def parse_zone(reader, base: Path | None, config_error) -> ZoneSettings:
    """Validate ``zone:`` (``reader`` is monitor.config's reader of that mapping)."""
    reader.check_known({"center_url", "token_env", "ca_file", "coordination_url", "lease"})
    center = reader.get("center_url", str)
    if center is not None:
        parts = urllib.parse.urlsplit(center)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise config_error(reader.file, reader.key("center_url"),
                               f"expected http(s)://host[:port], got {center!r}")
    coordination = reader.get("coordination_url", str)
    if coordination is not None and not coordination.startswith("postgresql"):
        raise config_error(reader.file, reader.key("coordination_url"),
                           "leases need PostgreSQL: expected postgresql+psycopg://..., "
                           f"got {coordination!r}")
    lease = reader.duration("lease", DEFAULT_LEASE_SECONDS)
    if not 3 <= lease <= 600:
        raise config_error(reader.file, reader.key("lease"), f"must be 3s-10m, got {lease:g}s")
    ca_file = reader.get("ca_file", str)
    if ca_file:
        ca_path = Path(ca_file).expanduser()
        ca_file = ca_path if ca_path.is_absolute() else (base or Path.cwd()) / ca_path
    return ZoneSettings(center_url=center.rstrip("/") if center else None,
                        token_env=reader.get("token_env", str, "INFRA_LEDGER_ZONE_TOKEN"),
                        ca_file=ca_file or None, coordination_url=coordination,
                        lease_seconds=lease)


def check_zone_name(reader, name: str, config_error) -> str:
    """A zone name: letters, digits, ``_``, ``.``, ``-``; 1-64 characters."""
    if not isinstance(name, str) or not ZONE_NAME.match(name):
        raise config_error(reader.file, reader.key("zone"),
                           "分区名须为 1-64 个字母、数字、_、. 或 - (a zone name is 1-64 letters, "
                           f"digits, _, . or -), got {name!r}")
    return name
