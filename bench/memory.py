"""Worker memory with a million keys in its tables: resident memory after processing and after
the restore from the changelogs on a restart.

    .venv/bin/python bench/memory.py                 # >= 1,000,000 aggregate keys
    .venv/bin/python bench/memory.py --keys 300000 --no-restart

It starts its own broker (or uses DATAAPP_KAFKA_BOOTSTRAP) and produces synthetic sales with
aiokafka straight into a fresh ``sales`` topic (``Sale.to_dict()`` as JSON, keyed by store,
not transactional): 8 stores with 6 sellers each, a catalogue of about 41,000 products, each
product sold once in each store in October 2026, 10 lines an order, spread over 12 opening
hours of 30 days. Every line so makes three keys of its own in the ``aggregates`` table
(product by hour, day and month), the way the long tail of a large catalogue does; stores and
sellers add their hour, day and month keys. Generated data (``dataapp generate``) has 120
products and would need years of days to reach a million keys.

The worker processes everything (aggregates and ClickHouse history); then the keys are
counted on the ``aggregates`` changelog (distinct keys), and the worker's VmRSS and VmHWM
(``/proc/PID/status``) are read: when ready with empty tables, after processing, and after a
restart, which rebuilds the tables from the changelogs.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.kafka.admin import ensure_topics
from app.records import Sale, SaleLine
from app.topics import topic_set
from bench import _common
from bench._common import (
    Workers,
    changelog_topics,
    memory_mb,
    metrics,
    read_to_end,
    wait_ready,
)
from tests.worker_tools import WorkerProcess, worker_environment

TARGET_KEYS = 1_000_000
STORES = 8
SELLERS = 6
LINES_PER_SALE = 10
DAYS = 30
OPENING_HOURS = range(10, 22)
ZONE = "America/Sao_Paulo"
EVERYTHING = {"DATAAPP_LIVE_DAYS": "100000", "DATAAPP_RETENTION_DAYS": "100000"}
SLOTS = DAYS * len(OPENING_HOURS)
FIXED_KEYS_PER_STORE = (SLOTS + DAYS + 1) + SELLERS * (SLOTS // SELLERS + DAYS + 1)
"""Store keys (every hour, day and the month) and seller keys (each seller serves every
sixth hour, every day): the same whatever the catalogue."""


def products_for(keys: int) -> int:
    return math.ceil((keys / STORES - FIXED_KEYS_PER_STORE) / 3)


def sales(products: int) -> list[Sale]:
    rng = random.Random(5)
    zone = ZoneInfo(ZONE)
    first = datetime(2026, 10, 1, tzinfo=zone)
    made = []
    for store_number in range(1, STORES + 1):
        store = f"M{store_number:02d}"
        for index in range(math.ceil(products / LINES_PER_SALE)):
            slot = index % SLOTS
            day, hour = divmod(slot, len(OPENING_HOURS))
            local = first + timedelta(days=day, hours=OPENING_HOURS[hour], minutes=index % 60)
            order_id = f"{store}-{index:06d}"
            lines = []
            for sku_number in range(
                index * LINES_PER_SALE, min((index + 1) * LINES_PER_SALE, products)
            ):
                price = rng.randrange(500, 50_000)
                lines.append(
                    SaleLine(
                        line_id=f"{order_id}-{sku_number % LINES_PER_SALE}",
                        sku=f"P{sku_number:06d}",
                        quantity=rng.randint(1, 3),
                        unit_price_cents=price,
                        unit_cost_cents=price * 6 // 10,
                        product_name=f"Product {sku_number}",
                    )
                )
            made.append(
                Sale(
                    order_id=order_id,
                    store_id=store,
                    seller_id=f"{store}-V{slot % SELLERS}",
                    event_time=local.astimezone(UTC),
                    source_time_zone=ZONE,
                    channel="loja",
                    lines=tuple(lines),
                    customer_ref=f"c{rng.randrange(50_000):05d}" if rng.random() < 0.7 else None,
                )
            )
    return made


async def produce(bootstrap: str, prefix: str, made: list[Sale]) -> float:
    topics = topic_set(prefix)
    await ensure_topics(bootstrap, topics.all)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(
                topics.sales.name, orjson.dumps(sale.to_dict()), key=sale.store_id.encode()
            )
            for sale in made
        ]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def count_keys(bootstrap: str, prefix: str) -> dict[str, int]:
    """Distinct keys on each table's changelog (the last value of each key is the table)."""
    counts = {}
    for topic in changelog_topics(prefix):
        keys: set[bytes] = set()

        def keep(tp: TopicPartition, records: list, keys: set[bytes] = keys) -> None:
            keys.update(record.key for record in records)

        await read_to_end(bootstrap, [topic], keep)
        counts[topic] = len(keys)
    return counts


def wait_done(worker: WorkerProcess, lines: int, timeout: float) -> tuple[float, float]:
    """Seconds until every line is aggregated, and until every line is in ClickHouse."""
    started = time.perf_counter()
    aggregated = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        figures = metrics(worker)
        if aggregated is None and figures.get("dataapp_lines_processed_total", 0) >= lines:
            aggregated = time.perf_counter() - started
        if aggregated is not None and figures["dataapp_history_lines_written_total"] >= lines:
            return aggregated, time.perf_counter() - started
        assert worker.process is not None
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited:\n{worker.tail()}")
        time.sleep(0.5)
    raise RuntimeError(f"not done in {timeout} s:\n{worker.tail()}")


def disk_mb(folder: Path) -> float:
    done = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True)
    return int(done.stdout.split()[0]) / 1024 if done.returncode == 0 else float("nan")


def line(label: str, figures: dict[str, float]) -> str:
    return (
        f"{label:<26} VmRSS {figures['VmRSS']:7,.0f} MB (anonymous {figures['RssAnon']:,.0f}, "
        f"file-backed {figures['RssFile']:,.0f}), VmHWM {figures['VmHWM']:7,.0f} MB"
    )


def main_sync(args: argparse.Namespace, bootstrap: str, work: Path) -> int:
    products = products_for(args.keys)
    made = sales(products)
    lines = sum(len(sale.lines) for sale in made)
    prefix = f"benchm-{uuid.uuid4().hex[:6]}."
    produce_s = asyncio.run(produce(bootstrap, prefix, made))
    print(
        f"input    : {len(made):,} synthetic sales, {lines:,} lines ({STORES} stores x "
        f"{products:,} products, each sold once per store), produced in {produce_s:.1f} s; "
        f"expected aggregate keys {STORES * (3 * products + FIXED_KEYS_PER_STORE):,}"
    )
    del made
    env = worker_environment(bootstrap, work / "data", prefix, **EVERYTHING)
    with Workers() as workers:
        worker = workers.new(env, work / "worker.log")
        worker.start()
        assert worker.process is not None
        wait_ready(worker)
        ready = memory_mb(worker.process.pid)
        aggregated_s, history_s = wait_done(worker, lines, args.timeout)
        processed = memory_mb(worker.process.pid)
        writes = metrics(worker)["dataapp_table_writes_total"]
        # Counted once the worker has stopped: the metrics count a batch just before its
        # transaction commits, and a read_committed reader sees it only after.
        worker.stop()
        keys = asyncio.run(count_keys(bootstrap, prefix))
        aggregate_keys, order_keys = (keys[topic] for topic in changelog_topics(prefix))
        on_disk = disk_mb(work / "data" / "worker")
        restored = None
        if not args.no_restart:
            started = time.perf_counter()
            worker.start()
            wait_ready(worker, timeout=args.timeout, poll=0.2)
            restore_s = time.perf_counter() - started
            restored = memory_mb(worker.process.pid)

    grown = processed["VmRSS"] - ready["VmRSS"]
    print(
        f"worker   : every line aggregated {aggregated_s:.0f} s after ready "
        f"({lines / aggregated_s:,.0f} lines/s), in ClickHouse after {history_s:.0f} s; "
        f"{writes:,.0f} table writes"
    )
    print(
        f"keys     : {aggregate_keys:,} in aggregates, {order_keys:,} in order-index "
        f"(distinct keys on the changelogs); RocksDB on disk {on_disk:,.0f} MB"
    )
    print(line("memory   : ready, empty", ready))
    print(line("           after processing", processed))
    if restored is not None:
        print(line(f"           after restore ({restore_s:.0f} s)", restored))
    print(
        f"per MB   : {aggregate_keys / processed['VmRSS']:,.0f} aggregate keys per MB of RSS "
        f"after processing; {aggregate_keys / grown:,.0f} per MB of growth over the empty "
        f"worker ({grown:,.0f} MB)"
        + (
            f"; {aggregate_keys / restored['VmRSS']:,.0f} per MB of RSS after the restore, "
            f"{aggregate_keys / max(restored['VmRSS'] - ready['VmRSS'], 1):,.0f} per MB of its "
            f"growth over the empty worker ({restored['VmRSS'] - ready['VmRSS']:,.0f} MB)"
            if restored is not None
            else ""
        )
    )
    print(
        f"target   : >= {TARGET_KEYS:,} keys -> "
        f"{'reached' if aggregate_keys >= TARGET_KEYS else 'NOT reached'}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=TARGET_KEYS, help="aggregate keys to make")
    parser.add_argument("--no-restart", action="store_true", help="skip the restart")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per wait")
    args = parser.parse_args()
    return _common.run_with_broker(lambda b, w: main_sync(args, b.bootstrap, w))


if __name__ == "__main__":
    sys.exit(main())
