"""Bought-together counting's cost on the worker's per-batch path, in this process (no broker):
the agent's aggregation with and without ``LiveTables.count_baskets``, and what the basket
tables take.

    .venv/bin/python bench/baskets.py                     # ~250,000 generated lines + Online Retail
    .venv/bin/python bench/baskets.py --lines 823500      # 90 generated days: a full window
    .venv/bin/python bench/baskets.py --only online-retail

Inputs go through the project's own ingestion code in this process: the shipped mapping
(``canonical`` for the generated chain as ``dataapp generate --out`` writes it, seed 7, 8
stores, 4,000 orders a day; ``online-retail`` for ``../shared/data/online-retail``), exact
duplicate lines dropped as the ingest ledger drops them, lines grouped into sales per 5,000
rows read as the pipeline groups them. Online Retail is skipped, with a message, where the
folder is absent.

Each input goes, in batches of the agent's ``BATCH_EVENTS`` sales and in the agent's order,
into two sets of fresh real ``LiveTables`` (``tables/live.py``, eight partitions, RocksDB in
a temporary folder, opened without Kafka), batch by batch in turn so that other work on the
machine weighs on both alike: one without pair counting (``counted_orders``,
``aggregate_batch``, ``LiveTables.apply``), one with it (the same, then
``LiveTables.count_baskets`` over a window of ``--days`` days). It prints lines per second of
each, by wall clock and by CPU time, their ratio, where the basket time goes (reading the
basket index, the deltas of ``tables/baskets.basket_deltas``, the read-merge-write of
``apply_baskets``), pair increments per line, the changelog records and bytes that counting
adds per line, and at the end the keys and bytes of the ``baskets`` and ``basket-index``
tables (key + value lengths, and RocksDB's files after a flush and a full compaction), the
pair entries they hold (each pair of a store and day is kept under both of its products)
and the bytes per pair entry.
"""

from __future__ import annotations

import argparse
import gc
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tables.live
from agents.aggregate import BATCH_EVENTS
from app.ingest.mapping import ParsedLine, load_mapping
from app.ingest.normalize import FieldError
from app.ingest.pipeline import BATCH_ROWS, group_into_sales
from app.ingest.readers import expand_paths, read_rows
from app.records import Sale
from bench._common import LINES_PER_GENERATED_DAY, generate_csv, open_live_tables, table_sizes
from tables.aggregation import SEP, aggregate_batch, order_keys
from tables.baskets import OWN_COUNT, Basket, BasketDeltas
from tables.live import LiveTables

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = REPO.parent / "shared" / "data" / "online-retail"
PARTITIONS = 8
BASKET_STAGES = ("read index", "deltas", "merge+RocksDB", "other")


# -- inputs: the project's own ingestion mapping, in this process ----------------------------


@dataclass
class Input:
    name: str
    sales: list[Sale]
    rows: int
    rejected: int
    duplicates: int

    @property
    def lines(self) -> int:
        return sum(len(sale.lines) for sale in self.sales)


def ingested(name: str, paths: list[str], mapping_name: str) -> Input:
    """What ``dataapp ingest --mapping mapping_name paths`` puts on ``sales``, as Sale records:
    rows parsed by the mapping, rejected rows left out, exact duplicates (same line id) kept
    once, lines grouped into sales per ``BATCH_ROWS`` rows read, as the pipeline does."""
    mapping = load_mapping(mapping_name)
    parser = mapping.parser(b"bench-key")
    seen: set[str] = set()
    chunk: list[ParsedLine] = []
    sales: list[Sale] = []
    rows = rejected = duplicates = 0
    for source in expand_paths(paths):
        for row in read_rows(source, mapping.source):
            rows += 1
            if row.problem is not None:
                rejected += 1
            else:
                try:
                    parsed = parser.parse(row.fields or {})
                except FieldError:
                    rejected += 1
                else:
                    if mapping.dedupe and parsed.line.line_id in seen:
                        duplicates += 1
                    else:
                        seen.add(parsed.line.line_id)
                        chunk.append(parsed)
            if rows % BATCH_ROWS == 0:
                sales += group_into_sales(chunk)
                chunk = []
    sales += group_into_sales(chunk)
    return Input(name, sales, rows, rejected, duplicates)


# -- one run: the agent's table work, batch by batch ------------------------------------------


@dataclass
class Run:
    lines: int = 0
    batches: int = 0
    aggregate_s: float = 0.0
    """``counted_orders`` + ``aggregate_batch`` + ``LiveTables.apply``."""
    baskets_s: float = 0.0
    """``LiveTables.count_baskets`` (its share of the bookkeeping below taken out)."""
    aggregate_cpu: float = 0.0
    baskets_cpu: float = 0.0
    """The same two in CPU time of this process (RocksDB's threads included): less
    sensitive to other work on the machine than the wall-clock figures."""
    basket_stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BASKET_STAGES, 0))
    aggregate_records: int = 0
    aggregate_bytes: int = 0
    basket_records: int = 0
    basket_bytes: int = 0
    basket_deletes: int = 0
    pair_increments: int = 0
    """Pairs counted or uncounted (one increment changes two entries: one per product)."""
    item_updates: int = 0
    """Product-day values the batches changed (``{store}␟X␟{day}␟{product}``), summed."""
    sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    pair_entries: int = 0
    product_days: int = 0
    largest_value: int = 0
    """Bytes of the largest product-day value (its JSON)."""
    baskets: list[int] = field(default_factory=list)
    """Distinct products of each basket in the index (orders that sold something)."""

    @property
    def rate_without(self) -> float:
        return self.lines / self.aggregate_s

    @property
    def rate_with(self) -> float:
        return self.lines / (self.aggregate_s + self.baskets_s)

    @property
    def cpu_rate_without(self) -> float:
        return self.lines / self.aggregate_cpu

    @property
    def cpu_rate_with(self) -> float:
        return self.lines / (self.aggregate_cpu + self.baskets_cpu)


def run_both(sales: list[Sale], work: Path, days: int, batch_events: int) -> tuple[Run, Run]:
    """The sales through two fresh sets of live tables in batches of ``batch_events`` sales,
    batch by batch in turn (each batch goes to both, which first alternates), so that other
    work on the machine weighs on both alike: without basket counting, and with it over
    ``days`` days. Timers wrap the parts of the second one's ``count_baskets``."""
    without, with_ = Run(), Run()
    plain = open_live_tables(work / "without", PARTITIONS)
    counting = open_live_tables(work / "with", PARTITIONS)
    bookkeeping = [0.0]
    timed = _Timers(with_, bookkeeping)
    saved_deltas = tables.live.basket_deltas
    counting.known_baskets = timed.wrap(counting.known_baskets, "read index")  # type: ignore[method-assign]
    counting.apply_baskets = timed.wrap(counting.apply_baskets, "merge+RocksDB")  # type: ignore[method-assign]
    tables.live.basket_deltas = timed.deltas(saved_deltas)
    try:
        for number, start in enumerate(range(0, len(sales), batch_events)):
            batch = sales[start : start + batch_events]
            turns = [(plain, without, 0), (counting, with_, days)]
            for live, result, window in turns if number % 2 == 0 else turns[::-1]:
                step(live, result, batch, window, bookkeeping)
        for stage in BASKET_STAGES[:-1]:
            with_.basket_stages["other"] -= with_.basket_stages[stage]
        without.sizes = table_sizes(plain, work / "without")
        with_.sizes = table_sizes(counting, work / "with")
        with_.pair_entries, with_.product_days, with_.largest_value = pair_entries(counting)
        with_.baskets = basket_sizes(counting)
    finally:
        tables.live.basket_deltas = saved_deltas
        plain.close()
        counting.close()
    return without, with_


def step(
    live: LiveTables, result: Run, batch: list[Sale], days: int, bookkeeping: list[float]
) -> None:
    """One batch as the agent does it: aggregate and apply, then count its baskets over
    ``days`` days (0: none)."""
    partition_of_store = {sale.store_id: live.partition_of(sale.store_id) for sale in batch}
    started, cpu_started = time.perf_counter(), time.process_time()
    counted = live.counted_orders(order_keys(batch), partition_of_store)
    update = aggregate_batch(batch, counted)
    changes = live.apply(update, counted, partition_of_store)
    between, cpu_between = time.perf_counter(), time.process_time()
    basket_changes = live.count_baskets(batch, partition_of_store, days)
    ended, cpu_ended = time.perf_counter(), time.process_time()
    result.aggregate_s += between - started
    result.aggregate_cpu += cpu_between - cpu_started
    result.baskets_s += ended - between - bookkeeping[0]
    result.baskets_cpu += cpu_ended - cpu_between - bookkeeping[0]
    result.basket_stages["other"] += ended - between - bookkeeping[0]
    bookkeeping[0] = 0.0
    result.lines += sum(len(sale.lines) for sale in batch)
    result.batches += 1
    for by_topic in changes.values():
        for records in by_topic.values():
            result.aggregate_records += len(records)
            result.aggregate_bytes += sum(len(k) + len(v) for k, v in records)
    for by_topic in basket_changes.values():
        for records in by_topic.values():
            result.basket_records += len(records)
            for key, value in records:
                result.basket_bytes += len(key) + (len(value) if value else 0)
                result.basket_deletes += value is None


class _Timers:
    """Time the parts of ``count_baskets`` and count what its deltas hold, keeping the
    counting's own time (``bookkeeping``) out of the figures."""

    def __init__(self, result: Run, bookkeeping: list[float]) -> None:
        self.result = result
        self.bookkeeping = bookkeeping

    def wrap(self, method: Callable[..., Any], stage: str) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args)
            finally:
                self.result.basket_stages[stage] += time.perf_counter() - started

        return timed

    def deltas(self, function: Callable[..., BasketDeltas]) -> Callable[..., BasketDeltas]:
        def timed(*args: Any) -> BasketDeltas:
            started = time.perf_counter()
            deltas = function(*args)
            computed = time.perf_counter()
            self.result.basket_stages["deltas"] += computed - started
            self.result.item_updates += len(deltas.items)
            self.result.pair_increments += (
                sum(
                    abs(change)
                    for counts in deltas.items.values()
                    for partner, change in counts.items()
                    if partner != OWN_COUNT
                )
                // 2
            )
            self.bookkeeping[0] += time.perf_counter() - computed
            return deltas

        return timed


def pair_entries(live: LiveTables) -> tuple[int, int, int]:
    """(pair entries, product-day values, bytes of the largest value) in the ``baskets``
    tables: a pair of products of a store and day is two entries, one in each product's
    value."""
    entries = values = largest = 0
    for partition in range(live.partitions):
        for key, value in live._partition_db("baskets", partition).items():
            if key.split(SEP.encode())[1] == b"X":
                values += 1
                counts = orjson.loads(value)
                entries += len(counts) - (OWN_COUNT in counts)
                largest = max(largest, len(value))
    return entries, values, largest


def basket_sizes(live: LiveTables) -> list[int]:
    sizes = []
    for partition in range(live.partitions):
        for value in live._partition_db("basket-index", partition).values():
            basket = Basket.from_bytes(value)
            if basket.day is not None:
                sizes.append(len(basket.items))
    return sizes


# -- the report ------------------------------------------------------------------------------


def report(
    data: Input, without: Run, with_: Run, days: int, batch_events: int, load_s: float
) -> None:
    lines = with_.lines
    print(
        f"\n== {data.name}: {data.rows:,} rows read, {lines:,} lines in {len(data.sales):,} "
        f"sales ({data.rejected:,} rejected, {data.duplicates:,} duplicates; read, validated "
        f"and grouped in {load_s:.1f} s), {with_.batches} batches of up to {batch_events:,} "
        f"sales, window {days} days"
    )
    print(
        f"without pair counting : {without.rate_without:>9,.0f} lines/s "
        f"(aggregate_batch + LiveTables.apply, {without.aggregate_s:.2f} s); by CPU time "
        f"{without.cpu_rate_without:,.0f} lines/s"
    )
    print(
        f"with pair counting    : {with_.rate_with:>9,.0f} lines/s "
        f"({with_.aggregate_s:.2f} s + count_baskets {with_.baskets_s:.2f} s; count_baskets "
        f"alone {lines / with_.baskets_s:,.0f} lines/s); by CPU time "
        f"{with_.cpu_rate_with:,.0f} lines/s (count_baskets alone "
        f"{lines / with_.baskets_cpu:,.0f})"
    )
    print(
        f"ratio with / without  : {with_.rate_with / without.rate_without:.2f} wall clock, "
        f"{with_.cpu_rate_with / without.cpu_rate_without:.2f} CPU time"
    )
    print(
        "count_baskets, by part: "
        + ", ".join(
            f"{stage} {seconds:.2f} s ({seconds / with_.baskets_s:.0%})"
            for stage, seconds in with_.basket_stages.items()
        )
    )
    print(
        f"pairs                 : {with_.pair_increments:,} pair increments = "
        f"{with_.pair_increments / lines:.2f} a line; {with_.item_updates:,} product-day values "
        f"changed = {with_.item_updates / lines:.2f} a line"
    )
    print(
        f"changelog             : aggregation {with_.aggregate_records / lines:.2f} records "
        f"({with_.aggregate_bytes / lines:,.0f} bytes) a line; basket counting adds "
        f"{with_.basket_records / lines:.2f} records ({with_.basket_bytes / lines:,.0f} bytes) "
        f"a line ({with_.basket_records:,} records, {with_.basket_bytes / 1e6:,.1f} MB, "
        f"{with_.basket_deletes:,} deletions)"
    )
    if with_.baskets:
        sizes = sorted(with_.baskets)
        pairs = sum(k * (k - 1) // 2 for k in sizes)
        print(
            f"baskets               : {len(sizes):,}; products a basket mean "
            f"{sum(sizes) / len(sizes):.1f}, p50 {sizes[len(sizes) // 2]}, p99 "
            f"{sizes[min(len(sizes) - 1, math.ceil(0.99 * len(sizes)) - 1)]}, max {sizes[-1]}; "
            f"k(k-1)/2 summed {pairs:,} pairs"
        )
    print("tables (all 8 partitions; after a flush and a full compaction):")
    for name, figures in with_.sizes.items():
        logical = figures["key_bytes"] + figures["value_bytes"]
        print(
            f"  {name:<13} {figures['keys']:>10,} keys  {logical / 1e6:>8,.1f} MB key+value  "
            f"{figures['sst_bytes'] / 1e6:>7,.1f} MB SST  {figures['disk_bytes'] / 1e6:>7,.1f} MB "
            f"folders"
        )
    baskets = with_.sizes["baskets"]
    if with_.pair_entries:
        entries = with_.pair_entries
        logical = baskets["key_bytes"] + baskets["value_bytes"]
        print(
            f"pair entries          : {entries:,} ({entries // 2:,} distinct pairs of a store "
            f"and day, each under both products) in {with_.product_days:,} product-day values; "
            f"{entries / max(1, with_.product_days):.1f} a value, the largest "
            f"{with_.largest_value:,} bytes"
        )
        print(
            f"bytes per pair entry  : {logical / entries:.1f} key+value, "
            f"{baskets['sst_bytes'] / entries:.1f} SST, {baskets['disk_bytes'] / entries:.1f} "
            f"on disk (the whole baskets table over its pair entries); with the basket index "
            f"{(logical + _logical(with_.sizes['basket-index'])) / entries:.1f} key+value"
        )


def _logical(figures: dict[str, int]) -> int:
    return figures["key_bytes"] + figures["value_bytes"]


def measure(data: Input, days: int, batch_events: int, load_s: float, work: Path) -> None:
    # The input (a few hundred thousand records held at once, which the worker never holds)
    # is moved out of the cyclic collector's sight: otherwise its full collections, charged
    # to whichever step happens to trigger them, weigh more than the steps themselves.
    gc.collect()
    gc.freeze()
    try:
        without, with_ = run_both(data.sales, work / data.name, days, batch_events)
    finally:
        gc.unfreeze()
    report(data, without, with_, days, batch_events, load_s)


def inputs(args: argparse.Namespace, work: Path) -> Iterable[tuple[Input, float]]:
    if args.only in (None, "generated"):
        days = max(1, math.ceil(args.lines / LINES_PER_GENERATED_DAY))
        started = time.perf_counter()
        path = generate_csv(work / "generated", days, "2026-03-02")
        generated_s = time.perf_counter() - started
        started = time.perf_counter()
        data = ingested(f"generated, {days} days", [str(path)], "canonical")
        print(
            f"generated {days} days (seed 7, 8 stores, 4,000 orders a day) in {generated_s:.1f} s"
        )
        yield data, time.perf_counter() - started
    if args.only in (None, "online-retail"):
        if not ONLINE_RETAIL.is_dir() or not any(ONLINE_RETAIL.glob("*.csv.gz")):
            print(f"\n== Online Retail: SKIPPED, no *.csv.gz in {ONLINE_RETAIL}")
            return
        started = time.perf_counter()
        data = ingested("Online Retail", [str(ONLINE_RETAIL)], "online-retail")
        yield data, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=250_000, help="generated: about this many")
    parser.add_argument("--days", type=int, default=90, help="the basket window (days)")
    parser.add_argument("--only", choices=("generated", "online-retail"))
    parser.add_argument(
        "--batch-events",
        type=int,
        default=BATCH_EVENTS,
        help="sales a batch (default the agent's most, BATCH_EVENTS)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataapp-bench-baskets-") as folder:
        for data, load_s in inputs(args, Path(folder)):
            measure(data, args.days, args.batch_events, load_s, Path(folder))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
