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
from typing import Any, Callable

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
    checks = _DEVICE if category == "device" else _RESOURCE
    out = []
    for field, declared_of, column, observed_of, agree in checks:
        declared = declared_of(row, books)
        observed, source = entity.value(column)
        if observed is not None and observed_of is not None:
            observed = observed_of(observed, books)
        if declared in (None, "") or observed in (None, "") or declared == observed:
            continue
        if not agree(declared, observed, tolerance_percent, books):
            out.append(_difference(field, declared, observed, source))
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


def _equal(a, b, _tol, _books) -> bool:
    return a == b


def _within(declared, observed, tolerance_percent, _books) -> bool:
    declared = float(declared)
    if declared <= 0:
        return float(observed) <= 0
    return abs(float(observed) - declared) / declared * 100 <= tolerance_percent


def _serials(a, b, _tol, _books) -> bool:
    return normalize.serial(a) == normalize.serial(b)


def _vendors(a, b, _tol, _books) -> bool:
    return normalize.vendors_agree(a, b)


def _models(a, b, _tol, _books) -> bool:
    return normalize.models_agree(a, b)


def _hosts(a, b, _tol, _books) -> bool:
    return normalize.host(a) == normalize.host(b)


def _ips(a, b, _tol, _books) -> bool:
    return normalize.ip(a) == normalize.ip(b)


def _departments(declared: str, observed: str, _tol, books: Books) -> bool:
    """Same department, or one contains the other."""
    dep = books.departments
    left, right = dep.book.by_code.get(declared), dep.book.resolve(observed)
    if right is None:
        return True   # an unknown code is its own finding, not a mismatch
    return _ancestor(dep, left, right) or _ancestor(dep, right, left)


def _ancestor(dep: Departments, node: int | None, of: int | None) -> bool:
    seen = set()
    while of is not None and of not in seen:
        if of == node:
            return True
        seen.add(of)
        of = dep.parent.get(of)
    return False


def _places(book_name: str) -> Callable:
    def agree(declared: str, observed: str, _tol, books: Books) -> bool:
        book: CodeBook = getattr(books, book_name)
        resolved = book.resolve(observed)
        return resolved is None or book.code(resolved) == declared
    return agree


def _attr(name: str) -> Callable:
    return lambda row, _books: getattr(row, name)


def _code(book_name: str, column: str) -> Callable:
    return lambda row, books: getattr(books, book_name).code(getattr(row, column))


def _department(row, books: Books):
    return books.departments.book.code(row.department_id)


def _gib(value, _books):
    return round(value / GIB, 1)


_DEVICE = (
    ("serial_number", _attr("serial_number"), "serial_number", None, _serials),
    ("vendor", _attr("vendor"), "vendor", None, _vendors),
    ("model", _attr("model"), "model", None, _models),
    ("cpu_model", _attr("cpu_model"), "cpu_model", None, _models),
    ("cpu_cores", _attr("cpu_cores"), "cpu_cores", None, _equal),
    ("memory_gib", _attr("memory_gib"), "memory_bytes", _gib, _within),
    ("hostname", _attr("hostname"), "hostname", None, _hosts),
    ("management_ip", _attr("management_ip"), "mgmt_ip", None, _ips),
    ("data_center", _code("data_centers", "data_center_id"), "data_center", None,
     _places("data_centers")),
    ("department", _department, "department", None, _departments),
)
_RESOURCE = (
    ("vcpu", _attr("vcpu"), "vcpus", None, _equal),
    ("memory_gib", _attr("memory_gib"), "memory_bytes", _gib, _within),
    ("disk_gib", _attr("disk_gib"), "disk_bytes", _gib, _within),
    ("hostname", _attr("hostname"), "hostname", None, _hosts),
    ("ip_address", _attr("ip_address"), "mgmt_ip", None, _ips),
    ("platform", _code("platforms", "platform_id"), "platform", None, _places("platforms")),
    ("department", _department, "department", None, _departments),
)
