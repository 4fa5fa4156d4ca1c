"""Commission plans on their compacted topic (``ref.plans``): every worker follows it into its
``PlanCatalogue``, and the worker that owns a store saves that store's new versions.

**Following.** As ``agents/reference.py`` does for names: a consumer of its own, without a
consumer group, reads the topic from the beginning at start and keeps following it, so a plan
saved through another worker shows here too. ``loaded`` turns true once it has read up to the
end the topic had at start (the worker is not ready before). A message that is not a plan
history changes nothing: it is logged with topic, partition, offset and reason, counted
(``dataapp_reference_invalid_total{topic="ref.plans",...}``) and sent to ``sales.rejected``
with an id made of its position. A broker that fails makes it reconnect with backoff and go on
from where it was; the plans it had stay.

**Saving.** The key's latest value is the store's whole history, so a save is a
read-modify-write, and two saves that both read version 3 would each write a history with
their own version 4, the later one erasing the other. Three things keep that from happening:

1. the API passes every request about a store to the worker that owns it (its partition of
   ``sales``), so saves of one store normally meet in one process;
2. there, saves of one store run one at a time (an ``asyncio.Lock`` per store);
3. for the moments when two workers both believe they own a store (a rebalance), each save is
   one Kafka transaction under a transactional id derived from the store: starting the
   producer fences any other producer of that id (its commit then fails) and settles its open
   transaction; only then does the save read the topic to its end (read committed) and add its
   version. A fenced save starts over, so it adds its version after the other one.

The producer is idempotent (transactions imply it), the save waits for the commit, and the
history is applied to this worker's catalogue at once, so the next GET here shows it
(``PlanCatalogue.put_saved``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, ProducerFenced
from aiokafka.structs import ConsumerRecord

from agents.follower import CompactedTopicFollower, Letter
from app.ingest.kafka_sink import stop_consumer
from app.metrics import WorkerMetrics
from app.pay.catalogue import PlanCatalogue
from app.pay.editing import encode_history
from app.pay.plans import PlanHistory, PlanVersion, add_version
from app.topics import TopicSet

log = logging.getLogger(__name__)

TRANSACTION_TIMEOUT_MS = 10_000
"""A worker that dies in the middle of a save leaves its transaction open, and nobody reads
the plans topic past it (read committed) until the broker aborts it: keep that short. A save
takes a few milliseconds between its begin and its commit."""
SAVE_ATTEMPTS = 3
"""Tries of a save that another worker's save of the same store fenced."""


class PlansUnavailableError(Exception):
    """The plans topic cannot be read to its end or written now. ``maybe_saved`` says whether
    the save may have gone through all the same (the commit's answer was lost)."""

    def __init__(self, message: str, maybe_saved: bool = False) -> None:
        super().__init__(message)
        self.maybe_saved = maybe_saved


@dataclass(frozen=True, slots=True)
class Saved:
    plan: PlanVersion
    """The version saved, or the saved version the request repeated."""
    history: PlanHistory
    created: bool
    """False when the request repeated what was saved already: nothing was written."""


class PlanFollower(CompactedTopicFollower):
    """Reads the plans topic into ``catalogue`` from the beginning, then follows it."""

    logger = log
    task_name = "plan-follower"
    subject = "plans topic"
    record_name = "plan history"
    letters_name = "plan"
    shown_detail = 500

    def __init__(
        self,
        bootstrap: str,
        topics: TopicSet,
        catalogue: PlanCatalogue,
        metrics: WorkerMetrics,
        *,
        dead_letters: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.topic = topics.plans.name
        self.catalogue = catalogue
        super().__init__(
            bootstrap,
            [self.topic],
            topics.sales_rejected.name,
            metrics,
            dead_letters=dead_letters,
            rng=rng,
            sleep=sleep,
        )
        # ``_positions`` is also what ``sync`` compares with the topic's end.
        self._offsets: AIOKafkaConsumer | None = None
        """Asks the topic's end offsets for ``sync``, started on first use."""
        self._progress: asyncio.Condition | None = None

    # --- one message ------------------------------------------------------------------------

    def handle(
        self, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> Letter | None:
        """Applies one message; returns the dead letter (key, value) to send when it is not a
        plan history, else None. Never raises for what a message holds."""
        return self._applied(
            lambda: self.catalogue.apply(key, value, offset),
            self.topic,
            partition,
            offset,
            key,
            value,
        )

    def _apply(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> Letter | None:
        return self.handle(tp.partition, record.offset, record.key, record.value)

    # --- reading to the end -----------------------------------------------------------------

    async def sync(self, timeout: float) -> None:
        """Returns once the catalogue holds every message committed on the topic when called
        (its read-committed end): what a save reads before it adds a version. Raises
        ``PlansUnavailableError`` when that does not happen within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                ends = await self._ends()
                progress = self._condition()
                async with progress:
                    await progress.wait_for(lambda: self._reached(ends))
        except TimeoutError:
            raise PlansUnavailableError(
                f"the plans topic {self.topic} could not be read to its end within {timeout:g} s"
            ) from None

    async def _ends(self) -> dict[TopicPartition, int]:
        """The topic's last stable offsets (read committed: past every committed save).
        Asked with a consumer of their own: the follower's connection is mostly busy with a
        fetch the broker holds for half a second when there is nothing new, and a request
        on it would wait behind that."""
        while not self._partitions:
            await asyncio.sleep(0.05)  # connecting, or reconnecting: the loop is on it
        if self._offsets is None:
            offsets = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                isolation_level="read_committed",
            )
            try:
                await offsets.start()
            except BaseException:
                await stop_consumer(offsets)
                raise
            self._offsets = offsets
        try:
            return dict(await self._offsets.end_offsets(self._partitions))
        except KafkaError as error:
            raise PlansUnavailableError(
                f"the end of the plans topic {self.topic} is not known ({error})"
            ) from None

    def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        return all(self._positions.get(tp, 0) >= end for tp, end in ends.items())

    def _condition(self) -> asyncio.Condition:
        if self._progress is None:
            self._progress = asyncio.Condition()
        return self._progress

    # --- where reading stands: the consumer's position, every turn ---------------------------

    async def _before_fetch(self, consumer: AIOKafkaConsumer, wanted: list[TopicPartition]) -> None:
        """Records where reading stands (the consumer's position, not the last record: a
        topic of transactions ends on commit markers, which are never delivered) and wakes
        the saves waiting for it."""
        for tp in wanted:
            self._positions[tp] = await consumer.position(tp)
        progress = self._condition()
        async with progress:
            progress.notify_all()

    async def _reached_start_ends(
        self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]
    ) -> bool:
        return self._reached(ends)

    def _read_up_to(self, tp: TopicPartition, next_offset: int) -> None:
        """Nothing: ``_before_fetch`` records the consumer's position instead."""

    def _on_loaded(self) -> None:
        log.info("plans loaded: %d stores", len(self.catalogue))

    async def _on_stop(self) -> None:
        offsets, self._offsets = self._offsets, None
        if offsets is not None:
            await stop_consumer(offsets)


class PlanStore:
    """The plans as the API sees them: read from the follower's catalogue, saved onto the
    topic (module docstring, "Saving")."""

    def __init__(
        self,
        bootstrap: str,
        topics: TopicSet,
        catalogue: PlanCatalogue,
        follower: PlanFollower,
        *,
        timeout_s: float = 15.0,
        rng: random.Random | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topics.plans.name
        self.catalogue = catalogue
        self.follower = follower
        self.timeout_s = timeout_s
        self._rng = rng or random.Random()
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def loaded(self) -> bool:
        return self.follower.loaded

    def history(self, store_id: str) -> PlanHistory | None:
        """The store's plan history; None for a store without plans."""
        return self.catalogue.history(store_id)

    def transactional_id(self, store_id: str) -> str:
        """One per store and plans topic, the same on every worker: the fencing of rule 3."""
        digest = hashlib.sha256(store_id.encode("utf-8", errors="surrogateescape")).hexdigest()
        return f"dataapp-plans-{self.topic}-{digest[:32]}"

    async def save(self, store_id: str, decide: Callable[[PlanHistory], PlanVersion]) -> Saved:
        """Adds the version ``decide`` makes of the store's current history, and returns it.

        ``decide`` runs once the topic has been read to its end; what it raises (a refused
        plan, a version conflict) leaves the topic untouched, as does ``HistoryTooLarge``.
        ``PlansUnavailableError`` when the broker cannot be read or written in time.
        """
        lock = self._locks.setdefault(store_id, asyncio.Lock())
        async with lock:
            for attempt in range(1, SAVE_ATTEMPTS + 1):
                try:
                    return await self._save_once(store_id, decide)
                except ProducerFenced:
                    # Another worker's save of this store started meanwhile: ours was not
                    # written. Read again (its version is there now) and add ours after it.
                    log.info("save of %r fenced by another worker (try %d)", store_id, attempt)
                    await asyncio.sleep(self._rng.uniform(0.05, 0.3) * attempt)
            raise PlansUnavailableError(
                f"the plan of store {store_id!r} is being saved elsewhere at the same time; "
                "nothing was saved, try again"
            )

    async def _save_once(
        self, store_id: str, decide: Callable[[PlanHistory], PlanVersion]
    ) -> Saved:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            transactional_id=self.transactional_id(store_id),
            enable_idempotence=True,
            transaction_timeout_ms=TRANSACTION_TIMEOUT_MS,
            request_timeout_ms=int(self.timeout_s * 1000),
        )
        committing = False
        sent: asyncio.Future[Any] | None = None
        try:
            try:
                async with asyncio.timeout(self.timeout_s):
                    # Starting it fences any other producer of this store, and settles its
                    # open transaction, before the topic is read.
                    await producer.start()
            except (KafkaError, OSError, TimeoutError) as error:
                raise PlansUnavailableError(
                    f"the plans topic cannot be written now ({_describe(error)}); nothing was saved"
                ) from None
            await self.follower.sync(self.timeout_s)
            # A first save starts an empty history (PlanError for an id that cannot have one).
            history = self.catalogue.history(store_id) or PlanHistory(store_id)
            plan = decide(history)
            updated = add_version(history, plan)
            if updated is history:
                return Saved(plan, history, created=False)
            value = encode_history(updated)
            try:
                async with asyncio.timeout(self.timeout_s):
                    await producer.begin_transaction()
                    sent = await producer.send(self.topic, value, key=store_id.encode())
                    committing = True
                    await producer.commit_transaction()
                    metadata = await sent
            except ProducerFenced:
                _consume(producer, sent)
                raise
            except (KafkaError, OSError, TimeoutError) as error:
                _consume(producer, sent)
                if _fenced(error):
                    raise ProducerFenced() from error
                maybe = committing
                raise PlansUnavailableError(
                    f"the plans topic could not be written ({_describe(error)}); "
                    + (
                        "the plan may have been saved: read it back before saving again"
                        if maybe
                        else "nothing was saved"
                    ),
                    maybe_saved=maybe,
                ) from None
            self.catalogue.put_saved(updated, metadata.offset)
            log.info(
                "saved plan %r version %d of store %r at %s@%d",
                plan.plan_id,
                plan.version,
                store_id,
                self.topic,
                metadata.offset,
            )
            return Saved(plan, updated, created=True)
        finally:
            try:
                await producer.stop()
            except Exception as error:  # a fenced producer may complain on its way out
                log.debug("plans producer stop: %s", error)


def _consume(producer: AIOKafkaProducer, sent: asyncio.Future[Any] | None) -> None:
    """Retrieves the errors of a failed transaction's send and of aiokafka's batch waiters,
    which the commit already reported: left alone, asyncio logs each again as an ERROR
    ("Future exception was never retrieved"). The batches are aiokafka internals, hence the
    guard: at worst the log line comes back."""
    futures: list[asyncio.Future[Any]] = [sent] if sent is not None else []
    with contextlib.suppress(Exception):
        accumulator = producer._message_accumulator  # type: ignore[attr-defined]
        for batches in accumulator._batches.values():
            futures.extend(batch._drain_waiter for batch in batches)
        futures.extend(batch._drain_waiter for batch in accumulator._pending_batches)
    for future in futures:
        future.add_done_callback(lambda done: done.cancelled() or done.exception())


def _fenced(error: BaseException) -> bool:
    """Whether an error of a transactional call means another producer of the id took over
    (aiokafka raises ProducerFenced, or the broker's INVALID_PRODUCER_EPOCH)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ProducerFenced) or type(seen).__name__ == "InvalidProducerEpoch":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
