"""Benchmark: points/s from the spool into influxd against a bare POST of the same bytes.

Starts its own influxd (Debian influxdb 1.6) on a free loopback port, prepares the same
line protocol for both paths, and prints both rates and their ratio (goal: >= 0.9).
It also prints the serializer's cost per sample. Run: python -m bench.spool_influx
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import statistics
import tempfile
import time
from pathlib import Path

from core.observation import Sample
from monitor.lineprotocol import Serializer
from monitor.spool import Spool
from monitor.store.influx import InfluxStore
from monitor.writer import StoreWriter
from tests.servers import InfluxServer


def make_samples(series: int, steps: int, start_s: int, measurement: str) -> list[Sample]:
    """``series`` interface-like series, ``steps`` timestamps 15 s apart."""
    out = []
    for step in range(steps):
        t = (start_s + 15 * step) * 10**9
        for i in range(series):
            out.append(Sample(measurement, {"target": f"sw{i // 48}", "ifName": f"ge-0/0/{i % 48}",
                                            "department": "大数据局"},
                              {"in_octets": float(step * 1000 + i), "out_octets": 7.0 * step,
                               "oper_status": 1.0}, t))
    return out


def batches(samples: list[Sample], per_batch: int) -> list[tuple[bytes, int]]:
    serializer = Serializer()
    return [(serializer.serialize(samples[i:i + per_batch]), len(samples[i:i + per_batch]))
            for i in range(0, len(samples), per_batch)]


def bare_post(server: InfluxServer, database: str, payloads, use_gzip: bool) -> float:
    """POST each batch as it is; return seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Content-Encoding": "gzip"} if use_gzip else {}
    started = time.perf_counter()
    for data, _ in payloads:
        body = gzip.compress(data, compresslevel=1) if use_gzip else data
        conn.request("POST", f"/write?db={database}&precision=ns", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 204, response.status
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def through_spool(server: InfluxServer, database: str, payloads, folder: Path,
                  use_gzip: bool) -> float:
    """Fill a spool with the batches, then time the writer draining it into influxd."""
    spool = Spool(folder)
    for data, lines in payloads:
        spool.append(data, lines)
    store = InfluxStore(server.store_url(database), use_gzip=use_gzip)
    writer = StoreWriter(store, spool, batch_bytes=len(payloads[0][0]), flush_seconds=0.001)
    started = time.perf_counter()
    writer.start()
    assert writer.flush(600), "spool did not drain"
    elapsed = time.perf_counter() - started
    writer.stop()
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5000, help="lines per POST")
    parser.add_argument("--no-gzip", action="store_true")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate bare and spool this many times")
    args = parser.parse_args()
    use_gzip = not args.no_gzip
    with tempfile.TemporaryDirectory() as tmp:
        server = InfluxServer(Path(tmp) / "influxd").start()
        try:
            start = int(time.time()) - 86400
            samples = make_samples(args.series, args.steps, start, "ifstats")
            t0 = time.perf_counter()
            payloads = batches(samples, args.batch)
            serialize_us = (time.perf_counter() - t0) / len(samples) * 1e6
            total = len(samples)
            bare, spooled = [], []
            # Alternate the two paths, each into a fresh database, so influxd's background
            # compaction of one round weighs on both paths alike.
            for round_ in range(args.rounds):
                for name, runs in (("bare", bare), ("spooled", spooled)):
                    database = f"{name}{round_}"
                    InfluxStore(server.store_url(database)).close()
                    if name == "bare":
                        runs.append(bare_post(server, database, payloads, use_gzip))
                    else:
                        runs.append(through_spool(server, database, payloads,
                                                  Path(tmp) / f"spool{round_}", use_gzip))
        finally:
            server.stop()
    print(f"points: {total} ({args.series} series x {args.steps} steps, 3 fields each), "
          f"{args.batch} lines per batch, gzip={use_gzip}")
    print(f"serializer: {serialize_us:.2f} us per sample (escaped series key cached)")
    print(f"{'path':<26}{'best s':>8}{'median s':>10}{'best pts/s':>13}{'median pts/s':>14}")
    for name, runs in (("bare POST (same bytes)", bare), ("spool -> influxd", spooled)):
        best, median = min(runs), statistics.median(runs)
        print(f"{name:<26}{best:>8.2f}{median:>10.2f}{total / best:>13,.0f}"
              f"{total / median:>14,.0f}")
    print(f"ratio spool/bare: best {min(bare) / min(spooled):.2f}, median "
          f"{statistics.median(bare) / statistics.median(spooled):.2f} (goal >= 0.90)")


if __name__ == "__main__":
    main()
