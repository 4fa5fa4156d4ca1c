"""The live tables: Faust tables on RocksDB with changelogs, and the one place that reaches
into Faust internals to use them fast.

Two tables, both keyed by strings that start with the store (so with the ``sales`` key):

- ``aggregates``: aggregate key -> ``Totals`` bytes (``tables/aggregation.py`` has the layout);
- ``order-index``: ``store␟order`` -> the products the order was counted for, so an order
  delivered in pieces is counted once.

Faust's own table API writes one key at a time and needs the event being processed to pick
the changelog partition. The agent writes a whole batch at once instead: ``apply`` writes
RocksDB with one write batch per partition and hands back the changelog records, which the
agent sends in the source partition's transaction (``agents/transactions.py``). The web views
read outside any event: they pick the partition database from the store themselves (Kafka's
murmur2 partitioner, as the producers of ``sales`` use) and range-scan it. The partition
databases are Faust's (``table.data._dbs``, private): this module is the only one that
touches them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import rocksdict
from aiokafka.partitioner import murmur2

from app.topics import COMPACTED, TopicSpec
from tables.aggregation import SEP, BatchUpdate, Dimension, scan_prefix, store_of
from tables.buckets import Grain
from tables.totals import Totals

if TYPE_CHECKING:
    import faust

_PRODUCTS_SEP = "\x1e"


class LiveTables:
    def __init__(self, app: faust.App, source_topic: str, partitions: int) -> None:
        self.app = app
        self.source_topic = source_topic
        self.partitions = partitions
        # bytes -> Faust's "raw" codec both ways (str keys are encoded as UTF-8): Totals pack
        # themselves, and the web views read the RocksDB keys as they are written.
        common: dict[str, Any] = {
            "partitions": partitions,
            "key_type": bytes,
            "value_type": bytes,
            # Restores write this many changelog records to RocksDB at a time.
            "recovery_buffer_size": 10_000,
        }
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
        self, keys: set[str], partition_of_store: Mapping[str, int]
    ) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        for store, store_keys in _by_store(keys).items():
            db = self._partition_db(self.order_index, partition_of_store[store])
            for key in store_keys:
                value = db.get(key.encode())
                if value is not None:
                    found[key] = frozenset(value.decode().split(_PRODUCTS_SEP))
        return found

    def apply(
        self,
        update: BatchUpdate,
        counted_before: Mapping[str, frozenset[str]],
        partition_of_store: Mapping[str, int],
    ) -> dict[int, dict[str, list[tuple[bytes, bytes]]]]:
        """Add a batch's deltas to the tables' RocksDB databases; returns the changelog
        records to send, by partition and changelog topic.

        The records must reach Kafka in the transaction that commits the batch's source
        offsets (``agents/transactions.py``). A worker killed before that commit leaves
        RocksDB ahead of the changelog, which is why a worker always starts by rebuilding
        its tables from the changelogs (``app.worker.reset_local_tables``).
        """
        changed_orders = {
            key: _PRODUCTS_SEP.join(sorted(products)).encode()
            for key, products in update.counted_orders.items()
            if counted_before.get(key) != products
        }
        out: dict[int, dict[str, list[tuple[bytes, bytes]]]] = {}
        for table, values in (
            (self.aggregates, self._merged(update, partition_of_store)),
            (self.order_index, _encoded_by_store(changed_orders)),
        ):
            topic = table.changelog_topic.get_topic_name()
            for store, pairs in values.items():
                partition = partition_of_store[store]
                out.setdefault(partition, {}).setdefault(topic, []).extend(pairs)
        for partition, by_topic in out.items():
            for table in (self.aggregates, self.order_index):
                pairs = by_topic.get(table.changelog_topic.get_topic_name())
                if pairs:
                    batch = rocksdict.WriteBatch(raw_mode=True)
                    for key, value in pairs:
                        batch.put(key, value)
                    self._partition_db(table, partition).write(batch)
        return out

    def _merged(
        self, update: BatchUpdate, partition_of_store: Mapping[str, int]
    ) -> dict[str, list[tuple[bytes, bytes]]]:
        merged: dict[str, list[tuple[bytes, bytes]]] = {}
        for store, keys in _by_store(update.deltas).items():
            db = self._partition_db(self.aggregates, partition_of_store[store])
            pairs = merged[store] = []
            for key in keys:
                raw_key = key.encode()
                delta = update.deltas[key]
                current = db.get(raw_key)
                if current is not None:
                    delta.merge(Totals.from_bytes(current))
                pairs.append((raw_key, delta.to_bytes()))
        return merged

    @staticmethod
    def _partition_db(table: Any, partition: int) -> Any:
        return table.data._db_for_partition(partition)

    # -- the web views' side: outside stream processing ---------------------------------

    def partition_of(self, store_id: str) -> int:
        """The ``sales`` (and changelog) partition of a store, as Kafka's partitioner picks it."""
        return (murmur2(store_id.encode()) & 0x7FFFFFFF) % self.partitions

    def get(self, key: str) -> Totals | None:
        db = self._db(store_of(key))
        value = db.get(key.encode()) if db is not None else None
        return Totals.from_bytes(value) if value is not None else None

    def scan(
        self,
        store_id: str,
        dimension: Dimension,
        grain: Grain,
        first: str,
        last: str,
        customers: bool = True,
    ) -> Iterator[tuple[str, str, Totals]]:
        """``(bucket, member, totals)`` of one store, dimension and grain, for buckets
        ``first`` to ``last`` inclusive, in key order; ``customers=False`` leaves the
        distinct-customer sketches out (much cheaper)."""
        decode = Totals.from_bytes if customers else Totals.counters_from_bytes
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
            yield bucket, member, decode(value)

    def stores(self) -> set[str]:
        """Every store with aggregates on this worker: one seek per store, not a full scan."""
        found: set[str] = set()
        for partition, db in list(self.aggregates.data._dbs.items()):  # type: ignore[attr-defined]
            del partition
            cursor = db.iter()
            cursor.seek_to_first()
            while cursor.valid():
                store = cursor.key().split(SEP.encode(), 1)[0]
                if not store.startswith(b"__faust"):  # Faust's own offset record
                    found.add(store.decode())
                # The first key after every key of this store: SEP is followed by 0x20.
                cursor.seek(store + bytes([ord(SEP) + 1]))
        return found

    def _db(self, store_id: str) -> Any:
        store = self.aggregates.data
        partition = self.partition_of(store_id)
        # A partition this worker never owned has no database; opening one would create it.
        if partition not in store._dbs:  # type: ignore[attr-defined]
            return None
        return store._dbs[partition]  # type: ignore[attr-defined]


def _encoded_by_store(values: Mapping[str, bytes]) -> dict[str, list[tuple[bytes, bytes]]]:
    grouped: dict[str, list[tuple[bytes, bytes]]] = {}
    for key, value in values.items():
        grouped.setdefault(store_of(key), []).append((key.encode(), value))
    return grouped


def _by_store(keys: Mapping[str, Any] | set[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key in keys:
        grouped.setdefault(store_of(key), []).append(key)
    return grouped
