"""Lookup latency: 50 concurrent API clients against one worker loaded with generated sales,
answered from the live tables, then the same mix answered from ClickHouse.

    .venv/bin/python bench/lookups.py
    .venv/bin/python bench/lookups.py --clients 50 --seconds 20 --orders-per-day 2000

It starts its own broker (or uses DATAAPP_KAFKA_BOOTSTRAP), generates 31 days of sales ending
today (as ``dataapp generate --out``), ingests them with ``dataapp ingest``, runs a worker
until every line is aggregated and in ClickHouse, signs in as an admin, and then has
``--clients`` aiohttp clients (one session, each client waiting for its answer before sending
the next request) send a mix of store summaries (a day, 7 days, 30 days), seller summaries,
hourly and daily series and product rankings for ``--seconds``, after a 2 s warm-up. It prints
p50/p95/p99/max latency, requests per second and errors, per kind too, and the same with one
client (the service time without queueing).

The second line restarts the worker with DATAAPP_LIVE_DAYS=0, so that only today is answered
from the live tables, and shifts every range one day back (the "day" is yesterday): every
figure then comes from ClickHouse (chDB, embedded in the worker).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common
from bench._common import (
    Workers,
    cpu_seconds,
    generate_csv,
    ingest_csv,
    metrics,
    percentile,
    wait_ready,
)
from tests.worker_tools import WorkerProcess, worker_environment

TARGET_P99_MS = 50.0
DAYS = 31
WARM_UP_S = 2.0
KINDS = (
    "store summary, day",
    "store summary, 7 days",
    "store summary, 30 days",
    "seller summary, 7 days",
    "series by hour, day",
    "series by day, 30 days",
    "product ranking, 30 days",
)


@dataclass
class Run:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    client_cpu: float = 0.0
    worker_cpu: float = 0.0
    server_seconds: float = 0.0
    server_requests: float = 0.0

    @property
    def all(self) -> list[float]:
        return sorted(value for values in self.latencies.values() for value in values)

    @property
    def requests(self) -> int:
        return len(self.all) + sum(self.errors.values())


def request_path(kind: str, store: str, seller: str, day: date) -> str:
    def span(days: int) -> str:
        return f"from={day - timedelta(days=days - 1)}&to={day}"

    store_path = f"/api/v1/stores/{store}"
    return {
        "store summary, day": f"/api/v1/stores/{store}/summary?{span(1)}",
        "store summary, 7 days": f"/api/v1/stores/{store}/summary?{span(7)}",
        "store summary, 30 days": f"/api/v1/stores/{store}/summary?{span(30)}",
        "seller summary, 7 days": f"/api/v1/sellers/{seller}/summary?{span(7)}",
        "series by hour, day": f"/api/v1/stores/{store}/timeseries?granularity=hour&{span(1)}",
        "series by day, 30 days": f"/api/v1/stores/{store}/timeseries?granularity=day&{span(30)}",
        "product ranking, 30 days": f"{store_path}/products?by=revenue&limit=20&{span(30)}",
    }[kind]


async def load(
    worker: WorkerProcess,
    token: str,
    sellers: dict[str, list[str]],
    day: date,
    clients: int,
    seconds: float,
) -> Run:
    """``clients`` closed-loop clients for ``seconds`` (after the warm-up); one request each
    at a time, kind, store and seller drawn at random."""
    assert worker.process is not None
    worker_pid = worker.process.pid
    base_url = worker.base_url
    run = Run()
    stores = sorted(sellers)
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    measuring = False
    stop = False

    async def client() -> None:
        while not stop:
            kind = rng.choice(KINDS)
            store = rng.choice(stores)
            path = request_path(kind, store, rng.choice(sellers[store]), day)
            started = time.perf_counter()
            try:
                async with session.get(base_url + path, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            if measuring and not stop:
                if status == 200:
                    run.latencies[kind].append(elapsed)
                else:
                    run.errors[f"{kind}: {status}"] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(client()) for _ in range(clients)]
        await asyncio.sleep(WARM_UP_S)
        before = await asyncio.to_thread(server_side, worker)
        measuring = True
        cpu_before = own_cpu(), cpu_seconds(worker_pid)
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        stop = True
        run.seconds = time.perf_counter() - started
        run.client_cpu = own_cpu() - cpu_before[0]
        run.worker_cpu = cpu_seconds(worker_pid) - cpu_before[1]
        await asyncio.gather(*tasks)
    after = await asyncio.to_thread(server_side, worker)
    run.server_seconds = after[0] - before[0]
    run.server_requests = after[1] - before[1]
    return run


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_side(worker: WorkerProcess) -> tuple[float, float]:
    """The worker's own request-latency histogram: seconds spent in handlers, requests."""
    figures = metrics(worker)
    return (
        figures.get("dataapp_http_request_seconds_sum", 0.0),
        figures.get("dataapp_http_request_seconds_count", 0.0),
    )


def report(title: str, run: Run, clients: int) -> None:
    values = run.all
    p50, p95, p99 = (1000 * percentile(values, q) for q in (0.50, 0.95, 0.99))
    errors = sum(run.errors.values())
    # The server-side mean excludes the /metrics reads that bracket the run (two requests).
    handler_ms = 1000 * run.server_seconds / max(run.server_requests, 1)
    print(
        f"{title:<22} {clients:>3} clients: {len(values):,} answers in {run.seconds:.1f} s = "
        f"{len(values) / run.seconds:,.0f} req/s; p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 "
        f"{p99:.1f} ms, max {1000 * values[-1]:.1f} ms; errors {errors}"
        + (f" {dict(run.errors)}" if errors else "")
    )
    print(
        f"{'':<22} handler time in the worker {handler_ms:.1f} ms on average; CPU: worker "
        f"{run.worker_cpu / run.seconds:.0%} of a core, load generator "
        f"{run.client_cpu / run.seconds:.0%}"
    )
    for kind in KINDS:
        kind_values = sorted(run.latencies[kind])
        if kind_values:
            print(
                f"{'':<24}{kind:<26} p50 {1000 * percentile(kind_values, 0.5):6.1f} ms  "
                f"p99 {1000 * percentile(kind_values, 0.99):6.1f} ms  "
                f"({len(kind_values):,})"
            )


def wait_loaded(worker: WorkerProcess, accepted: int, timeout: float) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        figures = metrics(worker)
        if (
            figures.get("dataapp_lines_processed_total", 0) >= accepted
            and figures.get("dataapp_history_lines_written_total", 0) >= accepted
        ):
            return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not take in {accepted:,} lines in time:\n{worker.tail()}")


async def measure(
    worker: WorkerProcess,
    token: str,
    sellers: dict[str, list[str]],
    day: date,
    args: argparse.Namespace,
) -> tuple[Run, Run]:
    single = await load(worker, token, sellers, day, 1, args.seconds / 2)
    loaded = await load(worker, token, sellers, day, args.clients, args.seconds)
    return single, loaded


def main_sync(args: argparse.Namespace, bootstrap: str, work: Path) -> int:
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=DAYS - 1)
    csv_path = generate_csv(work / "generated", DAYS, first_day.isoformat(), args.orders_per_day)
    prefix = f"benchl-{uuid.uuid4().hex[:6]}."
    env = worker_environment(bootstrap, work / "data", prefix, DATAAPP_LIVE_DAYS="35")
    summary, _ = ingest_csv(env, csv_path)
    accepted = summary["accepted"]
    print(
        f"data     : {DAYS} generated days {first_day} to {today} (seed 7, 8 stores, "
        f"{args.orders_per_day:,} orders a day), {accepted:,} lines"
    )
    results = {}
    with Workers() as workers:
        worker = workers.new(env, work / "worker.log")
        worker.start()
        wait_ready(worker)
        load_s = wait_loaded(worker, accepted, args.timeout)
        token = worker.add_user("bench-admin", "admin")
        span = f"from={first_day}&to={today}"
        stores = worker.get("/api/v1/stores", token)["stores"]
        sellers = {
            store: [
                row["seller_id"]
                for row in worker.get(f"/api/v1/stores/{store}/sellers?{span}", token)["sellers"]
            ]
            for store in stores
        }
        print(
            f"worker   : loaded in {load_s:.0f} s; {len(stores)} stores, "
            f"{sum(map(len, sellers.values()))} sellers"
        )
        results["live tables"] = asyncio.run(measure(worker, token, sellers, today, args))

        worker.stop()
        worker.env["DATAAPP_LIVE_DAYS"] = "0"
        worker.start()
        wait_ready(worker)
        results["ClickHouse"] = asyncio.run(
            measure(worker, token, sellers, today - timedelta(days=1), args)
        )
    print(f"mix      : {', '.join(KINDS)}; equal shares, random store and seller")
    for source, (single, loaded) in results.items():
        report(f"{source}", single, 1)
        report(f"{source}", loaded, args.clients)
        p99 = 1000 * percentile(loaded.all, 0.99)
        print(
            f"{'':<22} target p99 < {TARGET_P99_MS:.0f} ms with {args.clients} clients -> "
            f"{'met' if p99 < TARGET_P99_MS else 'NOT met'}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0, help="per measured run")
    parser.add_argument("--orders-per-day", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to load the worker")
    args = parser.parse_args()
    return _common.run_with_broker(lambda b, w: main_sync(args, b.bootstrap, w))


if __name__ == "__main__":
    sys.exit(main())
