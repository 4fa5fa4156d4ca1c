"""One Kafka transaction per source partition and batch: a batch's table changelog records,
its dead letters and the source offsets it consumed commit together, or not at all.

Faust's ``exactly_once`` keeps one transactional producer per assigned source partition and
commits their transactions with the offsets of the events acknowledged so far: on a timer, at
each rebalance and at stop. Two of its habits lose or double-count events for an agent that
works in batches:

- a batch that is mid-way when Faust commits would see its changelog records committed with
  the offsets of the batch before it; a worker killed right after counts that batch twice;
- at a rebalance, Faust acknowledges the events it skips (fetched before the rebalance, or
  while the flow is stopped) and then commits the acknowledged offsets: skipped events that
  follow the last processed one are committed without ever being counted.

So the agent alone commits source offsets (``app/faust_patches.py`` turns Faust's own commit
off for this app): each batch, holding the partition's transaction lock from its first record
to the commit. Events are taken only from the current consumer generation and from the
committed offset on, once each; whatever is dropped here is read again, because every
rebalance ends with Faust seeking each partition to its committed offset.

This reaches into Faust's producer (its transactional producers and their locks) and its
consumer's committed offsets; nothing else in DataApp does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka import TopicPartition
from faust.types import TP

from app import faust_patches
from app.kafka.batches import send_record_batches

if TYPE_CHECKING:
    import faust
    from faust.types import EventT

Records = list[tuple[bytes | None, bytes | None]]
"""(key, value) pairs; a value of None deletes the key (a changelog tombstone)."""


@dataclass(slots=True)
class PartitionBatch:
    """What one batch writes for one source partition, and how far it read."""

    next_offset: int
    records: dict[str, Records] = field(default_factory=dict)
    """Topic -> records, for the partition of the same number (changelogs are co-partitioned
    with the source), except dead letters, whose topic has its own partitions."""
    dead_letters: Records = field(default_factory=list)

    def add(self, topic: str, records: Records) -> None:
        self.records.setdefault(topic, []).extend(records)


class SourceTransactions:
    def __init__(
        self,
        app: faust.App,
        source_topic: str,
        dead_letter_topic: str,
        restored_in: Callable[[int], int | None],
    ) -> None:
        self.app = app
        self.source_topic = source_topic
        self.dead_letter_topic = dead_letter_topic
        self.restored_in = restored_in
        """Partition -> generation in which its tables were last restored here."""
        self.committed: dict[int, int] = {}
        """Partition -> next offset to read, as this worker last committed it."""
        self._producer_since: dict[int, int | None] = {}
        """Partition -> the restore its transactional producer was made after."""

    def to_process(self, events: Sequence[EventT]) -> list[EventT]:
        """The events of a batch that this worker must count: each once, none committed yet.

        Dropped, to be read again after the rebalance's seek to the committed offsets: events
        fetched in an earlier consumer generation, and of partitions this worker no longer
        owns. Dropped for good: events below the committed offset, and second copies of an
        event, which a seek during a rebalance can put in the same batch as the first.
        """
        app = self.app
        consumer = app.consumer
        assigned = consumer.assignment()
        generation = app.consumer_generation_id
        next_offset: dict[TP, int] = {}
        fresh = []
        for event in events:
            message = event.message
            tp = message.tp
            if message.generation_id != generation or tp not in assigned:
                continue
            expected = next_offset.get(tp)
            if expected is None:
                expected = self._committed_offset(tp)
            if message.offset >= expected:
                next_offset[tp] = message.offset + 1
                fresh.append(event)
        return fresh

    def _committed_offset(self, tp: TP) -> int:
        # Faust forgets a partition's committed offset at each rebalance until its seek;
        # what this worker committed itself is known throughout, and another worker that
        # had the partition meanwhile can only have moved it forward.
        known = self.app.consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        ours = self.committed.get(tp.partition)
        return max(known or 0, ours or 0)

    async def _renew_producer(self, transactional_id: str) -> None:
        """A new transactional producer for a partition this worker has just restored.

        Faust keeps a partition's producer while the worker keeps the partition, and begins
        its transactions again at each rebalance; but a worker that lost the partition for a
        while (to a worker since dead) holds a producer the other worker fenced, which fails
        at its first commit. A new one fences everyone else instead, and the coordinator
        finishes or aborts what they left open before it answers.
        """
        producer = self.app.producer
        old = producer._transaction_producers.pop(transactional_id, None)  # type: ignore[attr-defined]
        if old is not None:
            with contextlib.suppress(Exception):  # fenced, or its broker connection gone
                await old.stop()
        await producer.begin_transaction(transactional_id)

    async def commit(self, batches: Mapping[int, PartitionBatch]) -> None:
        producer = self.app.producer
        group = self.app.assignor.group_for_topic(self.source_topic)
        for partition in sorted(batches):
            batch = batches[partition]
            transactional_id = f"{self.app.conf.id}-{group}-{partition}"
            if self._producer_since.get(partition, -1) != self.restored_in(partition):
                await self._renew_producer(transactional_id)
                self._producer_since[partition] = self.restored_in(partition)
            transactional = producer._transaction_producers[transactional_id]  # type: ignore[attr-defined]
            async with producer._trn_locks[transactional_id]:  # type: ignore[attr-defined]
                deliveries = []
                for topic, records in batch.records.items():
                    deliveries += await send_record_batches(
                        transactional, topic, partition, records
                    )
                for key, value in batch.dead_letters:
                    deliveries.append(
                        (await transactional.send(self.dead_letter_topic, value, key=key), 1)
                    )
                await asyncio.gather(*(future for future, _ in deliveries))
                await transactional.send_offsets_to_transaction(
                    {TopicPartition(self.source_topic, partition): batch.next_offset},
                    self.app.conf.id,
                )
                await transactional.commit_transaction()
                await transactional.begin_transaction()
                self.committed[partition] = batch.next_offset
                # Faust's consumer also keeps the committed offsets; its seek and its lag
                # figures read them.
                consumer = self.app.consumer
                consumer._committed_offset[TP(self.source_topic, partition)] = batch.next_offset  # type: ignore[attr-defined]
                # And the time of the commit, which its livelock check reads.
                faust_patches.agent_committed(
                    self.app, {TP(self.source_topic, partition): batch.next_offset}
                )
