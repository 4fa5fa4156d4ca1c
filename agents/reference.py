"""Following the reference topics (ref.stores, ref.sellers, ref.products) into the worker's
``ReferenceCatalogue``: the names the API shows instead of codes.

Every worker reads every reference topic whole, with a consumer of its own and no consumer
group: the topics are tiny and compacted, and any worker may be asked for any name, so there is
nothing to share out or forward. It reads them from the beginning at start and keeps following
them, so a name published later shows without a restart.

A message that is not a reference record changes nothing in the catalogue, and does not vanish:
it is logged with its topic, partition, offset and reason, counted in the worker's metrics
(``dataapp_reference_invalid_total``), and sent to ``sales.rejected`` as a dead letter whose id
is its position (``agents/decode.dead_letter``). Every worker, at every start, reads it again
and sends that same id; the history stores a dead letter once per id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.decode import InvalidMessage, dead_letter
from app.history.client import backoff_delay
from app.ingest.kafka_sink import stop_consumer
from app.kafka.admin import partitions_of
from app.metrics import WorkerMetrics
from app.reference import InvalidReference, Kind, ReferenceCatalogue
from app.topics import TopicSet

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 1_000


class ReferenceFollower:
    """Reads the reference topics of ``topics`` into ``catalogue``, from the beginning, and
    then follows them until stopped. ``loaded`` turns true once every partition has been read
    up to the end it had when the follower started (the worker is not ready before)."""

    def __init__(
        self,
        bootstrap: str,
        topics: TopicSet,
        catalogue: ReferenceCatalogue,
        metrics: WorkerMetrics,
        *,
        dead_letters: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bootstrap = bootstrap
        self.catalogue = catalogue
        self.metrics = metrics
        self.kinds: dict[str, Kind] = {
            topics.stores.name: "store",
            topics.sellers.name: "seller",
            topics.products.name: "product",
        }
        self.rejected_topic = topics.sales_rejected.name
        self.dead_letters = dead_letters
        self.loaded = False
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._positions: dict[TopicPartition, int] = {}
        """Where to go on after a reconnection: the catalogue already holds what came before."""
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._failures = 0
        """Failed attempts since the last fetch that worked: the backoff grows with them."""

    # --- one message: pure but for the catalogue, the metrics and the log -------------------

    def handle(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> tuple[bytes, bytes] | None:
        """Applies one message; returns the dead letter (key, value) to send when the message
        is not a reference record, else None. Never raises for what a message holds."""
        kind = self.kinds.get(topic)
        try:
            if kind is None:
                raise InvalidReference("unknown_topic", f"{topic!r} is not a reference topic")
            self.catalogue.apply(kind, key, value)
        except InvalidReference as error:
            return self._refuse(topic, partition, offset, key, value, error.reason, error.detail)
        except Exception as error:
            # A decoder bug must not stop the names for good: the same message would fail at
            # every retry. It is refused like any bad record, with the error as its detail.
            log.exception("reference %s[%d]@%d could not be applied", topic, partition, offset)
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
    ) -> tuple[bytes, bytes]:
        shown_key = (key or b"")[:100].decode("utf-8", errors="replace")
        log.warning(
            "reference record refused (%s: %s) at %s[%d]@%d, key %r",
            reason,
            detail,
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

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Returns at once: connecting, and reconnecting after any Kafka trouble, happen in the
        background, so a broker that is slow at start never stops the worker."""
        self._task = asyncio.create_task(self._run(), name="reference-follower")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # our caller's cancellation, not the one we asked for
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception as error:  # stopping must not fail the worker's shutdown
                log.warning("reference dead-letter producer did not stop cleanly: %s", error)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the names must outlive any broker trouble
                self._failures += 1
                log.warning(
                    "reference topics: %s: %s (retry %d)",
                    type(error).__name__,
                    error,
                    self._failures,
                )
                await self._sleep(backoff_delay(self._failures, rng=self._rng))

    async def _follow(self) -> None:
        names = sorted(self.kinds)
        known = await partitions_of(self.bootstrap, names)
        missing = [name for name in names if not known.get(name)]
        if missing:
            raise RuntimeError(f"topics not found: {', '.join(missing)}")
        wanted = [TopicPartition(name, p) for name in names for p in known[name]]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
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
            while True:
                if not self.loaded and await _reached(consumer, ends):
                    self.loaded = True
                    self.metrics.reference_entries = dict(self.catalogue.counts())
                    log.info("reference catalogue loaded: %s", self.catalogue.counts())
                fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS)
                self._failures = 0
                letters: list[tuple[bytes, bytes]] = []
                for tp, records in fetched.items():
                    for record in records:
                        letter = self.handle(
                            tp.topic, tp.partition, record.offset, record.key, record.value
                        )
                        if letter is not None:
                            letters.append(letter)
                    if records:
                        self._positions[tp] = records[-1].offset + 1
                if letters:
                    await self._send(letters)
                if fetched:
                    self.metrics.reference_entries = dict(self.catalogue.counts())
        finally:
            await stop_consumer(consumer)

    async def _send(self, letters: list[tuple[bytes, bytes]]) -> None:
        """Dead letters, best effort: the record is already logged and counted, and following
        the names matters more than a copy of it on the dead-letter topic."""
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
            log.error(
                "could not send %d reference dead letters to %s: %s",
                len(letters),
                self.rejected_topic,
                error,
            )


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, Any]) -> bool:
    """Whether every partition's position is at or past its end offset of the start (the
    position, not the last record: a topic may end on markers that are never delivered)."""
    for tp, end in ends.items():
        if end and await consumer.position(tp) < end:
            return False
    return True
