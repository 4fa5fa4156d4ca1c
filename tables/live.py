"""The live tables: RocksDB databases (rocksdict) with compacted changelogs in Kafka, one
database per table and partition of ``sales``, restored from the changelogs by this worker.

Two tables, both keyed by strings that start with the store (so with the ``sales`` key):

- ``aggregates``: aggregate key -> ``Totals`` bytes (``tables/aggregation.py`` has the layout);
- ``order-index``: ``store␟order`` -> the products the order was counted for, so an order
  delivered in pieces is counted once;
- ``baskets`` and ``basket-index``: the bought-together counts of ``tables/baskets.py``, per
  store and day over the last ``basket_days`` days, and each order's basket.

The agent writes a whole batch at once: ``apply`` writes RocksDB with one write batch per
partition and hands back the changelog records, which the agent sends in the source
partition's transaction (``agents/transactions.py``). The web views read outside any event:
they pick the partition database from the store (Kafka's murmur2 partitioner, as the
producers of ``sales`` use) and range-scan it.

Why not Faust's tables: their recovery resumes from the offset it had reached, and a
rebalance in the middle of a recovery (a worker that joins or dies, one frozen past its
session timeout) can leave a table behind its changelog with that offset past the gap; the
next batch then builds on stale values and the loss is committed. Here the rule is simple
and checked at each rebalance: a partition's databases are kept only while this worker owns
the partition from one consumer generation to the next; any other assignment starts from
empty databases and replays the partition's changelogs to their end (``restore``), which
aiokafka and rocksdict do at a few hundred thousand records a second. Nothing is counted
until the partitions of the current assignment are restored.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import rocksdict
from aiokafka import TopicPartition
from aiokafka.partitioner import murmur2

from app.kafka.replay import replay_to_end
from app.records import Sale
from app.topics import COMPACTED, TopicSpec
from tables.aggregation import SEP, BatchUpdate, Dimension, scan_prefix, store_of
from tables.baskets import (
    Basket,
    BasketDeltas,
    basket_deltas,
    count_prefix,
    first_day_kept,
    item_key,
    item_prefix,
    merge_item_counts,
    newest_day_key,
    order_keys_of,
)
from tables.buckets import Grain
from tables.totals import Totals

log = logging.getLogger(__name__)

_PRODUCTS_SEP = "\x1e"
TABLES = ("aggregates", "order-index", "baskets", "basket-index")


class TablesNotReadyError(Exception):
    """A lookup reached a partition this worker owns but has not restored yet."""


class LiveTables:
    def __init__(
        self, directory: Path, changelog_prefix: str, partitions: int, bootstrap: str
    ) -> None:
        self.directory = directory
        self.partitions = partitions
        self.bootstrap = bootstrap
        self.changelogs = {name: f"{changelog_prefix}{name}-changelog" for name in TABLES}
        self._dbs: dict[int, dict[str, rocksdict.Rdict]] = {}
        """Partition -> table -> database, for the partitions restored and owned."""
        self._folders: dict[int, Path] = {}
        # Nothing on disk is trusted at start: what a killed worker left may be ahead of
        # its changelogs.
        shutil.rmtree(directory, ignore_errors=True)
        self._generation: int | None = None
        self._owned: frozenset[int] = frozenset()
        self._restored_in: dict[int, int] = {}
        self._revoked = False
        self._restoring: asyncio.Task[None] | None = None
        self._basket_versions: dict[str, int] = {}
        self.on_restore_failure: Callable[[BaseException], None] | None = None
        """Called when a restore fails (the worker exits: its supervisor starts it again)."""

    def changelog_specs(self) -> list[TopicSpec]:
        return [
            TopicSpec(
                name=topic,
                partitions=self.partitions,
                key="table key (starts with store_id)",
                description=f"Changelog of the live table {name!r}.",
                configs=COMPACTED,
            )
            for name, topic in self.changelogs.items()
        ]

    # -- ownership: kept from one generation to the next, else restored ----------------------

    def on_assigned(self, partitions: Iterable[int], generation: int) -> None:
        """A rebalance gave this worker ``partitions`` in consumer ``generation``.

        Databases are kept for the partitions this worker had restored and owned in the
        generation just before (nobody else can have written their changelogs in between);
        every other partition is restored from its changelogs, in the background, before
        anything is counted (``wait_ready``).
        """
        owned = frozenset(partitions)
        continuous = self._generation is not None and generation == self._generation + 1
        keep = frozenset(self._dbs) & owned if continuous else frozenset()
        if self._restoring is not None:
            self._restoring.cancel()
        for partition in list(self._dbs):
            if partition not in keep:
                self._close(partition)
        self._generation, self._owned, self._revoked = generation, owned, False
        missing = sorted(owned - keep)
        log.info(
            "generation %d: partitions %s kept, %s to restore", generation, sorted(keep), missing
        )
        self._restoring = None
        if missing:
            self._restoring = asyncio.ensure_future(self._restore(missing, generation))
            self._restoring.add_done_callback(self._restore_ended)

    def on_revoked(self) -> None:
        """A rebalance started. A restore under way stops (the next assignment says what to
        restore), and a batch waiting for it is let go, to be dropped: the group's rebalance
        waits for that batch, and must not wait for a whole restore."""
        self._revoked = True
        if self._restoring is not None:
            self._restoring.cancel()

    async def wait_ready(self, generation: Callable[[], int]) -> bool:
        """True once every partition of the consumer's current ``generation`` is restored;
        False if a rebalance starts first (the caller drops its batch, which is read again
        after the rebalance).

        Right after a rebalance the consumer knows its new generation before the assignment
        reaches ``on_assigned``; until it does, the tables belong to the generation before.
        """
        while True:
            if self._revoked:
                return False
            task = self._restoring
            if task is not None and not task.done():
                await asyncio.wait([task], timeout=0.05)
                continue
            if task is not None and not task.cancelled():
                task.result()  # a failed restore stops the agent
            if self._generation == generation():
                return True
            await asyncio.sleep(0.02)

    @property
    def restored(self) -> bool:
        """Every partition of the current assignment is restored: lookups are complete."""
        task = self._restoring
        return (
            self._generation is not None
            and not self._revoked
            and (task is None or (task.done() and not task.cancelled() and not task.exception()))
        )

    def restored_in(self, partition: int) -> int | None:
        """The consumer generation in which this worker last restored ``partition``: until
        then, another worker may have owned it."""
        return self._restored_in.get(partition)

    def _restore_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        log.critical("restoring the tables failed", exc_info=task.exception())
        if self.on_restore_failure is not None:
            self.on_restore_failure(task.exception())  # type: ignore[arg-type]

    async def _restore(self, partitions: list[int], generation: int) -> None:
        # A folder per partition and generation: a cancelled restore cleaning up after itself
        # cannot touch the databases of the restore that replaced it.
        folders = {p: self.directory / f"partition-{p}-generation-{generation}" for p in partitions}
        fresh = {p: {name: _open_empty(folders[p] / name) for name in TABLES} for p in partitions}
        by_topic = {topic: name for name, topic in self.changelogs.items()}

        def write(tp: TopicPartition, records: list[Any]) -> None:
            batch = rocksdict.WriteBatch(raw_mode=True)
            for record in records:
                if record.value is None:
                    batch.delete(record.key)
                else:
                    batch.put(record.key, record.value)
            fresh[tp.partition][by_topic[tp.topic]].write(batch)

        try:
            wanted = [
                TopicPartition(topic, partition)
                for partition in partitions
                for topic in self.changelogs.values()
            ]
            await replay_to_end(self.bootstrap, wanted, write)
        except BaseException:
            for partition, dbs in fresh.items():
                for db in dbs.values():
                    db.close()
                shutil.rmtree(folders[partition], ignore_errors=True)
            raise
        self._dbs.update(fresh)
        self._folders.update(folders)
        self._restored_in.update(dict.fromkeys(partitions, generation))
        log.info("restored partitions %s from their changelogs", partitions)

    def _close(self, partition: int) -> None:
        for db in self._dbs.pop(partition, {}).values():
            db.close()
        folder = self._folders.pop(partition, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        for partition in list(self._dbs):
            for db in self._dbs.pop(partition).values():
                db.close()

    # -- the agent's side: inside stream processing -------------------------------------

    def counted_orders(
        self, keys: set[str], partition_of_store: Mapping[str, int]
    ) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        for store, store_keys in _by_store(keys).items():
            db = self._partition_db("order-index", partition_of_store[store])
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
        RocksDB ahead of the changelog; its successor starts from the changelogs.
        """
        changed_orders = {
            key: _PRODUCTS_SEP.join(sorted(products)).encode()
            for key, products in update.counted_orders.items()
            if counted_before.get(key) != products
        }
        out: dict[int, dict[str, list[tuple[bytes, bytes]]]] = {}
        for name, values in (
            ("aggregates", self._merged(update, partition_of_store)),
            ("order-index", _encoded_by_store(changed_orders)),
        ):
            topic = self.changelogs[name]
            for store, pairs in values.items():
                partition = partition_of_store[store]
                out.setdefault(partition, {}).setdefault(topic, []).extend(pairs)
        for partition, by_topic in out.items():
            for name, topic in self.changelogs.items():
                pairs = by_topic.get(topic)
                if pairs:
                    batch = rocksdict.WriteBatch(raw_mode=True)
                    for key, value in pairs:
                        batch.put(key, value)
                    self._partition_db(name, partition).write(batch)
        return out

    def _merged(
        self, update: BatchUpdate, partition_of_store: Mapping[str, int]
    ) -> dict[str, list[tuple[bytes, bytes]]]:
        merged: dict[str, list[tuple[bytes, bytes]]] = {}
        for store, keys in _by_store(update.deltas).items():
            db = self._partition_db("aggregates", partition_of_store[store])
            pairs = merged[store] = []
            for key in keys:
                raw_key = key.encode()
                delta = update.deltas[key]
                current = db.get(raw_key)
                if current is not None:
                    delta.merge(Totals.from_bytes(current))
                pairs.append((raw_key, delta.to_bytes()))
        return merged

    def count_baskets(
        self, sales: Sequence[Sale], partition_of_store: Mapping[str, int], days: int
    ) -> dict[int, dict[str, list[tuple[bytes, bytes | None]]]]:
        """Count a batch's baskets (``tables/baskets.py``) over a window of ``days`` days;
        returns the changelog records, as ``apply``. ``days`` 0 counts nothing (the
        benchmarks' "without pair counting")."""
        if days <= 0:
            return {}
        known = self.known_baskets(order_keys_of(sales), partition_of_store)
        kept = self.first_days_kept(partition_of_store, partition_of_store, days)
        return self.apply_baskets(basket_deltas(sales, known, kept), partition_of_store, days)

    def known_baskets(
        self, keys: set[str], partition_of_store: Mapping[str, int]
    ) -> dict[str, Basket]:
        found: dict[str, Basket] = {}
        for store, store_keys in _by_store(keys).items():
            db = self._partition_db("basket-index", partition_of_store[store])
            for key in store_keys:
                value = db.get(key.encode())
                if value is not None:
                    found[key] = Basket.from_bytes(value)
        return found

    def first_days_kept(
        self, stores: Iterable[str], partition_of_store: Mapping[str, int], days: int
    ) -> dict[str, str]:
        """Per store, the first day its basket counts still keep (none yet: no entry)."""
        kept: dict[str, str] = {}
        for store in stores:
            db = self._partition_db("baskets", partition_of_store[store])
            newest = db.get(newest_day_key(store).encode())
            if newest is not None:
                kept[store] = first_day_kept(newest.decode(), days)
        return kept

    def apply_baskets(
        self, deltas: BasketDeltas, partition_of_store: Mapping[str, int], days: int
    ) -> dict[int, dict[str, list[tuple[bytes, bytes | None]]]]:
        """Add a batch's basket counts and slide each store's window to its newest day
        (days that fall out are deleted); returns the changelog records, as ``apply``."""
        values: dict[str, dict[str, bytes | None]] = {}
        for key, change in deltas.baskets.items():
            db = self._partition_db("baskets", partition_of_store[store_of(key)])
            current = db.get(key.encode())
            total = (int(current) if current is not None else 0) + change
            values.setdefault(store_of(key), {})[key] = str(total).encode() if total else None
        for key, change in deltas.items.items():
            db = self._partition_db("baskets", partition_of_store[store_of(key)])
            current = db.get(key.encode())
            merged = merge_item_counts(orjson.loads(current) if current else {}, change)
            values.setdefault(store_of(key), {})[key] = orjson.dumps(merged) if merged else None
        for store, newest in deltas.newest_day.items():
            db = self._partition_db("baskets", partition_of_store[store])
            stored = db.get(newest_day_key(store).encode())
            if stored is not None and stored.decode() >= newest:
                continue
            store_values = values.setdefault(store, {})
            store_values[newest_day_key(store)] = newest.encode()
            cutoff = first_day_kept(newest, days)
            for prefix in (count_prefix(store), item_prefix(store)):
                for raw_key in db.keys(from_key=prefix.encode()):
                    key = raw_key.decode()
                    if not key.startswith(prefix) or key[len(prefix) :][:10] >= cutoff:
                        break
                    store_values[key] = None
                # And what this very batch counted on days already out of the window.
                for key in store_values:
                    if key.startswith(prefix) and key[len(prefix) :][:10] < cutoff:
                        store_values[key] = None
        baskets = {
            store: [(key.encode(), value) for key, value in store_values.items()]
            for store, store_values in values.items()
        }
        for store in baskets:
            self._basket_versions[store] = self._basket_versions.get(store, 0) + 1
        index = _encoded_by_store({key: basket.to_bytes() for key, basket in deltas.orders.items()})
        out: dict[int, dict[str, list[tuple[bytes, bytes | None]]]] = {}
        for name, by_store in (("baskets", baskets), ("basket-index", index)):
            topic = self.changelogs[name]
            for store, records in by_store.items():
                partition = partition_of_store[store]
                batch = rocksdict.WriteBatch(raw_mode=True)
                for raw_key, value in records:
                    if value is None:
                        batch.delete(raw_key)
                    else:
                        batch.put(raw_key, value)
                self._partition_db(name, partition).write(batch)
                out.setdefault(partition, {}).setdefault(topic, []).extend(records)
        return out

    def basket_counts(self, store_id: str, first: str, last: str) -> dict[str, int]:
        """Baskets per day of one store, for days ``first`` to ``last`` (ISO) inclusive."""
        db = self._db(store_id, "baskets")
        if db is None:
            return {}
        prefix = count_prefix(store_id)
        found: dict[str, int] = {}
        for raw_key, value in db.items(from_key=(prefix + first).encode()):
            key = raw_key.decode()
            if not key.startswith(prefix) or key[len(prefix) :] > last:
                break
            found[key[len(prefix) :]] = int(value)
        return found

    def basket_version(self, store_id: str) -> tuple[int, int | None]:
        """Changes whenever the store's basket counts may have changed (a batch counted,
        the partition restored again): a cache of answers built from them checks it."""
        return self._basket_versions.get(store_id, 0), self._restored_in.get(
            self.partition_of(store_id)
        )

    def newest_basket_day(self, store_id: str) -> str | None:
        db = self._db(store_id, "baskets")
        value = db.get(newest_day_key(store_id).encode()) if db is not None else None
        return value.decode() if value is not None else None

    def item_counts(self, store_id: str, sku: str, days: Iterable[str]) -> Iterator[dict[str, int]]:
        """One product's counts (``tables/baskets.py``) on each of ``days`` that has some."""
        db = self._db(store_id, "baskets")
        if db is None:
            return
        for day in days:
            value = db.get(item_key(store_id, day, sku).encode())
            if value is not None:
                yield orjson.loads(value)

    def all_item_counts(
        self, store_id: str, first: str, last: str
    ) -> Iterator[tuple[str, dict[str, int]]]:
        """``(product, counts)`` of every product of one store on every day of the range."""
        db = self._db(store_id, "baskets")
        if db is None:
            return
        prefix = item_prefix(store_id)
        for raw_key, value in db.items(from_key=(prefix + first).encode()):
            key = raw_key.decode()
            if not key.startswith(prefix):
                break
            day, sku = key[len(prefix) :].split(SEP, 1)
            if day > last:
                break
            yield sku, orjson.loads(value)

    def _partition_db(self, name: str, partition: int) -> rocksdict.Rdict:
        return self._dbs[partition][name]

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
        for dbs in list(self._dbs.values()):
            cursor = dbs["aggregates"].iter()
            cursor.seek_to_first()
            while cursor.valid():
                store = cursor.key().split(SEP.encode(), 1)[0]
                found.add(store.decode())
                # The first key after every key of this store: SEP is followed by 0x20.
                cursor.seek(store + bytes([ord(SEP) + 1]))
        return found

    def _db(self, store_id: str, table: str = "aggregates") -> rocksdict.Rdict | None:
        """The store's database of ``table``; None if another worker owns its partition.
        Raises ``TablesNotReadyError`` while this worker is restoring it: an answer without
        the live part would be wrong, not just late."""
        partition = self.partition_of(store_id)
        dbs = self._dbs.get(partition)
        if dbs is None:
            if partition in self._owned:
                raise TablesNotReadyError(f"partition {partition} is being restored")
            return None
        return dbs[table]


def _open_empty(path: Path) -> rocksdict.Rdict:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = rocksdict.Options(raw_mode=True)
    options.create_if_missing(True)
    return rocksdict.Rdict(str(path), options=options)


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
