"""Page latency under concurrent clients on a generated ledger (figures printed, nothing
asserted).

    python -m bench.pages [--assets 10000] [--days 30] [--clients 20] [--requests 10]
                          [--ledger URL]

A generated estate (``bench/estate.py``: census, observed assets, target polls, daily
summaries of ``--days`` days, samples of two targets, then the daily analyses) is served by
the real app in a child process (werkzeug, threaded, loopback). ``--clients`` threads then
request each page ``--requests`` times each with an estate-wide API token (operator,
census coordinator, finance and leadership roles), one page after another; every page is
requested once first (the leadership screen keeps its analyses for a minute, as twenty
displays on a wall would find them). ``/healthz`` is measured before and after the pages
in the same run. Printed per page: p50, p95, max in milliseconds and the ratio of its p95
to /healthz's (the goal: under 10x).
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import statistics
import tempfile
import threading
import time

PAGES = ("/estate", "/targets", "/targets/sw-core", "/targets/sw-core?range=1w",
         "/search?q=SN00000012", "/observed/{asset}", "/overview", "/screen",
         "/census?category=device", "/census/device/DEV000001", "/findings",
         "/findings?kind=idle", "/graph", "/graph/department/D001",
         "/graph/information_system/IS-D001", "/graph/device/DEV000001")
ROLES = {"operator", "census_admin", "finance", "leader"}


def serve(folder: str, assets: int, days: int, ledger_url: str | None, ready) -> None:
    """Child process: fill the estate, serve the app on a free port, report the port."""
    import logging

    from werkzeug.serving import make_server

    from bench.estate import fill
    from dashboards import create_app
    from dashboards.access import services
    from ledger.db import Ledger
    from ledger.identity.service import Context
    from monitor.config import parse_settings
    from monitor.store import open_configured_store

    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no line per request
    settings = parse_settings({}, "(bench)", data_dir=folder)
    ledger = Ledger(ledger_url or settings.ledger_url)
    store = open_configured_store(settings)
    started = time.perf_counter()
    estate = fill(ledger, store, settings, assets=assets, days=days)
    filled = time.perf_counter() - started
    app = create_app({"SETTINGS": settings, "LEDGER": ledger, "STORE": store})
    ctx = Context("bench", "127.0.0.1")
    with app.app_context():
        identity = services().identity
        identity.create_user(ctx, "bench", password="Load-Test-2026!x",
                             must_change_password=False)
        identity.grant(ctx, "bench", ROLES, None)
        token = services().sessions.create_token(ctx, "bench", "bench", ROLES, None, 86400.0)
    with ledger.engine.connect() as conn:
        from sqlalchemy import text
        asset = conn.execute(text("select min(id) from observed_asset")).scalar()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    ready.send({"port": httpd.server_port, "token": token, "asset": asset,
                "fill_seconds": round(filled, 1), "assets": estate.assets})
    httpd.serve_forever()


def hit(port: int, token: str, path: str) -> float:
    """One GET; its latency in seconds (a non-200 answer stops the run)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return elapsed


def measure(port: int, token: str, path: str, clients: int, requests: int) -> list[float]:
    """Latencies of ``clients`` threads requesting ``path`` ``requests`` times each."""
    out: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(requests):
            latency = hit(port, token, path)
            with lock:
                out.append(latency)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--ledger", help="ledger URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        receive, send = multiprocessing.Pipe(duplex=False)
        child = multiprocessing.get_context("spawn").Process(
            target=serve, args=(folder, args.assets, args.days, args.ledger, send), daemon=True)
        child.start()
        send.close()     # the child holds the only sending end: its death ends recv()
        try:
            info = receive.recv()
            print(f"estate: {info['assets']} observed assets, {args.days} days of summaries, "
                  f"filled in {info['fill_seconds']} s; {args.clients} clients x "
                  f"{args.requests} requests per page")
            port, token = info["port"], info["token"]
            pages = [p.format(asset=info["asset"]) for p in PAGES]
            for path in ["/healthz", *pages]:
                hit(port, token, path)          # warm: caches, plotly.js, imports
            results = {"/healthz": measure(port, token, "/healthz", args.clients, args.requests)}
            for path in pages:
                results[path] = measure(port, token, path, args.clients, args.requests)
            results["/healthz"] += measure(port, token, "/healthz", args.clients, args.requests)
            report(results)
        finally:
            child.terminate()
            child.join(10)


def report(results: dict[str, list[float]]) -> None:
    """Print p50, p95 and max per page, and each p95 against /healthz's."""
    base = p95(results["/healthz"])
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/healthz':>12}")
    for path, values in results.items():
        print(f"{path:40} {statistics.median(values) * 1000:8.1f} {p95(values) * 1000:8.1f} "
              f"{max(values) * 1000:8.1f} {p95(values) / base:11.1f}x")


if __name__ == "__main__":
    main()
