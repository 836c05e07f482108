"""``python -m monitor discover CIDR...``: a bounded SNMP sweep that proposes targets.

Prints a ``targets:`` YAML block to paste into the configuration: one ``snmp`` target per
answering address, named after sysName (or the address), with the credentials given as
the same references (``env:NAME``, ``file:PATH``) — never the secrets themselves — and
the device's vendor, OS and type as comments. Progress and the summary go to stderr.
"""

from __future__ import annotations

import argparse
import re
import sys

import yaml

from collectors import get_collector
from collectors.base import OptionError
from collectors.snmp.discover import hosts, sweep
from collectors.snmp.loop import run

REFERENCE_OPTIONS = ("community", "auth_key", "priv_key")


def _options(args: argparse.Namespace) -> dict:
    given = {}
    for option in get_collector("snmp").options:
        value = getattr(args, f"opt_{option.name}", None)
        if value is not None:
            given[option.name] = value
    return given


def run_discover(args: argparse.Namespace) -> int:
    """Sweep and print proposals; exit 2 on bad ranges or options, 1 if nothing answered."""
    collector = get_collector("snmp")
    given = _options(args)
    try:
        addresses = [a for cidr in args.cidr for a in hosts(cidr, args.max_hosts)]
        options = collector.configure({"host": "0.0.0.0", **given,
                                       "request_timeout": args.timeout,
                                       "retries": args.retries})
        template = collector.make_target(options)
    except (ValueError, OptionError) as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    print(f"sweeping {len(addresses)} addresses ({', '.join(args.cidr)})", file=sys.stderr)
    timeout = (args.timeout * (args.retries + 1) + 1) * (len(addresses) / args.concurrency + 1) + 30
    found = run(sweep(addresses, template, concurrency=args.concurrency,
                      profile_dirs=options["profile_dirs"]), timeout)
    print(f"{len(found)} of {len(addresses)} addresses answered", file=sys.stderr)
    if not found:
        return 1
    sys.stdout.write(render(found, given))
    return 0


def render(found: list[dict], given: dict) -> str:
    """The proposals as a configuration ``targets:`` block."""
    lines = ["targets:"]
    names: set[str] = set()
    for device in found:
        name = re.sub(r"[^\w.\-]", "-", device["sys_name"] or device["address"])[:100]
        if name in names:
            name = f"{name}-{device['address']}"
        names.add(name)
        options = {"host": device["address"]}
        options.update({k: v for k, v in given.items() if k not in ("host",)})
        entry = {"name": name, "kind": "snmp", "options": options}
        what = " ".join(filter(None, (device["vendor"], device["os"], device["device_type"])))
        lines.append(f"  # {device['address']}: {what or 'unknown device'}")
        block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False)
        lines += ["  " + line for line in block.splitlines()]
    return "\n".join(lines) + "\n"
