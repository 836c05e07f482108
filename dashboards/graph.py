"""The resource graph: from a department to its systems, instances, hosts, data centers and
networks, and back up, with what was declared beside what was observed.

``/graph`` starts at the top of the caller's scope; ``/graph/<category>/<code>`` shows one
census row, the rows it refers to (up: owner department, system, platform, data center,
network, region) and the rows referring to it (down), and for devices and cloud resources
the observed assets reconciliation paired with it, field by field, with the host an
instance runs on. Only rows inside the caller's department scope are named or linked.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from dashboards.access import caller_scope, requires
from dashboards.i18n import current_language
from dashboards.officer import form_value, shown
from dashboards.resources import get_ledger, get_settings
from ledger import browse
from ledger.census.fields import CATEGORIES
from ledger.identity.roles import CENSUS_READ

bp = Blueprint("graph", __name__)
#: Declared field -> observed column shown side by side.
SIDE_BY_SIDE = (("serial_number", "serial_number"), ("vendor", "vendor"), ("model", "model"),
                ("hostname", "hostname"), ("management_ip", "mgmt_ip"),
                ("cpu_cores", "cpu_cores"), ("memory_gib", "memory_bytes"), ("vcpu", "vcpus"),
                ("disk_gib", "disk_bytes"))
GIB = 1024 ** 3


@bp.get("/graph")
@requires(CENSUS_READ)
def start():
    """The departments at the top of the caller's scope."""
    caller = caller_scope()
    with get_ledger().engine.connect() as conn:
        roots = browse.roots(conn, caller.ledger_scope(conn))
    return render_template("graph.html", node=None, roots=roots, language=current_language())


@bp.get("/graph/<category>/<code>")
@requires(CENSUS_READ)
def node(category: str, code: str):
    """One row with its neighbours up and down, declared beside observed."""
    if category not in CATEGORIES:
        abort(404)
    caller = caller_scope()
    with get_ledger().engine.connect() as conn:
        scope = caller.ledger_scope(conn)
        found = browse.node(conn, category, code, scope)
        hosts = browse.hosts_of(conn, found["observed"], scope) if found else []
    if found is None:
        abort(404)
    return render_template("graph.html", node=found, roots=[], hosts=hosts,
                           pairs=[side_by_side(found["row"], item) for item in found["observed"]],
                           categories=CATEGORIES, language=current_language(), show=shown,
                           zone=get_settings().timezone)


def side_by_side(declared: dict, observed: dict) -> list[tuple[str, str, str, bool]]:
    """(field, declared text, observed text, differ) for the fields both sides know."""
    out = []
    for field, column in SIDE_BY_SIDE:
        if field not in declared:
            continue
        mine, theirs = declared.get(field), observed.get(column)
        if column.endswith("_bytes") and theirs is not None:
            theirs = round(theirs / GIB, 1)
        if mine is None and theirs is None:
            continue
        differ = mine is not None and theirs is not None and \
            str(form_value(mine)).lower() != str(form_value(theirs)).lower()
        out.append((field, form_value(mine), form_value(theirs), differ))
    return out
