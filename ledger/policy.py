"""What the analyses are told: identity keys, idle thresholds, rightsizing, KPI targets.

The configuration (``analysis:`` in the YAML, parsed by ``monitor.config``) becomes one
:class:`AnalysisPolicy`; the defaults here are what a fresh install uses. Idle policies
come as presets a user can name (``aws``, ``azure``, ``government``) or spell out.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

DAY = 86400.0

#: Identity keys reconciliation may use, strongest first (DESIGN.md, README).
IDENTITY_KEYS = ("serial_number", "instance_uuid", "machine_uuid", "mac", "mgmt_ip",
                 "hostname")
#: Default keys per asset class; hostname alone is too weak to be on by default.
DEFAULT_KEYS = {
    "device": ("serial_number", "machine_uuid", "mac", "mgmt_ip"),
    "cloud_resource": ("instance_uuid", "machine_uuid", "mac", "mgmt_ip"),
}


@dataclasses.dataclass(frozen=True)
class ReconcilePolicy:
    """How observed assets are matched with declared ones.

    ``keys`` per asset class (``device``, ``cloud_resource``), strongest first.
    A declared asset not seen for ``missing_after`` seconds is missing; one whose sources
    reported ``suspect_after_polls`` times without it is suspect. ``placeholders`` adds
    values (serials, MACs, UUIDs) that are never keys, beyond the built-in rule.
    ``tolerance_percent`` is how far memory and disk sizes may differ before they count
    as a mismatch (an OS reports less memory than the DIMMs hold).
    """

    keys: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_KEYS))
    missing_after: float = 7 * DAY
    suspect_after_polls: int = 3
    placeholders: frozenset[str] = frozenset()
    tolerance_percent: float = 5.0


@dataclasses.dataclass(frozen=True)
class IdlePolicy:
    """When a resource is idle: on at least ``days_required`` of the last ``window_days``
    days (days with low coverage never count), every given threshold holds.

    Thresholds left as None are not checked. ``min_days`` days with enough data must
    exist before a resource is judged at all. ``net_bytes_max`` is per day, in and out
    together; the other network limit is the day's p95 in bit/s.
    """

    name: str
    window_days: int
    days_required: int
    min_days: int
    cpu_mean_max: float | None = None
    cpu_p95_max: float | None = None
    cpu_max_max: float | None = None
    memory_p95_max: float | None = None
    net_bytes_max: float | None = None
    net_p95_bps_max: float | None = None

    def thresholds(self) -> dict[str, float]:
        """The thresholds that are set, by name."""
        names = ("cpu_mean_max", "cpu_p95_max", "cpu_max_max", "memory_p95_max",
                 "net_bytes_max", "net_p95_bps_max")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


#: Presets: AWS Trusted Advisor's low-utilization rule, Azure Advisor's shutdown rule,
#: and a slower government default (a month, since budgets and reviews run monthly).
IDLE_PRESETS: dict[str, IdlePolicy] = {
    "aws": IdlePolicy("aws", window_days=14, days_required=4, min_days=4, cpu_mean_max=10.0,
                      net_bytes_max=5 * 1000 * 1000),
    "azure": IdlePolicy("azure", window_days=7, days_required=7, min_days=7, cpu_p95_max=3.0),
    "government": IdlePolicy("government", window_days=30, days_required=25, min_days=14,
                             cpu_p95_max=5.0, memory_p95_max=30.0, net_p95_bps_max=100_000.0),
}


@dataclasses.dataclass(frozen=True)
class RightsizingPolicy:
    """Recommended size = p95 usage / target utilization, never under the floors."""

    target_cpu_percent: float = 60.0
    target_memory_percent: float = 70.0
    min_vcpus: int = 1
    min_memory_gib: float = 1.0
    #: Days of summaries the p95 is taken over.
    window_days: int = 30


#: KPI targets (fractions, 0-1) unless configured otherwise.
DEFAULT_KPI_TARGETS = {
    "ledger_accuracy": 0.95, "coverage": 0.95, "cloud_migration_rate": 0.9,
    "network_integration_rate": 0.9, "idle_investment_reclaimed": 0.5,
}


@dataclasses.dataclass(frozen=True)
class AnalysisPolicy:
    """Everything the ledger's analyses take from the configuration."""

    reconcile: ReconcilePolicy = dataclasses.field(default_factory=ReconcilePolicy)
    #: Idle policy per resource kind (observed kind: host, device, instance, …); "default"
    #: applies to kinds not named.
    idle: Mapping[str, IdlePolicy] = dataclasses.field(
        default_factory=lambda: {"default": IDLE_PRESETS["government"]})
    rightsizing: RightsizingPolicy = dataclasses.field(default_factory=RightsizingPolicy)
    #: A day with less of its time covered by samples is never counted as idle.
    min_coverage: float = 0.8
    kpi_targets: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_KPI_TARGETS))
    #: Extra CPU classification and peak-FLOPS tables (YAML), read after the built-in ones.
    cpu_models_file: str | None = None
    flops_file: str | None = None
    #: Days are cut in this time zone (the web's).
    timezone: str = "Asia/Shanghai"

    def idle_policy(self, kind: str) -> IdlePolicy:
        """The idle policy for an observed resource kind."""
        return self.idle.get(kind) or self.idle.get("default") or IDLE_PRESETS["government"]
