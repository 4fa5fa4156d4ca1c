"""One Kafka transaction per source partition and batch: a batch's table changelog records,
its dead letters and the source offsets it consumed commit together, or not at all.

Faust's ``exactly_once`` keeps one transactional producer per assigned source partition and
commits their transactions on a timer with the offsets of the events acknowledged so far. A
batch that is mid-way when the timer fires would see its changelog records committed with the
offsets of the batch before it; a worker killed right after counts that batch twice on
restart. So the agent commits each batch itself, holding the partition's transaction lock
from its first record to the commit, and tells Faust's consumer what it committed; Faust's
own commits (its timer is set far apart in ``app/worker.py``) then have nothing to add.

This reaches into Faust's producer (its transactional producers and their locks) and its
consumer's committed offsets; nothing else in DataApp does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiokafka import TopicPartition
from faust.types import TP

from app.kafka.batches import send_record_batches

if TYPE_CHECKING:
    import faust
    from faust.types import EventT

Records = list[tuple[bytes | None, bytes]]


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
    def __init__(self, app: faust.App, source_topic: str, dead_letter_topic: str) -> None:
        self.app = app
        self.source_topic = source_topic
        self.dead_letter_topic = dead_letter_topic

    def not_yet_committed(self, events: Sequence[EventT]) -> list[EventT]:
        """The events this worker still has to process.

        Events fetched before a rebalance can wait in a batch buffer while the partition is
        revoked and assigned again, and the partition is then read again from its committed
        offset: the same message would come twice. And a partition may have gone to another
        worker meanwhile. Events below the committed offset, or of partitions this worker no
        longer owns, are dropped here.
        """
        consumer = self.app.consumer
        assigned = consumer.assignment()
        committed = consumer._committed_offset  # type: ignore[attr-defined]
        fresh = []
        for event in events:
            tp = event.message.tp
            done = committed.get(tp)
            if tp in assigned and (done is None or event.message.offset >= done):
                fresh.append(event)
        return fresh

    async def commit(self, batches: Mapping[int, PartitionBatch]) -> None:
        producer = self.app.producer
        group = self.app.assignor.group_for_topic(self.source_topic)
        for partition in sorted(batches):
            batch = batches[partition]
            transactional_id = f"{self.app.conf.id}-{group}-{partition}"
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
                # Faust's own offset bookkeeping stops at the first gap, and a topic written
                # in transactions has one after every commit marker: left alone it would
                # commit offsets far behind these at the next rebalance or stop. Telling it
                # what is committed makes it ignore acknowledgements of offsets before that.
                consumer = self.app.consumer
                consumer._committed_offset[TP(self.source_topic, partition)] = batch.next_offset  # type: ignore[attr-defined]
