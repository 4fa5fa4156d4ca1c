"""What the worker benchmarks share: a broker, real worker processes that are always cleaned
up, generated data ingested the way an operator would, and readings of ``/metrics`` and
``/proc``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import rocksdict  # noqa: E402
from aiokafka import TopicPartition  # noqa: E402

import tables.live  # noqa: E402
from app.generator.stream import write_history  # noqa: E402
from app.kafka.admin import partitions_of  # noqa: E402
from app.kafka.launcher import broker_down, broker_up, free_port  # noqa: E402
from app.kafka.replay import replay_to_end  # noqa: E402
from app.settings import load_settings  # noqa: E402
from tables.live import LiveTables  # noqa: E402
from tests.worker_tools import DATAAPP, WorkerProcess  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LINES_PER_GENERATED_DAY = 9_150
"""Accepted lines per day of ``dataapp generate`` at 4,000 orders a day (8 stores)."""


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    pid: int | None
    """The broker's JVM when this benchmark started it (for its CPU time), else None."""


@contextlib.contextmanager
def broker(work: Path) -> Iterator[Broker]:
    """The broker of ``DATAAPP_KAFKA_BOOTSTRAP``, or one of our own on a free port in
    ``work``, stopped on the way out whatever happens."""
    settings = load_settings()
    if settings.kafka_bootstrap:
        yield Broker(settings.kafka_bootstrap, None)
        return
    data_dir = work / "kafka"
    try:
        status = broker_up(data_dir, settings.cache_dir, port=free_port())
        yield Broker(status.bootstrap or "", status.pid)
    finally:
        broker_down(data_dir)


class Workers:
    """Worker processes of one benchmark; ``with Workers() as workers`` stops every one of
    them on exit, including on Ctrl-C and SIGTERM (turned into KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.started: list[WorkerProcess] = []
        self.helpers: list[subprocess.Popen[bytes]] = []
        """Other processes to end on exit (profilers)."""
        self._previous_term: object = None

    def __enter__(self) -> Workers:
        self._previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        for helper in self.helpers:
            if helper.poll() is None:
                helper.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    helper.wait(timeout=30)
        for worker in self.started:
            with contextlib.suppress(Exception):
                worker.stop()
        signal.signal(signal.SIGTERM, self._previous_term)  # type: ignore[arg-type]

    def new(self, env: dict[str, str], log_path: Path) -> WorkerProcess:
        worker = WorkerProcess(env, log_path)
        self.started.append(worker)
        return worker


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def wait_ready(worker: WorkerProcess, timeout: float = 300, poll: float = 0.05) -> float:
    """Seconds from now until ``/readyz`` answers 200 (the worker must have been started)."""
    return _wait_for(worker, "/readyz", timeout, poll)


def wait_healthy(worker: WorkerProcess, timeout: float = 300, poll: float = 0.05) -> float:
    """Seconds from now until ``/healthz`` answers (the web server is up)."""
    return _wait_for(worker, "/healthz", timeout, poll)


def _wait_for(worker: WorkerProcess, path: str, timeout: float, poll: float) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.process is not None
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited ({worker.process.returncode}):\n{worker.tail()}")
        with contextlib.suppress(OSError):
            if worker.request("GET", path).status == 200:
                return time.perf_counter() - started
        time.sleep(poll)
    raise RuntimeError(f"worker: no 200 from {path} in {timeout} s:\n{worker.tail()}")


def metrics(worker: WorkerProcess) -> dict[str, float]:
    """Every sample of ``/metrics``, by its name with labels as written."""
    answer = worker.request("GET", "/metrics")
    if answer.status != 200:
        raise RuntimeError(f"/metrics: {answer.status} {answer.body}")
    samples = {}
    for line in answer.body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def memory_mb(pid: int) -> dict[str, float]:
    """``VmRSS`` (resident now), ``VmHWM`` (peak resident), and the resident memory's
    anonymous part (``RssAnon``: heaps, RocksDB memtables and caches) and file-backed part
    (``RssFile``: mapped code, chDB's large library among it) of a process, in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            figures[name] = int(rest.split()[0]) / 1024
    return figures


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (all its threads), 0 when unknown or gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def generate_csv(folder: Path, days: int, start: str, orders_per_day: int = 4000) -> Path:
    """What ``dataapp generate --out folder --days .. --start ..`` writes (seed 7, 8 stores),
    in this process."""
    return write_history(folder, 7, 8, days, start, orders_per_day)["sales"]


def ingest_csv(env: dict[str, str], path: Path, mapping: str | None = None) -> tuple[dict, float]:
    """``dataapp ingest PATH --json [--mapping M]``: its summary and how long it took."""
    started = time.perf_counter()
    extra = ["--mapping", mapping] if mapping else []
    done = subprocess.run(
        [*DATAAPP, "ingest", str(path), *extra, "--json", "--no-progress"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dataapp ingest failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), elapsed


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = min(len(sorted_values), max(1, math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def changelog_topics(
    prefix: str, names: Sequence[str] = ("aggregates", "order-index")
) -> list[str]:
    """The changelogs of the worker's tables ``names``: by default its first two (``aggregates``,
    ``order-index``); ``tables.live.TABLES`` for every one, the bought-together counts'
    ``baskets`` and ``basket-index`` included."""
    return [f"{prefix}dataapp-worker-{name}-changelog" for name in names]


def open_live_tables(folder: Path, partitions: int = 8) -> LiveTables:
    """A real ``LiveTables`` (``tables/live.py``) in ``folder`` owning every partition, with
    empty databases and no Kafka: its restore replays nothing (as the unit tests open it).
    Call it outside a running event loop; close the tables when done."""

    async def nothing_to_replay(*_: Any) -> int:
        return 0

    async def opened() -> LiveTables:
        live = LiveTables(folder, "bench-", partitions, "127.0.0.1:1")
        saved = tables.live.replay_to_end
        tables.live.replay_to_end = nothing_to_replay
        try:
            live.on_assigned(range(partitions), generation=1)
            if not await live.wait_ready(lambda: 1):
                raise RuntimeError("the live tables did not open")
        finally:
            tables.live.replay_to_end = saved
        return live

    return asyncio.run(opened())


def table_sizes(live: LiveTables, folder: Path) -> dict[str, dict[str, int]]:
    """Per table of ``live`` (opened by ``open_live_tables`` in ``folder``), over every
    partition: ``keys``, ``key_bytes`` and ``value_bytes`` (the sum of their lengths), and
    after a flush and a full compaction ``sst_bytes`` (RocksDB's live SST files) and
    ``disk_bytes`` (the tables' folders, with RocksDB's logs and manifests)."""
    sizes: dict[str, dict[str, int]] = {}
    for partition in range(live.partitions):
        for name in tables.live.TABLES:
            db = live._partition_db(name, partition)
            figures = sizes.setdefault(name, dict.fromkeys(_SIZE_FIGURES, 0))
            for key, value in db.items():
                figures["keys"] += 1
                figures["key_bytes"] += len(key)
                figures["value_bytes"] += len(value)
            db.flush()
            db.compact_range(None, None)
            figures["sst_bytes"] += db.property_int_value("rocksdb.total-sst-files-size") or 0
    for name, figures in sizes.items():
        figures["disk_bytes"] = sum(
            path.stat().st_size
            for path in folder.rglob("*")
            if path.is_file() and path.parent.name == name
        )
    return sizes


_SIZE_FIGURES = ("keys", "key_bytes", "value_bytes", "sst_bytes", "disk_bytes")


async def read_to_end(
    bootstrap: str,
    topics: list[str],
    handle: Callable[[TopicPartition, list[Any]], None],
    fetch_bytes: int = 16 << 20,
) -> tuple[int, float]:
    """Read every committed record of ``topics`` (all partitions, from the start to the end
    they have now) as the worker's restore does (``app.kafka.replay``), handing each fetched
    batch to ``handle``; returns how many records and the seconds it took."""
    known = await partitions_of(bootstrap, topics)
    partitions = [TopicPartition(topic, p) for topic in topics for p in known[topic]]
    started = time.perf_counter()
    count = await replay_to_end(bootstrap, partitions, handle, fetch_bytes)
    return count, time.perf_counter() - started


async def bare_restore(bootstrap: str, prefix: str, folder: Path) -> tuple[int, float]:
    """Every table's changelog (``tables.live.TABLES``, as the worker restores them) into
    fresh RocksDB databases (one per table and partition, written a fetch at a time) with
    aiokafka and rocksdict alone: how fast a restore could go."""
    dbs: dict[TopicPartition, rocksdict.Rdict] = {}

    def write(tp: TopicPartition, records: list[Any]) -> None:
        db = dbs.get(tp)
        if db is None:
            path = folder / f"{tp.topic}-{tp.partition}"
            db = dbs[tp] = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True))
        batch = rocksdict.WriteBatch(raw_mode=True)
        for record in records:
            if record.value is None:
                batch.delete(record.key)
            else:
                batch.put(record.key, record.value)
        db.write(batch)

    try:
        return await read_to_end(bootstrap, changelog_topics(prefix, tables.live.TABLES), write)
    finally:
        for db in dbs.values():
            db.close()


def run_with_broker(body: Callable[[Any, Path], int]) -> int:
    """Run ``body(broker, work_folder)`` with a broker of its own (or DATAAPP_KAFKA_BOOTSTRAP's)
    and a temporary folder, both gone afterwards; Ctrl-C exits 130."""
    with tempfile.TemporaryDirectory(prefix="dataapp-bench-") as folder:
        work = Path(folder)
        try:
            with broker(work) as running:
                return body(running, work)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
