"""Field-by-field differences between a declared asset and the entity matched to it.

Only fields both sides know are compared. Each difference names the field, the declared
and the observed value, and the source and time of the observed value, e.g.
``{"field": "vcpu", "declared": 16, "observed": 32, "source": "vc-01", "time": "…"}``.
Sizes compare within the policy's tolerance (an OS reports less memory than its DIMMs),
models and vendors by their normalised names, departments as related when one contains
the other (a target tagged with a bureau owns its branches' devices).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ledger.estate import CodeBook, Departments
from ledger.reconcile import normalize
from ledger.reconcile.entities import Entity

GIB = 1024 ** 3


@dataclasses.dataclass
class Books:
    """What comparing needs to show and resolve codes."""

    departments: Departments
    data_centers: CodeBook
    platforms: CodeBook


def differences(category: str, row, entity: Entity, books: Books,
                tolerance_percent: float) -> list[dict[str, Any]]:
    """The differences between declared ``row`` of ``category`` and ``entity``."""
    single = entity.rows[0] if len(entity.rows) == 1 else None
    out = []
    for field, declared_column, observed_column, how in (
            _DEVICE if category == "device" else _RESOURCE):
        declared = getattr(row, declared_column)
        if declared is None or declared == "":
            continue
        if single is not None:   # most entities: one row, read it directly
            observed, source = getattr(single, observed_column), single
        else:
            observed, source = entity.value(observed_column)
        # Equal values need no comparing, except sizes in two units (GiB, bytes).
        if observed is None or observed == "" or (declared == observed and how != "within"):
            continue
        shown = _COMPARE[how](declared, observed, tolerance_percent, books, entity)
        if shown is not None:
            out.append(_difference(field, *shown, source))
    out.extend(_status(category, row, entity))
    return out


def _difference(field: str, declared, observed, source) -> dict[str, Any]:
    return {"field": field, "declared": _json(declared), "observed": _json(observed),
            "source": getattr(source, "source", None),
            "time": source.last_seen.isoformat() if source is not None else None}


def _json(value):
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return float(value) if hasattr(value, "as_integer_ratio") else str(value)


def _status(category: str, row, entity: Entity) -> list[dict[str, Any]]:
    """Declared retired yet observed; a cloud resource declared in use yet powered off."""
    power, source = entity.value("power_state")
    if row.status == "retired":
        return [_difference("status", "retired", power or "seen", entity.primary)]
    if category == "cloud_resource" and row.status == "in_use" and power == "stopped":
        return [_difference("status", "in_use", "stopped", source)]
    return []


def _equal(declared, observed, _tol, _books, _entity):
    return (declared, observed)


def _within(declared, observed, tolerance_percent, _books, _entity):
    gib = round(observed / GIB, 1)
    declared = float(declared)
    if declared <= 0:
        return None if gib <= 0 else (declared, gib)
    return None if abs(observed / GIB - declared) / declared * 100 <= tolerance_percent \
        else (declared, gib)


def _serials(declared, observed, _tol, _books, _entity):
    return None if normalize.serial(declared) == normalize.serial(observed) else \
        (declared, observed)


def _vendors(declared, observed, _tol, _books, _entity):
    return None if normalize.vendors_agree(declared, observed) else (declared, observed)


def _models(declared, observed, _tol, _books, _entity):
    return None if normalize.models_agree(declared, observed) else (declared, observed)


def _hosts(declared, observed, _tol, _books, _entity):
    return None if normalize.host(declared) == normalize.host(observed) else \
        (declared, observed)


def _ips(declared, observed, _tol, _books, _entity):
    return None if normalize.ip(declared) == normalize.ip(observed) else (declared, observed)


def _department(declared_id, observed_id, _tol, books: Books, entity: Entity):
    """Same department, or one contains the other (an unknown code is its own finding)."""
    dep = books.departments
    if _ancestor(dep, declared_id, observed_id) or _ancestor(dep, observed_id, declared_id):
        return None
    return (dep.book.code(declared_id), entity.value("department")[0])


def _ancestor(dep: Departments, node: int | None, of: int | None) -> bool:
    seen = set()
    while of is not None and of not in seen:
        if of == node:
            return True
        seen.add(of)
        of = dep.parent.get(of)
    return False


def _place(book_name: str):
    def compare(declared_id, observed, _tol, books: Books, _entity):
        book: CodeBook = getattr(books, book_name)
        resolved = book.resolve(observed)
        return None if resolved is None or resolved == declared_id else \
            (book.code(declared_id), observed)
    return compare


_COMPARE = {"equal": _equal, "within": _within, "serial": _serials, "vendor": _vendors,
            "model": _models, "host": _hosts, "ip": _ips, "department": _department,
            "data_center": _place("data_centers"), "platform": _place("platforms")}
#: (field, declared column, observed column, how they are compared)
_DEVICE = (
    ("serial_number", "serial_number", "serial_number", "serial"),
    ("vendor", "vendor", "vendor", "vendor"),
    ("model", "model", "model", "model"),
    ("cpu_model", "cpu_model", "cpu_model", "model"),
    ("cpu_cores", "cpu_cores", "cpu_cores", "equal"),
    ("memory_gib", "memory_gib", "memory_bytes", "within"),
    ("hostname", "hostname", "hostname", "host"),
    ("management_ip", "management_ip", "mgmt_ip", "ip"),
    ("data_center", "data_center_id", "data_center", "data_center"),
    ("department", "department_id", "department_id", "department"),
)
_RESOURCE = (
    ("vcpu", "vcpu", "vcpus", "equal"),
    ("memory_gib", "memory_gib", "memory_bytes", "within"),
    ("disk_gib", "disk_gib", "disk_bytes", "within"),
    ("hostname", "hostname", "hostname", "host"),
    ("ip_address", "ip_address", "mgmt_ip", "ip"),
    ("platform", "platform_id", "platform", "platform"),
    ("department", "department_id", "department_id", "department"),
)
