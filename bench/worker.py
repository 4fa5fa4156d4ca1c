"""Worker throughput: sales already on a real broker, through ONE worker with every aggregate
and the ClickHouse history on, against bare aiokafka reading the same topic in the same run.

    .venv/bin/python bench/worker.py                  # ~250,000 generated lines
    .venv/bin/python bench/worker.py --lines 500000
    .venv/bin/python bench/worker.py --baskets off    # without bought-together counting
    .venv/bin/python bench/worker.py --baskets both   # without, then with, and their ratio
    .venv/bin/python bench/worker.py --online-retail  # ../shared/data/online-retail instead
    .venv/bin/python bench/worker.py --profile DIR    # also py-spy the worker (raw stacks)

It starts its own broker (or uses DATAAPP_KAFKA_BOOTSTRAP), generates sales (as
``dataapp generate --out``; ``--online-retail`` takes Online Retail with its shipped mapping
instead), ingests them with ``dataapp ingest`` into a fresh topic prefix,
reads the topic with bare aiokafka (the ceiling), and only then starts the worker, polling
``/metrics`` every 0.2 s until every line is aggregated and written to ClickHouse. It prints
line items per second from the first processed batch to the last, the steady rate between
10% and 90% of the lines, table writes per line, batches (and the rate inside them), the
history sink's rate, CPU use (and line items per CPU-second of the worker),
the ratio to bare json-decoded consumption, and the time a restarted worker takes to rebuild
its tables from the changelogs (until ``/readyz`` answers 200), against aiokafka and
rocksdict writing the same changelogs into RocksDB.

``--baskets`` says whether the worker counts bought-together baskets (``tables/baskets.py``):
``on`` (the default, as deployed: a window of ``--basket-days``, 90) or ``off``
(``DATAAPP_BASKET_DAYS=0`` in the worker's environment). ``both`` measures the worker twice
in the same run, without and then with, each on its own copy of the sales (ingested into a
topic prefix of its own, with a data dir of its own), and prints the ratio.

To show where the time goes it also prints the agent's stages alone (decode, aggregate,
RocksDB merge, basket counting with ``LiveTables.count_baskets``, in this process on the same
messages), the agent's commit step alone (the same changelog records sent and committed in
per-partition transactions with aiokafka, with 16 KiB record batches and with 1 MiB), and, with
``--profile``, py-spy's view of the worker's threads while it aggregates and restores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
import rocksdict
from aiokafka import AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.aggregate import BATCH_EVENTS
from agents.decode import decode_sale
from app.kafka.admin import ensure_topics
from app.kafka.batches import send_record_batches
from app.topics import TopicSpec
from bench import _common
from bench._common import (
    LINES_PER_GENERATED_DAY,
    Workers,
    bare_restore,
    changelog_topics,
    cpu_seconds,
    generate_csv,
    ingest_csv,
    machine_ticks,
    memory_mb,
    metrics,
    open_live_tables,
    read_to_end,
    wait_healthy,
    wait_ready,
)
from tables.aggregation import aggregate_batch, order_keys
from tables.live import TABLES
from tables.totals import Totals
from tests.worker_tools import WorkerProcess, worker_environment

ONLINE_RETAIL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online-retail"
TARGET_LINES_PER_S = 20_000
GOAL_LINES_PER_S = 50_000
EVERYTHING = {"DATAAPP_LIVE_DAYS": "100000", "DATAAPP_RETENTION_DAYS": "100000"}
FULL_RANGE = "from=2000-01-01&to=2100-12-31"
POLL_S = 0.2
SPY_RATE = 50


@dataclass
class Sample:
    at: float
    lines: float
    writes: float
    batches: float
    batch_seconds: float
    history_lines: float
    worker_cpu: float
    broker_cpu: float
    machine_busy: int
    machine_total: int


# -- the ceiling: bare aiokafka ---------------------------------------------------------------


async def bare_consume(bootstrap: str, topic: str, decode: str) -> tuple[int, float]:
    """Lines read and seconds for bare aiokafka to read the whole topic: one read_committed
    consumer on every partition, the worker's fetch size. ``decode``: ``none`` (bytes only),
    ``json`` (orjson of each value, the fair peer: the worker has to parse every message) or
    ``sale`` (the worker's own decoder, ``decode_sale``)."""
    lines = 0

    def handle(tp: TopicPartition, records: list) -> None:
        nonlocal lines
        if decode == "json":
            for record in records:
                lines += len(orjson.loads(record.value)["lines"])
        elif decode == "sale":
            for record in records:
                lines += len(decode_sale(record.value).lines)

    messages, seconds = await read_to_end(bootstrap, [topic], handle)
    return messages if decode == "none" else lines, seconds


async def read_values(bootstrap: str, topic: str) -> list[tuple[int, bytes]]:
    values: list[tuple[int, bytes]] = []

    def handle(tp: TopicPartition, records: list) -> None:
        values.extend((tp.partition, record.value) for record in records)

    await read_to_end(bootstrap, [topic], handle)
    return values


def stage_rates(values: list[tuple[int, bytes]], work: Path, basket_days: int) -> dict[str, float]:
    """Lines per second of the agent's in-process stages alone, on the same messages, in
    batches of the agent's size: decode, pre-aggregate, merge into RocksDB (plain rocksdict,
    one database per partition, as ``LiveTables.apply`` does it), and count the baskets
    (``LiveTables.count_baskets`` over a window of ``basket_days`` days, on real live tables
    of eight partitions in ``work``)."""
    started = time.perf_counter()
    sales = [(partition, decode_sale(value)) for partition, value in values]
    lines = sum(len(sale.lines) for _, sale in sales)
    rates = {"decode": lines / (time.perf_counter() - started)}
    batches = [sales[i : i + BATCH_EVENTS] for i in range(0, len(sales), BATCH_EVENTS)]
    aggregate_s = apply_s = baskets_s = 0.0
    dbs: dict[int, rocksdict.Rdict] = {}
    live = open_live_tables(work / "stage-live", 8)
    # Every decoded message is held at once here (the worker holds one batch): out of the
    # cyclic collector's sight, lest its full passes over them be charged to the stages.
    gc.collect()
    gc.freeze()
    try:
        for batch in batches:
            partition_of = {sale.store_id: partition for partition, sale in batch}
            started = time.perf_counter()
            only_sales = [sale for _, sale in batch]
            order_keys(only_sales)
            update = aggregate_batch(only_sales, {})
            aggregate_s += time.perf_counter() - started
            started = time.perf_counter()
            writes: dict[int, list[tuple[bytes, bytes]]] = {}
            for key, delta in update.deltas.items():
                partition = partition_of[key.split("\x1f", 1)[0]]
                db = dbs.get(partition)
                if db is None:
                    path = str(work / f"stage-db-{partition}")
                    options = rocksdict.Options(raw_mode=True)
                    db = dbs[partition] = rocksdict.Rdict(path, options=options)
                raw_key = key.encode()
                current = db.get(raw_key)
                if current is not None:
                    delta.merge(Totals.from_bytes(current))
                writes.setdefault(partition, []).append((raw_key, delta.to_bytes()))
            for partition, pairs in writes.items():
                write = rocksdict.WriteBatch(raw_mode=True)
                for key, value in pairs:
                    write.put(key, value)
                dbs[partition].write(write)
            apply_s += time.perf_counter() - started
            started = time.perf_counter()
            live.count_baskets(only_sales, partition_of, basket_days)
            baskets_s += time.perf_counter() - started
    finally:
        gc.unfreeze()
        for db in dbs.values():
            db.close()
        live.close()
    rates["aggregate"] = lines / aggregate_s
    rates["merge+RocksDB"] = lines / apply_s
    rates["baskets"] = lines / baskets_s
    return rates


async def changelog_commit_rate(
    bootstrap: str, prefix: str, rounds: int, max_batch_size: int
) -> tuple[int, float]:
    """The agent's commit step alone, with aiokafka: the changelog records the worker wrote,
    re-sent in ``rounds`` batches, each as the agent sends one (per partition in turn: the
    partition's transactional producer sends its records as record batches, adds an offset
    commit and commits the transaction), to scratch topics. ``max_batch_size`` is the
    producer's record-batch size (Faust's default, which the worker keeps, is 16 KiB)."""
    by_partition: dict[int, dict[str, list[tuple[bytes, bytes]]]] = defaultdict(dict)

    def keep(tp: TopicPartition, records: list) -> None:
        pairs = by_partition[tp.partition].setdefault(tp.topic, [])
        pairs.extend((record.key, record.value) for record in records)

    topics = changelog_topics(prefix, TABLES)
    await read_to_end(bootstrap, topics, keep)
    scratch = f"{prefix}bare-commit-{max_batch_size}."
    names = {topic: scratch + table for topic, table in zip(topics, TABLES, strict=True)}
    await ensure_topics(bootstrap, [TopicSpec(name, 8, "key", "bench") for name in names.values()])
    producers = {}
    try:
        for partition in by_partition:
            producer = producers[partition] = AIOKafkaProducer(
                bootstrap_servers=bootstrap,
                transactional_id=f"{scratch}{partition}",
                max_batch_size=max_batch_size,
                acks=-1,
            )
            await producer.start()
            await producer.begin_transaction()
        # A first transaction with one record per topic and partition, not timed: new topics
        # answer "not leader" until their leaders are elected.
        for partition, producer in producers.items():
            for name in names.values():
                await (await producer.send(name, b"warm-up", key=b"warm-up", partition=partition))
            await producer.commit_transaction()
            await producer.begin_transaction()
        records = 0
        started = time.perf_counter()
        for round_ in range(rounds):
            for partition in sorted(by_partition):
                producer = producers[partition]
                deliveries = []
                for topic, pairs in by_partition[partition].items():
                    share = pairs[
                        len(pairs) * round_ // rounds : len(pairs) * (round_ + 1) // rounds
                    ]
                    records += len(share)
                    deliveries += await send_record_batches(
                        producer, names[topic], partition, share
                    )
                await asyncio.gather(*(future for future, _ in deliveries))
                await producer.send_offsets_to_transaction(
                    {TopicPartition(names[topic], partition): round_ + 1}, f"{scratch}group"
                )
                await producer.commit_transaction()
                await producer.begin_transaction()
        return records, time.perf_counter() - started
    finally:
        for producer in producers.values():
            await producer.stop()


# -- the worker -------------------------------------------------------------------------------


def sample(worker: WorkerProcess, broker_pid: int | None) -> Sample:
    figures = metrics(worker)
    busy, total = machine_ticks()
    return Sample(
        at=time.perf_counter(),
        lines=figures.get("dataapp_lines_processed_total", 0.0),
        writes=figures.get("dataapp_table_writes_total", 0.0),
        batches=figures.get("dataapp_batch_seconds_count", 0.0),
        batch_seconds=figures.get("dataapp_batch_seconds_sum", 0.0),
        history_lines=figures.get("dataapp_history_lines_written_total", 0.0),
        worker_cpu=cpu_seconds(worker.process.pid),
        broker_cpu=cpu_seconds(broker_pid),
        machine_busy=busy,
        machine_total=total,
    )


def crossing(samples: list[Sample], field: str, level: float) -> float:
    """When ``field`` reached ``level``, interpolated between the two polls around it."""
    before = samples[0]
    for current in samples:
        value = getattr(current, field)
        if value >= level:
            low = getattr(before, field)
            if value == low:
                return current.at
            return before.at + (current.at - before.at) * (level - low) / (value - low)
        before = current
    raise ValueError(f"{field} never reached {level}")


def first_with(samples: list[Sample], field: str, level: float) -> Sample:
    return next(s for s in samples if getattr(s, field) >= level)


def spy(
    workers: Workers, pid: int, folder: Path | None, name: str
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling ``pid`` (every thread, 50 Hz) into ``folder/name``, or None."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid)]
    command += ["--format", "raw", "--threads", "--rate", str(SPY_RATE), "--nonblocking"]
    command += ["--output", str(folder / name)]
    profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers.helpers.append(profiler)
    return profiler


def stop_spy(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
        profiler.wait(timeout=60)


MAIN_THREAD_PARTS = (
    ("agent: decode_sale", ("decode_sale (agents/decode.py",)),
    ("agent: aggregate_batch", ("aggregate_batch (tables/aggregation.py",)),
    ("agent: RocksDB read-merge-write", ("(tables/live.py",)),
    ("agent: changelog send + transaction", ("commit (agents/transactions.py",)),
    ("agent: other", ("process (agents/aggregate.py",)),
    ("Faust: fetch and deliver events", ("faust/",)),
    ("history sink (event-loop side)", ("clickhouse_sink.py", "app/history/")),
    ("aiokafka: producer, client", ("aiokafka/",)),
    ("web server (/metrics polls)", ("aiohttp/",)),
)


def py_spy_summary(raw: Path, seconds: float, rate: int) -> list[tuple[str, float]]:
    """Where the worker's threads were busy, as shares of the wall time, from py-spy's raw
    (collapsed) stacks: the main thread (the event loop, where the agent runs) split by what
    it was doing, the other threads whole. py-spy leaves idle samples out."""
    if not raw.exists():  # py-spy could not attach (ptrace not allowed, say)
        return []
    possible = seconds * rate
    main: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        thread = stack.split(";", 1)[0]
        name = thread.rpartition(": ")[2] if ": " in thread else thread
        if name != "MainThread":
            threads[name] += count
            continue
        threads["MainThread"] += count
        for part, needles in MAIN_THREAD_PARTS:
            if any(needle in stack for needle in needles):
                main[part] += count
                break
        else:
            main["asyncio loop, other"] += count
    shares = [("main thread busy", threads.pop("MainThread", 0) / possible)]
    shares += [(f"  {part}", main[part] / possible) for part, _ in MAIN_THREAD_PARTS]
    shares.append(("  asyncio loop, other", main["asyncio loop, other"] / possible))
    labels = {"history_0": "ClickHouse (chDB) thread", "asyncio_0": "to_thread (sink decode)"}
    for name, count in threads.most_common():
        label = labels.get(name, "Faust consumer or other")
        shares.append((f"thread {name} ({label})", count / possible))
    return shares


@dataclass
class Ceiling:
    """Bare aiokafka on the same topic, and the agent's stages alone (``stage_rates``)."""

    messages: int
    raw_s: float
    json_s: float
    sale_s: float
    stages: dict[str, float]


@dataclass
class WorkerRun:
    baskets: str
    rate: float
    steady: float
    writes_per_line: float
    batch_ms: float
    worker_cpu: float
    restore_s: float
    restored_records: float
    identical: bool
    in_batches: float
    """Lines per second of the time spent inside batches (the one figure that means
    something when a whole input fits in a batch or two, as Online Retail does)."""


async def main_async(
    args: argparse.Namespace, bootstrap: str, broker_pid: int | None, work: Path
) -> int:
    if args.online_retail:
        if not any(ONLINE_RETAIL.glob("*.csv.gz")):
            print(f"no *.csv.gz in {ONLINE_RETAIL}: nothing to measure", file=sys.stderr)
            return 2
        csv_path, mapping = ONLINE_RETAIL, "online-retail"
        described = f"Online Retail ({ONLINE_RETAIL}, its shipped mapping)"
    else:
        days = max(1, math.ceil(args.lines / LINES_PER_GENERATED_DAY))
        csv_path, mapping = generate_csv(work / "generated", days, "2026-03-02"), None
        described = (
            f"{days} generated days (dataapp generate, seed 7, 8 stores, 4,000 orders a day)"
        )
    modes = ("off", "on") if args.baskets == "both" else (args.baskets,)
    ceiling: Ceiling | None = None
    runs: list[WorkerRun] = []
    for mode in modes:
        basket_days = args.basket_days if mode == "on" else 0
        prefix = f"benchw-{uuid.uuid4().hex[:6]}."
        env = worker_environment(
            bootstrap,
            work / f"data-{mode}",
            prefix,
            **EVERYTHING,
            DATAAPP_BASKET_DAYS=str(basket_days),
        )
        summary, ingest_s = await asyncio.to_thread(ingest_csv, env, csv_path, mapping)
        accepted = summary["accepted"]
        topic = f"{prefix}sales"
        print(f"\n== bought-together counting {mode.upper()} (DATAAPP_BASKET_DAYS={basket_days})")
        print(
            f"input    : {described}, {accepted:,} lines accepted, ingested in "
            f"{ingest_s:.1f} s into {topic} before the worker starts"
        )
        if ceiling is None:
            # Before any worker starts, so that nothing else runs meanwhile.
            ceiling = await measure_ceiling(bootstrap, topic, accepted, work, args.basket_days)
        runs.append(
            await measure_worker(
                args, mode, env, prefix, accepted, ceiling, bootstrap, broker_pid, work
            )
        )
    shutil.rmtree(work / "generated", ignore_errors=True)
    assert ceiling is not None
    stages = ceiling.stages
    print(
        "\nstages alone (lines/s, in this process, batches of the agent's size, the first "
        "run's messages): " + ", ".join(f"{name} {value:,.0f}" for name, value in stages.items())
    )
    together = 1 / sum(1 / stages[name] for name in ("decode", "aggregate", "merge+RocksDB"))
    print(
        f"           together {together:,.0f} lines/s without basket counting, "
        f"{1 / (1 / together + 1 / stages['baskets']):,.0f} with it "
        f"(window {args.basket_days} days)"
    )
    if len(runs) == 2:
        off, on = runs
        print(
            f"with / without basket counting: {on.rate:,.0f} / {off.rate:,.0f} lines/s first "
            f"batch to last = {on.rate / off.rate:.2f}; steady {on.steady:,.0f} / "
            f"{off.steady:,.0f} = {on.steady / off.steady:.2f}; per CPU-second of the worker "
            f"{on.rate / on.worker_cpu:,.0f} / {off.rate / off.worker_cpu:,.0f} = "
            f"{on.rate / on.worker_cpu / (off.rate / off.worker_cpu):.2f}; inside batches "
            f"{on.in_batches:,.0f} / {off.in_batches:,.0f} = {on.in_batches / off.in_batches:.2f}; "
            f"table writes per line "
            f"{on.writes_per_line:.2f} / {off.writes_per_line:.2f}; batch {on.batch_ms:.0f} / "
            f"{off.batch_ms:.0f} ms; worker CPU {on.worker_cpu:.0%} / {off.worker_cpu:.0%}; "
            f"restart to /readyz {on.restore_s:.1f} / {off.restore_s:.1f} s "
            f"({on.restored_records:,.0f} / {off.restored_records:,.0f} changelog records)"
        )
    return 0 if all(run.identical for run in runs) else 1


async def measure_ceiling(
    bootstrap: str, topic: str, accepted: int, work: Path, basket_days: int
) -> Ceiling:
    messages, raw_s = await bare_consume(bootstrap, topic, "none")
    json_lines, json_s = await bare_consume(bootstrap, topic, "json")
    sale_lines, sale_s = await bare_consume(bootstrap, topic, "sale")
    assert json_lines == sale_lines == accepted, (json_lines, sale_lines, accepted)
    values = await read_values(bootstrap, topic)
    stages = await asyncio.to_thread(stage_rates, values, work, basket_days)
    del values
    return Ceiling(messages, raw_s, json_s, sale_s, stages)


async def measure_worker(
    args: argparse.Namespace,
    mode: str,
    env: dict[str, str],
    prefix: str,
    accepted: int,
    ceiling: Ceiling,
    bootstrap: str,
    broker_pid: int | None,
    work: Path,
) -> WorkerRun:
    messages, raw_s, json_s, sale_s = (
        ceiling.messages,
        ceiling.raw_s,
        ceiling.json_s,
        ceiling.sale_s,
    )
    with Workers() as workers:
        worker = workers.new(env, work / f"worker-{mode}.log")
        started = time.perf_counter()
        worker.start()
        first_ready_s = await asyncio.to_thread(wait_ready, worker)
        rss_ready = memory_mb(worker.process.pid)
        profiler = spy(workers, worker.process.pid, args.profile, f"aggregate-{mode}.txt")
        spy_started = time.perf_counter()
        samples: list[Sample] = []
        deadline = time.monotonic() + args.timeout
        while True:
            samples.append(sample(worker, broker_pid))
            last = samples[-1]
            if last.lines >= accepted and last.history_lines >= accepted:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"not done in {args.timeout} s: {last.lines:,.0f} lines aggregated, "
                    f"{last.history_lines:,.0f} in ClickHouse of {accepted:,}\n{worker.tail()}"
                )
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{worker.tail()}")
            await asyncio.sleep(POLL_S)
        stop_spy(profiler)
        profile = (
            py_spy_summary(
                args.profile / f"aggregate-{mode}.txt", time.perf_counter() - spy_started, SPY_RATE
            )
            if args.profile
            else []
        )
        rss_after = memory_mb(worker.process.pid)

        # The restart: stop, start, time until the tables are rebuilt from the changelogs.
        admin = await asyncio.to_thread(worker.add_user, "admin", "admin")
        before = await asyncio.to_thread(store_lines, worker, admin)
        stop_started = time.perf_counter()
        await asyncio.to_thread(worker.stop)
        stop_s = time.perf_counter() - stop_started
        restart_at = time.perf_counter()
        worker.start()
        profiler = spy(workers, worker.process.pid, args.profile, f"restore-{mode}.txt")
        healthz_s = await asyncio.to_thread(wait_healthy, worker, 600, 0.02)
        await asyncio.to_thread(wait_ready, worker, 600, 0.02)
        restore_s = time.perf_counter() - restart_at
        stop_spy(profiler)
        restore_profile = (
            py_spy_summary(args.profile / f"restore-{mode}.txt", restore_s, SPY_RATE)
            if args.profile
            else []
        )
        after = await asyncio.to_thread(store_lines, worker, admin)
        rss_restored = memory_mb(worker.process.pid)
    bare_records, bare_restore_s = await bare_restore(
        bootstrap, prefix, work / f"bare-restore-{mode}"
    )
    rounds = round(samples[-1].batches)
    commit_rates = {
        size: await changelog_commit_rate(bootstrap, prefix, rounds, size)
        for size in (16 * 1024, 1 << 20)
    }

    first = first_with(samples, "lines", 1)
    done = first_with(samples, "lines", accepted)
    window = done.at - first.at
    rate = (done.lines - first.lines) / window
    steady = (0.8 * accepted) / (
        crossing(samples, "lines", 0.9 * accepted) - crossing(samples, "lines", 0.1 * accepted)
    )
    h_first = first_with(samples, "history_lines", 1)
    h_done = first_with(samples, "history_lines", accepted)
    history_rate = (h_done.history_lines - h_first.history_lines) / (h_done.at - h_first.at)
    worker_cpu = (done.worker_cpu - first.worker_cpu) / window
    broker_cpu = (done.broker_cpu - first.broker_cpu) / window if broker_pid else None
    machine = (done.machine_busy - first.machine_busy) / (done.machine_total - first.machine_total)
    json_rate = accepted / json_s
    ratio = rate / json_rate

    print(
        f"worker   : {accepted:,} lines, first batch to last {window:.2f} s = {rate:,.0f} "
        f"lines/s; steady (10% to 90% of the lines) {steady:,.0f} lines/s; "
        f"{done.at - started:.1f} s from the worker's start to the last line "
        f"(ready after {first_ready_s:.1f} s)"
    )
    print(
        f"           {done.writes / done.lines:.2f} table writes per line ({done.writes:,.0f}); "
        f"{done.batches:,.0f} batches, {done.lines / done.batches:,.0f} lines "
        f"({messages / done.batches:,.0f} messages) and "
        f"{1000 * done.batch_seconds / done.batches:.0f} ms each on average, "
        f"{done.batch_seconds / window:.0%} of the time in batches; "
        f"{done.lines / done.batch_seconds:,.0f} lines/s inside batches"
    )
    print(
        f"           CPU: worker {worker_cpu:.0%} of one core "
        f"({rate / worker_cpu:,.0f} lines per CPU-second of the worker)"
        + (f", broker {broker_cpu:.0%}" if broker_cpu is not None else "")
        + f", whole machine {machine:.0%} of its {os.cpu_count()} cores busy; worker RSS "
        f"{rss_ready['VmRSS']:,.0f} MB when ready, {rss_after['VmRSS']:,.0f} MB after "
        f"(peak {rss_after['VmHWM']:,.0f} MB)"
    )
    print(
        f"history  : {h_done.history_lines:,.0f} lines into ClickHouse at {history_rate:,.0f} "
        f"lines/s (first to last write, beside the aggregation), done "
        f"{h_done.at - done.at:+.1f} s from the last aggregated line"
    )
    print(
        f"bare     : {messages:,} messages, read_committed, every partition, one consumer: "
        f"{accepted / raw_s:,.0f} lines/s as bytes ({raw_s:.2f} s), {json_rate:,.0f} lines/s "
        f"json-decoded ({json_s:.2f} s), {accepted / sale_s:,.0f} lines/s through decode_sale"
    )
    print(
        f"ratio    : {ratio:.3f} of bare json-decoded consumption "
        f"({rate / (accepted / raw_s):.3f} of bytes only)"
    )
    print(
        f"target   : {TARGET_LINES_PER_S:,} lines/s -> "
        f"{'met' if rate >= TARGET_LINES_PER_S else 'NOT met'}; project goal "
        f"{GOAL_LINES_PER_S:,} -> {'met' if rate >= GOAL_LINES_PER_S else 'NOT met'}"
    )
    extra_s = restore_s - first_ready_s
    # Restores now take about as long as an empty start's own setup: a rate computed from a
    # difference near zero (or below it) would be noise.
    beyond_empty = (
        f"{done.writes / extra_s:,.0f} records/s beyond an empty start"
        if extra_s > 0.5
        else f"within {max(extra_s, 0):.1f} s of an empty start (no separate rate)"
    )
    print(
        f"restart  : SIGTERM to exit {stop_s:.1f} s; start to /readyz 200 {restore_s:.1f} s "
        f"(/healthz after {healthz_s:.1f} s; an empty worker was ready in {first_ready_s:.1f} s) "
        f"to restore {done.writes:,.0f} changelog records: {beyond_empty}; "
        f"RSS {rss_restored['VmRSS']:,.0f} MB; summaries "
        f"{'identical' if before == after else f'DIFFER: {before} vs {after}'}"
    )
    print(
        f"           bare restore (aiokafka + rocksdict, same changelogs): {bare_records:,} "
        f"records in {bare_restore_s:.2f} s = {bare_records / bare_restore_s:,.0f} records/s"
    )
    print(
        f"commit   : the agent's changelog send + transactions alone (aiokafka, the same "
        f"{done.writes:,.0f} records in {rounds} batches x 8 partition transactions): "
        + "; ".join(
            f"{size // 1024} KiB record batches {seconds:.1f} s = "
            f"{records / seconds:,.0f} records/s, {accepted / seconds:,.0f} lines/s"
            for size, (records, seconds) in commit_rates.items()
        )
    )
    for title, shares in (("aggregating", profile), ("restoring", restore_profile)):
        if shares:
            print(f"py-spy   : {title}, share of the wall time each thread was busy")
            for name, share in shares:
                if share >= 0.0005:
                    print(f"             {name:<44} {share:6.1%}")
    return WorkerRun(
        baskets=mode,
        rate=rate,
        steady=steady,
        writes_per_line=done.writes / done.lines,
        batch_ms=1000 * done.batch_seconds / done.batches,
        worker_cpu=worker_cpu,
        restore_s=restore_s,
        restored_records=done.writes,
        identical=before == after,
        in_batches=done.lines / done.batch_seconds,
    )


def store_lines(worker: WorkerProcess, token: str) -> int:
    stores = worker.get("/api/v1/stores", token)["stores"]
    return sum(
        worker.get(f"/api/v1/stores/{store}/summary?{FULL_RANGE}", token)["lines"]
        for store in stores
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=250_000, help="about this many lines")
    parser.add_argument(
        "--online-retail",
        action="store_true",
        help="Online Retail (../shared/data/online-retail, its mapping) instead of generated "
        "sales (--lines is then ignored)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy the worker while it aggregates and while it restores; raw stacks to DIR",
    )
    parser.add_argument(
        "--baskets",
        choices=("on", "off", "both"),
        default="on",
        help="bought-together counting in the worker: on (as deployed), off "
        "(DATAAPP_BASKET_DAYS=0), or both: without, then with, and the ratio",
    )
    parser.add_argument(
        "--basket-days", type=int, default=90, help="the basket window when counting (days)"
    )
    parser.add_argument("--timeout", type=float, default=240, help="seconds for the worker")
    args = parser.parse_args()
    return _common.run_with_broker(
        lambda b, w: asyncio.run(main_async(args, b.bootstrap, b.pid, w))
    )


if __name__ == "__main__":
    sys.exit(main())
