"""The ClickHouse sink: every sale line and dead letter into the history, exactly once.

Decoupled from the Faust aggregation on purpose: it has its own consumer group, so when
ClickHouse is slow or down the live aggregates go on and only this sink falls behind (its
lag and health say so), then catches up.

ClickHouse holds the sink's progress, not Kafka: table ``sink_offsets`` records, per topic
partition, the offset after the last message whose rows are stored. At every partition
assignment (the start included) the sink pauses the partitions, reads those offsets, seeks
each partition to its recorded offset (to the beginning when there is none), and only then
resumes them, whatever the consumer group committed. A history that was wiped or replaced
is therefore refilled from the start, and a new consumer group goes on where the history is.
The group's offsets are still committed after each batch, for lag monitoring only.

Per batch: fetch (up to ``batch_size`` messages or 200 ms), decode, ask ClickHouse which ids
it already holds, insert only the others, THEN record the offsets in ``sink_offsets``, then
commit them to Kafka. A crash between the insert and the offset record re-reads the batch,
and the id lookup makes that re-read write nothing twice. A ClickHouse error (including "not
connected yet") retries the same step, with exponential backoff and jitter, for as long as
it takes: a batch is never skipped. Messages that are not DataApp records are counted in
``skipped`` and logged (the Faust agent dead-letters them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from agents.decode import decode_sale
from agents.follower import cancel_and_wait
from app.history.client import backoff_delay
from app.history.rows import LINE_ID, LOCAL_DATE, REJECTION_ID, STORE_ID, rejection_row, sale_rows
from app.ingest.kafka_sink import stop_consumer
from app.metrics import Histogram
from app.records import Rejection
from app.topics import TopicSet

log = logging.getLogger(__name__)

FETCH_WINDOW_MS = 200
LATENCY_BUCKETS_S: tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Upper bounds of the batch-latency histogram (seconds), as Prometheus would have them."""
RECENT_LATENCIES = 64


class HistoryWriter(Protocol):
    """What the sink needs of ``app.history.store.HistoryStore`` (tests pass a fake)."""

    async def existing_line_ids(
        self,
        store_ids: Collection[str],
        line_ids: Collection[str],
        local_dates: Collection[date] | None = None,
    ) -> set[str]: ...

    async def insert_lines(self, rows: Sequence[Sequence[Any]]) -> None: ...

    async def existing_rejection_ids(self, rejection_ids: Collection[str]) -> set[str]: ...

    async def insert_rejections(self, rows: Sequence[Sequence[Any]]) -> None: ...

    async def load_sink_offsets(self, topics: Collection[str]) -> dict[tuple[str, int], int]: ...

    async def save_sink_offsets(self, offsets: Mapping[tuple[str, int], int]) -> None: ...


class _Record(Protocol):
    """The fields of an aiokafka ``ConsumerRecord`` that decoding reads."""

    @property
    def offset(self) -> int: ...

    @property
    def value(self) -> bytes | None: ...


@dataclass(slots=True)
class DecodedBatch:
    """One fetch, decoded: rows to write and the offsets to commit once they are written."""

    lines: list[tuple] = field(default_factory=list)
    rejections: list[tuple] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    """Per partition, the offset after the last message of the batch."""
    messages: int = 0
    skipped: int = 0


def decode_batch(
    records: Mapping[TopicPartition, Sequence[_Record]], sales_topic: str
) -> DecodedBatch:
    """Rows of every message of a fetch. A message that is not a DataApp record, or holds a
    value the history cannot store, is counted in ``skipped`` and logged, and its offset is
    still committed: it would fail again, and must not hold back the messages after it."""
    batch = DecodedBatch()
    for tp, messages in records.items():
        for record in messages:
            batch.messages += 1
            try:
                if tp.topic == sales_topic:
                    # The Faust agent's own decoder: the history keeps exactly the sales the
                    # live tables count, and what they dead-letter comes back as a rejection.
                    sale = decode_sale(record.value)
                    batch.lines.extend(sale_rows(sale, tp.partition, record.offset))
                else:
                    rejection = Rejection.from_dict(orjson.loads(record.value or b""))
                    batch.rejections.append(rejection_row(rejection))
            except (
                orjson.JSONDecodeError,
                KeyError,
                TypeError,
                ValueError,
                AttributeError,
                OverflowError,
            ) as error:  # InvalidMessage and UnstorableError are ValueErrors
                batch.skipped += 1
                log.warning(
                    "%s:%d@%d: not a storable DataApp record, skipped (%s: %s)",
                    *tp,
                    record.offset,
                    type(error).__name__,
                    error,
                )
        if messages:
            batch.offsets[tp] = messages[-1].offset + 1
    return batch


def first_of_each(rows: Iterable[tuple], id_index: int) -> list[tuple]:
    """Rows with distinct ids, the first of each (a batch may carry a line twice)."""
    seen: set[str] = set()
    kept: list[tuple] = []
    for row in rows:
        if row[id_index] not in seen:
            seen.add(row[id_index])
            kept.append(row)
    return kept


def search_days(days: Iterable[date]) -> set[date]:
    """The local dates to look for stored copies of lines on: their own, and the days either
    side, because a copy written before a time-zone rule change may sit on a neighbouring
    day (a rule moves local time by an hour or two, never by a day)."""
    return {day + timedelta(days=shift) for day in set(days) for shift in (-1, 0, 1)}


@dataclass(frozen=True, slots=True)
class SinkHealth:
    running: bool
    healthy: bool
    """False while the current batch is failing (and being retried)."""
    last_error: str | None
    """The most recent error, kept after recovery for diagnosis."""
    consecutive_failures: int
    lines_written: int
    rejections_written: int
    duplicates_skipped: int
    skipped: int
    batches: int
    last_batch_seconds: float | None
    recent_batch_seconds: tuple[float, ...]
    latency: Histogram
    """Batch latencies (a copy), for the Prometheus histogram."""


@dataclass(slots=True)
class _Counters:
    lines_written: int = 0
    rejections_written: int = 0
    duplicates_skipped: int = 0
    skipped: int = 0
    batches: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_batch_seconds: float | None = None
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS_S))
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_LATENCIES))

    def observe(self, seconds: float) -> None:
        self.batches += 1
        self.last_batch_seconds = seconds
        self.latency.observe(seconds)
        self.recent.append(seconds)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the history sink stopped on an error", exc_info=task.exception())


class _PositionFromHistory(ConsumerRebalanceListener):
    """Hands each revocation and assignment to the sink, which positions the partitions."""

    def __init__(self, sink: HistorySink, consumer: AIOKafkaConsumer) -> None:
        self._sink = sink
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._sink._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._sink._on_assigned(self._consumer, set(assigned))


class HistorySink:
    """Kafka ``sales`` and ``sales.rejected`` into the history. ``group_id`` is the sink's
    own consumer group (not the Faust app's); where to read from comes from ClickHouse."""

    def __init__(
        self,
        bootstrap: str,
        topics: TopicSet,
        store: HistoryWriter,
        group_id: str,
        batch_size: int = 5000,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.store = store
        self.group_id = group_id
        self.batch_size = batch_size
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._counters = _Counters()
        self._pending: set[TopicPartition] = set()
        """Assigned partitions, paused until they are positioned from ``sink_offsets``."""
        self._positioned: set[TopicPartition] = set()
        """Partitions positioned from ``sink_offsets`` since their assignment: the only ones
        whose messages are written (anything else was read from where Kafka said)."""
        self._generation = 0
        """Bumped by every revocation and assignment: positioning that spans one starts over."""

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._pending.clear()
        self._positioned.clear()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group_id,
            isolation_level="read_committed",
            enable_auto_commit=False,
            # Only for an offset that is out of range (retention deleted the start, or the
            # topic was recreated): write what is there, never skip to the end. The normal
            # start position comes from ClickHouse (_position_pending).
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=32 << 20,
        )
        try:
            await consumer.start()
            consumer.subscribe(
                [self.topics.sales.name, self.topics.sales_rejected.name],
                listener=_PositionFromHistory(self, consumer),
            )
        except BaseException:
            await stop_consumer(consumer)
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="history-sink")
        self._task.add_done_callback(_log_crash)

    async def stop(self) -> None:
        """Stop at once: a batch written but not recorded is simply read again (and
        deduplicated) by the next run."""
        task, self._task = self._task, None
        with contextlib.suppress(Exception):  # already logged by _log_crash
            await cancel_and_wait(task)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await stop_consumer(consumer)
        self._busy = False
        self._pending.clear()
        self._positioned.clear()

    # --- positions: from ClickHouse, never from the consumer group --------------------------

    def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        self._generation += 1
        self._positioned -= revoked
        self._pending -= revoked

    def _on_assigned(self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]) -> None:
        """Pause every assigned partition until ``_position_pending`` has sought it to the
        offset ClickHouse recorded. Nothing here waits on ClickHouse: a slow or absent
        ClickHouse must not hold up the group's rebalance."""
        self._generation += 1
        # A new assignment starts every partition afresh (aiokafka would resume it from the
        # group's committed offset), kept partitions included.
        self._positioned.clear()
        self._pending = set(assigned)
        if assigned:
            consumer.pause(*assigned)

    async def _position_pending(self) -> None:
        """Seek each pending partition to its offset in ``sink_offsets``, or to its
        beginning when ClickHouse has none, then resume it. Raises while ClickHouse fails."""
        consumer = self._consumer
        assert consumer is not None
        generation = self._generation
        wanted = sorted(self._pending)
        recorded = await self.store.load_sink_offsets({tp.topic for tp in wanted})
        if generation != self._generation:
            return  # a rebalance came in meanwhile: start over with its assignment
        assigned = consumer.assignment()
        ready = [tp for tp in wanted if tp in assigned]
        from_start = []
        for tp in ready:
            offset = recorded.get((tp.topic, tp.partition))
            if offset is None:
                from_start.append(tp)
            else:
                consumer.seek(tp, offset)
        if from_start:
            # Marks them at once; the await only waits for the broker's answer.
            await consumer.seek_to_beginning(*from_start)
            if generation != self._generation:
                return
        self._pending.difference_update(wanted)
        self._positioned.update(ready)
        if ready:
            consumer.resume(*ready)
            log.info(
                "history sink positioned from ClickHouse: %s",
                ", ".join(
                    f"{tp.topic}:{tp.partition}@{recorded.get((tp.topic, tp.partition), 'start')}"
                    for tp in ready
                ),
            )

    # --- the loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            if self._pending:
                # Retried until ClickHouse answers; the partitions stay paused meanwhile.
                await self._retrying("read the sink offsets", self._position_pending)
                continue
            try:
                records = await self._fetch()
            except Exception as error:  # the loop must outlive any broker trouble
                self._busy = False
                attempt += 1
                self._failed(f"Kafka: {type(error).__name__}: {error}")
                log.warning("fetch failed (attempt %d): %s", attempt, error)
                await self._sleep(backoff_delay(attempt, rng=self._rng))
                continue
            if attempt:
                attempt = 0
                self._counters.consecutive_failures = 0
            if not records:
                continue
            try:
                started = time.monotonic()
                # Off the event loop: a full batch takes tens of milliseconds of parsing, and
                # the Faust agents share the loop.
                batch = await asyncio.to_thread(decode_batch, records, self.topics.sales.name)
                await self.process_batch(batch)
                await self._commit(batch.offsets)
                self._counters.observe(time.monotonic() - started)
            finally:
                self._busy = False

    async def _fetch(self) -> dict[TopicPartition, list[Any]]:
        """Up to ``batch_size`` messages, waiting at most the fetch window for more. Messages
        of a partition not positioned from ClickHouse are dropped: they were read from where
        the consumer group said, and the partition is sought again before it resumes."""
        consumer = self._consumer
        assert consumer is not None
        collected: dict[TopicPartition, list[Any]] = {}
        count = 0
        deadline = time.monotonic() + FETCH_WINDOW_MS / 1000
        while count < self.batch_size:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            try:
                got = await consumer.getmany(
                    timeout_ms=remaining_ms, max_records=self.batch_size - count
                )
            except Exception:
                if not collected:
                    raise
                # The consumer's positions are already past what we hold: write it now.
                log.warning("fetch failed mid-batch; writing the %d messages read", count)
                break
            if not got:
                break
            for tp, messages in got.items():
                if tp not in self._positioned:
                    log.debug("%s:%d: %d messages before positioning, dropped", *tp, len(messages))
                    continue
                # Positions have moved past these messages: not caught up until they are written.
                self._busy = True
                collected.setdefault(tp, []).extend(messages)
                count += len(messages)
        return collected

    async def process_batch(self, batch: DecodedBatch) -> None:
        """Write the batch's rows that ClickHouse does not hold yet, then record its offsets
        in ClickHouse; retry each step until it works."""
        self._counters.skipped += batch.skipped
        lines = first_of_each(batch.lines, LINE_ID)
        rejections = first_of_each(batch.rejections, REJECTION_ID)
        # Within-batch repeats are duplicates too, never written twice.
        self._counters.duplicates_skipped += (len(batch.lines) - len(lines)) + (
            len(batch.rejections) - len(rejections)
        )
        await self._retrying("write sale lines", lambda: self._write_lines(lines))
        await self._retrying("write rejections", lambda: self._write_rejections(rejections))
        # Only after the rows: a recorded offset promises that everything before it is stored.
        await self._retrying("record the sink offsets", lambda: self._save_offsets(batch.offsets))

    async def _write_lines(self, rows: list[tuple]) -> None:
        if not rows:
            return
        existing = await self.store.existing_line_ids(
            {row[STORE_ID] for row in rows},
            [row[LINE_ID] for row in rows],
            search_days(row[LOCAL_DATE] for row in rows),
        )
        fresh = [row for row in rows if row[LINE_ID] not in existing]
        await self.store.insert_lines(fresh)
        self._counters.lines_written += len(fresh)
        self._counters.duplicates_skipped += len(rows) - len(fresh)

    async def _write_rejections(self, rows: list[tuple]) -> None:
        if not rows:
            return
        existing = await self.store.existing_rejection_ids([row[REJECTION_ID] for row in rows])
        fresh = [row for row in rows if row[REJECTION_ID] not in existing]
        await self.store.insert_rejections(fresh)
        self._counters.rejections_written += len(fresh)
        self._counters.duplicates_skipped += len(rows) - len(fresh)

    async def _save_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        if offsets:
            await self.store.save_sink_offsets(
                {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}
            )

    async def _retrying(self, what: str, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` until it succeeds. Each attempt re-asks which ids are stored, so an
        insert that failed after landing (a timeout, say) is not written again."""
        attempt = 0
        while True:
            try:
                await action()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                attempt += 1
                delay = backoff_delay(attempt, rng=self._rng)
                self._failed(f"{what}: {type(error).__name__}: {error}")
                log.warning(
                    "%s failed (attempt %d), retrying in %.1f s: %s", what, attempt, delay, error
                )
                await self._sleep(delay)
                continue
            if attempt:
                log.info("%s succeeded after %d failed attempts", what, attempt)
            self._counters.consecutive_failures = 0
            return

    def _failed(self, message: str) -> None:
        self._counters.consecutive_failures += 1
        self._counters.last_error = message

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit to the consumer group too: not read back by the sink, but what lag
        monitors (``kafka-consumer-groups``, Burrow...) look at."""
        consumer = self._consumer
        if consumer is None or not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as error:
            # A rebalance took the partitions away; harmless, the positions come from ClickHouse.
            log.warning("offset commit to the consumer group failed: %s", error)

    # --- what the worker publishes --------------------------------------------------------

    def health(self) -> SinkHealth:
        counters = self._counters
        return SinkHealth(
            running=self._task is not None and not self._task.done(),
            healthy=counters.consecutive_failures == 0,
            last_error=counters.last_error,
            consecutive_failures=counters.consecutive_failures,
            lines_written=counters.lines_written,
            rejections_written=counters.rejections_written,
            duplicates_skipped=counters.duplicates_skipped,
            skipped=counters.skipped,
            batches=counters.batches,
            last_batch_seconds=counters.last_batch_seconds,
            recent_batch_seconds=tuple(counters.recent),
            latency=counters.latency.copy(),
        )

    async def lag(self) -> dict[TopicPartition, int | None]:
        """Per assigned partition, messages not yet fetched: the last stable offset (the end a
        read_committed reader sees, past any transaction marker) minus the position; None
        until the first fetch, or while the partition waits to be positioned from ClickHouse.

        Transaction markers do not leave a lag of 1 at the end: aiokafka moves the position
        past control batches (and aborted data) as it reads them, so at the end the position
        equals the last stable offset (pinned by tests/integration/test_history_sink_kafka.py).
        """
        consumer = self._consumer
        if consumer is None:
            return {}
        lags: dict[TopicPartition, int | None] = {}
        for tp in sorted(consumer.assignment()):
            if tp not in self._positioned:
                lags[tp] = None
                continue
            end = consumer.last_stable_offset(tp)
            if end is None:
                end = consumer.highwater(tp)
            if end is None:
                lags[tp] = None
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:  # revoked by a rebalance while we asked
                continue
            lags[tp] = max(0, end - position)
        return lags

    async def lag_total(self) -> int | None:
        """The sum of ``lag()`` over the assigned partitions; None when nothing is assigned or
        any partition's lag is unknown. No broker request: fit for every /metrics scrape."""
        lags = await self.lag()
        if not lags or any(lag is None for lag in lags.values()):
            return None
        return sum(lag for lag in lags.values() if lag is not None)

    async def caught_up(self) -> bool:
        """True when every assigned partition is positioned, read to its end and written (no
        batch in flight): what /readyz wants before it answers from the history."""
        if self._consumer is None or self._busy or self._pending:
            return False
        lags = await self.lag()
        return (
            bool(lags)
            and not self._busy
            and not self._pending
            and all(lag == 0 for lag in lags.values())
        )
