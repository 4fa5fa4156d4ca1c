"""The Kafka sink of the ingestion pipeline: each batch one Kafka transaction, and a ledger.

Sales go to ``sales`` keyed by store, dead letters to ``sales.rejected`` keyed by source. A
batch is one transaction: it is on the topics entirely or not at all, and readers with
``isolation_level="read_committed"`` (the catch-up below, the Faust worker) never see part of
one. The transactional id is fixed per ledger, so a new producer (a restart, a reconnect after
a failure) fences the one before it: a producer abandoned mid-batch can no longer write.

What the sink cannot know after a failure is whether the last commit went through. So it
reconnects, lets the ledger catch up with what the topics hold, and sends again only what is
not there. The same catch-up runs at start, which is what makes a re-run after a crash count
nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import RecordMetadata

from app.ingest.ledger import LINE, REJECTION, Ledger
from app.ingest.normalize import stable_id
from app.kafka.admin import KafkaUnavailableError, cluster_id, ensure_topics, partitions_of
from app.kafka.batches import send_record_batches
from app.records import Rejection, Sale
from app.settings import Settings
from app.topics import TopicSet, topic_set

log = logging.getLogger(__name__)

FAILURES = (KafkaError, KafkaUnavailableError, OSError, TimeoutError)


class BrokerUnavailableError(RuntimeError):
    pass


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop a consumer, tolerating aiokafka#647: stopping one soon after it started raises
    the CancelledError of an internal task that never ran. Our own cancellation still raises."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


@dataclass(slots=True)
class _Message:
    topic: str
    key: bytes
    value: bytes
    first_id: str


@dataclass(slots=True)
class _Pending:
    messages: list[_Message] = field(default_factory=list)
    line_ids: list[str] = field(default_factory=list)
    rejection_ids: list[str] = field(default_factory=list)
    sent: int = 0
    """How many of ``messages`` were handed to the producer."""
    futures: list[asyncio.Future[RecordMetadata]] = field(default_factory=list)
    """One future per record batch."""


class KafkaSalesSink:
    def __init__(
        self,
        bootstrap: str,
        ledger_folder: Path,
        topics: TopicSet | None = None,
        replication_factor: int = 1,
        max_attempts: int = 5,
        first_backoff_s: float = 0.5,
        request_timeout_ms: int = 15_000,
    ) -> None:
        self.bootstrap = bootstrap
        self.ledger_folder = ledger_folder
        self.topics = topics or topic_set()
        self._sales = self.topics.sales.name
        self._rejected = self.topics.sales_rejected.name
        self.max_attempts = max_attempts
        self.first_backoff_s = first_backoff_s
        self.request_timeout_ms = request_timeout_ms
        self.replication_factor = replication_factor
        self._deadline_s = 2 * request_timeout_ms / 1000
        self.ledger: Ledger | None = None
        self._producer: AIOKafkaProducer | None = None
        self._pending = _Pending()
        self._partition_of: dict[tuple[str, bytes], tuple[str, int]] = {}
        self._partitioner = DefaultPartitioner()

    @classmethod
    def from_settings(
        cls, bootstrap: str, settings: Settings, ledger_folder: Path | None = None
    ) -> KafkaSalesSink:
        return cls(
            bootstrap,
            ledger_folder or settings.ingest_dir,
            settings.topics,
            replication_factor=settings.kafka_replication,
            max_attempts=settings.kafka_attempts,
            request_timeout_ms=settings.kafka_timeout_ms,
        )

    async def __aenter__(self) -> KafkaSalesSink:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self._with_retries("connect", self._connect)

    async def stop(self) -> None:
        await self._close_producer()
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None

    async def _connect(self) -> None:
        if self.ledger is None:
            await ensure_topics(
                self.bootstrap,
                (self.topics.sales, self.topics.sales_rejected),
                self.request_timeout_ms,
                self.replication_factor,
            )
            cluster = await cluster_id(self.bootstrap, self.request_timeout_ms)
            self.ledger = Ledger(self.ledger_folder, f"{cluster}-{self._sales}")
        await self._close_producer()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            transactional_id=self._transactional_id(),
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1 << 20,
            request_timeout_ms=self.request_timeout_ms,
        )
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()
            self._producer = None
            raise
        await self.catch_up()

    def _transactional_id(self) -> str:
        """One per ledger (one ingest at a time holds it), stable across runs and restarts."""
        assert self.ledger is not None
        where = f"{socket.gethostname()}:{self.ledger.path.resolve()}"
        return f"dataapp-ingest-{stable_id(where)[:20]}"

    # --- SalesSink -----------------------------------------------------------------------

    async def known_ids(self, line_ids: Sequence[str]) -> set[str]:
        assert self.ledger is not None, "start() the sink first"
        return self.ledger.known(LINE, line_ids)

    async def submit(self, sales: list[Sale], rejections: list[Rejection]) -> None:
        assert self.ledger is not None, "start() the sink first"
        pending = self._pending
        for sale in sales:
            pending.messages.append(
                _Message(
                    self._sales,
                    sale.store_id.encode(),
                    orjson.dumps(sale.to_dict()),
                    sale.lines[0].line_id,
                )
            )
            pending.line_ids.extend(line.line_id for line in sale.lines)
        already_sent = self.ledger.known(REJECTION, [r.rejection_id for r in rejections])
        for rejection in rejections:
            if rejection.rejection_id in already_sent:
                continue  # dead-lettered by an earlier run: counted, not sent again
            already_sent.add(rejection.rejection_id)
            pending.messages.append(
                _Message(
                    self._rejected,
                    rejection.source.encode(),
                    orjson.dumps(rejection.to_dict()),
                    rejection.rejection_id,
                )
            )
            pending.rejection_ids.append(rejection.rejection_id)
        try:
            await self._begin_and_send(pending.messages)
        except FAILURES as error:
            log.warning("send failed, will retry at confirm: %s", error)
        # Let the producer's sender put the batch on the wire before parsing goes on.
        await asyncio.sleep(0)

    async def confirm(self) -> None:
        pending = self._pending
        try:
            await self._commit(pending)
        except FAILURES as error:
            log.warning("delivery failed (%s); reconnecting to resend what is missing", error)
            await self._with_retries("deliver", self._resend_missing)
        assert self.ledger is not None
        self.ledger.record(pending.line_ids, pending.rejection_ids)
        self._pending = _Pending()

    # --- internals -----------------------------------------------------------------------

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            async with asyncio.timeout(self._deadline_s):
                await producer.stop()
        except TimeoutError:
            log.warning("the old producer did not stop in time; abandoning it")

    async def _send(self, messages: list[_Message]) -> None:
        """Hand messages to the producer as one record batch per partition and per size limit:
        per-message ``send`` costs a future and a lookup each, and was the bottleneck."""
        producer = self._producer
        assert producer is not None
        pending = self._pending
        by_partition: dict[tuple[str, int], list[_Message]] = {}
        for message in messages:
            # murmur2 runs in Python; keys (stores, sources) are few, so each is hashed once.
            where = self._partition_of.get((message.topic, message.key))
            if where is None:
                partitions = sorted(await producer.partitions_for(message.topic))
                partition = self._partitioner(message.key, partitions, partitions)
                where = self._partition_of[(message.topic, message.key)] = (
                    message.topic,
                    partition,
                )
            by_partition.setdefault(where, []).append(message)
        # aiokafka retries a dead broker without end; our own deadline turns that into a
        # failure that the retry-and-catch-up path knows how to handle.
        async with asyncio.timeout(self._deadline_s):
            for (topic, partition), group in by_partition.items():
                records = ((message.key, message.value) for message in group)
                sent = await send_record_batches(producer, topic, partition, records)
                pending.futures.extend(future for future, _ in sent)
                pending.sent += len(group)

    async def _begin_and_send(self, messages: list[_Message]) -> None:
        assert self._producer is not None
        await self._producer.begin_transaction()
        await self._send(messages)

    async def _commit(self, pending: _Pending) -> None:
        assert self._producer is not None
        if pending.sent < len(pending.messages):
            raise KafkaError("not every message of the batch was handed to the producer")
        async with asyncio.timeout(self._deadline_s):
            await asyncio.gather(*pending.futures)
            await self._producer.commit_transaction()

    async def _resend_missing(self) -> None:
        await self._connect()  # reconnects and catches up: the ledger now knows what got in
        assert self.ledger is not None
        pending = self._pending
        is_sale = [message.topic == self._sales for message in pending.messages]
        first_ids = [message.first_id for message in pending.messages]
        landed = self.ledger.known(
            LINE, [item for item, sale in zip(first_ids, is_sale, strict=True) if sale]
        ) | self.ledger.known(
            REJECTION, [item for item, sale in zip(first_ids, is_sale, strict=True) if not sale]
        )
        # A message is one transaction's worth or nothing: its first id tells for all of it.
        missing = [message for message in pending.messages if message.first_id not in landed]
        log.info("resending %d of %d messages", len(missing), len(pending.messages))
        pending.messages, pending.sent, pending.futures = missing, 0, []
        if missing:
            await self._begin_and_send(missing)
            await self._commit(pending)

    async def _with_retries(self, what: str, action: Callable[[], Awaitable[None]]) -> None:
        delay = self.first_backoff_s
        last: BaseException | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await action()
                return
            except FAILURES as error:
                last = error
                log.warning("%s: attempt %d/%d failed: %s", what, attempt, self.max_attempts, error)
                if attempt < self.max_attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        raise BrokerUnavailableError(
            f"Kafka at {self.bootstrap} did not answer after {self.max_attempts} attempts "
            f"({type(last).__name__}: {last}). Everything confirmed so far is kept; "
            "run the same command again to resume without counting anything twice."
        )

    async def catch_up(self) -> int:
        """Index every message of the topics beyond the ledger's offsets; return how many."""
        assert self.ledger is not None
        ledger = self.ledger
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            # Only what was committed counts; an aborted batch will be sent again.
            isolation_level="read_committed",
            # Retention may have deleted the start: read what is left, never skip to the end.
            auto_offset_reset="earliest",
            request_timeout_ms=self.request_timeout_ms,
            fetch_max_bytes=16 << 20,
            max_partition_fetch_bytes=8 << 20,
        )
        indexed = 0
        try:
            await consumer.start()
            known = await partitions_of(
                self.bootstrap, (self._sales, self._rejected), self.request_timeout_ms
            )
            partitions = [
                TopicPartition(topic, partition)
                for topic, numbers in known.items()
                for partition in numbers
            ]
            if not partitions:
                return 0
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            todo: dict[TopicPartition, int] = {}
            for tp in partitions:
                start = ledger.offset(tp.topic, tp.partition)
                if start > ends[tp]:
                    log.warning("%s was recreated: rebuilding the ingest ledger", tp.topic)
                    ledger.reset()
                    return await self.catch_up()
                if start < ends[tp]:
                    consumer.seek(tp, start)
                    todo[tp] = ends[tp]
            last_progress = time.monotonic()
            while todo:
                batches = await consumer.getmany(*todo, timeout_ms=1_000, max_records=20_000)
                if any(batches.values()):
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > self._deadline_s:
                    raise KafkaError(f"catch-up read nothing for {self._deadline_s:.0f} s")
                line_ids: list[str] = []
                rejection_ids: list[str] = []
                offsets: dict[tuple[str, int], int] = {}
                for tp, records in batches.items():
                    for record in records:
                        ids = line_ids if tp.topic == self._sales else rejection_ids
                        if not _collect_ids(record.value, ids, tp.topic == self._sales):
                            log.warning("%s:%d: not a DataApp record, skipped", tp, record.offset)
                    if records:
                        offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
                        indexed += len(records)
                ledger.record(line_ids, rejection_ids, offsets)
                for tp in list(todo):
                    if await consumer.position(tp) >= todo[tp]:
                        ledger.record((), (), {(tp.topic, tp.partition): todo[tp]})
                        del todo[tp]
        finally:
            await stop_consumer(consumer)
        if indexed:
            log.info("ledger caught up with %d messages already on the topics", indexed)
        return indexed


def _collect_ids(value: bytes | None, into: list[str], is_sale: bool) -> bool:
    """Add the ids a message carries; False if it is not a well-formed DataApp record (someone
    else's message on our topic must not stop every future ingest)."""
    try:
        record = orjson.loads(value or b"")
        ids = [line["line_id"] for line in record["lines"]] if is_sale else [record["rejection_id"]]
        for item in ids:
            bytes.fromhex(item)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return False
    into.extend(ids)
    return True
