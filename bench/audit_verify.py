"""``audit verify`` on a ledger of N census rows: the keyed chain, checkpoints and the replay
of the change log over the census tables (figures printed, nothing asserted).

    python -m bench.audit_verify [--rows 100000] [--ledger URL]

Imports N devices (bench.census's workbook) with a chain key and checkpoints, then times:
1. the chain alone (HMAC of every record, the head, every checkpoint);
2. the full verify: the same plus the replay compared with every census row.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

from bench.census import timed, workbook
from ledger.census import audit
from ledger.census.anchor import AuditChain
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.db import Ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--ledger", help="ledger URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        chain = AuditChain("sha256", f"file:{root / 'audit.key'}",
                           root / "audit-checkpoints.jsonl", create_key=True)
        ledger = Ledger(args.ledger or f"sqlite:///{root / 'ledger.sqlite'}")
        book = root / "devices.xlsx"
        workbook(book, args.rows)
        timed("import (keyed chain, checkpoint)", lambda: CensusService(
            ledger.engine, algorithm=chain).apply(read_file(book)))
        with ledger.engine.connect() as conn:
            chain_only = timed("verify: chain, head, checkpoints",
                               lambda: audit.verify(conn, chain=chain, census=False))
            full = timed("verify: + replay over the census tables",
                         lambda: audit.verify(conn, chain=chain))
        print(f"records {full.records}, problems {len(chain_only.problems) + len(full.problems)},"
              f" peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        ledger.close()


if __name__ == "__main__":
    main()
