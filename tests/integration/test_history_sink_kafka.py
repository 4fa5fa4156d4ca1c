"""The ClickHouse sink on a real broker and a real chDB: exactly once, re-deliveries included.

Sales and dead letters are produced in Kafka transactions (one aborted, which must never
reach the history), plus a message that is not a DataApp record. The sink runs until caught
up without committing (a crash between insert and commit), then again in the same group
(everything re-delivered), then once more (nothing left), then in a new group (everything
re-delivered again): ClickHouse holds each line and each dead letter exactly once.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from agents.clickhouse_sink import HistorySink
from app.history import HistoryStore
from app.kafka.admin import ensure_topics
from app.records import Rejection, Sale, SaleLine
from app.topics import TopicSet, topic_set

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RETENTION = 36_500
STORES = ("s-01", "s-02", "s-03", "s-04", "s-05")


class CrashBeforeCommitSink(HistorySink):
    """Writes to ClickHouse but never commits offsets, as if killed right after each insert."""

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        return None


def make_sales(count: int, tag: str) -> list[Sale]:
    start = datetime(2026, 2, 1, 12, tzinfo=UTC)
    return [
        Sale(
            order_id=f"{tag}-o-{n}",
            store_id=STORES[n % len(STORES)],
            seller_id=f"v-{n % 7}",
            event_time=start + timedelta(minutes=17 * n),
            source_time_zone="America/Sao_Paulo",
            channel="loja",
            lines=tuple(
                SaleLine(
                    f"{tag}-l-{n}-{i}",
                    f"sku-{(n + i) % 9}",
                    -1 if (n + i) % 11 == 0 else 1 + i,
                    1000 + 10 * n,
                    unit_cost_cents=None if n % 5 == 0 else 400,
                )
                for i in range(1 + n % 3)
            ),
            customer_ref=None if n % 4 == 0 else f"c-{n % 13}",
        )
        for n in range(count)
    ]


def make_rejections(count: int) -> list[Rejection]:
    at = datetime(2026, 2, 1, 12, tzinfo=UTC)
    return [
        Rejection(f"r-{n}", f"file-{n % 3}.csv", n + 2, "quantity_zero", "0", f"x;{n};0", at)
        for n in range(count)
    ]


async def produce(
    bootstrap: str,
    topics: TopicSet,
    committed: list[Sale],
    rejections: list[Rejection],
    aborted: list[Sale],
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"history-test-{uuid.uuid4().hex[:8]}",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        half = len(committed) // 2
        for part in (committed[:half], committed[half:]):
            async with producer.transaction():
                for sale in part:
                    await producer.send(
                        topics.sales.name,
                        key=sale.store_id.encode(),
                        value=orjson.dumps(sale.to_dict()),
                    )
        async with producer.transaction():
            for rejection in rejections:
                await producer.send(
                    topics.sales_rejected.name,
                    key=rejection.source.encode(),
                    value=orjson.dumps(rejection.to_dict()),
                )
            # Someone else's message on our topic: counted and skipped, never a crash.
            await producer.send(topics.sales.name, key=b"s-01", value=b"\x00 not a sale")
        await producer.begin_transaction()
        for sale in aborted:
            await producer.send(
                topics.sales.name, key=sale.store_id.encode(), value=orjson.dumps(sale.to_dict())
            )
        await producer.abort_transaction()
    finally:
        await producer.stop()


async def run_until_caught_up(sink: HistorySink, timeout: float = 90.0) -> None:
    await sink.start()
    try:
        async with asyncio.timeout(timeout):
            while not await sink.caught_up():
                await asyncio.sleep(0.1)
        assert sink.health().running
        lags = await sink.lag()
        assert lags and all(lag == 0 for lag in lags.values())
    finally:
        await sink.stop()


async def stored(store: HistoryStore, sql: str) -> list[tuple]:
    return await store._call(store._rows, sql, {})


async def test_each_line_and_dead_letter_lands_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    topics = topic_set(f"history-{tag}.")
    await ensure_topics(kafka_bootstrap, (topics.sales, topics.sales_rejected))
    sales = make_sales(300, "ok")
    aborted = make_sales(20, "aborted")
    rejections = make_rejections(40)
    await produce(kafka_bootstrap, topics, sales, rejections, aborted)
    line_ids = {line.line_id for sale in sales for line in sale.lines}

    store = await HistoryStore.open(f"chdb://{tmp_path / 'clickhouse'}", RETENTION)
    try:
        group = f"history-{tag}"
        crashed = CrashBeforeCommitSink(kafka_bootstrap, topics, store, group, batch_size=100)
        await run_until_caught_up(crashed)
        first = crashed.health()
        assert (first.lines_written, first.rejections_written) == (len(line_ids), 40)
        assert first.skipped == 1
        assert first.healthy and first.batches >= 2

        redelivered = HistorySink(kafka_bootstrap, topics, store, group)
        await run_until_caught_up(redelivered)
        second = redelivered.health()
        assert (second.lines_written, second.rejections_written) == (0, 0)
        assert second.duplicates_skipped == len(line_ids) + 40

        # That run committed: the same group now has nothing left to read.
        resumed = HistorySink(kafka_bootstrap, topics, store, group)
        await run_until_caught_up(resumed)
        assert resumed.health().batches == 0

        other_group = HistorySink(kafka_bootstrap, topics, store, f"{group}-again")
        await run_until_caught_up(other_group)
        assert other_group.health().lines_written == 0

        [(count, distinct)] = await stored(
            store, "SELECT count(), uniqExact(line_id) FROM sale_lines"
        )
        assert count == distinct == len(line_ids)
        ids = {row[0] for row in await stored(store, "SELECT line_id FROM sale_lines")}
        assert ids == line_ids  # and nothing of the aborted transaction
        [(rejected, distinct_rejected)] = await stored(
            store, "SELECT count(), uniqExact(rejection_id) FROM rejections"
        )
        assert rejected == distinct_rejected == 40
        # And the rollups saw each line once: per-store figures add up to the sales sent.
        for store_id in STORES:
            mine = [sale for sale in sales if sale.store_id == store_id]
            figures = await store.summary(store_id, None, date(2026, 1, 1), date(2026, 12, 31))
            assert figures["lines"] == sum(len(sale.lines) for sale in mine)
            assert figures["revenue_cents"] == sum(sale.revenue_cents for sale in mine)
    finally:
        await store.close()
