"""The ClickHouse sink on a real broker and a real chDB: exactly once, re-deliveries included.

Sales and dead letters are produced in Kafka transactions (one aborted, which must never
reach the history), plus a message that is not a DataApp record. The sink runs until caught
up without recording its offsets (a crash between insert and offset record), then again in
the same group (everything re-read), then once more (nothing left), then in a new group
(nothing left either: positions come from ClickHouse): ClickHouse holds each line and each
dead letter exactly once. A wiped history is refilled although the group's offsets remain,
and the sink is caught up at partition ends that hold transaction markers.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.clickhouse_sink import HistorySink
from app.history import HistoryStore
from app.ingest.kafka_sink import stop_consumer
from app.kafka.admin import ensure_topics
from app.records import Rejection, Sale, SaleLine
from app.topics import TopicSet, topic_set

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RETENTION = 36_500
STORES = ("s-01", "s-02", "s-03", "s-04", "s-05")


class CrashAfterInsertSink(HistorySink):
    """Writes rows to ClickHouse but never records nor commits offsets, as if killed right
    after each insert."""

    async def _save_offsets(self, offsets: object) -> None:
        return None

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
        crashed = CrashAfterInsertSink(kafka_bootstrap, topics, store, group, batch_size=100)
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

        # That run recorded its offsets: the same group now has nothing left to read...
        resumed = HistorySink(kafka_bootstrap, topics, store, group)
        await run_until_caught_up(resumed)
        assert resumed.health().batches == 0

        # ...and neither has a new group: it starts where ClickHouse is, not at the start.
        other_group = HistorySink(kafka_bootstrap, topics, store, f"{group}-again")
        await run_until_caught_up(other_group)
        assert other_group.health().batches == 0

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


async def committed_offsets(
    bootstrap: str, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int | None]:
    """What the consumer group has committed, read without joining it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await stop_consumer(consumer)


def all_partitions(topics: TopicSet) -> list[TopicPartition]:
    return [
        TopicPartition(spec.name, partition)
        for spec in (topics.sales, topics.sales_rejected)
        for partition in range(spec.partitions)
    ]


async def test_a_wiped_history_is_refilled_although_the_group_offsets_remain(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    topics = topic_set(f"history-wipe-{tag}.")
    await ensure_topics(kafka_bootstrap, (topics.sales, topics.sales_rejected))
    first_wave = make_sales(200, "w1")
    rejections = make_rejections(15)
    await produce(kafka_bootstrap, topics, first_wave, rejections, make_sales(5, "aborted"))
    group = f"history-wipe-{tag}"

    before = tmp_path / "before"
    store = await HistoryStore.open(f"chdb://{before}", RETENTION)
    try:
        sink = HistorySink(kafka_bootstrap, topics, store, group, batch_size=100)
        await run_until_caught_up(sink)
        assert sink.health().lines_written == sum(len(sale.lines) for sale in first_wave)
    finally:
        await store.close()

    # More sales arrive while the history is being replaced; the group keeps its offsets.
    second_wave = make_sales(120, "w2")
    await produce(kafka_bootstrap, topics, second_wave, [], [])
    committed = await committed_offsets(kafka_bootstrap, group, all_partitions(topics))
    assert sum(offset or 0 for offset in committed.values()) >= len(first_wave) + 15

    shutil.rmtree(before)  # the history is gone
    store = await HistoryStore.open(f"chdb://{tmp_path / 'after'}", RETENTION)
    try:
        refill = HistorySink(kafka_bootstrap, topics, store, group, batch_size=100)
        await run_until_caught_up(refill)
        line_ids = {line.line_id for sale in first_wave + second_wave for line in sale.lines}
        health = refill.health()
        assert (health.lines_written, health.rejections_written) == (len(line_ids), 15)
        assert health.duplicates_skipped == 0
        [(count, distinct)] = await stored(
            store, "SELECT count(), uniqExact(line_id) FROM sale_lines"
        )
        assert count == distinct == len(line_ids)
        assert {row[0] for row in await stored(store, "SELECT line_id FROM sale_lines")} == (
            line_ids
        )
        [(rejected,)] = await stored(store, "SELECT count() FROM rejections")
        assert rejected == 15
        # ClickHouse now records at least as far as the group had committed.
        recorded = await store.load_sink_offsets([topics.sales.name, topics.sales_rejected.name])
        for tp, offset in committed.items():
            if offset:
                assert recorded[(tp.topic, tp.partition)] >= offset, tp

        again = HistorySink(kafka_bootstrap, topics, store, group)
        await run_until_caught_up(again)
        assert again.health().batches == 0
    finally:
        await store.close()


async def test_caught_up_at_partition_ends_that_hold_transaction_markers(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Under read_committed a partition written transactionally ends with a commit or abort
    marker (an offset with no message). aiokafka moves the position past markers and
    aborted data, so the sink reaches lag 0 and ``caught_up()``, both on a first run and on a
    restart positioned at a recorded offset that points at a marker."""
    tag = uuid.uuid4().hex[:8]
    topics = topic_set(f"history-markers-{tag}.")
    await ensure_topics(kafka_bootstrap, (topics.sales, topics.sales_rejected))
    sales = make_sales(12, "m")
    aborted = make_sales(4, "m-aborted")
    sales_tp = [TopicPartition(topics.sales.name, partition) for partition in range(4)]
    rejected_tp = TopicPartition(topics.sales_rejected.name, 0)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        transactional_id=f"history-markers-{tag}",
        enable_idempotence=True,
    )

    async def send(tp: TopicPartition, values: list[bytes], commit: bool = True) -> None:
        await producer.begin_transaction()
        for value in values:
            await producer.send_and_wait(tp.topic, value=value, partition=tp.partition)
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()

    def encoded(items: list[Sale]) -> list[bytes]:
        return [orjson.dumps(sale.to_dict()) for sale in items]

    await producer.start()
    try:
        await send(sales_tp[0], encoded(sales[0:5]))  # 0-4, commit marker 5
        await send(sales_tp[1], encoded(sales[5:8]))  # 0-2, commit marker 3
        await send(sales_tp[1], encoded(aborted[0:2]), commit=False)  # 4-5 aborted, marker 6
        await send(sales_tp[2], encoded(aborted[2:4]), commit=False)  # 0-1 aborted, marker 2
        await send(sales_tp[3], encoded(sales[8:10]))  # 0-1, marker 2
        await send(sales_tp[3], encoded(sales[10:12]))  # 3-4, marker 5
        rejection = make_rejections(1)[0]
        await send(rejected_tp, [orjson.dumps(rejection.to_dict())])  # 0, marker 1
    finally:
        await producer.stop()
    # Per partition: (offset after the last committed message, read_committed end).
    expected = {
        sales_tp[0]: (5, 6),
        sales_tp[1]: (3, 7),
        sales_tp[2]: (None, 3),
        sales_tp[3]: (5, 6),
        rejected_tp: (1, 2),
    }

    async def check_caught_up(sink: HistorySink) -> None:
        async with asyncio.timeout(60):
            while not await sink.caught_up():
                await asyncio.sleep(0.05)
        consumer = sink._consumer
        assert consumer is not None
        partitions = sorted(consumer.assignment())
        assert len(partitions) == topics.sales.partitions + topics.sales_rejected.partitions
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            assert await consumer.position(tp) == ends[tp], tp
            assert ends[tp] == expected.get(tp, (None, 0))[1], tp
        assert set((await sink.lag()).values()) == {0}
        assert await sink.lag_total() == 0

    group = f"history-markers-{tag}"
    store = await HistoryStore.open(f"chdb://{tmp_path / 'ch'}", RETENTION)
    try:
        first = HistorySink(kafka_bootstrap, topics, store, group)
        await first.start()
        try:
            await check_caught_up(first)
        finally:
            await first.stop()
        assert first.health().lines_written == sum(len(sale.lines) for sale in sales)
        assert first.health().rejections_written == 1
        recorded = await store.load_sink_offsets([topics.sales.name, topics.sales_rejected.name])
        assert recorded == {
            (tp.topic, tp.partition): after
            for tp, (after, _) in expected.items()
            if after is not None
        }

        # Restarted in a new group: sought to the recorded offsets, each of them a marker.
        restarted = HistorySink(kafka_bootstrap, topics, store, f"{group}-restart")
        await restarted.start()
        try:
            await check_caught_up(restarted)
            assert restarted.health().batches == 0
        finally:
            await restarted.stop()
    finally:
        await store.close()
