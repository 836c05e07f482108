"""The data every layer shares: samples, facts, observations, poll statuses, identity keys.

Collectors produce these, the monitor spools and stores them, the ledger records facts and
the web reads them back; none of those layers owns them, so they live here, in a module that
imports nothing of the product (``tests/test_layering.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

#: Poll outcomes, in order of severity.
STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_ERROR = "error"
STATUS_TIMEOUT = "timeout"

#: Identity keys of a fact, strongest first (DESIGN.md, "Matching observed to declared").
IDENTITY_KEYS = ("serial_number", "instance_uuid", "machine_uuid", "mac", "mgmt_ip", "hostname",
                 "resource_id")


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """One point of a time series: measurement, tags, numeric fields, time in ns."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, float]
    time: int

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-lines form documented in the README."""
        return {
            "type": "sample",
            "measurement": self.measurement,
            "tags": dict(self.tags),
            "fields": dict(self.fields),
            "time": self.time,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Fact:
    """What an observed thing is: its kind, identity keys and attributes.

    ``keys`` holds identity keys (see :data:`IDENTITY_KEYS`; ``mac`` may be a
    list), ``attributes`` everything else worth keeping in the ledger.
    """

    kind: str
    keys: Mapping[str, Any]
    attributes: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-lines form documented in the README."""
        return {"type": "fact", "kind": self.kind, "keys": dict(self.keys),
                "attributes": dict(self.attributes)}


@dataclasses.dataclass(slots=True)
class Observation:
    """The result of one poll of one target."""

    samples: list[Sample] = dataclasses.field(default_factory=list)
    facts: list[Fact] = dataclasses.field(default_factory=list)
    status: str = STATUS_OK
    error: str | None = None
    duration_seconds: float = 0.0

    def add(self, measurement: str, tags: Mapping[str, str], fields: Mapping[str, Any],
            time_ns: int) -> None:
        """Append a sample, dropping fields that are not finite numbers.

        Booleans become 0/1. A sample whose every field was dropped is not added.
        """
        clean = {}
        for name, value in fields.items():
            if isinstance(value, bool):
                clean[name] = int(value)
            elif isinstance(value, (int, float)) and math.isfinite(value):
                clean[name] = value
        if clean:
            self.samples.append(Sample(measurement, dict(tags), clean, time_ns))


#: The tag the framework adds to every sample: the configured target's name.
TARGET_TAG = "target"
