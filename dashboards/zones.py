"""Zone collectors: the ingest API their schedulers deliver to, and the page listing them.

``POST /api/v1/zones/ingest`` takes a batch of records from a zone's outbox (poll
outcomes and facts, see :mod:`ledger.zones`) with the collector's report of itself,
applies each record once and answers how many were applied and how many were replays.
It needs the ``zones.ingest`` permission (the ``zone_collector`` role, carried by an API
token). ``GET /zones`` lists every collector: zone, last contact, backlog, version,
targets owned.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy.exc import DataError, IntegrityError

from dashboards.access import body_limit, caller_scope, current_identity, requires, source_address
from dashboards.resources import get_ledger, get_settings
from ledger.identity.roles import TARGETS_READ, ZONES_INGEST
from ledger.zones import CollectorReport, IngestError, apply_batch, prune_receipts, \
    zone_collectors
from monitor.config import DEFAULT_ZONE

bp = Blueprint("zones", __name__)
UTC = dt.timezone.utc
#: A zone's outbox sends batches of at most 1 MiB of records; JSON framing adds little.
INGEST_MAX_BODY = 4 * 1024 * 1024
#: A collector silent for longer than this is shown as down.
DOWN_SECONDS = 120
#: Receipts are pruned on about one delivery in this many.
PRUNE_EVERY = 500
_deliveries = [0]


@bp.post("/api/v1/zones/ingest")
@requires(ZONES_INGEST)
@body_limit(INGEST_MAX_BODY)
def ingest():
    """Apply a zone collector's records in order, each at most once."""
    caller_scope()   # an identity is required; zone collectors are estate-wide
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return _refused("(body)", "expected a JSON object with collector and records")
    targets = {t.name: t for t in get_settings().targets}
    zones = {name: t.zone for name, t in targets.items()}
    try:
        report = CollectorReport.from_json(body.get("collector"))
        if report.zone == DEFAULT_ZONE:
            raise IngestError(-1, "collector.zone", "the central zone writes the ledger "
                              "directly; zone collectors report for another zone")
        bound = current_identity().zone
        if bound != report.zone:   # one zone's token never writes another zone's state
            return jsonify({"errors": [{"key": "collector.zone", "reason":
                                        f"this account delivers for zone {bound or '(none)'} "
                                        "only (user grant NAME --zone Z)"}]}), 403
        with get_ledger().session() as session:
            applied, duplicates = apply_batch(session, report, body["records"], zones,
                                              address=source_address(), targets=targets)
            _deliveries[0] += 1
            if _deliveries[0] % PRUNE_EVERY == 0:
                prune_receipts(session)
            session.commit()
    except IngestError as exc:
        return _refused(exc.key if exc.index < 0 else f"records[{exc.index}].{exc.key}",
                        exc.reason)
    except DataError as exc:   # a value the database cannot hold (a NUL byte in text)
        return _refused("(records)", f"the ledger refused a value: {exc.orig}")
    except IntegrityError:     # the same batch applied concurrently: the retry sees it
        return jsonify({"errors": [{"reason": "concurrent delivery; retry"}]}), 409
    return jsonify({"applied": applied, "duplicates": duplicates})


def _refused(key: str, reason: str):
    return jsonify({"errors": [{"key": key, "reason": reason}]}), 422


@bp.get("/zones")
@requires(TARGETS_READ)
def collectors():
    """Every zone collector: zone, last contact, backlog, version, targets owned."""
    if caller_scope().department is not None:
        abort(403)   # estate-wide infrastructure: never shown within a department's scope
    now = dt.datetime.now(UTC)
    with get_ledger().session() as session:
        rows = zone_collectors(session)
    zone_targets: dict[str, int] = {}
    for target in get_settings().targets:
        zone_targets[target.zone] = zone_targets.get(target.zone, 0) + 1
    if request.args.get("format") == "json":
        return jsonify({"items": [_item(row, now) for row in rows],
                        "zone_targets": zone_targets})
    return render_template("zones.html", rows=rows, now=now, zone_targets=zone_targets,
                           ages={row.member: _age(row, now) for row in rows},
                           down_after=DOWN_SECONDS)


def _age(row, now: dt.datetime) -> float:
    return max((now - row.last_contact).total_seconds(), 0.0)


def _item(row, now: dt.datetime) -> dict:
    return {"member": row.member, "zone": row.zone, "hostname": row.hostname,
            "version": row.version, "address": row.address,
            "last_contact": row.last_contact.isoformat(),
            "seconds_since_contact": round(_age(row, now), 1),
            "state": "down" if _age(row, now) > DOWN_SECONDS else "up",
            "targets_owned": row.targets_owned, "backlog_samples": row.backlog_samples,
            "backlog_records": row.backlog_records, "applied_total": row.applied_total,
            "duplicates_total": row.duplicates_total}
