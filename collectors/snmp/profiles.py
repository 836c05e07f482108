"""Device profiles: vendor, OS and device type from sysObjectID and sysDescr, kept as data.

Profiles are YAML lists in ``collectors/snmp/profiles/*.yaml`` and in any folder named by
the ``profile_dirs`` option, so a user adds a vendor without code. A rule matches when one
of its ``sysobjectid`` prefixes matches (if it lists any), its ``sysdescr`` regex matches
(if it has one) and its ``probe`` OID exists on the device (if it names one). Among
matching rules the most specific wins: the longest sysObjectID prefix, then a sysDescr
match, then a probe; later files (user folders) win ties over built-in ones.

``enterprises.yaml`` in the same folders is no rule file: it maps IANA private enterprise
numbers to vendors (:func:`load_enterprises`), so a device whose sysObjectID no rule
names still gets the vendor its enterprise number names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from collectors.snmp.ber import parse_oid

BUILTIN = Path(__file__).with_name("profiles")
ENTERPRISES_FILE = "enterprises.yaml"
#: iso.org.dod.internet.private.enterprises: the next arc is the enterprise number.
ENTERPRISES_ARC = (1, 3, 6, 1, 4, 1)
KEYS = {"name", "vendor", "os", "device_type", "sysobjectid", "sysdescr", "probe", "model",
        "priority", "identity", "metrics", "tables", "inventory", "hardware"}
TABLE_KEYS = {"measurement", "label", "value", "unit", "divisor", "divide"}
IDENTITY_KEYS = {"serial_number", "model", "software_version"}
METRIC_KEYS = {"oid", "column", "measurement", "field", "scale", "tags", "label", "when",
               "invalid"}
#: Columns an inventory table may name (each an OID of the vendor's table), and its keys.
COMPONENT_COLUMNS = {"name", "model", "serial", "manufacturer", "type", "firmware", "cores",
                     "threads", "speed_mhz", "size_bytes"}
INVENTORY_KEYS = COMPONENT_COLUMNS | {"class", "size_scale", "require"}
DEVICE_TYPES = {"server", "switch", "router", "firewall", "security", "storage", "ups", "pdu",
                "cooling", "other"}


class ProfileError(ValueError):
    """A profile file that cannot be used: names the file, the rule and the reason."""


@dataclass(frozen=True)
class Profile:
    """One rule."""

    name: str
    vendor: str
    os: str
    device_type: str
    sysobjectid: tuple[tuple[int, ...], ...]
    sysdescr: re.Pattern | None
    probe: tuple[int, ...] | None
    model: re.Pattern | None
    order: int
    priority: int = 0
    identity: tuple[tuple[str, tuple[int, ...]], ...] = ()
    metrics: tuple["Metric", ...] = ()
    tables: tuple["LabelledTable", ...] = ()
    inventory: tuple["InventoryTable", ...] = ()
    #: The agent answers for the machine itself (a BMC, or a hypervisor on bare metal): the
    #: compute ledger counts the device as a physical host. An operating system's agent
    #: (Linux, Windows) may run in a virtual machine, so it does not say so.
    hardware: bool = False

    def score(self, object_id: tuple[int, ...] | None, descr: str) -> tuple | None:
        """How specifically this rule matches (None: it does not); probes are checked later."""
        prefix = 0
        if self.sysobjectid:
            matches = [len(p) for p in self.sysobjectid
                       if object_id is not None and object_id[:len(p)] == p]
            if not matches:
                return None
            prefix = max(matches)
        if self.sysdescr is not None and not self.sysdescr.search(descr or ""):
            return None
        return (prefix, self.priority, self.sysdescr is not None, self.probe is not None,
                self.order)


@dataclass(frozen=True)
class LabelledTable:
    """A self-describing vendor table: each row names its reading (``label``), gives it
    (``value``, a number or numeric text) and may give its ``unit`` and a ``divisor``
    column (or a fixed ``divide``). Rows become ``measurement`` samples tagged ``sensor``,
    ``unit`` and ``index`` with the field ``value``."""

    measurement: str
    label: tuple[int, ...]
    value: tuple[int, ...]
    unit: tuple[int, ...] | None
    divisor: tuple[int, ...] | None
    divide: float


@dataclass(frozen=True)
class Metric:
    """A vendor figure: a scalar ``oid`` or a table ``column`` (its index becomes the
    ``index`` tag, a ``label`` column's text the ``sensor`` tag; ``when`` keeps only rows
    whose column equals a value, for tables that mix units; ``invalid`` lists the values
    that mean "no reading", such as 0 or 65535), scaled into the unit its field name
    states."""

    measurement: str
    field: str
    oid: tuple[int, ...] | None
    column: tuple[int, ...] | None
    scale: float
    tags: tuple[tuple[str, str], ...]
    label: tuple[int, ...] | None = None
    when: tuple[tuple[int, ...], int] | None = None
    invalid: frozenset = frozenset()


@dataclass(frozen=True)
class InventoryTable:
    """A vendor's table of components where ENTITY-MIB is silent (a BMC's CPUs, memory
    modules, power supplies): each row becomes one entry of the fact's ``components`` with
    the class ``kind`` and the named columns; ``size_scale`` turns sizes into bytes (sizes
    given as text such as "32768 MB" are read with their unit); with ``require``, rows
    without that column are left out."""

    kind: str
    columns: tuple[tuple[str, tuple[int, ...]], ...]
    size_scale: float = 1.0
    require: str | None = None


def _rule(path: Path, number: int, raw, order: int) -> Profile:
    where = f"{path}: rule {number}"
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: expected a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("name", "vendor", "os", "device_type"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ProfileError(f"{where}: {key} is required")
    if raw["device_type"] not in DEVICE_TYPES:
        raise ProfileError(f"{where}: device_type must be one of {sorted(DEVICE_TYPES)}")
    try:
        prefixes = tuple(parse_oid(str(p)) for p in raw.get("sysobjectid") or ())
        probe = parse_oid(str(raw["probe"])) if raw.get("probe") else None
        descr = re.compile(raw["sysdescr"]) if raw.get("sysdescr") else None
        model = re.compile(raw["model"]) if raw.get("model") else None
    except (ValueError, re.error) as exc:
        raise ProfileError(f"{where} ({raw['name']}): {exc}") from None
    if not prefixes and descr is None:
        raise ProfileError(f"{where} ({raw['name']}): needs sysobjectid or sysdescr")
    if model is not None and "model" not in model.groupindex:
        raise ProfileError(f"{where} ({raw['name']}): model needs a group named 'model'")
    where = f"{where} ({raw['name']})"
    if not isinstance(raw.get("priority", 0), int):
        raise ProfileError(f"{where}: priority must be a whole number")
    if not isinstance(raw.get("hardware", False), bool):
        raise ProfileError(f"{where}: hardware must be true or false")
    return Profile(raw["name"], raw["vendor"], raw["os"], raw["device_type"], prefixes, descr,
                   probe, model, order, raw.get("priority", 0), _identity(where, raw),
                   tuple(_metric(where, n, m) for n, m in enumerate(raw.get("metrics") or (), 1)),
                   tuple(_table(where, n, t) for n, t in enumerate(raw.get("tables") or (), 1)),
                   tuple(_inventory(where, n, t)
                         for n, t in enumerate(raw.get("inventory") or (), 1)),
                   raw.get("hardware", False))


def _inventory(where: str, number: int, raw) -> InventoryTable:
    where = f"{where}: inventory[{number}]"
    if not isinstance(raw, dict) or set(raw) - INVENTORY_KEYS or not raw.get("class") \
            or not set(raw) & COMPONENT_COLUMNS:
        raise ProfileError(f"{where}: needs a class and columns from "
                           f"{sorted(COMPONENT_COLUMNS)}")
    try:
        columns = tuple((key, parse_oid(str(raw[key]))) for key in sorted(COMPONENT_COLUMNS)
                        if raw.get(key))
        scale = float(raw.get("size_scale", 1))
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"{where}: {exc}") from None
    if raw.get("require") and raw["require"] not in dict(columns):
        raise ProfileError(f"{where}: require names a column the table does not have")
    return InventoryTable(str(raw["class"]), columns, scale, raw.get("require"))


def _table(where: str, number: int, raw) -> LabelledTable:
    where = f"{where}: tables[{number}]"
    if not isinstance(raw, dict) or set(raw) - TABLE_KEYS or not raw.get("label") \
            or not raw.get("value"):
        raise ProfileError(f"{where}: needs label and value columns; keys from "
                           f"{sorted(TABLE_KEYS)}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(raw.get("measurement", ""))):
        raise ProfileError(f"{where}: measurement must be a lower_case name")
    try:
        columns = {key: parse_oid(str(raw[key])) if raw.get(key) else None
                   for key in ("label", "value", "unit", "divisor")}
        divide = float(raw.get("divide", 1))
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"{where}: {exc}") from None
    if divide == 0:
        raise ProfileError(f"{where}: divide must not be 0")
    return LabelledTable(raw["measurement"], columns["label"], columns["value"], columns["unit"],
                         columns["divisor"], divide)


def _identity(where: str, raw: dict) -> tuple:
    identity = raw.get("identity") or {}
    if not isinstance(identity, dict) or set(identity) - IDENTITY_KEYS:
        raise ProfileError(f"{where}: identity maps {sorted(IDENTITY_KEYS)} to OIDs")
    try:
        return tuple((key, parse_oid(str(oid))) for key, oid in identity.items())
    except ValueError as exc:
        raise ProfileError(f"{where}: identity: {exc}") from None


def _metric(where: str, number: int, raw) -> Metric:
    where = f"{where}: metrics[{number}]"
    if not isinstance(raw, dict) or set(raw) - METRIC_KEYS:
        raise ProfileError(f"{where}: expected keys from {sorted(METRIC_KEYS)}")
    if bool(raw.get("oid")) == bool(raw.get("column")):
        raise ProfileError(f"{where}: give exactly one of oid (a scalar) or column (a table)")
    for key in ("measurement", "field"):
        if not isinstance(raw.get(key), str) or not re.fullmatch(r"[a-z][a-z0-9_]*", raw[key]):
            raise ProfileError(f"{where}: {key} must be a lower_case name")
    try:
        oid = parse_oid(str(raw["oid"])) if raw.get("oid") else None
        column = parse_oid(str(raw["column"])) if raw.get("column") else None
        scale = float(raw.get("scale", 1))
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"{where}: {exc}") from None
    tags = raw.get("tags") or {}
    if not isinstance(tags, dict):
        raise ProfileError(f"{where}: tags must be a mapping")
    when = raw.get("when")
    if (raw.get("label") or when) and not column:
        raise ProfileError(f"{where}: label and when belong to a table column")
    if when is not None and (not isinstance(when, dict) or set(when) != {"column", "equals"}
                             or not isinstance(when["equals"], int)):
        raise ProfileError(f"{where}: when must be {{column: OID, equals: a whole number}}")
    invalid = raw.get("invalid") or []
    if not isinstance(invalid, list) or not all(isinstance(v, int) for v in invalid):
        raise ProfileError(f"{where}: invalid must be a list of whole numbers")
    try:
        label = parse_oid(str(raw["label"])) if raw.get("label") else None
        when = (parse_oid(str(when["column"])), when["equals"]) if when else None
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    return Metric(raw["measurement"], raw["field"], oid, column, scale,
                  tuple((str(k), str(v)) for k, v in tags.items()), label, when,
                  frozenset(invalid))


def load_profiles(extra_dirs: list[str] | tuple[str, ...] = ()) -> list[Profile]:
    """Built-in rules followed by those in ``extra_dirs``; raises ProfileError.

    Read once per process and folder list: a thousand targets share one list (a changed
    profile takes effect at the next start)."""
    return list(_load(tuple(extra_dirs)))


@functools.lru_cache(maxsize=32)
def _load(extra_dirs: tuple[str, ...]) -> tuple[Profile, ...]:
    paths = sorted(BUILTIN.glob("*.yaml"))
    for folder in extra_dirs:
        if not Path(folder).is_dir():
            raise ProfileError(f"{folder}: not a folder of profiles")
        paths += sorted(Path(folder).glob("*.yaml"))
    rules: list[Profile] = []
    for path in paths:
        if path.name == ENTERPRISES_FILE:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, yaml.YAMLError) as exc:
            raise ProfileError(f"{path}: {exc}") from None
        if not isinstance(data, list):
            raise ProfileError(f"{path}: expected a list of rules")
        rules += [_rule(path, n, raw, len(rules) + n) for n, raw in enumerate(data, start=1)]
    return tuple(rules)


def load_enterprises(extra_dirs: list[str] | tuple[str, ...] = ()) -> dict[int, str]:
    """Enterprise number -> vendor, built in and from ``enterprises.yaml`` in ``extra_dirs``
    (a later folder wins); raises ProfileError. Read once per process and folder list."""
    return _enterprises(tuple(extra_dirs))


@functools.lru_cache(maxsize=32)
def _enterprises(extra_dirs: tuple[str, ...]) -> dict[int, str]:
    table: dict[int, str] = {}
    for folder in (BUILTIN, *map(Path, extra_dirs)):
        path = folder / ENTERPRISES_FILE
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ProfileError(f"{path}: {exc}") from None
        if not isinstance(data, dict):
            raise ProfileError(f"{path}: expected a mapping of enterprise numbers to vendors")
        for number, vendor in data.items():
            if not isinstance(number, int) or number < 0 or not isinstance(vendor, str) \
                    or not vendor.strip():
                raise ProfileError(f"{path}: {number!r}: expected a number and a vendor name, "
                                   f"such as '2011: Huawei'")
            table[number] = vendor.strip()
    return table


def enterprise_of(object_id: tuple[int, ...] | None) -> int | None:
    """The IANA private enterprise number a sysObjectID names (None: it names none)."""
    if object_id is None or len(object_id) <= len(ENTERPRISES_ARC) or \
            object_id[:len(ENTERPRISES_ARC)] != ENTERPRISES_ARC:
        return None
    return object_id[len(ENTERPRISES_ARC)]


def candidates(rules: list[Profile], object_id: tuple[int, ...] | None,
               descr: str) -> list[Profile]:
    """Matching rules, most specific first (probes still to be checked by the caller)."""
    scored = [(rule.score(object_id, descr), rule) for rule in rules]
    return [rule for score, rule in sorted(((s, r) for s, r in scored if s is not None),
                                           key=lambda item: item[0], reverse=True)]


def model_from(rule: Profile | None, descr: str) -> str | None:
    """The model named in sysDescr by the rule's ``model`` regex."""
    if rule is None or rule.model is None:
        return None
    found = rule.model.search(descr or "")
    return found.group("model").strip() if found else None
