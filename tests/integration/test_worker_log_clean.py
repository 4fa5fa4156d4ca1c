"""A healthy worker's log holds no error (issue 9, point 5).

Faust's livelock check logs an ERROR for each partition with events waiting whose last commit
is older than ``broker_commit_livelock_soft_timeout``. The agent commits in its own
transactions, which Faust never heard of: from five minutes after start, the log said "Has not
committed TP(topic='sales', ...) at all since worker start" every 7 s. ``app/faust_patches.py``
now records each of the agent's commits for the check.

The timeout is shortened here (``DATAAPP_COMMIT_LIVELOCK_SECONDS``) so that the check judges
commits within the test. It judges a partition only while the broker holds more of it than the
consumer has read (highwater above position): as when two sources write sales side by side,
each holding its transaction open a while (a ``dataapp ingest`` beside the live generator,
say), so that one of them always has records the worker may not read yet. The worker reads
and commits each source's records as their transaction ends, so it is healthy throughout.

The same run with the worker as it was before the fix is the control: it shows that these
conditions make Faust log the error, so the clean log is the fix's doing.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from app.generator.chain import build_chain
from app.generator.sales import SalesGenerator
from app.generator.stream import TREND_ORIGIN
from app.ingest.mapping import load_mapping
from app.ingest.memory import MemorySink
from app.ingest.pipeline import IngestPipeline
from tests.worker_tools import REPO, WorkerProcess, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LIVELOCK_SECONDS = 8
"""The timeout under test; Faust checks every 7 s (2.5 x ``broker_commit_interval``)."""
FEED_SECONDS = 28.0
"""Long enough for three checks past the timeout while sales flow."""
OPEN_SECONDS = 3.0
"""How long each source holds a transaction open: the worker commits every half of it, well
within the timeout."""
SOURCES = 2
ORDERS_PER_TRANSACTION = 100
LOG_PROBLEM = re.compile(r"\b(?:ERROR|CRITICAL)\b|Traceback \(most recent call last\)")

# The worker as it was before the fix: the agent's commits are not recorded for Faust's check,
# nor are its clocks started at each assignment.
WITHOUT_THE_FIX = """\
import sys
from app import faust_patches
faust_patches.agent_committed = lambda app, offsets: None
faust_patches._start_clocks = lambda app, taken, assigned: None
from app.cli import main
sys.exit(main(sys.argv[1:]))
"""

Message = tuple[bytes, bytes, int]
"""Key, value, lines: a sale as the ingestion sink writes it."""


@dataclass
class WorkerWithoutTheFix(WorkerProcess):
    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", WITHOUT_THE_FIX, "worker", "--loglevel", "warning"],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@dataclass
class Run:
    worker: WorkerProcess
    sent_lines: int = 0
    processed: float = 0.0

    @property
    def log(self) -> str:
        return self.worker.log_path.read_text(errors="replace")

    @property
    def sales_topic(self) -> str:
        return f"{self.worker.env['DATAAPP_TOPIC_PREFIX']}sales"


def sales_of_the_chain(orders: int) -> list[Message]:
    """Valid sales of the generated chain, a minute old, through the real pipeline (its
    deliberate faults are rejected there)."""
    chain = build_chain(5, stores=8)
    generator = SalesGenerator(chain, 5, trend_origin=TREND_ORIGIN)
    moment = datetime.now(UTC) - timedelta(minutes=1)
    rows = [
        {**row, "order_id": f"log-clean-{row['order_id']}"}
        for _ in range(orders)
        for row in generator.order_at(moment).rows
    ]
    sink = MemorySink()
    pipeline = IngestPipeline(load_mapping("canonical"), sink, b"log-clean-test-key")
    asyncio.run(pipeline.ingest_records(rows, "log-clean"))
    return [
        (sale.store_id.encode(), orjson.dumps(sale.to_dict()), len(sale.lines))
        for sale in sink.sales
    ]


async def source(run: Run, number: int, sales: list[Message]) -> None:
    """One source: a transaction of ``ORDERS_PER_TRANSACTION`` sales after another, each held
    open ``OPEN_SECONDS`` after its records are on the broker; the sources start half a
    transaction apart."""
    producer = AIOKafkaProducer(
        bootstrap_servers=run.worker.env["DATAAPP_KAFKA_BOOTSTRAP"],
        transactional_id=f"{run.sales_topic}-log-clean-source-{number}",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        await asyncio.sleep(number * OPEN_SECONDS / SOURCES)
        deadline = time.monotonic() + FEED_SECONDS
        while sales and time.monotonic() < deadline:
            batch = sales[:ORDERS_PER_TRANSACTION]
            del sales[:ORDERS_PER_TRANSACTION]
            async with producer.transaction():
                sent = [
                    await producer.send(run.sales_topic, value, key=key) for key, value, _ in batch
                ]
                await asyncio.gather(*sent)
                await asyncio.sleep(OPEN_SECONDS)
            run.sent_lines += sum(lines for _, _, lines in batch)
    finally:
        await producer.stop()


async def feed(runs: list[Run], sales: list[Message]) -> None:
    await asyncio.gather(
        *(source(run, number, sales[number::SOURCES]) for run in runs for number in range(SOURCES))
    )


def wait_for_lines(run: Run, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.processed = run.worker.metric("dataapp_lines_processed_total")
        if run.processed >= run.sent_lines:
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def runs(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The same feed into two workers side by side, each with its own topics: one as it is
    (``fixed``), one without the fix (``unfixed``)."""
    folder = tmp_path_factory.mktemp("log-clean")
    transactions = int(FEED_SECONDS / OPEN_SECONDS) + 1
    sales = sales_of_the_chain(SOURCES * transactions * ORDERS_PER_TRANSACTION)
    runs = {}
    for name, kind in (("fixed", WorkerProcess), ("unfixed", WorkerWithoutTheFix)):
        env = worker_environment(
            kafka_bootstrap,
            folder / name,
            DATAAPP_COMMIT_LIVELOCK_SECONDS=str(LIVELOCK_SECONDS),
        )
        runs[name] = Run(kind(env, folder / f"{name}.log"))
    try:
        for run in runs.values():
            run.worker.start()
        for run in runs.values():
            run.worker.wait_ready()
        asyncio.run(feed(list(runs.values()), sales))
        for run in runs.values():
            wait_for_lines(run)
    finally:
        for run in runs.values():
            run.worker.stop()
    return runs


def test_a_healthy_worker_with_sales_flowing_logs_no_error(runs: dict[str, Run]) -> None:
    run = runs["fixed"]
    assert run.sent_lines > 3_000
    assert run.processed == run.sent_lines, run.worker.tail()
    problems = [line for line in run.log.splitlines() if LOG_PROBLEM.search(line)]
    assert not problems, "\n".join(problems[:20])


def test_without_the_fix_the_same_run_logs_fausts_false_livelock_error(
    runs: dict[str, Run],
) -> None:
    run = runs["unfixed"]
    assert run.processed == run.sent_lines, run.worker.tail()
    false_alarms = re.findall(
        rf"\[ERROR\].*Has not committed TP\(topic='{re.escape(run.sales_topic)}', "
        r"partition=\d+\) at all since worker start",
        run.log,
    )
    assert false_alarms, run.worker.tail()
