"""Configuration: load a YAML file, validate every key, and resolve defaults.

A bad configuration raises :class:`ConfigError` naming the file, the key (as a
path such as ``targets[2].interval``) and the reason; nothing is started from a
configuration that did not validate. The reference is ``config/example.yaml``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from collectors import get_collector
from collectors.base import OptionError
from ledger.census.const import AUDIT_ALGORITHMS
from ledger.policy import AnalysisPolicy
from monitor.config_analysis import AnalysisConfigError, AnalysisSchedule, parse_analysis
from monitor.lineprotocol import RESERVED_KEY, TAG, storable_name
from monitor.config_zone import DEFAULT_ZONE, ZoneSettings, check_zone_name, parse_zone
from monitor.security_config import SecuritySettings, parse_security
from monitor.store.influx import parse_store_url
from monitor.store.victoria import parse_victoria_url
from monitor.units import parse_duration, parse_size

ENV_DATA_DIR = "INFRA_LEDGER_DATA_DIR"
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "infra-ledger"
LANGUAGES = ("zh", "en")
TIER_NAMES = ("raw", "1m", "1h")
TARGET_NAME = re.compile(r"^[^/\s?#%]{1,128}$")


class ConfigError(Exception):
    """A configuration problem: which file, which key, and why."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = file, key, reason


@dataclasses.dataclass(frozen=True)
class TargetConfig:
    """One target to poll: which collector, how often, with which tags and options."""

    name: str
    kind: str
    interval: float
    timeout: float
    jitter: float
    tags: dict[str, str]
    options: dict[str, Any]
    zone: str = DEFAULT_ZONE


@dataclasses.dataclass(frozen=True)
class Settings:
    """The validated configuration, with every default resolved."""

    source: str
    data_dir: Path
    web_host: str
    web_port: int
    language: str
    timezone: str
    store_backend: str
    retention: dict[str, float]
    store_options: dict[str, Any]
    spool: dict[str, float]
    ledger_url: str
    max_workers: int
    targets: tuple[TargetConfig, ...]
    audit_hash: str = "sha256"
    analysis: AnalysisPolicy = dataclasses.field(default_factory=AnalysisPolicy)
    analysis_schedule: AnalysisSchedule = dataclasses.field(default_factory=AnalysisSchedule)
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    zone: ZoneSettings = dataclasses.field(default_factory=ZoneSettings)

    @property
    def store_path(self) -> Path:
        """Folder of the embedded time-series store."""
        return self.data_dir / "tsdb"

    @property
    def spool_path(self) -> Path:
        """Folder of the durable spool in front of the store."""
        return self.data_dir / "spool"


DEFAULTS: dict[str, Any] = {
    "interval": 15.0, "timeout": 10.0, "jitter": 1.0, "max_workers": 32,
    "retention": {"raw": 2 * 86400.0, "1m": 35 * 86400.0, "1h": 730 * 86400.0},
}


class _Reader:
    """Typed access to one mapping of the file, with key paths for errors."""

    def __init__(self, file: str, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(file, path or "(top level)", "expected a mapping of keys")
        self.file, self.data, self.path = file, data, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def check_known(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise ConfigError(self.file, self.key(str(name)),
                                  f"unknown key; allowed: {', '.join(sorted(allowed))}")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.data.get(name, default)
        if value is None or (isinstance(value, kind) and not
                             (isinstance(value, bool) and bool not in _as_tuple(kind))):
            return value
        names = "/".join(k.__name__ for k in _as_tuple(kind))
        raise ConfigError(self.file, self.key(name), f"expected {names}, got {value!r}")

    def duration(self, name: str, default: float | None) -> float | None:
        if self.data.get(name) is None:
            return default
        try:
            return parse_duration(self.data[name])
        except ValueError as exc:
            raise ConfigError(self.file, self.key(name), str(exc)) from None

    def child(self, name: str) -> "_Reader":
        return _Reader(self.file, self.data.get(name), self.key(name))


def _check_storable(reader: _Reader, name: str, text: str, what_zh: str, what_en: str) -> None:
    """Refuse a tag key or value that line protocol cannot carry as written (influxd 1.x)."""
    reason = None
    if not text:
        reason = f"{what_zh}不能为空 ({what_en} cannot be empty)"
    elif text == RESERVED_KEY and what_en == "a tag key":
        reason = f"{what_zh} time 为时序库保留字 ({what_en} 'time' is reserved by InfluxDB)"
    elif "\n" in text or "\r" in text or "\0" in text:
        reason = (f"{what_zh}不能包含换行符或 NUL 字符 ({what_en} cannot contain a line break "
                  f"or a NUL character)")
    elif not text.isprintable() and _not_utf8(text):
        reason = f"{what_zh}不是有效的 UTF-8 文本 ({what_en} is not valid UTF-8 text)"
    elif storable_name(text, TAG) != text:
        reason = (f"{what_zh}中的反斜杠不能位于末尾，也不能紧接在逗号、等号或空格之前，"
                  f"时序库无法原样保存 ({what_en} cannot end with a backslash or have one "
                  f"right before a comma, equals sign or space: line protocol cannot carry it)")
    if reason:
        raise ConfigError(reader.file, reader.key(name), f"{reason}: {text!r}")


def _not_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def load_settings(path: str | os.PathLike | None = None, *, data_dir: str | None = None,
                  host: str | None = None, port: int | None = None,
                  store_url: str | None = None) -> Settings:
    """Read and validate ``path`` (or the built-in default); flags override the file."""
    if path is None:
        return parse_settings({}, "(built-in default)", data_dir=data_dir, host=host, port=port,
                              store_url=store_url)
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(file, "(file)", f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(file, "(syntax)", str(exc).replace("\n", " ")) from None
    return parse_settings(data, file, base=Path(path).resolve().parent, data_dir=data_dir,
                          host=host, port=port, store_url=store_url)


def parse_settings(data: Any, file: str, *, base: Path | None = None,
                   data_dir: str | None = None, host: str | None = None,
                   port: int | None = None, store_url: str | None = None) -> Settings:
    """Validate an already parsed mapping; see :func:`load_settings`."""
    top = _Reader(file, data, "")
    top.check_known({"data_dir", "web", "store", "ledger", "scheduler", "targets", "analysis",
                     "security", "zone"})
    web, store, ledger, sched = (top.child(n) for n in ("web", "store", "ledger", "scheduler"))
    web.check_known({"host", "port", "language", "timezone"})
    store.check_known({"backend", "retention", "spool", "password_env", "token_env", "timeout",
                       "gzip", "manage_schema", "ca_file"})
    ledger.check_known({"url", "audit_hash"})
    sched.check_known({"interval", "timeout", "jitter", "max_workers"})
    root = _data_dir(top, base, data_dir)
    web_host = host or web.get("host", str, "127.0.0.1")
    timezone = _timezone(web)
    try:
        analysis, schedule = parse_analysis(top.data.get("analysis"), base, timezone)
    except AnalysisConfigError as exc:
        raise ConfigError(file, f"analysis.{exc.key}", exc.reason) from None
    return Settings(
        source=file,
        data_dir=root,
        web_host=web_host,
        web_port=_port(web, port),
        language=_choice(web, "language", LANGUAGES, "zh"),
        timezone=timezone,
        store_backend=_store_backend(store, store_url),
        retention=_retention(store.child("retention")),
        store_options=_store_options(store),
        spool=_spool(store.child("spool")),
        ledger_url=ledger.get("url", str) or f"sqlite:///{root / 'ledger.sqlite'}",
        max_workers=_positive_int(sched, "max_workers", DEFAULTS["max_workers"]),
        targets=_targets(top, sched),
        audit_hash=_choice(ledger, "audit_hash", AUDIT_ALGORITHMS, "sha256"),
        analysis=analysis,
        analysis_schedule=schedule,
        security=parse_security(top.child("security"), root, web_host),
        zone=parse_zone(top.child("zone"), base, ConfigError),
    )


def _data_dir(top: _Reader, base: Path | None, flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser().resolve()
    configured = top.get("data_dir", str)
    if configured:
        path = Path(configured).expanduser()
        return (path if path.is_absolute() else (base or Path.cwd()) / path).resolve()
    return Path(os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR).expanduser().resolve()


def _port(web: _Reader, flag: int | None) -> int:
    value = flag if flag is not None else web.get("port", int, 8080)
    if not 0 <= value <= 65535:
        raise ConfigError(web.file, web.key("port"), f"must be 0-65535, got {value}")
    return value


def _timezone(web: _Reader) -> str:
    name = web.get("timezone", str, "Asia/Shanghai")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(web.file, web.key("timezone"),
                          f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"
                          ) from None
    return name


def _choice(reader: _Reader, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = reader.get(name, str, default)
    if value not in allowed:
        raise ConfigError(reader.file, reader.key(name),
                          f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _positive_int(reader: _Reader, name: str, default: int) -> int:
    value = reader.get(name, int, default)
    if value < 1:
        raise ConfigError(reader.file, reader.key(name), f"must be at least 1, got {value}")
    return value


def _store_backend(store: _Reader, flag: str | None) -> str:
    value = flag or store.get("backend", str, "embedded")
    if value != "embedded":
        try:
            if value.startswith("victoriametrics://"):
                parse_victoria_url(value)
            else:
                parse_store_url(value)
        except ValueError as exc:
            file, key = ("(command line)", "--store") if flag else (store.file,
                                                                     store.key("backend"))
            raise ConfigError(file, key, str(exc)) from None
    return value


def _store_options(store: _Reader) -> dict[str, Any]:
    return {"password_env": store.get("password_env", str, "INFLUXDB_PASSWORD"),
            "token_env": store.get("token_env", str, "INFLUXDB_TOKEN"),
            "timeout": store.duration("timeout", 10.0),
            "use_gzip": store.get("gzip", bool, True),
            "manage_schema": store.get("manage_schema", bool, True),
            "ca_file": store.get("ca_file", str)}


def _spool(reader: _Reader) -> dict[str, float]:
    reader.check_known({"max_bytes", "max_age", "fsync"})
    try:
        max_bytes = parse_size(reader.data.get("max_bytes", "10GiB"))
    except ValueError as exc:
        raise ConfigError(reader.file, reader.key("max_bytes"), str(exc)) from None
    if max_bytes < 2**20:
        raise ConfigError(reader.file, reader.key("max_bytes"), "must be at least 1MiB")
    return {"max_bytes": max_bytes, "max_age_seconds": reader.duration("max_age", 7 * 86400.0),
            "fsync_seconds": reader.duration("fsync", 1.0)}


def _retention(reader: _Reader) -> dict[str, float]:
    reader.check_known(set(TIER_NAMES))
    out = {tier: reader.duration(tier, DEFAULTS["retention"][tier]) for tier in TIER_NAMES}
    for finer, coarser in zip(TIER_NAMES, TIER_NAMES[1:]):
        if out[coarser] < out[finer]:
            raise ConfigError(reader.file, reader.key(coarser),
                              f"must be at least the {finer} retention")
    if out["raw"] < 3600:
        raise ConfigError(reader.file, reader.key("raw"), "must be at least 1h")
    return out


def _targets(top: _Reader, sched: _Reader) -> tuple[TargetConfig, ...]:
    interval = sched.duration("interval", DEFAULTS["interval"])
    timeout = sched.duration("timeout", DEFAULTS["timeout"])
    jitter = sched.duration("jitter", DEFAULTS["jitter"])
    raw = top.data.get("targets")
    if raw is None:
        raw = [{"name": socket.gethostname(), "kind": "host"}]
    if not isinstance(raw, list):
        raise ConfigError(top.file, "targets", "expected a list of targets")
    targets, names = [], set()
    for index, item in enumerate(raw):
        target = _target(_Reader(top.file, item, f"targets[{index}]"), interval, timeout, jitter)
        if target.name in names:
            raise ConfigError(top.file, f"targets[{index}].name",
                              f"duplicate target name {target.name!r}")
        names.add(target.name)
        targets.append(target)
    return tuple(targets)


def _target(reader: _Reader, interval: float, timeout: float, jitter: float) -> TargetConfig:
    reader.check_known({"name", "kind", "interval", "timeout", "jitter", "tags", "options",
                        "zone"})
    name = reader.get("name", str)
    if not name or not TARGET_NAME.match(name):
        raise ConfigError(reader.file, reader.key("name"),
                          "required; 1-128 characters without spaces, '/', '?', '#' or '%'")
    _check_storable(reader, "name", name, "目标名", "the target name")  # it is the target tag
    kind = reader.get("kind", str)
    try:
        collector = get_collector(kind or "")
    except KeyError as exc:
        raise ConfigError(reader.file, reader.key("kind"), exc.args[0]) from None
    target_interval = reader.duration("interval", interval)
    if target_interval < 1:
        raise ConfigError(reader.file, reader.key("interval"), "must be at least 1s")
    target_timeout = reader.duration("timeout", None)
    if target_timeout is None:
        target_timeout = min(timeout, target_interval)
    elif not 0 < target_timeout <= target_interval:
        raise ConfigError(reader.file, reader.key("timeout"),
                          f"must be above 0 and at most the interval ({target_interval:g}s)")
    tags = reader.get("tags", dict, {})
    for key, value in tags.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ConfigError(reader.file, reader.key(f"tags.{key}"),
                              f"expected a string, got {value!r}")
        _check_storable(reader, f"tags.{key}", str(key), "标签名", "a tag key")
        _check_storable(reader, f"tags.{key}", str(value), "标签值", "a tag value")
    try:
        options = collector.resolve_options(reader.get("options", dict, {}))
        collector.validate(options)
    except OptionError as exc:
        raise ConfigError(reader.file, reader.key(f"options.{exc.key}"), exc.reason) from None
    zone = check_zone_name(reader, reader.data.get("zone", DEFAULT_ZONE), ConfigError)
    return TargetConfig(name, kind, target_interval, target_timeout,
                        reader.duration("jitter", jitter), {str(k): str(v) for k, v in
                                                            tags.items()}, options, zone)
