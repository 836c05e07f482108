"""Configuration: load a YAML file, validate every key, and resolve defaults.

A bad configuration raises :class:`ConfigError` naming the file, the key (as a
path such as ``targets[2].interval``) and the reason; nothing is started from a
configuration that did not validate. The reference is ``config/example.yaml``.

Target options are checked by their collector (``Collector.configure``), which means
importing it. Processes that poll (the scheduler, ``check-config``, ``collect``, ``poll``)
do so; the web tier reads settings with ``check_targets=False`` and imports no collector:
it keeps each target's kind and options as written (checked for shape, not content) and
never uses the options. A bad option still stops the scheduler and ``check-config``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import unicodedata
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ledger.census.anchor import AuditChain
from ledger.census.const import AUDIT_ALGORITHMS
from ledger.census.messages import file_reason
from ledger.policy import AnalysisPolicy
from monitor.config_analysis import AnalysisConfigError, AnalysisSchedule, parse_analysis
from monitor.config_ledger import check_ledger_url
from monitor.config_reports import ReportsConfigError, ReportSettings, parse_reports
from monitor.config_zone import DEFAULT_ZONE, ZoneSettings, check_zone_name, parse_zone
from monitor.lineprotocol import RESERVED_KEY, TAG, storable_name
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

    @property
    def problems(self) -> list["ConfigError"]:
        """Every problem this error stands for (one, or all of :class:`ConfigErrors`)."""
        return [self]


class ConfigErrors(ConfigError):
    """Every problem found in one file, reported together (the first one's fields are
    this error's ``file``, ``key`` and ``reason``)."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.file, first.key, first.reason)
        self.errors = errors
        self.args = ("\n".join(str(e) for e in errors),)

    @property
    def problems(self) -> list[ConfigError]:
        return self.errors


class _Problems:
    """Collects the problems of independent parts of a file instead of stopping at the
    first; :meth:`check` raises them all at the end."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def attempt(self, parse: Callable[..., Any], *args, default: Any = None, **kwargs) -> Any:
        """``parse(*args, **kwargs)``, or ``default`` after recording its problems."""
        try:
            return parse(*args, **kwargs)
        except ConfigError as exc:
            self.errors.extend(exc.problems)
            return default

    def check(self) -> None:
        """Raise every recorded problem at once."""
        if self.errors:
            raise ConfigErrors(self.errors)


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
    #: ``env:NAME`` or ``file:PATH`` of the change log's key (see ledger.census.anchor).
    audit_key: str | None = None
    audit_checkpoints: Path | None = None
    analysis: AnalysisPolicy = dataclasses.field(default_factory=AnalysisPolicy)
    analysis_schedule: AnalysisSchedule = dataclasses.field(default_factory=AnalysisSchedule)
    security: SecuritySettings = dataclasses.field(default_factory=SecuritySettings)
    #: The ``alerts`` section as written; ``alerts.config.parse_alerts`` validates it (the
    #: alert package sits above this one), and ``config_dir`` resolves its relative paths.
    alerts: Any = None
    config_dir: Path | None = None
    reports: ReportSettings = dataclasses.field(default_factory=ReportSettings)
    zone: ZoneSettings = dataclasses.field(default_factory=ZoneSettings)
    #: What ``check-config`` reports without failing (secrets not readable on this machine).
    warnings: tuple[str, ...] = ()

    @property
    def store_path(self) -> Path:
        """Folder of the embedded time-series store."""
        return self.data_dir / "tsdb"

    @property
    def audit_chain(self) -> AuditChain:
        """How the change log is written and verified (key and checkpoints)."""
        default = f"file:{self.data_dir / 'audit.key'}"
        key = self.audit_key or default
        return AuditChain(self.audit_hash, key, self.audit_checkpoints or
                          self.data_dir / "audit-checkpoints.jsonl", create_key=key == default)

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
    elif any(unicodedata.category(char) in ("Cc", "Cf") for char in text):
        # Zero-width and bidi characters make two names that look alike differ.
        reason = (f"{what_zh}含不可见字符（控制符、零宽字符或双向控制符）({what_en} contains "
                  f"invisible characters: control, zero-width or bidi)")
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
                  store_url: str | None = None, unreadable_secrets: str = "error",
                  check_targets: bool = True) -> Settings:
    """Read and validate ``path`` (or the built-in default); flags override the file.

    ``check_targets=False`` leaves target options to their collectors (see the module doc)."""
    if path is None:
        return parse_settings({}, "(built-in default)", data_dir=data_dir, host=host, port=port,
                              store_url=store_url, unreadable_secrets=unreadable_secrets,
                              check_targets=check_targets)
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "(file)", f"无法读取：{file_reason(exc, 'zh')} (cannot read: "
                          f"{file_reason(exc, 'en')})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, "(file)", f"不是 UTF-8 文本 (not UTF-8 text: {exc.reason} at "
                          f"byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(file, "(syntax)", str(exc).replace("\n", " ")) from None
    return parse_settings(data, file, base=Path(path).resolve().parent, data_dir=data_dir,
                          host=host, port=port, store_url=store_url,
                          unreadable_secrets=unreadable_secrets, check_targets=check_targets)


def parse_settings(data: Any, file: str, *, base: Path | None = None,
                   data_dir: str | None = None, host: str | None = None,
                   port: int | None = None, store_url: str | None = None,
                   unreadable_secrets: str = "error", check_targets: bool = True) -> Settings:
    """Validate an already parsed mapping; see :func:`load_settings`. Every problem of the
    file is reported at once (:class:`ConfigErrors`). With ``unreadable_secrets="warn"``
    (``check-config``), a secret reference that cannot be read here is a warning in
    ``Settings.warnings``, not an error: the machine that runs the monitor has it."""
    top = _Reader(file, data, "")
    problems = _Problems()
    problems.attempt(top.check_known, {"data_dir", "web", "store", "ledger", "scheduler",
                                       "targets", "analysis", "security", "alerts",
                                        "reports", "zone"})
    web, store, ledger, sched = (problems.attempt(top.child, n, default=_Reader(file, {}, n))
                                 for n in ("web", "store", "ledger", "scheduler"))
    for reader, known in ((web, {"host", "port", "language", "timezone"}),
                          (store, {"backend", "retention", "spool", "password_env",
                                   "token_env", "timeout", "gzip", "manage_schema",
                                   "ca_file"}),
                          (ledger, {"url", "audit_hash", "audit_key", "audit_checkpoints"}),
                          (sched, {"interval", "timeout", "jitter", "max_workers"})):
        problems.attempt(reader.check_known, known)
    root = problems.attempt(_data_dir, top, base, data_dir, default=Path.cwd())
    web_host = host or problems.attempt(web.get, "host", str, "127.0.0.1", default="127.0.0.1")
    timezone = problems.attempt(_timezone, web, default="Asia/Shanghai")
    analysis = problems.attempt(_analysis, file, top, base, timezone,
                                default=(AnalysisPolicy(), AnalysisSchedule()))
    reports = problems.attempt(_reports, file, top, base, timezone, default=ReportSettings())
    zone = problems.attempt(lambda: parse_zone(top.child("zone"), base, ConfigError),
                            default=ZoneSettings())
    warnings: list[str] = []
    settings = Settings(
        source=file,
        data_dir=root,
        web_host=web_host,
        web_port=problems.attempt(_port, web, port, default=8080),
        language=problems.attempt(_choice, web, "language", LANGUAGES, "zh", default="zh"),
        timezone=timezone,
        store_backend=problems.attempt(_store_backend, store, store_url, default="embedded"),
        retention=problems.attempt(_retention, problems.attempt(
            store.child, "retention", default=_Reader(file, {}, "store.retention")),
            default=DEFAULTS["retention"]),
        store_options=problems.attempt(_store_options, store, default={}),
        spool=problems.attempt(_spool, problems.attempt(
            store.child, "spool", default=_Reader(file, {}, "store.spool")), default={}),
        ledger_url=problems.attempt(_ledger_url, ledger) or
        f"sqlite:///{root / 'ledger.sqlite'}",
        max_workers=problems.attempt(_positive_int, sched, "max_workers",
                                     DEFAULTS["max_workers"], default=1),
        targets=_targets(top, sched, problems, warnings if unreadable_secrets == "warn"
                         else None, check_targets),
        audit_hash=problems.attempt(_choice, ledger, "audit_hash", AUDIT_ALGORITHMS, "sha256",
                                    default="sha256"),
        audit_key=problems.attempt(_audit_key, ledger),
        audit_checkpoints=problems.attempt(_path, ledger, "audit_checkpoints", base),
        analysis=analysis[0],
        analysis_schedule=analysis[1],
        security=problems.attempt(parse_security, problems.attempt(
            top.child, "security", default=_Reader(file, {}, "security")), root, web_host,
            default=SecuritySettings()),
        alerts=top.data.get("alerts"),
        config_dir=base,
        reports=reports,
        zone=zone,
        warnings=tuple(warnings),
    )
    problems.check()
    return settings


def _reports(file: str, top: _Reader, base: Path | None, timezone: str) -> ReportSettings:
    try:
        return parse_reports(top.data.get("reports"), base, timezone)
    except ReportsConfigError as exc:
        raise ConfigError(file, f"reports.{exc.key}", exc.reason) from None


def _analysis(file: str, top: _Reader, base: Path | None,
              timezone: str) -> tuple[AnalysisPolicy, AnalysisSchedule]:
    try:
        return parse_analysis(top.data.get("analysis"), base, timezone)
    except AnalysisConfigError as exc:
        raise ConfigError(file, f"analysis.{exc.key}", exc.reason) from None


def _data_dir(top: _Reader, base: Path | None, flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser().resolve()
    configured = top.get("data_dir", str)
    if configured:
        path = Path(configured).expanduser()
        return (path if path.is_absolute() else (base or Path.cwd()) / path).resolve()
    return Path(os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR).expanduser().resolve()


def _audit_key(ledger: _Reader) -> str | None:
    value = ledger.get("audit_key", str)
    if value is not None and not (value.startswith("env:") and len(value) > 4 or
                                  value.startswith("file:") and len(value) > 5):
        raise ConfigError(ledger.file, ledger.key("audit_key"),
                          "密钥须写作 env:变量名 或 file:路径，不能直接写在配置中 (must be "
                          "env:NAME or file:PATH; the key never goes into the file itself)")
    if value is not None and value.startswith("file:"):
        value = f"file:{Path(value[5:]).expanduser()}"
    return value


def _path(reader: _Reader, name: str, base: Path | None) -> Path | None:
    value = reader.get(name, str)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base or Path.cwd()) / path


def _ledger_url(ledger: _Reader) -> str | None:
    value = ledger.get("url", str)
    if value:
        try:
            check_ledger_url(value)
        except ValueError as exc:
            raise ConfigError(ledger.file, ledger.key("url"), str(exc)) from None
    return value


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


def _targets(top: _Reader, sched: _Reader, problems: _Problems,
             warnings: list[str] | None, check: bool = True) -> tuple[TargetConfig, ...]:
    interval = problems.attempt(sched.duration, "interval", DEFAULTS["interval"],
                                default=DEFAULTS["interval"])
    timeout = problems.attempt(sched.duration, "timeout", DEFAULTS["timeout"],
                               default=DEFAULTS["timeout"])
    jitter = problems.attempt(sched.duration, "jitter", DEFAULTS["jitter"],
                              default=DEFAULTS["jitter"])
    raw = top.data.get("targets")
    if raw is None:
        raw = [{"name": socket.gethostname(), "kind": "host"}]
    if not isinstance(raw, list):
        problems.errors.append(ConfigError(top.file, "targets", "expected a list of targets"))
        return ()
    targets, names = [], set()
    for index, item in enumerate(raw):
        target = problems.attempt(lambda: _target(_Reader(top.file, item, f"targets[{index}]"),
                                                  interval, timeout, jitter, warnings, check))
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str) and name in names:   # also when the first one is wrong
            problems.errors.append(ConfigError(top.file, f"targets[{index}].name",
                                               f"duplicate target name {name!r}"))
        names.add(name)
        if target is not None:
            targets.append(target)
    return tuple(targets)


def _target(reader: _Reader, interval: float, timeout: float, jitter: float,
            warnings: list[str] | None = None, check: bool = True) -> TargetConfig:
    problems = _Problems()
    problems.attempt(reader.check_known, {"name", "kind", "interval", "timeout", "jitter",
                                          "tags", "options", "zone"})
    name = problems.attempt(_target_name, reader, default="")
    kind = problems.attempt(reader.get, "kind", str)
    collector = None
    if not kind:
        problems.errors.append(ConfigError(reader.file, reader.key("kind"),
                                           "required: the collector's kind"))
    elif check:   # the web tier (check=False) imports no collector
        collector = problems.attempt(_collector, reader, kind)
    target_interval = problems.attempt(_target_interval, reader, interval, default=interval)
    target_timeout = problems.attempt(_target_timeout, reader, timeout, target_interval,
                                      default=timeout)
    tags = problems.attempt(_tags, reader, default={})
    options = problems.attempt(_options, reader, collector, warnings, default={}) \
        if collector else problems.attempt(reader.get, "options", dict, {}, default={})
    target_jitter = problems.attempt(reader.duration, "jitter", jitter, default=jitter)
    zone = problems.attempt(check_zone_name, reader, reader.data.get("zone", DEFAULT_ZONE),
                            ConfigError, default=DEFAULT_ZONE)
    problems.check()
    return TargetConfig(name, kind, target_interval, target_timeout, target_jitter,
                        {str(k): str(v) for k, v in tags.items()}, options, zone)


def _target_name(reader: _Reader) -> str:
    name = reader.get("name", str)
    if not name or not TARGET_NAME.match(name):
        raise ConfigError(reader.file, reader.key("name"),
                          "required; 1-128 characters without spaces, '/', '?', '#' or '%'")
    _check_storable(reader, "name", name, "目标名", "the target name")  # it is the target tag
    return name


def _collector(reader: _Reader, kind: str | None):
    """The collector class of ``kind`` (importing the built-in collectors)."""
    from collectors import get_collector

    try:
        return get_collector(kind or "")
    except KeyError as exc:
        raise ConfigError(reader.file, reader.key("kind"), exc.args[0]) from None


def _target_interval(reader: _Reader, interval: float) -> float:
    target_interval = reader.duration("interval", interval)
    if target_interval < 1:
        raise ConfigError(reader.file, reader.key("interval"), "must be at least 1s")
    return target_interval


def _target_timeout(reader: _Reader, timeout: float, target_interval: float) -> float:
    target_timeout = reader.duration("timeout", None)
    if target_timeout is None:
        return min(timeout, target_interval)
    if not 0 < target_timeout <= target_interval:
        raise ConfigError(reader.file, reader.key("timeout"),
                          f"must be above 0 and at most the interval ({target_interval:g}s)")
    return target_timeout


def _tags(reader: _Reader) -> dict:
    tags = reader.get("tags", dict, {})
    problems = _Problems()
    for key, value in tags.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            problems.errors.append(ConfigError(reader.file, reader.key(f"tags.{key}"),
                                               f"expected a string, got {value!r}"))
            continue
        problems.attempt(_check_storable, reader, f"tags.{key}", str(key), "标签名", "a tag key")
        problems.attempt(_check_storable, reader, f"tags.{key}", str(value), "标签值",
                         "a tag value")
    problems.check()
    return tags


#: Stands in for a secret that cannot be read on the machine running ``check-config``,
#: so the rest of the target's options are still checked.
_PLACEHOLDER_SECRET = "check-config-placeholder-secret"


def _options(reader: _Reader, collector, warnings: list[str] | None) -> dict[str, Any]:
    """The target's options resolved and validated by its collector, once."""
    from collectors.base import OptionError, Options
    from collectors.secrets import resolve_secret

    try:
        options = collector.resolve_options(reader.get("options", dict, {}))
        checked = dict(options)
        if warnings is not None:
            used = collector.secrets_used(options)
            for option in (o for o in collector.options if o.secret and o.name in used):
                value = options.get(option.name)
                if not isinstance(value, str) or not value.startswith(("env:", "file:")):
                    continue
                try:
                    resolve_secret(value)
                except ValueError as exc:
                    warnings.append(f"{reader.file}: {reader.key(f'options.{option.name}')}: "
                                    f"{exc} (needed where the monitor runs)")
                    checked[option.name] = _PLACEHOLDER_SECRET
        collector.validate(checked)
    except OptionError as exc:
        raise ConfigError(reader.file, reader.key(f"options.{exc.key}"), exc.reason) from None
    return Options(collector.kind, options)
