"""The ClickHouse sink's logic without Kafka or ClickHouse: backoff, retry, dedup, ordering,
and positions taken from ClickHouse rather than from the consumer group."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from agents.clickhouse_sink import (
    LATENCY_BUCKETS_S,
    DecodedBatch,
    HistorySink,
    backoff_delay,
    decode_batch,
    search_days,
)
from app.history.rows import LINE_ID, REJECTION_ID, rejection_row, sale_rows
from app.records import Rejection, Sale, SaleLine
from app.topics import topic_set

TOPICS = topic_set("unit.")
SALES = TopicPartition(TOPICS.sales.name, 0)
REJECTED = TopicPartition(TOPICS.sales_rejected.name, 1)


class ClickHouseDown(RuntimeError):
    pass


@dataclass
class FakeStore:
    """An in-memory HistoryStore: the same async methods, and failures on demand."""

    lines: list[tuple] = field(default_factory=list)
    rejections: list[tuple] = field(default_factory=list)
    fail_next: int = 0
    """How many of the next calls (any method) raise."""
    land_then_fail: int = 0
    """How many of the next inserts write their rows and then raise (a timeout after the
    server wrote): the retry must not write them again."""
    calls: list[str] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """What ``sink_offsets`` holds (the latest per partition)."""
    offset_saves: list[tuple[dict[tuple[str, int], int], int]] = field(default_factory=list)
    """Each save, with how many lines the store held at that moment."""
    on_load: Callable[[], None] | None = None
    """Run inside the next ``load_sink_offsets`` (a rebalance arriving meanwhile, say)."""

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_next:
            self.fail_next -= 1
            raise ClickHouseDown(f"{name}: connection refused")

    async def load_sink_offsets(self, topics: Collection[str]) -> dict[tuple[str, int], int]:
        self._maybe_fail("load_sink_offsets")
        hook, self.on_load = self.on_load, None
        if hook is not None:
            hook()
        await asyncio.sleep(0)
        return {key: value for key, value in self.offsets.items() if key[0] in topics}

    async def save_sink_offsets(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self._maybe_fail("save_sink_offsets")
        self.offsets.update(offsets)
        self.offset_saves.append((dict(offsets), len(self.lines)))

    async def existing_line_ids(
        self,
        store_ids: Collection[str],
        line_ids: Collection[str],
        local_dates: Collection[date] | None = None,
    ) -> set[str]:
        self._maybe_fail("existing_line_ids")
        stored = {row[LINE_ID] for row in self.lines}
        return {line_id for line_id in line_ids if line_id in stored}

    async def insert_lines(self, rows: Sequence[Sequence[Any]]) -> None:
        self._maybe_fail("insert_lines")
        self.lines.extend(tuple(row) for row in rows)
        if self.land_then_fail:
            self.land_then_fail -= 1
            raise TimeoutError("the insert landed but the answer was lost")

    async def existing_rejection_ids(self, rejection_ids: Collection[str]) -> set[str]:
        self._maybe_fail("existing_rejection_ids")
        stored = {row[REJECTION_ID] for row in self.rejections}
        return {item for item in rejection_ids if item in stored}

    async def insert_rejections(self, rows: Sequence[Sequence[Any]]) -> None:
        self._maybe_fail("insert_rejections")
        self.rejections.extend(tuple(row) for row in rows)


@dataclass
class Sleeps:
    """A sleep that returns at once and remembers, so retries take no time in tests."""

    delays: list[float] = field(default_factory=list)
    health_seen: list[bool] = field(default_factory=list)
    sink: HistorySink | None = None

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.sink is not None:
            self.health_seen.append(self.sink.health().healthy)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class FakeRecord:
    offset: int
    value: bytes | None


def sale(number: int, lines: int = 2, store: str = "s-1") -> Sale:
    return Sale(
        order_id=f"o-{number}",
        store_id=store,
        seller_id="v-1",
        event_time=datetime(2026, 5, 4, 15, number % 60, tzinfo=UTC),
        source_time_zone="America/Sao_Paulo",
        channel="loja",
        lines=tuple(
            SaleLine(f"l-{number}-{i}", f"sku-{i}", 1 if i else -1, 1000, unit_cost_cents=400)
            for i in range(lines)
        ),
        customer_ref="c-1",
    )


def dated(moment: datetime) -> Sale:
    one = sale(99)
    return Sale(one.order_id, one.store_id, one.seller_id, moment, "UTC", one.channel, one.lines)


def rejection(number: int) -> Rejection:
    at = datetime(2026, 5, 4, 15, tzinfo=UTC)
    return Rejection(f"r-{number}", "f.csv", number, "quantity_zero", "0", "x;0", at)


def batch_of(sales: Sequence[Sale], rejections: Sequence[Rejection] = ()) -> DecodedBatch:
    batch = DecodedBatch()
    for offset, one in enumerate(sales):
        batch.lines.extend(sale_rows(one, 0, offset))
    batch.rejections.extend(rejection_row(item) for item in rejections)
    batch.offsets = {SALES: len(sales)}
    return batch


def make_sink(store: FakeStore, sleeps: Sleeps | None = None) -> HistorySink:
    sleeps = sleeps or Sleeps()
    sink = HistorySink("127.0.0.1:9", TOPICS, store, "unit", rng=random.Random(1), sleep=sleeps)
    sleeps.sink = sink
    return sink


def line_ids(rows: list[tuple]) -> list[str]:
    return [row[LINE_ID] for row in rows]


# --- backoff -----------------------------------------------------------------------------


def test_backoff_grows_by_doubling_within_jitter_bounds_and_stops_at_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 40):
        ceiling = min(30.0, 0.2 * 2 ** (attempt - 1))
        for _ in range(50):
            delay = backoff_delay(attempt, rng=rng)
            assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(1000, rng=rng) <= 30.0
    assert backoff_delay(0, rng=rng) <= 0.2


def test_backoff_grows_on_average_and_is_jittered() -> None:
    rng = random.Random(3)
    means = [
        sum(backoff_delay(attempt, base=0.1, cap=100.0, rng=rng) for _ in range(200)) / 200
        for attempt in range(1, 8)
    ]
    assert all(later > earlier * 1.5 for earlier, later in pairwise(means))
    assert len({backoff_delay(3, rng=rng) for _ in range(20)}) > 1


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    first = [backoff_delay(n, rng=random.Random(5)) for n in range(1, 10)]
    assert first == [backoff_delay(n, rng=random.Random(5)) for n in range(1, 10)]


# --- decoding ----------------------------------------------------------------------------


def test_decoding_counts_foreign_messages_and_commits_past_them() -> None:
    good = orjson.dumps(sale(1).to_dict())
    records = {
        SALES: [
            FakeRecord(10, good),
            FakeRecord(11, b"not json"),
            FakeRecord(12, orjson.dumps({"order_id": "x"})),
            FakeRecord(13, None),
            # Decodes, but 1950 does not fit the history's Date column: skipped, not retried.
            FakeRecord(14, orjson.dumps(dated(datetime(1950, 1, 1, tzinfo=UTC)).to_dict())),
        ],
        REJECTED: [FakeRecord(4, orjson.dumps(rejection(1).to_dict())), FakeRecord(5, b"[]")],
    }
    batch = decode_batch(records, TOPICS.sales.name)
    assert batch.messages == 7
    assert batch.skipped == 5
    assert line_ids(batch.lines) == ["l-1-0", "l-1-1"]
    assert [row[REJECTION_ID] for row in batch.rejections] == ["r-1"]
    assert batch.offsets == {SALES: 15, REJECTED: 6}
    assert {row[-1] for row in batch.lines} == {10}  # the Kafka offset travels with the line


# --- retry and dedup ---------------------------------------------------------------------


async def test_clickhouse_failures_are_retried_until_the_batch_is_written() -> None:
    store = FakeStore(fail_next=4)
    sleeps = Sleeps()
    sink = make_sink(store, sleeps)
    batch = batch_of([sale(n) for n in range(5)], [rejection(1), rejection(2)])

    await sink.process_batch(batch)

    assert sorted(line_ids(store.lines)) == sorted(line_ids(batch.lines))
    assert [row[REJECTION_ID] for row in store.rejections] == ["r-1", "r-2"]
    assert len(sleeps.delays) == 4
    assert sleeps.delays == sorted(sleeps.delays)  # exponential: jitter never undoes a doubling
    assert sleeps.health_seen == [False] * 4  # unhealthy while retrying
    health = sink.health()
    assert health.healthy
    assert health.last_error is not None and "connection refused" in health.last_error
    assert (health.lines_written, health.rejections_written, health.duplicates_skipped) == (
        10,
        2,
        0,
    )


async def test_an_insert_that_landed_but_failed_is_not_written_twice() -> None:
    store = FakeStore(land_then_fail=1)
    sink = make_sink(store)
    batch = batch_of([sale(n) for n in range(3)])

    await sink.process_batch(batch)

    assert sorted(line_ids(store.lines)) == sorted(line_ids(batch.lines))
    assert len(store.lines) == len(set(line_ids(store.lines)))


async def test_a_crash_between_insert_and_commit_writes_nothing_twice() -> None:
    store = FakeStore()
    batch = batch_of([sale(n) for n in range(4)], [rejection(7)])
    await make_sink(store).process_batch(batch)
    # The process dies here: the offsets were never committed, so the next run gets the same
    # messages again (decoded afresh, perhaps in a different batch).
    redelivered = batch_of([sale(n) for n in range(6)], [rejection(7), rejection(8)])
    second = make_sink(store)
    await second.process_batch(redelivered)

    assert sorted(line_ids(store.lines)) == sorted(line_ids(redelivered.lines))
    assert len(store.lines) == len(set(line_ids(store.lines))) == 12
    assert [row[REJECTION_ID] for row in store.rejections] == ["r-7", "r-8"]
    health = second.health()
    assert (health.lines_written, health.rejections_written) == (4, 1)
    assert health.duplicates_skipped == 8 + 1


async def test_a_line_repeated_inside_a_batch_is_written_once() -> None:
    store = FakeStore()
    sink = make_sink(store)
    batch = batch_of([sale(1), sale(1), sale(2)])
    await sink.process_batch(batch)
    assert sorted(line_ids(store.lines)) == ["l-1-0", "l-1-1", "l-2-0", "l-2-1"]
    assert sink.health().duplicates_skipped == 2


# --- the loop: insert, THEN commit -------------------------------------------------------


class FakeConsumer:
    """Serves each prepared fetch as one batch, then nothing; records each commit with how
    many lines the store held at that moment. Paused partitions are not served; seeks and
    pauses are recorded."""

    def __init__(
        self,
        fetches: list[dict[TopicPartition, list[FakeRecord]]],
        store: FakeStore,
        assigned: Collection[TopicPartition] = (SALES, REJECTED),
    ):
        # An empty answer after each fetch ends that batch's fetch window.
        self.script = [answer for fetch in fetches for answer in (fetch, {})]
        self.store = store
        self.commits: list[tuple[dict[TopicPartition, int], int]] = []
        self.assigned = set(assigned)
        self.paused: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int | str]] = []
        self.ignore_pause = False
        """Serve paused partitions too: a fetch that completed just before the pause."""

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))

    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool:
        self.seeks.extend((tp, "start") for tp in partitions)
        return True

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        if self.script and (self.ignore_pause or not (set(self.script[0]) & self.paused)):
            return self.script.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append((dict(offsets), len(self.store.lines)))


def running(sink: HistorySink, consumer: FakeConsumer, assign: bool = True) -> asyncio.Task[None]:
    """The sink's loop on ``consumer``; ``assign`` delivers the consumer's assignment first,
    as the group coordinator would."""
    sink._consumer = consumer  # type: ignore[assignment]
    if assign:
        sink._on_assigned(consumer, consumer.assignment())  # type: ignore[arg-type]
    return asyncio.create_task(sink._run())


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.001)


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def fetch_of(sales: Sequence[Sale], first_offset: int) -> dict[TopicPartition, list[FakeRecord]]:
    return {
        SALES: [
            FakeRecord(first_offset + i, orjson.dumps(one.to_dict())) for i, one in enumerate(sales)
        ]
    }


async def test_offsets_are_recorded_then_committed_only_after_the_rows_are_written() -> None:
    store = FakeStore(fail_next=3)
    consumer = FakeConsumer([fetch_of([sale(1), sale(2)], 0), fetch_of([sale(3)], 2)], store)
    sink = make_sink(store)
    task = running(sink, consumer)
    await eventually(lambda: len(consumer.commits) == 2)
    await cancel(task)

    # Per batch: rows, then the offsets in ClickHouse, then the group's commit; never before.
    key = (SALES.topic, SALES.partition)
    assert store.offset_saves == [({key: 2}, 4), ({key: 3}, 6)]
    assert consumer.commits == [({SALES: 2}, 4), ({SALES: 3}, 6)]
    assert store.offsets == {key: 3}
    health = sink.health()
    assert health.batches == 2
    assert health.healthy and health.lines_written == 6
    assert health.last_batch_seconds is not None
    assert len(health.recent_batch_seconds) == 2
    assert health.latency.count == 2 and sum(health.latency.counts) == 2
    assert len(health.latency.counts) == len(LATENCY_BUCKETS_S) + 1


async def test_a_failing_store_holds_the_commit_back() -> None:
    store = FakeStore(fail_next=10**9)  # ClickHouse is down for good
    consumer = FakeConsumer([fetch_of([sale(1)], 0)], store)
    sleeps = Sleeps()
    sink = make_sink(store, sleeps)
    sink._positioned = {SALES, REJECTED}  # positioned before ClickHouse went down
    task = running(sink, consumer, assign=False)
    await eventually(lambda: len(sleeps.delays) >= 20)

    assert consumer.commits == []
    assert store.offset_saves == []
    assert not sink.health().healthy
    assert sink.health().consecutive_failures >= 20
    assert not await sink.caught_up()  # a batch in flight is never "caught up"
    await cancel(task)
    assert store.lines == []
    assert consumer.commits == []


async def test_a_failing_offset_record_is_retried_after_the_rows() -> None:
    store = FakeStore()
    consumer = FakeConsumer([fetch_of([sale(1)], 0)], store)
    sink = make_sink(store)
    original = store.save_sink_offsets
    failures = [2]

    async def flaky(offsets: Mapping[tuple[str, int], int]) -> None:
        if failures[0]:
            failures[0] -= 1
            raise ClickHouseDown("offsets: timeout")
        await original(offsets)

    store.save_sink_offsets = flaky  # type: ignore[method-assign]
    task = running(sink, consumer)
    await eventually(lambda: len(consumer.commits) == 1)
    await cancel(task)
    assert store.offset_saves == [({(SALES.topic, SALES.partition): 1}, 2)]
    assert sorted(line_ids(store.lines)) == ["l-1-0", "l-1-1"]  # written once, not per retry
    assert sink.health().healthy


# --- positions: from ClickHouse, never from the consumer group ------------------------------


async def test_partitions_start_where_clickhouse_says_or_at_the_beginning() -> None:
    other = TopicPartition(TOPICS.sales.name, 5)
    store = FakeStore(offsets={(SALES.topic, SALES.partition): 42, ("someone-else", 0): 7})
    consumer = FakeConsumer([], store, assigned=(SALES, other, REJECTED))
    sink = make_sink(store)
    task = running(sink, consumer)
    await eventually(lambda: not sink._pending)
    assert sorted(consumer.seeks) == sorted([(SALES, 42), (other, "start"), (REJECTED, "start")])
    assert consumer.paused == set()
    assert sink._positioned == {SALES, other, REJECTED}
    assert sink.health().healthy
    await cancel(task)


async def test_partitions_stay_paused_until_clickhouse_answers() -> None:
    store = FakeStore(fail_next=10**9, offsets={(SALES.topic, SALES.partition): 3})
    sleeps = Sleeps()
    sink = make_sink(store, sleeps)
    consumer = FakeConsumer([fetch_of([sale(3)], 3)], store, assigned=(SALES,))
    task = running(sink, consumer)
    await eventually(lambda: len(sleeps.delays) >= 5)
    # While ClickHouse is down nothing is read: the group's position is never used.
    assert store.lines == [] and consumer.commits == []
    assert set(sleeps.health_seen) == {False}
    assert "read the sink offsets" in (sink.health().last_error or "")
    assert consumer.paused == {SALES} and consumer.seeks == []
    store.fail_next = 0  # ClickHouse is back
    await eventually(lambda: len(consumer.commits) == 1)
    await cancel(task)
    assert consumer.seeks == [(SALES, 3)]
    assert sorted(line_ids(store.lines)) == ["l-3-0", "l-3-1"]
    assert sink.health().healthy


async def test_not_caught_up_while_partitions_wait_for_their_position() -> None:
    store = FakeStore(fail_next=10**9)
    consumer = FakeConsumer([], store, assigned=(SALES,))
    sink = make_sink(store)
    task = running(sink, consumer)
    await eventually(lambda: sink.health().consecutive_failures >= 3)
    assert not await sink.caught_up()
    assert await sink.lag() == {SALES: None}
    assert await sink.lag_total() is None
    await cancel(task)


async def test_messages_read_before_positioning_are_dropped() -> None:
    """A fetch that completed before the assignment's pause holds messages from where the
    consumer group said: they are not written, and the partition is sought again."""
    store = FakeStore()
    consumer = FakeConsumer([fetch_of([sale(1)], 0)], store, assigned=(SALES,))
    consumer.ignore_pause = True
    sink = make_sink(store)
    sink._consumer = consumer  # type: ignore[assignment]
    sink._on_assigned(consumer, {SALES})  # type: ignore[arg-type]
    assert await sink._fetch() == {}
    assert store.lines == [] and not sink._busy


async def test_a_rebalance_while_reading_the_offsets_starts_positioning_over() -> None:
    store = FakeStore(offsets={(SALES.topic, SALES.partition): 9})
    consumer = FakeConsumer([], store, assigned=(SALES,))
    sink = make_sink(store)
    moved = TopicPartition(TOPICS.sales.name, 3)

    def rebalance() -> None:
        consumer.assigned = {moved}
        consumer.paused &= consumer.assigned  # aiokafka forgets revoked partitions' state
        sink._on_revoked({SALES})
        sink._on_assigned(consumer, {moved})  # type: ignore[arg-type]

    store.on_load = rebalance
    task = running(sink, consumer)
    await eventually(lambda: not sink._pending)
    await cancel(task)
    # The first answer was for the old assignment: nothing sought from it.
    assert consumer.seeks == [(moved, "start")]
    assert sink._positioned == {moved}
    assert consumer.paused == set()


def test_the_dedup_lookup_covers_the_neighbouring_days() -> None:
    days = search_days([date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 3)])
    assert days == {
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
        date(2026, 3, 3),
        date(2026, 3, 4),
    }
