"""SNMP collector: switches, routers, firewalls, UPS/PDU, storage and server BMCs.

Measurements (tags; fields with units):

- ``snmp``: ``uptime_seconds`` (sysUpTime), ``varbinds`` read this poll,
  ``max_repetitions`` (GETBULK size after adapting to the agent).
- ``interface`` (``ifindex``, ``ifname``): ``speed_bps``, ``admin_up``, ``oper_up``,
  counters ``rx_bytes``, ``tx_bytes``, ``rx_packets``, ``tx_packets``, ``rx_errors``,
  ``tx_errors``, ``rx_discards``, ``tx_discards``; rates ``<counter>_per_second``;
  ``rx_utilization_percent``, ``tx_utilization_percent``. 64-bit counters where the agent
  has them; rates survive 32-bit wraps, are dropped after a reboot (sysUpTime going back)
  and never negative (a counter going backwards otherwise gives no rate).
- ``cpu`` (``cpu`` = hrProcessorTable index or ``cpu-total``): ``usage_percent``.
- ``storage`` (``index``, ``type`` = ram, virtual_memory, fixed_disk, …, ``descr``):
  ``size_bytes``, ``used_bytes``, ``free_bytes``, ``used_percent``.
- ``ups``: ``battery_status`` (1 unknown, 2 normal, 3 low, 4 depleted),
  ``seconds_on_battery``, ``runtime_seconds``, ``charge_percent``, ``battery_voltage_volts``,
  ``battery_temperature_celsius``, ``output_source``, ``output_frequency_hertz``;
  ``ups_input`` (``line``): ``voltage_volts``, ``frequency_hertz``; ``ups_output``
  (``line``): ``voltage_volts``, ``current_amperes``, ``power_watts``, ``load_percent``.

One fact of kind ``device``: keys ``serial_number`` (chassis; never a placeholder),
``mac`` (interface MACs), ``mgmt_ip`` (the polled address), ``hostname`` (sysName);
attributes ``vendor`` (from the enterprise number, refined by the profile),
``enterprise_number``, ``os``, ``device_type``, ``model``, ``profile``, ``sys_descr``,
``sys_object_id``, ``location``, ``contact``, ``ip_addresses``, ``interface_count``,
``interfaces`` (index, name, descr, alias, ifType, speed, MAC, admin/oper state),
``cpu_models``, ``memory_bytes``, ``entities`` (every ENTITY-MIB entity with a serial, and
chassis, modules, power supplies, fans without one), ``notes`` (implausible figures left
out). Inventory tables are re-read every ``inventory_interval``; the fact is repeated in
between.

Example output::

    {"type": "sample", "measurement": "interface", "tags": {"ifindex": "6", "ifname":
     "GigabitEthernet0/0/1"}, "fields": {"speed_bps": 1000000000.0, "oper_up": 1, ...}}
"""

from __future__ import annotations

import asyncio
import time

from collectors.base import STATUS_PARTIAL, Collector, Fact, Observation, Option, OptionError
from collectors.base import Sample
from collectors.identity import clean_keys, is_placeholder_serial
from collectors.rates import RateTracker
from collectors.registry import register_collector
from collectors.snmp import ber, mapping, mibs, plausible
from collectors.snmp.client import SnmpError, SnmpSession, SnmpTarget
from collectors.snmp.loop import call_soon, run
from collectors.snmp.profiles import ProfileError, candidates, enterprise_of, load_enterprises
from collectors.snmp.profiles import load_profiles, model_from
from collectors.secrets import resolve_option

INVENTORY_TABLES = ("entity", "ip", "hr_device")
#: Notes on implausible figures kept in the fact, at most.
MAX_NOTES = 20
RATE_COUNTERS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors",
                 "rx_discards", "tx_discards")


@register_collector
class SnmpCollector(Collector):
    """Polls one SNMP agent."""

    kind = "snmp"
    description = "An SNMP agent (v1, v2c, v3): interfaces, CPU, storage, UPS and inventory"
    options = (
        Option("host", str, required=True, help="agent address"),
        Option("port", int, 161, help="agent UDP port"),
        Option("version", str, "2c", help="SNMP version: 1, 2c or 3"),
        Option("community", str, "public", secret=True,
               help="v1/v2c community, or env:NAME / file:PATH to read it from"),
        Option("user", str, "", help="v3 user name"),
        Option("auth_protocol", str, "", help="v3 auth: MD5, SHA, SHA224, SHA256, SHA384, "
                                             "SHA512 (empty: noAuth)"),
        Option("auth_key", str, "env:SNMP_AUTH_KEY", secret=True,
               help="v3 auth passphrase, env:NAME or file:PATH"),
        Option("priv_protocol", str, "", help="v3 privacy: DES, AES, AES192, AES256 "
                                             "(empty: noPriv)"),
        Option("priv_key", str, "env:SNMP_PRIV_KEY", secret=True,
               help="v3 privacy passphrase, env:NAME or file:PATH"),
        Option("context", str, "", help="v3 context name"),
        Option("request_timeout", float, 2.0, help="seconds to wait for each response"),
        Option("retries", int, 1, help="resends after a request times out"),
        Option("max_repetitions", int, 25, help="GETBULK rows per request (adapts down)"),
        Option("concurrency", int, 4, help="walks in flight to this agent at once"),
        Option("bulk_columns", int, 8,
               help="columns of one table asked for in each GETBULK (1: walk one by one)"),
        Option("profile_dirs", list, [], help="extra folders of device profiles (YAML)"),
    )
    #: Seconds between re-reads of the inventory tables (ENTITY-MIB, addresses, devices).
    inventory_interval = 3600.0

    @classmethod
    def validate(cls, options) -> None:
        """Version, v3 protocols, secrets that resolve and profiles that load."""
        try:
            cls.make_target(options)
        except OptionError:
            raise
        except ValueError as exc:
            key, _, reason = str(exc).partition(": ")
            if key not in {o.name for o in cls.options}:
                key, reason = "options", str(exc)
            raise OptionError(key, reason) from None
        try:
            load_profiles(options["profile_dirs"])
            load_enterprises(options["profile_dirs"])
        except ProfileError as exc:
            raise OptionError("profile_dirs", str(exc)) from None

    @classmethod
    def secrets_used(cls, options) -> frozenset[str]:
        """v1/v2c use the community; v3 the auth and privacy keys its protocols need."""
        if options["version"] != "3":
            return frozenset({"community"})
        return frozenset(key for key, protocol in (("auth_key", "auth_protocol"),
                                                   ("priv_key", "priv_protocol"))
                         if options[protocol])

    @staticmethod
    def make_target(config) -> SnmpTarget:
        """The wire-level target of resolved options, secrets read (raises OptionError)."""
        if config["version"] not in ("1", "2c", "3"):
            raise OptionError("version", f"must be 1, 2c or 3, got {config['version']!r}")
        if config["version"] == "3":
            from collectors.snmp.usm import check_protocols
            check_protocols(config["user"], config["auth_protocol"], config["priv_protocol"])
        used = SnmpCollector.secrets_used(config)
        secret = {key: resolve_option(config, key) if key in used else ""
                  for key in ("community", "auth_key", "priv_key")}
        target = SnmpTarget(
            host=config["host"], port=config["port"], version=config["version"],
            community=secret["community"], timeout=config["request_timeout"],
            retries=config["retries"], max_repetitions=max(1, config["max_repetitions"]),
            context=config["context"], user=config["user"],
            auth_protocol=config["auth_protocol"].upper(), auth_key=secret["auth_key"],
            priv_protocol=config["priv_protocol"].upper(), priv_key=secret["priv_key"])
        if config["version"] == "3":
            from collectors.snmp.usm import check_target
            check_target(target)
        return target

    def setup(self) -> None:
        """Profiles, the wire target and the state kept between polls."""
        config = self.config
        self._profiles = load_profiles(config["profile_dirs"])
        self._enterprises = load_enterprises(config["profile_dirs"])
        self._target = self.make_target(config)
        self._session: SnmpSession | None = None
        self._rates = RateTracker()
        self._uptime: float | None = None
        self._inventory: dict = {}
        self._identity: dict = {}
        self._profile = None

    def collect(self) -> Observation:
        """Poll the agent once on the shared event loop."""
        try:
            return run(self._poll(), self.timeout)
        except SnmpError as exc:
            return Observation(status="timeout" if exc.kind == "timeout" else "error",
                               error=str(exc))

    def close(self) -> None:
        """Close the target's socket."""
        if self._session is not None:
            call_soon(self._session.close)
            self._session = None

    async def _walk_tables(self, names: list[str]) -> tuple[dict, list[str]]:
        gate = asyncio.Semaphore(max(1, self.config["concurrency"]))
        problems: list[str] = []
        per_request = max(1, self.config["bulk_columns"])

        async def walk(table: str, columns: dict[str, tuple[int, ...]]):
            async with gate:
                try:
                    found = await self._session.walk_columns(list(columns.values()))
                except SnmpError as exc:
                    if exc.kind in ("timeout", "walk"):
                        raise
                    problems.append(str(exc))
                    found = {}
            return table, {name: found.get(oid, []) for name, oid in columns.items()}

        jobs = []
        for table in names:
            items = list(mibs.TABLES[table].items())
            for start in range(0, len(items), per_request):
                jobs.append(walk(table, dict(items[start:start + per_request])))
        walked: dict[str, dict[str, list]] = {t: {} for t in names}
        for table, columns in await asyncio.gather(*jobs):
            walked[table].update(columns)
        return walked, problems

    async def _poll(self) -> Observation:
        if self._session is None:
            self._session = SnmpSession(self._target)
        obs = Observation()
        now = time.time()
        stamp = time.time_ns()
        system = await self._session.get(list(mibs.SYSTEM.values()))
        found = {name: system.get(oid, (None, None))[1] for name, oid in mibs.SYSTEM.items()}
        if found["sys_object_id"] is None and found["sys_descr"] is None:
            raise SnmpError("agent", "the agent answered without the system group "
                                     "(sysDescr, sysObjectID)")
        self._check_reboot(found["sys_uptime"])
        inventory_due = self.inventory.due()
        if inventory_due:
            self._profile = await self._pick_profile(found)
        tables = ["if", "ifx", "hr_storage", "hr_cpu"]
        ups_scalars = await self._session.get(list(mibs.UPS_SCALARS.values()))
        if ups_scalars:
            tables += ["ups_input", "ups_output"]
        if inventory_due:
            tables += list(INVENTORY_TABLES)
        walked, problems = await self._walk_tables(tables)
        vendor, vendor_varbinds = await self._vendor_figures(inventory_due)
        if inventory_due:
            components, counted = await self._components()
            vendor_varbinds += counted
            # Keep what the fact needs, not the walked tables (a thousand targets).
            _loads, cpu_models = mapping.processors({}, walked["hr_device"])
            self._inventory = {"entities": mapping.entities(walked["entity"]),
                               "ip_addresses": mapping.ip_addresses(walked["ip"]),
                               "cpu_models": cpu_models, "components": components}
            self.inventory.done()
        varbinds = len(system) + len(ups_scalars) + vendor_varbinds + sum(
            len(rows) for table in walked.values() for rows in table.values())
        interfaces = mapping.interfaces(walked["if"], walked["ifx"])
        self._interface_samples(obs, interfaces, now, stamp)
        self._host_samples(obs, walked, stamp)
        figures: dict[tuple, dict] = {}
        if ups_scalars:
            self._ups_figures(figures, mapping.ups(ups_scalars, walked["ups_input"],
                                                   walked["ups_output"]))
        for key, fields in vendor.items():   # a vendor's own figures are more precise
            figures.setdefault(key, {}).update(fields)
        for (measurement, tags), fields in figures.items():
            obs.add(measurement, dict(tags), fields, stamp)
        obs.add("snmp", {}, {"uptime_seconds": (found["sys_uptime"] or 0) / 100,
                             "varbinds": varbinds,
                             "max_repetitions": self._session.max_repetitions}, stamp)
        notes = [f"interface {e['index']} ({e['name']}): {e['note']}" for e in interfaces
                 if e["note"]] + self._drop_implausible(obs)
        obs.facts.append(self._fact(found, interfaces, ups_scalars, notes))
        self._rates.forget_untouched()
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems[:3])
        return obs

    @staticmethod
    def _drop_implausible(obs: Observation) -> list[str]:
        """Leave out figures no device can measure (see :mod:`plausible`); one note each."""
        notes = []
        for position, sample in enumerate(obs.samples):
            fields, found = plausible.check(sample.fields)
            if found:
                where = ",".join(f"{k}={v}" for k, v in sample.tags.items())
                notes += [f"{sample.measurement}{{{where}}}: {note}" for note in found]
                obs.samples[position] = Sample(sample.measurement, sample.tags, fields,
                                               sample.time)
        obs.samples[:] = [s for s in obs.samples if s.fields]
        return notes

    def _check_reboot(self, ticks) -> None:
        if ticks is None:
            return
        uptime = ticks / 100
        if self._uptime is not None and uptime < self._uptime:
            self._rates.reset()   # the device restarted: its counters started again
        self._uptime = uptime

    async def _pick_profile(self, found: dict):
        descr = mapping.text(found["sys_descr"]) or ""
        object_id = found["sys_object_id"] if isinstance(found["sys_object_id"], tuple) else None
        for rule in candidates(self._profiles, object_id, descr):
            if rule.probe is None or await self._session.get([rule.probe]):
                return rule
        return None

    def _interface_samples(self, obs: Observation, interfaces: list[dict], now: float,
                           stamp: int) -> None:
        for entry in interfaces:
            tags = {"ifindex": entry["index"], "ifname": entry["name"]}
            fields = {"speed_bps": entry["speed_bps"], "admin_up": entry["admin_up"],
                      "oper_up": entry["oper_up"]}
            speed = entry["speed_bps"]
            for name, (count, width) in entry["counters"].items():
                fields[name] = count
                limit = speed / 8 * 1.1 if speed and name.endswith("_bytes") else None
                rate = self._rates.rate((entry["index"], name), count, now,
                                        wrap_bits=32 if width == 32 else None, max_rate=limit)
                if rate is not None and name in RATE_COUNTERS:
                    fields[f"{name}_per_second"] = rate
            for direction in ("rx", "tx"):
                rate = fields.get(f"{direction}_bytes_per_second")
                if rate is not None and speed:
                    fields[f"{direction}_utilization_percent"] = min(100.0, rate * 8 / speed * 100)
            obs.add("interface", tags, {k: v for k, v in fields.items() if v is not None}, stamp)

    def _host_samples(self, obs: Observation, walked: dict, stamp: int) -> None:
        loads, _models = mapping.processors(walked["hr_cpu"], {})
        for index, load in loads:
            obs.add("cpu", {"cpu": index}, {"usage_percent": load}, stamp)
        if loads:
            obs.add("cpu", {"cpu": "cpu-total"},
                    {"usage_percent": sum(load for _i, load in loads) / len(loads)}, stamp)
        for entry in mapping.storage(walked["hr_storage"]):
            size, used = entry["size_bytes"], entry["used_bytes"]
            obs.add("storage", {"index": entry["index"], "type": entry["type"],
                                "descr": entry["descr"]},
                    {"size_bytes": size, "used_bytes": used, "free_bytes": max(0, size - used),
                     "used_percent": used / size * 100 if size else None}, stamp)

    @staticmethod
    def _ups_figures(figures: dict, ups: dict) -> None:
        figures[("ups", ())] = dict(ups["scalars"])
        for name, lines in (("ups_input", ups["inputs"]), ("ups_output", ups["outputs"])):
            for line in lines:
                figures[(name, (("line", line["line"]),))] = {
                    k: v for k, v in line.items() if k != "line" and v is not None}

    async def _vendor_figures(self, inventory_due: bool) -> tuple[dict, int]:
        """The profile's vendor metrics (and, when due, its identity objects)."""
        rule = self._profile
        if rule is None or not (rule.metrics or rule.identity or rule.tables):
            return {}, 0
        scalars = [m.oid for m in rule.metrics if m.oid]
        if inventory_due:
            scalars += [oid for _key, oid in rule.identity]
        found = await self._session.get(scalars) if scalars else {}
        if inventory_due:
            self._identity = {key: mapping.text(found[oid][1]) for key, oid in rule.identity
                              if oid in found}
        figures: dict[tuple, dict] = {}
        count = len(found)
        label_cache: dict = {}
        for metric in rule.metrics:
            labels: dict = {}
            if metric.oid:
                rows = [((), found.get(metric.oid))] if metric.oid in found else []
            else:
                rows, labels, walked = await self._metric_rows(metric, label_cache)
                count += walked
            for index, (_tag, value) in rows:
                value = _number(value)
                if value is None or value in metric.invalid:
                    continue
                tags = metric.tags + ((("index", mapping.index_text(index)),) if index else ())
                if labels.get(index):
                    tags += (("sensor", labels[index]),)
                figures.setdefault((metric.measurement, tags), {})[metric.field] = round(
                    value * metric.scale, 9)
        for table in rule.tables:
            count += await self._labelled(table, figures)
        return figures, count

    async def _metric_rows(self, metric, label_cache: dict) -> tuple[list, dict, int]:
        """A table metric's rows ``[(index, (tag, value))]``, its labels by index and the
        varbinds read; rows ``when`` excludes are left out. Label columns are read once
        per poll (``label_cache``): several metrics often share one (entPhysicalName)."""
        label = metric.label if metric.label not in label_cache else None
        columns = [c for c in (metric.column, label,
                               metric.when[0] if metric.when else None) if c]
        walked = await self._session.walk_columns(columns)
        cut = len(metric.column)
        rows = [(oid[cut:], (tag, value)) for oid, tag, value in walked.get(metric.column, [])]
        if label:
            label_cache[label] = {oid[len(label):]: mapping.text(value)
                                  for oid, _tag, value in walked.get(label, [])}
        labels = label_cache.get(metric.label, {}) if metric.label else {}
        if metric.when:
            column, equals = metric.when
            keep = {oid[len(column):] for oid, _tag, value in walked.get(column, [])
                    if value == equals}
            rows = [row for row in rows if row[0] in keep]
        return rows, labels, sum(len(v) for v in walked.values())

    async def _components(self) -> tuple[list[dict], int]:
        """The profile's inventory tables: one component per row (CPUs, memory, PSUs…)."""
        rule, found, count = self._profile, [], 0
        for table in rule.inventory if rule else ():
            walked = await self._session.walk_columns([oid for _name, oid in table.columns])
            count += sum(len(v) for v in walked.values())
            found += mapping.components(table, walked)
        return found, count

    async def _labelled(self, table, figures: dict) -> int:
        columns = [c for c in (table.label, table.value, table.unit, table.divisor) if c]
        walked = await self._session.walk_columns(columns)
        rows: dict[tuple, dict] = {}
        for name, column in (("label", table.label), ("value", table.value),
                             ("unit", table.unit), ("divisor", table.divisor)):
            for oid, _tag, value in walked.get(column, []) if column else []:
                rows.setdefault(oid[len(column):], {})[name] = value
        for index, row in rows.items():
            value, label = _number(row.get("value")), mapping.text(row.get("label"))
            if value is None or not label:
                continue
            divisor = _number(row.get("divisor")) or 1
            tags = (("sensor", label), ("unit", mapping.text(row.get("unit")) or ""),
                    ("index", mapping.index_text(index)))
            figures[(table.measurement, tags)] = {
                "value": round(value / divisor / table.divide, 9)}
        return sum(len(v) for v in walked.values())

    def _fact(self, found: dict, interfaces: list[dict], ups_scalars: dict,
              notes: list[str]) -> Fact:
        inventory = self._inventory
        entities = inventory.get("entities", [])
        box = mapping.chassis(entities) or {}
        descr = mapping.text(found["sys_descr"]) or ""
        components = inventory.get("components", [])
        cpus = [c for c in components if c["class"] == "cpu"]
        dimms = [c for c in components if c["class"] == "memory" and c.get("size_bytes")]
        # A BMC's own tables describe the server; HOST-RESOURCES may describe the BMC.
        cpu_models = [c["model"] for c in cpus if c.get("model")] or inventory.get(
            "cpu_models", [])
        ups = mapping.ups(ups_scalars, {}, {}) if ups_scalars else {}
        rule = self._profile
        identity = self._identity
        serial = identity.get("serial_number")
        if is_placeholder_serial(serial):   # the profile's serial object says "N/A"
            serial = box.get("serial") or serial
        keys, placeholders = clean_keys({
            "serial_number": serial, "mac": [e["mac"] for e in interfaces if e["mac"]],
            "mgmt_ip": self._target.host, "hostname": mapping.text(found["sys_name"])})
        object_id = found["sys_object_id"]
        object_id = object_id if isinstance(object_id, tuple) else None
        enterprise = enterprise_of(object_id)
        memory = sum(c["size_bytes"] for c in dimms) or (
            found["hr_memory_kib"] * 1024 if isinstance(found["hr_memory_kib"], int) else None)
        if memory is not None and not 0 < memory <= plausible.MAX_SIZE_BYTES:
            notes.append(f"memory {memory} bytes is not plausible; unknown")
            memory = None
        attributes = {
            # The enterprise number first: a profile only makes the vendor more precise.
            "vendor": rule.vendor if rule else (
                self._enterprises.get(enterprise) or box.get("manufacturer") or next(
                    (e["manufacturer"] for e in entities if e.get("manufacturer")), None)
                or ups.get("manufacturer")),
            "enterprise_number": enterprise,
            "os": rule.os if rule else None,
            "device_type": rule.device_type if rule else "other",
            "profile": rule.name if rule else None,
            "hardware": True if rule is not None and rule.hardware else None,
            "model": identity.get("model") or box.get("model") or ups.get("model")
            or model_from(rule, descr),
            "sys_descr": descr or None,
            "sys_object_id": ber.oid_text(object_id) if object_id else None,
            "location": mapping.text(found["sys_location"]),
            "contact": mapping.text(found["sys_contact"]),
            "software_version": identity.get("software_version") or box.get("software_rev"),
            "ip_addresses": inventory.get("ip_addresses", []),
            "interface_count": len(interfaces),
            # ifName, ifDescr and ifAlias all kept: each names the port in another tool.
            "interfaces": [{k: e[k] for k in ("index", "name", "descr", "alias", "type",
                                              "speed_bps", "mac", "admin_up", "oper_up")
                            if e[k] is not None} for e in interfaces],
            "cpu_models": cpu_models,
            "memory_bytes": memory,
            "entities": mapping.assets(entities),
            "components": components,
            "cpu_count": len(cpus) or None,
            "cpu_cores": sum(c.get("cores", 0) for c in cpus) or None,
            "notes": notes[:MAX_NOTES] + ([f"... and {len(notes) - MAX_NOTES} more"]
                                          if len(notes) > MAX_NOTES else []),
            **placeholders,
        }
        return Fact("device", keys,
                    {k: v for k, v in attributes.items() if v not in (None, [], "")})


def _number(value) -> float | int | None:
    """A vendor figure as a number: integers, or text such as b"49.9" (Liebert)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bytes):
        try:
            number = float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None
