"""Benchmark and coverage table: every recording of the LibreNMS corpus, polled once.

    python -m bench.corpus [--readme] [--files N] [--table]

Starts one snmpsim serving the corpus (``INFRA_LEDGER_SHARED`` / ``INFRA_LEDGER_SNMPREC_CORPUS``
move it), polls every recording once with the collector, as the corpus test does, and prints
the wall time of the whole run, the collector's CPU per recording and snmpsim's (the agent's
work is not ours), the slowest recordings, how many files are fully identified, and with
``--table`` the coverage table (vendor, type, serials, interfaces per file). ``--readme``
writes that table into ``collectors/snmp/README.md`` between its markers. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.snmp import cpu_of
from tests.collectors.snmp import corpus
from tests.collectors.snmp.test_corpus import poll
from tests.servers import SnmpSimServer

README = Path(__file__).resolve().parent.parent / "collectors" / "snmp" / "README.md"
BEGIN, END = "<!-- corpus-table:begin -->", "<!-- corpus-table:end -->"


def run(paths: list[Path]) -> tuple[list[dict], dict]:
    """Poll every recording once; rows of the coverage table and the timings."""
    rows, timings = [], {"per_file": []}
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        server = SnmpSimServer(Path(folder), [corpus.CORPUS], probe_community=paths[0].stem)
        server.start()
        timings["snmpsim_start_seconds"] = time.monotonic() - started
        try:
            agent_before, wall_before = cpu_of(server.proc.pid), time.monotonic()
            for path in paths:
                recording = corpus.read(path)
                cpu, wall = time.process_time(), time.monotonic()
                obs = poll(path.stem, server.port)
                timings["per_file"].append((path.stem, time.monotonic() - wall,
                                            time.process_time() - cpu))
                rows.append(corpus.coverage(path, recording, obs))
            timings["wall_seconds"] = time.monotonic() - wall_before
            timings["agent_cpu_seconds"] = cpu_of(server.proc.pid) - agent_before
        finally:
            server.stop()
    return rows, timings


def summary(rows: list[dict], timings: dict) -> str:
    """Totals: files fully identified, vendors, serials, timings."""
    per_file = timings["per_file"]
    cpu = sorted(c for _n, _w, c in per_file)
    wall = sorted(w for _n, w, _c in per_file)
    slowest = sorted(per_file, key=lambda item: -item[1])[:5]
    return "\n".join([
        corpus.counts(rows),
        f"snmpsim start {timings['snmpsim_start_seconds']:.1f} s; polls "
        f"{timings['wall_seconds']:.1f} s wall; collector CPU {sum(cpu):.2f} s "
        f"(median {cpu[len(cpu) // 2] * 1000:.1f} ms,"
        f" max {cpu[-1] * 1000:.0f} ms per recording); wall median "
        f"{wall[len(wall) // 2] * 1000:.0f} ms, max {wall[-1] * 1000:.0f} ms; snmpsim CPU "
        f"{timings['agent_cpu_seconds']:.1f} s",
        "slowest: " + ", ".join(f"{n} {w:.2f} s" for n, w, _c in slowest)])


def write_readme(text: str) -> None:
    """Replace the table between the markers of the collector's README."""
    content = README.read_text(encoding="utf-8")
    head, _sep, rest = content.partition(BEGIN)
    _old, _sep, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=0, help="only the first N recordings")
    parser.add_argument("--table", action="store_true", help="print the coverage table")
    parser.add_argument("--readme", action="store_true", help="write the table to the README")
    args = parser.parse_args()
    paths = corpus.files()[:args.files or None]
    rows, timings = run(paths)
    text = corpus.table(rows)
    if args.table:
        print(text)
    print(summary(rows, timings))
    if args.readme:
        write_readme(corpus.counts(rows) + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
