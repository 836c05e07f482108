"""The data path is the folder path: every rule of DESIGN.md "Layers and what each may import".

Top to bottom: ``wsgi.py`` -> ``dashboards/`` and ``alerts/`` -> ``monitor/`` -> ``ledger/`` ->
``collectors/``; ``core/`` holds the data they all share and imports none of them. Imports
are read from the source (every ``import`` anywhere in a module, inside functions too), and
the web's promise never to load a collector is checked again in a fresh interpreter after
``create_app()``.
"""

from __future__ import annotations

import ast
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRODUCT = {"core", "collectors", "ledger", "monitor", "dashboards", "alerts", "wsgi"}
WEB = {"flask", "werkzeug", "jinja2", "waitress", "gunicorn"}
#: Libraries only collectors use to reach their targets.
COLLECTOR_LIBRARIES = {"pysnmp", "psutil", "redfish", "libvirt", "openstack", "keystoneauth1",
                       "pyVmomi", "pyVim", "kubernetes"}
#: Modules of the monitor that poll: pages and alerts never import them.
POLLING = {"monitor.scheduler", "monitor.poller", "monitor.service", "monitor.discover_cli"}

#: package -> (imported names it must not use (a package or a dotted module), why)
RULES = {
    "core": (PRODUCT - {"core"} | WEB | {"sqlalchemy", "apscheduler"},
             "the shared data imports nothing of the product"),
    "collectors": ({"monitor", "ledger", "dashboards", "alerts", "wsgi", "sqlalchemy",
                    "apscheduler"} | WEB,
                   "collectors see only their target and options"),
    "ledger": ({"dashboards", "alerts", "wsgi", "monitor", "collectors"} | WEB,
               "the ledger never imports the web or alerts, reads tables, never the store's "
               "raw series, and takes the shared data from core"),
    "dashboards": ({"collectors", "apscheduler"} | POLLING | COLLECTOR_LIBRARIES,
                   "pages never import a collector and never poll"),
    "alerts": ({"collectors", "dashboards", "wsgi", "apscheduler"} | WEB | POLLING
               | COLLECTOR_LIBRARIES, "alerts never import a collector and never poll"),
    "monitor/store": ({"collectors", "dashboards", "alerts"},
                      "stores take the shared data from core"),
}
#: The modules below the web that may start it in-process: ``monitor run`` and ``monitor demo``.
STARTS_THE_WEB = {"monitor/service.py", "monitor/demo_cli.py"}
#: The command line sits on top of every layer: its modules may drive the alert engine.
COMMANDS = {"monitor/cli.py", "monitor/service.py", "monitor/config_check.py"}
#: Monitor modules that carry samples and facts (spool, writer, line protocol, backlog):
#: the shared data comes from core, not from the collectors.
DATA_PATH = ("monitor/lineprotocol.py", "monitor/lineparser.py", "monitor/spool.py",
             "monitor/writer.py", "monitor/backlog.py", "monitor/summaries.py")


def parse(path: Path) -> ast.Module:
    """The module's syntax tree, parsed with the cyclic garbage collector paused: on Python
    3.11.7 a finalizer the collector runs inside ``ast.parse`` (a connection pool a
    previous test left to the collector, logging as it closes) breaks the parse with
    "AST constructor recursion depth mismatch" (CPython gh-106905, fixed in later releases)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    finally:
        if enabled:
            gc.enable()


def imported(path: Path, package: str | None = None) -> set[str]:
    """Every module name ``path`` imports, dotted, with relative imports resolved against
    its package (by default, where it lies in the repository)."""
    if package is None:
        package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(p for p in parts + [base] if p)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def breaks(name: str, forbidden: set[str]) -> bool:
    """Whether the module ``name`` is or lies inside one of ``forbidden``."""
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_layer_imports_only_what_it_may(folder):
    forbidden, why = RULES[folder]
    offenders = {}
    for path in modules(folder):
        bad = sorted(n for n in imported(path) if breaks(n, forbidden))
        if bad:
            offenders[str(path.relative_to(REPO))] = bad
    assert offenders == {}, why


def test_nothing_below_the_web_imports_it_but_the_commands_that_start_it():
    offenders = {}
    for folder in ("core", "collectors", "ledger", "monitor"):
        for path in modules(folder):
            rel = str(path.relative_to(REPO))
            command = rel in COMMANDS or rel.endswith("_cli.py")
            above = ({"dashboards", "wsgi"} if rel in STARTS_THE_WEB else set()) \
                | ({"alerts"} if command else set())
            bad = sorted(n for n in imported(path)
                         if breaks(n, {"dashboards", "alerts", "wsgi"}) and not breaks(n, above))
            if bad:
                offenders[rel] = bad
    assert offenders == {}


def test_the_data_path_takes_shared_data_from_core():
    offenders = {rel: sorted(n for n in imported(REPO / rel) if breaks(n, {"collectors"}))
                 for rel in DATA_PATH}
    assert {k: v for k, v in offenders.items() if v} == {}
    # Every monitor module that names Sample, Fact or Observation imports them from core.
    for path in modules("monitor"):
        for name in imported(path):
            assert not breaks(name, {"collectors.base.Sample", "collectors.base.Fact",
                                     "collectors.base.Observation"}), path


def test_the_checker_sees_what_it_must(tmp_path):
    # The checker itself: function-level and relative imports are found.
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from monitor.store import open_store\n"
                     "from .base import Sample\nfrom ..ledger import db\n", encoding="utf-8")
    names = imported(probe, "collectors.snmp")
    assert {"monitor.store", "collectors.snmp.base", "collectors.ledger"} <= names
    assert breaks("monitor.store", RULES["collectors"][0])


WEB_PROBE = """
import json, sys
from dashboards import create_app
app = create_app()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_web_process_loads_no_collector_and_nothing_that_polls(tmp_path):
    config = tmp_path / "monitor.yaml"
    # Targets of every kind, one with an option only its collector could check: the web
    # reads them without importing a collector.
    config.write_text("targets:\n"
                      "  - {name: sw1, kind: snmp, options: {host: 10.0.0.1}}\n"
                      "  - {name: cloud, kind: openstack, options: {auth_url: 'https://k/v3',"
                      " username: u}}\n"
                      "  - {name: vc, kind: vsphere, options: {url: 'https://vc/sdk',"
                      " username: u, page_size: 0}}\n"
                      "  - {name: k8s, kind: kubernetes, options: {kubeconfig: /nonexistent}}\n"
                      "  - {name: bmc, kind: redfish, options: {url: 'https://bmc'}}\n",
                      encoding="utf-8")
    env = {**os.environ, "INFRA_LEDGER_CONFIG": str(config),
           "INFRA_LEDGER_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", WEB_PROBE], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "dashboards" in loaded and "core" in loaded
    assert sorted(m for m in loaded if breaks(m, {"collectors"} | POLLING
                                              | COLLECTOR_LIBRARIES | {"apscheduler"})) == []


def test_the_scheduler_still_checks_what_the_web_leaves_alone(tmp_path):
    from monitor.config import ConfigError, load_settings
    config = tmp_path / "monitor.yaml"
    config.write_text("targets:\n  - {name: vc, kind: vsphere, options: {url: 'https://vc/sdk',"
                      " username: u, password: x, page_size: 0}}\n", encoding="utf-8")
    lazy = load_settings(config, data_dir=str(tmp_path), check_targets=False)
    assert lazy.targets[0].options["page_size"] == 0
    with pytest.raises(ConfigError) as info:
        load_settings(config, data_dir=str(tmp_path))
    assert info.value.key == "targets[0].options.page_size"
    assert "at least 1" in info.value.reason
