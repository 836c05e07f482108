"""A bounded SNMP sweep of a CIDR range: which addresses answer, and what they are.

Each address gets one GET of the system group (with the given version and credentials)
on the shared event loop, at most ``concurrency`` at a time. Answers are matched against
the device profiles, so a proposal says vendor, OS and device type.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress

from collectors.snmp import mapping, mibs
from collectors.snmp.client import SnmpError, SnmpSession, SnmpTarget
from collectors.snmp.profiles import candidates, load_profiles

MAX_HOSTS = 4096


def hosts(cidr: str, limit: int = MAX_HOSTS) -> list[str]:
    """The host addresses of ``cidr``; raises ValueError for a bad or too large range."""
    network = ipaddress.ip_network(cidr, strict=False)
    count = network.num_addresses - (2 if network.version == 4 and network.prefixlen < 31
                                     else 0)
    if count > limit:
        raise ValueError(f"{cidr} holds {count} addresses, more than the limit of {limit} "
                         "(split the range or raise --max-hosts)")
    return [str(address) for address in (network.hosts() if count else [network.network_address])]


async def _probe(template: SnmpTarget, address: str, gate: asyncio.Semaphore) -> dict | None:
    async with gate:
        session = SnmpSession(dataclasses.replace(template, host=address))
        try:
            found = await session.get([mibs.SYSTEM["sys_descr"], mibs.SYSTEM["sys_object_id"],
                                       mibs.SYSTEM["sys_name"]])
        except (SnmpError, OSError):
            return None
        finally:
            session.close()
    if not found:
        return None
    return {"address": address,
            "sys_name": mapping.text(found.get(mibs.SYSTEM["sys_name"], (0, None))[1]),
            "sys_descr": mapping.text(found.get(mibs.SYSTEM["sys_descr"], (0, None))[1]) or "",
            "sys_object_id": found.get(mibs.SYSTEM["sys_object_id"], (0, None))[1]}


async def sweep(addresses: list[str], template: SnmpTarget, *, concurrency: int = 256,
                profile_dirs: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """Every answering address with its system group and best profile, in address order."""
    rules = load_profiles(profile_dirs)
    gate = asyncio.Semaphore(max(1, concurrency))
    answers = await asyncio.gather(*(_probe(template, a, gate) for a in addresses))
    found = []
    for answer in answers:
        if answer is None:
            continue
        object_id = answer["sys_object_id"] if isinstance(answer["sys_object_id"], tuple) \
            else None
        matches = [r for r in candidates(rules, object_id, answer["sys_descr"]) if not r.probe]
        rule = matches[0] if matches else None
        answer.update(vendor=rule.vendor if rule else None, os=rule.os if rule else None,
                      device_type=rule.device_type if rule else "other")
        found.append(answer)
    return found
