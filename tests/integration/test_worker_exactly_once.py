"""The worker on a real broker: killed with SIGKILL twice at random moments while sales stream
in, and frozen once past its session timeout, it still ends with every aggregate equal to a
recompute of the accepted input, to the cent, and ClickHouse holding each accepted line once.
And a restarted worker, whose tables rebuild from their changelogs, answers exactly as
before."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.records import Sale
from tables.totals import Totals
from tests.kafka_tools import read_records, read_topic
from tests.recompute import counters, naive_recompute
from tests.worker_tools import DATAAPP, REPO, WorkerProcess, dataapp, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FREEZE_SECONDS = 13.0
"""Longer than the worker's Kafka session timeout (10 s, ``app/worker.py``)."""
EVERYTHING = {"DATAAPP_LIVE_DAYS": "100000", "DATAAPP_RETENTION_DAYS": "100000"}
FULL_RANGE = "from=2000-01-01&to=2100-12-31"


def generated_sales(folder: Path, days: int, orders_per_day: int) -> Path:
    dataapp(
        dict(os.environ),
        "generate",
        "--out",
        str(folder),
        "--days",
        str(days),
        "--orders-per-day",
        str(orders_per_day),
        "--start",
        "2026-01-05",
        "--seed",
        "11",
    )
    return folder / "sales.csv"


def start_ingest(sales_csv: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``dataapp ingest`` of the file, in the background, while the test disrupts workers."""
    return subprocess.Popen(
        [*DATAAPP, "ingest", str(sales_csv), "--json", "--no-progress"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def finish_ingest(ingest: subprocess.Popen[str]) -> int:
    """Lines the ingest accepted, once it is done."""
    out, _ = ingest.communicate(timeout=300)
    assert ingest.returncode == 0
    return int(json.loads(out)["accepted"])


def wait_for_lines(worker: WorkerProcess, at_least: float, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.metric("dataapp_lines_processed_total") >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"never processed {at_least} lines:\n{worker.tail()}")


def wait_for_metric(worker: WorkerProcess, name: str, above: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.metric(name) <= above:
        assert time.monotonic() < deadline, f"{name} still {above} after {timeout} s"
        time.sleep(0.1)


def stores_total_lines(worker: WorkerProcess, token: str) -> int | None:
    """Lines in every store's summary; None while the worker cannot answer for every store
    (503: a rebalance, or a store's owner died and the group has not noticed yet)."""
    listing = worker.request("GET", "/api/v1/stores", token)
    if listing.status == 503:
        return None
    assert listing.status == 200, listing.body
    total = 0
    for store in listing.body["stores"]:
        answer = worker.request("GET", f"/api/v1/stores/{store}/summary?{FULL_RANGE}", token)
        if answer.status == 503:
            return None
        assert answer.status == 200, answer.body
        total += answer.body["lines"]
    return total


def wait_until_complete(
    worker: WorkerProcess, token: str, accepted: int, timeout: float = 300
) -> int:
    """Waits until every accepted line is in the tables and the history sink is at the end
    of the topics; returns the lines the tables hold (the caller checks them, so that a
    shortfall is reported key by key rather than as a timeout)."""
    deadline = time.monotonic() + timeout
    lines = caught_up = 0.0
    while time.monotonic() < deadline:
        lines = stores_total_lines(worker, token) or 0
        caught_up = worker.metric("dataapp_history_caught_up")
        if lines == accepted and caught_up == 1.0:
            break
        time.sleep(0.5)
    return int(lines)


def final_table(bootstrap: str, topic: str) -> dict[str, bytes]:
    """A table as its changelog says: the last committed value of each key."""
    return {
        key.decode(): value for key, value in asyncio.run(read_records(bootstrap, topic)) if key
    }


def history_figures(env: dict[str, str]) -> dict[str, list[int]]:
    """Per store: lines, distinct line ids, revenue, from ClickHouse. In a process of its own:
    one process owns a chDB folder, and this test process may hold another."""
    script = (
        "import json, sys\n"
        "from app.history.client import connect\n"
        "from app.settings import load_settings\n"
        "client = connect(load_settings().clickhouse_dsn)\n"
        "rows = client.query('SELECT store_id, count(), uniqExact(line_id), sum(revenue_cents) "
        "FROM sale_lines GROUP BY store_id').result_rows\n"
        "print(json.dumps({r[0]: [int(v) for v in r[1:]] for r in rows}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_killed_twice_and_frozen_once_the_worker_still_counts_every_line_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    sales_csv = generated_sales(tmp_path / "generated", days=26, orders_per_day=4000)
    env = worker_environment(kafka_bootstrap, tmp_path / "data", **EVERYTHING)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    seed = int(os.environ.get("DATAAPP_TEST_SEED", time.time_ns() % 10_000))
    rng = random.Random(seed)
    print(f"kill moments drawn with seed {seed} (DATAAPP_TEST_SEED={seed} repeats them)")

    worker.start()
    worker.wait_ready()
    ingest = start_ingest(sales_csv, env)
    try:
        for disruption in ("kill", "freeze", "kill"):
            lines_so_far = worker.metric("dataapp_lines_processed_total")
            wait_for_lines(worker, lines_so_far + rng.randint(5_000, 60_000))
            time.sleep(rng.random())
            if disruption == "kill":
                worker.kill(signal.SIGKILL)
                worker.start()
                worker.wait_ready()
            else:
                # Frozen past its session timeout (a long GC pause, an overloaded host), the
                # worker is dropped from its group and rejoins in mid-flight: a rebalance
                # with batches fetched, buffered and half-done.
                rebalances = worker.metric("dataapp_rebalances_total")
                worker.freeze(FREEZE_SECONDS)
                wait_for_metric(worker, "dataapp_rebalances_total", above=rebalances)
        accepted = finish_ingest(ingest)
        assert accepted >= 200_000, f"only {accepted} lines: the test needs at least 200,000"

        admin = worker.add_user("admin", "admin")
        in_tables = wait_until_complete(worker, admin, accepted)
        via_api = {
            store: worker.get(f"/api/v1/stores/{store}/summary?{FULL_RANGE}", admin)
            for store in worker.get("/api/v1/stores", admin)["stores"]
        }
    finally:
        worker.stop()
        if ingest.poll() is None:
            ingest.kill()

    expected = assert_tables_equal_the_recompute(kafka_bootstrap, env, accepted, in_tables)

    # The API's summaries (month and day buckets) agree with the recompute's store totals.
    for store, summary in via_api.items():
        month_keys = [k for k in expected if k.startswith(f"{store}\x1fT\x1fm\x1f")]
        revenue = sum(expected[k][0] for k in month_keys)
        assert (summary["revenue_cents"], summary["lines"]) == (
            revenue,
            sum(expected[k][5] for k in month_keys),
        )

    # ClickHouse holds each accepted line once.
    history = history_figures(env)
    assert sum(figures[0] for figures in history.values()) == accepted
    for store, (lines, distinct_ids, revenue) in history.items():
        assert lines == distinct_ids
        assert revenue == via_api[store]["revenue_cents"]


def assert_tables_equal_the_recompute(
    bootstrap: str, env: dict[str, str], accepted: int, in_tables: int
) -> dict[str, tuple[int, ...]]:
    """Every key of the live table, as its changelog holds it, equals an independent
    recompute of the topic's sales; returns the recompute."""
    prefix = env["DATAAPP_TOPIC_PREFIX"]
    sales = [Sale.from_dict(data) for data in asyncio.run(read_topic(bootstrap, f"{prefix}sales"))]
    assert sum(len(sale.lines) for sale in sales) == accepted
    expected = naive_recompute(sales)
    table = final_table(bootstrap, f"{prefix}dataapp-worker-aggregates-changelog")
    got = {key: counters(Totals.from_bytes(value)) for key, value in table.items()}
    wrong = sorted(key for key in expected.keys() | got.keys() if got.get(key) != expected.get(key))
    assert not wrong, (
        f"{len(wrong)} of {len(expected)} keys differ (tables hold {in_tables} of {accepted} "
        f"lines), e.g. "
        + "; ".join(f"{key!r}: {got.get(key)} != {expected.get(key)}" for key in wrong[:4])
    )
    assert in_tables == accepted
    return expected


def test_a_second_worker_joins_then_dies_and_every_line_still_counts_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Partitions move: a second worker takes half of them (the first keeps its databases
    for the rest across consecutive generations), then is killed, and the first restores
    what it had not and takes everything back, while sales stream in."""
    sales_csv = generated_sales(tmp_path / "generated", days=12, orders_per_day=4000)
    shared = {**EVERYTHING, "DATAAPP_TOKEN_KEY": "one-key-for-the-whole-group-0123"}
    env = worker_environment(kafka_bootstrap, tmp_path / "data-a", **shared)
    first = WorkerProcess(env, tmp_path / "worker-a.log")
    second_env = worker_environment(
        kafka_bootstrap, tmp_path / "data-b", prefix=env["DATAAPP_TOPIC_PREFIX"], **shared
    )
    second = WorkerProcess(second_env, tmp_path / "worker-b.log")
    first.start()
    first.wait_ready()
    ingest = start_ingest(sales_csv, env)
    try:
        wait_for_lines(first, 10_000)
        rebalances = first.metric("dataapp_rebalances_total")
        second.start()
        second.wait_ready()
        wait_for_metric(first, "dataapp_rebalances_total", above=rebalances)
        wait_for_lines(second, 5_000)
        second.kill(signal.SIGKILL)
        accepted = finish_ingest(ingest)
        admin = first.add_user("admin", "admin")
        in_tables = wait_until_complete(first, admin, accepted)
    finally:
        first.stop()
        second.stop()
        if ingest.poll() is None:
            ingest.kill()
    assert_tables_equal_the_recompute(kafka_bootstrap, env, accepted, in_tables)


def test_a_restarted_worker_rebuilds_its_tables_and_answers_as_before(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    sales_csv = generated_sales(tmp_path / "generated", days=3, orders_per_day=2000)
    env = worker_environment(kafka_bootstrap, tmp_path / "data", **EVERYTHING)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    summary = json.loads(dataapp(env, "ingest", str(sales_csv), "--json", "--no-progress"))
    worker.start()
    worker.wait_ready()
    try:
        admin = worker.add_user("admin", "admin")
        assert wait_until_complete(worker, admin, summary["accepted"]) == summary["accepted"]
        paths = _sample_paths(worker, admin)
        before = {path: worker.get(path, admin) for path in paths}
        worker.stop()
        worker.start()
        worker.wait_ready()
        after = {path: worker.get(path, admin) for path in paths}
    finally:
        worker.stop()
    diff = [(p, before[p], after[p]) for p in paths if before[p] != after[p]]
    assert not diff, diff[:2]


def _sample_paths(worker: WorkerProcess, token: str) -> list[str]:
    stores = worker.get("/api/v1/stores", token)["stores"]
    paths = []
    for store in stores:
        paths += [
            f"/api/v1/stores/{store}/summary?{FULL_RANGE}",
            f"/api/v1/stores/{store}/timeseries?granularity=hour&from=2026-01-05&to=2026-01-07",
            f"/api/v1/stores/{store}/products?by=margin&{FULL_RANGE}",
            f"/api/v1/stores/{store}/sellers?{FULL_RANGE}",
        ]
    return paths
