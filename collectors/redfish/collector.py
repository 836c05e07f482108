"""Redfish collector: a server's BMC through DMTF's redfish client library.

Measurements (tags; fields with units):

- ``power`` (``chassis``): ``consumed_watts`` (EnvironmentMetrics, else the legacy Power
  resource), ``capacity_watts``.
- ``power_supply`` (``chassis``, ``supply``): ``input_watts``, ``input_volts``,
  ``input_amperes``, ``output_watts`` (PowerSubsystem metrics, else legacy Power).
- ``temperature`` (``chassis``, ``sensor``): ``celsius`` (ThermalSubsystem metrics and the
  legacy Thermal resource).
- ``fan`` (``chassis``, ``fan``): ``speed_rpm`` and/or ``speed_percent``.
- ``server`` (``system``): ``power_on`` (1/0), ``health_ok`` (1/0).

One fact of kind ``server`` per ComputerSystem: keys ``serial_number``, ``machine_uuid``,
``mac``, ``hostname``, ``mgmt_ip`` (the BMC); attributes ``vendor``, ``model``, ``sku``,
``cpu_model``, ``cpu_sockets``, ``cpu_cores``, ``cpu_threads``, ``processors`` (model,
cores, threads, type per socket, GPUs and FPGAs included), ``memory_bytes``,
``memory_modules``, ``bios_version``, ``power_state``, ``bmc_model``, ``bmc_firmware``.

Both the old ``Power``/``Thermal`` and the new ``PowerSubsystem``/``ThermalSubsystem``
forms are read; where a chassis has both, supplies, temperatures and fans come from the new
form only (their names differ between the forms, so mixing would count them twice).
"""

from __future__ import annotations

import time
import urllib.parse

from collectors.base import (STATUS_ERROR, STATUS_PARTIAL, Collector, Fact, Observation, Option,
                             url_option)
from collectors.identity import clean_keys, drop_shared
from collectors.registry import register_collector
from collectors.secrets import resolve_option

GIB = 1024 ** 3
MIB = 1024 ** 2


def _int(value) -> int | None:
    """An integer property that may arrive as a number or as a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class RedfishError(Exception):
    """A failed request, with the path and what the BMC said."""


@register_collector
class RedfishCollector(Collector):
    """Polls one BMC."""

    kind = "redfish"
    description = "A server BMC over Redfish: inventory, power, temperatures, fans"
    options = (
        url_option("url", required=True, help="the BMC's base URL, e.g. https://10.0.9.21"),
        Option("username", str, "", help="BMC user"),
        Option("password", str, "env:REDFISH_PASSWORD", secret=True,
               help="env:NAME, file:PATH or a literal"),
        Option("verify_tls", bool, True, help="check the BMC's certificate"),
        Option("request_timeout", float, 10.0, help="seconds per request"),
        Option("retries", int, 1, help="resends of a failed request"),
    )

    @classmethod
    def validate(cls, options) -> None:
        """A password that resolves when a user is given."""
        if options["username"]:
            resolve_option(options, "password")

    def setup(self) -> None:
        """The password; the client connects on the first poll."""
        self._password = self.secret("password") if self.config["username"] else ""
        self._client = None

    def _connect(self):
        import redfish
        import urllib3

        if not self.config["verify_tls"]:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        client = redfish.redfish_client(
            base_url=self.config["url"], username=self.config["username"] or None,
            password=self._password or None, timeout=self.config["request_timeout"],
            max_retry=self.config["retries"] + 1, check_connectivity=False,
            cafile=None if self.config["verify_tls"] else "")
        if self.config["username"]:
            client.login(auth="session")
        return client

    def _get(self, path: str) -> dict:
        response = self._client.get(path)
        if response.status != 200:
            raise RedfishError(f"GET {path}: HTTP {response.status}")
        body = response.dict
        if not isinstance(body, dict):
            raise RedfishError(f"GET {path}: not a JSON object")
        return body

    def _members(self, path: str) -> list[dict]:
        collection = self._get(path)
        return [self._get(m["@odata.id"]) for m in collection.get("Members", [])
                if isinstance(m, dict) and "@odata.id" in m]

    def _link(self, resource: dict, key: str) -> str | None:
        value = resource.get(key)
        return value.get("@odata.id") if isinstance(value, dict) else None

    def collect(self) -> Observation:
        """Read the service once: systems, chassis and managers."""
        obs = Observation()
        stamp = time.time_ns()
        problems: list[str] = []
        try:
            if self._client is None:
                self._client = self._connect()
            root = self._get("/redfish/v1/")
        except Exception as exc:  # the library raises its own and requests' exceptions
            self._client = None
            return Observation(status=STATUS_ERROR, error=_reason(exc, self.config["url"]))
        managers = self._section(root, "Managers", problems) or []
        bmc = managers[0] if managers else {}
        for chassis in self._section(root, "Chassis", problems) or []:
            self._chassis(obs, chassis, stamp, problems)
        for system in self._section(root, "Systems", problems) or []:
            obs.add("server", {"system": system.get("Id", "")},
                    {"power_on": system.get("PowerState") == "On",
                     "health_ok": (system.get("Status") or {}).get("Health") == "OK"}, stamp)
            try:
                obs.facts.append(self._fact(system, bmc, problems))
            except (RedfishError, ValueError, KeyError, TypeError) as exc:
                problems.append(str(exc))
        # A multi-node chassis may hand every system the enclosure's serial.
        obs.facts = drop_shared(obs.facts, ["server"])
        if problems:
            obs.status, obs.error = STATUS_PARTIAL, "; ".join(problems[:3])
        return obs

    def _section(self, root: dict, key: str, problems: list[str]) -> list[dict] | None:
        path = self._link(root, key)
        if path is None:
            return None
        try:
            return self._members(path)
        except (RedfishError, ValueError, KeyError, TypeError) as exc:
            problems.append(str(exc))
            return None

    def _optional(self, resource: dict, key: str, problems: list[str]) -> dict | None:
        path = self._link(resource, key)
        if path is None:
            return None
        try:
            return self._get(path)
        except (RedfishError, ValueError) as exc:
            problems.append(str(exc))
            return None

    def _chassis(self, obs, chassis, stamp, problems) -> None:
        name = chassis.get("Id", "")
        environment = self._optional(chassis, "EnvironmentMetrics", problems) or {}
        legacy_power = self._optional(chassis, "Power", problems) or {}
        control = (legacy_power.get("PowerControl") or [{}])[0]
        consumed = _reading(environment.get("PowerWatts")) or control.get("PowerConsumedWatts")
        obs.add("power", {"chassis": name}, {"consumed_watts": consumed,
                                            "capacity_watts": control.get("PowerCapacityWatts")},
                stamp)
        self._supplies(obs, name, chassis, legacy_power, stamp, problems)
        self._thermal(obs, name, chassis, stamp, problems)

    def _supplies(self, obs, name, chassis, legacy_power, stamp, problems) -> None:
        subsystem = self._optional(chassis, "PowerSubsystem", problems)
        seen = set()
        if subsystem:
            path = self._link(subsystem, "PowerSupplies")
            for supply in (self._members(path) if path else []):
                metrics = self._optional(supply, "Metrics", problems) or {}
                label = supply.get("Name") or supply.get("Id", "")
                seen.add(label)
                obs.add("power_supply", {"chassis": name, "supply": label},
                        {"input_watts": _reading(metrics.get("InputPowerWatts")),
                         "input_volts": _reading(metrics.get("InputVoltage")),
                         "input_amperes": _reading(metrics.get("InputCurrentAmps")),
                         "output_watts": _reading(metrics.get("OutputPowerWatts"))}, stamp)
        for supply in [] if seen else legacy_power.get("PowerSupplies") or []:
            label = supply.get("Name") or supply.get("MemberId", "")
            obs.add("power_supply", {"chassis": name, "supply": label},
                    {"input_watts": supply.get("PowerInputWatts"),
                     "input_volts": supply.get("LineInputVoltage"),
                     "output_watts": supply.get("PowerOutputWatts")}, stamp)

    def _thermal(self, obs, name, chassis, stamp, problems) -> None:
        seen_temps, seen_fans = set(), set()
        subsystem = self._optional(chassis, "ThermalSubsystem", problems)
        if subsystem:
            metrics = self._optional(subsystem, "ThermalMetrics", problems) or {}
            for reading in metrics.get("TemperatureReadingsCelsius") or []:
                sensor = reading.get("DeviceName") or reading.get("DataSourceUri", "")
                seen_temps.add(sensor)
                obs.add("temperature", {"chassis": name, "sensor": sensor},
                        {"celsius": reading.get("Reading")}, stamp)
            path = self._link(subsystem, "Fans")
            for fan in (self._members(path) if path else []):
                label = fan.get("Name") or fan.get("Id", "")
                seen_fans.add(label)
                obs.add("fan", {"chassis": name, "fan": label},
                        {"speed_percent": _reading(fan.get("SpeedPercent")),
                         "speed_rpm": (fan.get("SpeedPercent") or {}).get("SpeedRPM")}, stamp)
        thermal = self._optional(chassis, "Thermal", problems) or {}
        for item in [] if seen_temps else thermal.get("Temperatures") or []:
            sensor = item.get("Name") or item.get("MemberId", "")
            obs.add("temperature", {"chassis": name, "sensor": sensor},
                    {"celsius": item.get("ReadingCelsius")}, stamp)
        for fan in [] if seen_fans else thermal.get("Fans") or []:
            label = fan.get("Name") or fan.get("MemberId", "")
            unit = fan.get("ReadingUnits")
            field = "speed_percent" if unit == "Percent" else "speed_rpm"
            obs.add("fan", {"chassis": name, "fan": label}, {field: fan.get("Reading")}, stamp)

    def _sub(self, system: dict, key: str, problems: list[str]) -> list[dict]:
        """A system's sub-collection; one that fails is named, the fact is still made."""
        path = self._link(system, key)
        if path is None:
            return []
        try:
            return self._members(path)
        except (RedfishError, ValueError, KeyError, TypeError) as exc:
            problems.append(str(exc))
            return []

    def _fact(self, system: dict, bmc: dict, problems: list[str]) -> Fact:
        processors = []
        for cpu in self._sub(system, "Processors", problems):
            processors.append({k: v for k, v in {
                "socket": cpu.get("Socket") or cpu.get("Id"), "type": cpu.get("ProcessorType"),
                "model": cpu.get("Model"), "manufacturer": cpu.get("Manufacturer"),
                "architecture": cpu.get("ProcessorArchitecture"),
                # Some services (sushy-tools, older BMCs) send numbers as strings.
                "cores": _int(cpu.get("TotalCores")), "threads": _int(cpu.get("TotalThreads")),
                "max_speed_mhz": _int(cpu.get("MaxSpeedMHz"))}.items() if v is not None})
        memory = []
        for dimm in self._sub(system, "Memory", problems):
            if _int(dimm.get("CapacityMiB")):
                memory.append({"id": dimm.get("Id"),
                               "capacity_bytes": _int(dimm["CapacityMiB"]) * MIB,
                               "type": dimm.get("MemoryDeviceType"),
                               "speed_mhz": dimm.get("OperatingSpeedMhz")})
        macs = []
        for nic in self._sub(system, "EthernetInterfaces", problems):
            mac = (nic.get("MACAddress") or nic.get("PermanentMACAddress") or "").lower()
            if mac:
                macs.append(mac)
        summary = system.get("ProcessorSummary") or {}
        cpus = [p for p in processors if p.get("type") in (None, "CPU")]
        total_memory = (system.get("MemorySummary") or {}).get("TotalSystemMemoryGiB")
        keys, placeholders = clean_keys({
            "serial_number": system.get("SerialNumber"), "machine_uuid": system.get("UUID"),
            "mac": macs, "hostname": system.get("HostName"),
            "mgmt_ip": urllib.parse.urlsplit(self.config["url"]).hostname})
        attributes = {
            "vendor": system.get("Manufacturer"), "model": system.get("Model"),
            "sku": system.get("SKU"), "system_id": system.get("Id"),
            "cpu_model": summary.get("Model") or (cpus[0].get("model") if cpus else None),
            "cpu_sockets": summary.get("Count") or len(cpus) or None,
            "cpu_cores": sum(p.get("cores", 0) for p in cpus) or summary.get("CoreCount"),
            "cpu_threads": summary.get("LogicalProcessorCount")
            or sum(p.get("threads", 0) for p in cpus) or None,
            "processors": processors,
            "memory_bytes": int(total_memory * GIB) if total_memory else
            sum(m["capacity_bytes"] for m in memory) or None,
            "memory_modules": memory, "bios_version": system.get("BiosVersion"),
            "power_state": system.get("PowerState"),
            "bmc_model": bmc.get("Model"), "bmc_firmware": bmc.get("FirmwareVersion"),
            **placeholders}
        return Fact("server", keys,
                    {k: v for k, v in attributes.items() if v not in (None, [], "")})

    def close(self) -> None:
        """Log out of the BMC's session."""
        if self._client is not None and self.config["username"]:
            try:
                self._client.logout()
            except Exception:  # a BMC that went away keeps its session until timeout
                pass
        self._client = None


def _reading(value) -> float | None:
    return value.get("Reading") if isinstance(value, dict) else None


def _reason(exc: Exception, url: str) -> str:
    text = str(exc) or type(exc).__name__
    return f"{url}: {text}"[:500]
