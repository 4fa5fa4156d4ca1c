"""Following compacted topics whole into an in-memory catalogue: what ``agents/reference.py``
(the names) and ``agents/plans.py`` (the commission plans) share.

A follower is a small service with a background task: ``start`` returns at once, the task
connects, reads its topics from the beginning (its own consumer, no consumer group, read
committed) and keeps following them; any Kafka trouble makes it reconnect with a growing
backoff and go on from where it was, the catalogue kept. ``loaded`` turns true once every
partition has been read up to the end it had when the follower first connected. A message
that is not a record of the catalogue is refused: logged with its position and reason, counted
in ``WorkerMetrics.reference_invalid`` and sent, best effort, to the dead-letter topic with an
id made of its position (``agents/decode.dead_letter``). ``stop`` cancels the task and waits
for it.

A subclass says which topics (``topic_names``), how one record is applied (``_apply``, with
``_applied`` doing the refusing), and what it shows when loaded or after a fetch (the hooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from agents.decode import InvalidMessage, dead_letter
from app.history.client import backoff_delay
from app.ingest.kafka_sink import stop_consumer
from app.kafka.admin import partitions_of
from app.metrics import WorkerMetrics
from app.reference import InvalidReference

FETCH_TIMEOUT_MS = 1_000

Letter = tuple[bytes, bytes]
"""A dead letter to send: (key, value)."""


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancels ``task`` and waits until it has ended. The cancellation asked for is swallowed,
    our caller's own is not; any other error of the task is raised."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # our caller's cancellation, not the one we asked for


async def reached_ends(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, Any]) -> bool:
    """Whether every partition's position is at or past its end offset of the start (the
    position, not the last record: a topic may end on markers that are never delivered)."""
    for tp, end in ends.items():
        if end and await consumer.position(tp) < end:
            return False
    return True


class CompactedTopicFollower:
    """Reads ``topic_names`` from the beginning, then follows them until stopped."""

    logger: ClassVar[logging.Logger]
    """The subclass module's logger: the log lines keep its name."""
    task_name: ClassVar[str]
    subject: ClassVar[str]
    """What a reconnection's log line names ("reference topics")."""
    record_name: ClassVar[str]
    """What a refused record's log lines name ("reference record")."""
    letters_name: ClassVar[str]
    """What the dead-letter log lines name ("reference")."""
    shown_detail: ClassVar[int | None] = None
    """How much of a refusal's detail its log line shows (None: all of it)."""

    def __init__(
        self,
        bootstrap: str,
        topic_names: list[str],
        rejected_topic: str,
        metrics: WorkerMetrics,
        *,
        dead_letters: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic_names = topic_names
        self.rejected_topic = rejected_topic
        self.metrics = metrics
        self.dead_letters = dead_letters
        self.loaded = False
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._positions: dict[TopicPartition, int] = {}
        """Next offset to read per partition: where to go on after a reconnection (the
        catalogue already holds what came before)."""
        self._partitions: list[TopicPartition] = []
        """The partitions read, while connected."""
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._failures = 0
        """Failed attempts since the last fetch that worked: the backoff grows with them."""

    # --- one message ------------------------------------------------------------------------

    def _apply(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> Letter | None:
        """Applies one fetched record; returns its dead letter when it is refused."""
        raise NotImplementedError

    def _applied(
        self,
        apply: Callable[[], object],
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
    ) -> Letter | None:
        """Runs ``apply`` for one message and counts it; refuses the message when ``apply``
        raises, whatever it raises (a decoder bug must not stop the catalogue for good: the
        same message would fail at every retry)."""
        try:
            apply()
        except InvalidReference as error:
            return self._refuse(topic, partition, offset, key, value, error.reason, error.detail)
        except Exception as error:
            self.logger.exception(
                "%s %s[%d]@%d could not be applied", self.record_name, topic, partition, offset
            )
            detail = f"{type(error).__name__}: {error}"
            return self._refuse(topic, partition, offset, key, value, "invalid_record", detail)
        self.metrics.reference_records[topic] = self.metrics.reference_records.get(topic, 0) + 1
        return None

    def _refuse(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        detail: str,
    ) -> Letter:
        shown_key = (key or b"")[:100].decode("utf-8", errors="replace")
        self.logger.warning(
            "%s refused (%s: %s) at %s[%d]@%d, key %r",
            self.record_name,
            reason,
            detail[: self.shown_detail],
            topic,
            partition,
            offset,
            shown_key,
        )
        counted = (topic, reason)
        self.metrics.reference_invalid[counted] = self.metrics.reference_invalid.get(counted, 0) + 1
        letter = dead_letter(
            value, InvalidMessage(reason, f"{detail} (key {shown_key!r})"), topic, partition, offset
        )
        return letter.source.encode(), orjson.dumps(letter.to_dict())

    # --- hooks ------------------------------------------------------------------------------

    async def _before_fetch(self, consumer: AIOKafkaConsumer, wanted: list[TopicPartition]) -> None:
        """Every turn of the loop, before ``loaded`` is checked and the next fetch."""

    async def _reached_start_ends(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> bool:
        return await reached_ends(consumer, ends)

    def _read_up_to(self, tp: TopicPartition, next_offset: int) -> None:
        """After the records of a partition in one fetch were applied."""
        self._positions[tp] = next_offset

    def _on_loaded(self) -> None:
        """Once, when ``loaded`` turns true."""

    def _on_fetched(self) -> None:
        """After a fetch that brought records."""

    async def _on_stop(self) -> None:
        """In ``stop``, once the task has ended."""

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Returns at once: connecting, and reconnecting after any Kafka trouble, happen in the
        background, so a broker that is slow at start never stops the worker."""
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self._on_stop()
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception as error:  # stopping must not fail the worker's shutdown
                self.logger.warning(
                    "%s dead-letter producer did not stop cleanly: %s", self.letters_name, error
                )

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the catalogue must outlive any broker trouble
                self._failures += 1
                self.logger.warning(
                    "%s: %s: %s (retry %d)",
                    self.subject,
                    type(error).__name__,
                    error,
                    self._failures,
                )
                await self._sleep(backoff_delay(self._failures, rng=self._rng))

    async def _follow(self) -> None:
        names = self.topic_names
        known = await partitions_of(self.bootstrap, names)
        missing = [name for name in names if not known.get(name)]
        if missing:
            topics = "topic" if len(names) == 1 else "topics"
            raise RuntimeError(f"{topics} not found: {', '.join(missing)}")
        wanted = [TopicPartition(name, p) for name in names for p in known[name]]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            # What transactions wrote is applied once committed, never when aborted.
            isolation_level="read_committed",
            # A position past the end (a topic recreated) starts over; the catalogue is kept.
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            consumer.assign(wanted)
            fresh = [tp for tp in wanted if tp not in self._positions]
            for tp in wanted:
                if tp in self._positions:
                    consumer.seek(tp, self._positions[tp])
            if fresh:
                await consumer.seek_to_beginning(*fresh)
            ends = await consumer.end_offsets(wanted) if not self.loaded else {}
            self._partitions = wanted
            while True:
                await self._before_fetch(consumer, wanted)
                if not self.loaded and await self._reached_start_ends(consumer, ends):
                    self.loaded = True
                    self._on_loaded()
                fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)
                self._failures = 0
                letters: list[Letter] = []
                for tp, records in fetched.items():
                    for record in records:
                        letter = self._apply(tp, record)
                        if letter is not None:
                            letters.append(letter)
                    if records:
                        self._read_up_to(tp, records[-1].offset + 1)
                if letters:
                    await self._send(letters)
                if fetched:
                    self._on_fetched()
        finally:
            self._partitions = []
            await stop_consumer(consumer)

    async def _send(self, letters: list[Letter]) -> None:
        """Dead letters, best effort: the record is already logged and counted, and following
        the topics matters more than a copy of it on the dead-letter topic."""
        if not self.dead_letters:
            return
        try:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, enable_idempotence=True
                )
                try:
                    await producer.start()
                except Exception:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            for key, value in letters:
                await self._producer.send(self.rejected_topic, value, key=key)
            await self._producer.flush()
        except Exception as error:
            self.logger.error(
                "could not send %d %s dead letters to %s: %s",
                len(letters),
                self.letters_name,
                self.rejected_topic,
                error,
            )
