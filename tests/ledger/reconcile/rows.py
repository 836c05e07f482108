"""Plain rows with the columns the analyses read (what ``ledger.estate`` loads)."""

from __future__ import annotations

import collections
import datetime as dt
import itertools

from ledger.estate import (DEVICE_COLUMNS, OBSERVED_COLUMNS, RESOURCE_COLUMNS, CodeBook,
                           Departments)
from ledger.reconcile.compare import Books

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
Observed = collections.namedtuple("Observed", OBSERVED_COLUMNS)
Device = collections.namedtuple("Device", DEVICE_COLUMNS)
Resource = collections.namedtuple("Resource", RESOURCE_COLUMNS)
State = collections.namedtuple("State", "name kind interval_seconds last_success last_poll up")
_ids = itertools.count(1)


def observed(kind="device", source="sw-1", collector="snmp", seen=NOW, **values):
    """An observed row; ``seen`` is its last_seen (first seen a day earlier)."""
    row = dict.fromkeys(OBSERVED_COLUMNS)
    row.update(id=next(_ids), source=source, collector=collector, kind=kind, macs=[],
               natural_key=f"k:{next(_ids)}", first_seen=seen - dt.timedelta(days=1),
               last_seen=seen)
    row.update(values)
    return Observed(**row)


def device(code, department_id=1, **values):
    row = dict.fromkeys(DEVICE_COLUMNS)
    row.update(id=next(_ids), code=code, name=code, department_id=department_id,
               device_type="switch", status="in_use")
    row.update(values)
    return Device(**row)


def resource(code, department_id=1, **values):
    row = dict.fromkeys(RESOURCE_COLUMNS)
    row.update(id=next(_ids), code=code, name=code, department_id=department_id,
               resource_type="instance", status="in_use", platform_id=1)
    row.update(values)
    return Resource(**row)


def books(departments=None, data_centers=None, platforms=None) -> Books:
    """Code books from ``{id: (code, name, parent_id)}`` style mappings."""
    departments = departments or {1: ("D1", "大数据局", None), 2: ("D2", "公安局", None),
                                  3: ("D21", "公安局福田分局", 2)}
    data_centers = data_centers or {1: ("DC1", "主数据中心")}
    platforms = platforms or {1: ("CP1", "政务云")}

    def book(items):
        codes = {i: v[0] for i, v in items.items()}
        names = {i: v[1] for i, v in items.items()}
        return CodeBook(codes, names, {c: i for i, c in codes.items()},
                        {n: i for i, n in names.items()})
    return Books(Departments(book(departments), {i: v[2] for i, v in departments.items()},
                             dict.fromkeys(departments)),
                 book(data_centers), book(platforms))


def state(name, interval=60, last_success=NOW, last_poll=None):
    """A target's poll state; ``last_poll`` defaults to its last success (answering)."""
    return State(name, "snmp", interval, last_success, last_poll or last_success,
                 last_poll is None or last_poll == last_success)
