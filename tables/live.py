"""The live tables: Faust tables on RocksDB with changelogs, and the one place that reaches
into Faust internals to use them fast.

Two tables, both keyed by strings that start with the store (so with the ``sales`` key):

- ``aggregates``: aggregate key -> ``Totals`` bytes (``tables/aggregation.py`` has the layout);
- ``order-index``: ``store␟order`` -> the products the order was counted for, so an order
  delivered in pieces is counted once.

Faust writes a table update to the changelog partition of the event being processed, and
reads a key from that partition's RocksDB database. The agent writes a whole batch at once,
outside Faust's per-event iteration, so before each store's writes it makes the last event
of that store the current one (``_set_current_event``, private: used only here). The web
views read outside any event: they pick the partition database from the store themselves
(Kafka's murmur2 partitioner, as the producers of ``sales`` use) and range-scan it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

from app.topics import COMPACTED, TopicSpec
from tables.aggregation import SEP, BatchUpdate, Dimension, scan_prefix, store_of
from tables.buckets import Grain
from tables.totals import Totals

if TYPE_CHECKING:
    import faust
    from faust.types import EventT, StreamT

_PRODUCTS_SEP = "\x1e"


class LiveTables:
    def __init__(self, app: faust.App, partitions: int) -> None:
        self.partitions = partitions
        # bytes -> Faust's "raw" codec both ways (str keys are encoded as UTF-8): Totals pack
        # themselves, and the web views read the RocksDB keys as they are written.
        common: dict[str, Any] = {"partitions": partitions, "key_type": bytes, "value_type": bytes}
        self.aggregates = app.Table("aggregates", help="Sales aggregates by key.", **common)
        self.order_index = app.Table("order-index", help="Orders already counted.", **common)

    def changelog_specs(self) -> list[TopicSpec]:
        return [
            TopicSpec(
                name=table.changelog_topic.get_topic_name(),
                partitions=self.partitions,
                key="table key (starts with store_id)",
                description=f"Changelog of the live table {table.name!r}.",
                configs=COMPACTED,
            )
            for table in (self.aggregates, self.order_index)
        ]

    # -- the agent's side: inside stream processing -------------------------------------

    def counted_orders(
        self, stream: StreamT, keys: set[str], events_by_store: Mapping[str, EventT]
    ) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        for store, store_keys in _by_store(keys).items():
            stream._set_current_event(events_by_store[store])
            for key in store_keys:
                value = self.order_index.get(key)
                if value is not None:
                    found[key] = frozenset(value.decode().split(_PRODUCTS_SEP))
        return found

    def apply(
        self,
        stream: StreamT,
        update: BatchUpdate,
        counted_before: Mapping[str, frozenset[str]],
        events_by_store: Mapping[str, EventT],
    ) -> int:
        """Add a batch's deltas to the tables; returns how many keys were written."""
        writes = 0
        aggregates = self.aggregates
        for store, keys in _by_store(update.deltas).items():
            stream._set_current_event(events_by_store[store])
            for key in keys:
                delta = update.deltas[key]
                current = aggregates.get(key)
                if current is not None:
                    delta.merge(Totals.from_bytes(current))
                aggregates[key] = delta.to_bytes()
                writes += 1
        changed = {
            key: products
            for key, products in update.counted_orders.items()
            if counted_before.get(key) != products
        }
        for store, keys in _by_store(changed).items():
            stream._set_current_event(events_by_store[store])
            for key in keys:
                self.order_index[key] = _PRODUCTS_SEP.join(sorted(changed[key])).encode()
                writes += 1
        stream._set_current_event(None)
        return writes

    # -- the web views' side: outside stream processing ---------------------------------

    def partition_of(self, store_id: str) -> int:
        """The ``sales`` (and changelog) partition of a store, as Kafka's partitioner picks it."""
        return (murmur2(store_id.encode()) & 0x7FFFFFFF) % self.partitions

    def get(self, key: str) -> Totals | None:
        db = self._db(store_of(key))
        value = db.get(key.encode()) if db is not None else None
        return Totals.from_bytes(value) if value is not None else None

    def scan(
        self, store_id: str, dimension: Dimension, grain: Grain, first: str, last: str
    ) -> Iterator[tuple[str, str, Totals]]:
        """``(bucket, member, totals)`` of one store, dimension and grain, for buckets
        ``first`` to ``last`` inclusive, in key order."""
        db = self._db(store_id)
        if db is None:
            return
        prefix = scan_prefix(store_id, dimension, grain)
        start = (prefix + first).encode()
        stop = (prefix + last + SEP + "\U0010ffff").encode()
        for raw_key, value in db.items(from_key=start):
            if raw_key > stop:
                break
            bucket, member = raw_key.decode()[len(prefix) :].split(SEP, 1)
            yield bucket, member, Totals.from_bytes(value)

    def _db(self, store_id: str) -> Any:
        store = self.aggregates.data
        partition = self.partition_of(store_id)
        # A partition this worker never owned has no database; opening one would create it.
        if partition not in store._dbs:  # type: ignore[attr-defined]
            return None
        return store._dbs[partition]  # type: ignore[attr-defined]

    def owns(self, store_id: str, assigned: set[int]) -> bool:
        return self.partition_of(store_id) in assigned


def _by_store(keys: Mapping[str, Any] | set[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key in keys:
        grouped.setdefault(store_of(key), []).append(key)
    return grouped
