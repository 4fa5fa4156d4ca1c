"""The aggregation agent: sales topic -> live tables, in batches, exactly once.

Thin on purpose: decoding is ``agents/decode.py``, the arithmetic ``tables/aggregation.py``
(and the bought-together counts ``tables/baskets.py``), the table access ``tables/live.py``.
What is here is the order of things within a batch, and the dead letters.

Exactly once: under Faust's ``exactly_once`` guarantee every table update and dead letter is
written by the transactional producer of the source partition, in the transaction that also
commits that partition's offsets; a worker killed mid-batch leaves nothing of the batch
behind, and its successor processes it again from the last committed offset. Which events a
batch may count, and why the agent rather than Faust commits, is ``agents/transactions.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from time import perf_counter
from typing import TYPE_CHECKING

import orjson

from agents.decode import InvalidMessage, dead_letter, decode_sale
from agents.transactions import PartitionBatch, SourceTransactions
from app.metrics import WorkerMetrics
from app.records import Sale
from tables.aggregation import aggregate_batch, order_keys
from tables.live import LiveTables
from tables.recent import RecentSales

if TYPE_CHECKING:
    import faust
    from faust.types import EventT

log = logging.getLogger(__name__)

BATCH_EVENTS = 5_000
"""Messages per batch; each carries one order (a few lines): a few thousand lines a batch."""
BATCH_WITHIN_SECONDS = 0.2
"""How long a batch may wait to fill: the bound this stage adds to a sale's delay to screen."""


class SalesAggregator:
    def __init__(
        self,
        app: faust.App,
        tables: LiveTables,
        source_topic: str,
        rejected_topic: str,
        metrics: WorkerMetrics,
        basket_days: int = 90,
    ) -> None:
        self.app = app
        self.basket_days = basket_days
        self.tables = tables
        self.rejected_topic = rejected_topic
        self.metrics = metrics
        self.transactions = SourceTransactions(
            app, source_topic, rejected_topic, tables.restored_in
        )
        self.sellers_by_store: dict[str, set[str]] = {}
        """Sellers seen in this worker's partitions since it started (the API's directory)."""
        self.product_names: dict[str, str] = {}
        """Latest name seen per product, for rankings of days not yet in ClickHouse."""
        self.recent_sales = RecentSales()
        """The latest sales of each store, for the dashboards' live feed."""

    async def process(self, events: Sequence[EventT]) -> None:
        started = perf_counter()
        received = len(events)
        if not await self.tables.wait_ready(lambda: self.app.consumer_generation_id):
            self.metrics.events_dropped += received
            log.info("dropped %d events: a rebalance is under way", received)
            return
        events = self.transactions.to_process(events)
        if len(events) < received:
            self.metrics.events_dropped += received - len(events)
            log.info(
                "dropped %d of %d events: already counted, from before a rebalance or of a "
                "partition no longer owned",
                received - len(events),
                received,
            )
        sales: list[Sale] = []
        partition_of_store: dict[str, int] = {}
        batches: dict[int, PartitionBatch] = {}
        for event in events:
            message = event.message
            batch = batches.get(message.partition)
            if batch is None:
                batch = batches[message.partition] = PartitionBatch(message.offset + 1)
            batch.next_offset = max(batch.next_offset, message.offset + 1)
            try:
                sale = decode_sale(message.value)
                if self.tables.partition_of(sale.store_id) != message.partition:
                    raise InvalidMessage(
                        "wrong_partition",
                        f"store {sale.store_id!r} belongs to partition "
                        f"{self.tables.partition_of(sale.store_id)}, the message came on "
                        f"{message.partition}: produce sales keyed by store_id",
                    )
            except InvalidMessage as error:
                batch.dead_letters.append(self._dead_letter(event, error))
                continue
            sales.append(sale)
            partition_of_store[sale.store_id] = message.partition
            self.sellers_by_store.setdefault(sale.store_id, set()).add(sale.seller_id)
            for line in sale.lines:
                if line.product_name:
                    self.product_names[line.sku] = line.product_name

        if sales:
            wanted = order_keys(sales)
            counted = self.tables.counted_orders(wanted, partition_of_store)
            update = aggregate_batch(sales, counted)
            changes = self.tables.apply(update, counted, partition_of_store)
            basket_changes = self.tables.count_baskets(sales, partition_of_store, self.basket_days)
            for partition, by_topic in [*changes.items(), *basket_changes.items()]:
                for topic, records in by_topic.items():
                    batches[partition].add(topic, records)
                    self.metrics.table_writes += len(records)
            self.metrics.lines_processed += update.lines
            for sale in sales:
                self.metrics.note_event_time(sale.event_time.timestamp())
        await self.transactions.commit(batches)
        # Shown only once committed: a feed must not show a sale that a crash would undo.
        self.recent_sales.add(sales)
        self.metrics.events_processed += len(events)
        self.metrics.batches += 1
        self.metrics.batch_seconds.observe(perf_counter() - started)

    def _dead_letter(self, event: EventT, error: InvalidMessage) -> tuple[bytes, bytes]:
        message = event.message
        letter = dead_letter(message.value, error, message.topic, message.partition, message.offset)
        log.warning(
            "dead letter %s: %s at %s[%d]@%d",
            error.reason,
            error.detail,
            message.topic,
            message.partition,
            message.offset,
        )
        self.metrics.rejections[error.reason] = self.metrics.rejections.get(error.reason, 0) + 1
        return letter.source.encode(), orjson.dumps(letter.to_dict())
