"""The history on a real chDB: migrations, dedup, and every query against a Python recompute.

chDB hosts one engine folder per process at a time: each test opens its own folder and
closes it before the next test opens another (see ``test_one_chdb_folder_per_process``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from agents.clickhouse_sink import DecodedBatch, HistorySink
from app.history import HistoryStore, HistoryUnavailableError, rejection_row, sale_rows
from app.history.migrations import RETENTION_TABLES, apply_migrations
from app.history.rows import LOCAL_DATE
from app.records import Rejection, Sale, SaleLine
from app.topics import topic_set
from tables.buckets import local_buckets

pytestmark = pytest.mark.slow

# Far beyond the synthetic dates, so that no test depends on today's date.
RETENTION = 36_500
FIRST_DAY = date(2025, 12, 20)
LAST_DAY = date(2026, 4, 10)

ZONES = {"s-am": "America/Manaus", "s-ny": "America/New_York", "s-sp": "America/Sao_Paulo"}
SELLERS = {"s-am": ["v-3", "v-shared"], "s-ny": ["v-4"], "s-sp": ["v-1", "v-2", "v-shared"]}
SKUS = [(f"sku-{n:02d}", f"Produto {n}", 990 + 750 * n) for n in range(14)]
# Sales where local and UTC buckets differ: New Year and a month end in Brazil, both sides
# of New York's spring-forward hour.
EDGE_MOMENTS = [
    datetime(2026, 1, 1, 1, 30, tzinfo=UTC),
    datetime(2026, 2, 1, 2, 30, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 30, tzinfo=UTC),
]


@asynccontextmanager
async def opened(folder: Path, retention: int = RETENTION) -> AsyncIterator[HistoryStore]:
    store = await HistoryStore.open(f"chdb://{folder}", retention)
    try:
        yield store
    finally:
        await store.close()


async def rows_of(store: HistoryStore, sql: str) -> list[tuple]:
    return await store._call(store._rows, sql, {})


# --- synthetic sales and the recompute -----------------------------------------------------


def synthetic_sales(orders: int = 700, seed: int = 11) -> list[Sale]:
    rng = random.Random(seed)
    sales: list[Sale] = []
    start = datetime(2025, 12, 20, 3, tzinfo=UTC)
    span = int((datetime(2026, 4, 10, tzinfo=UTC) - start).total_seconds())
    for number in range(orders):
        store = "s-ny" if number < len(EDGE_MOMENTS) and number >= 2 else rng.choice(sorted(ZONES))
        moment = (
            EDGE_MOMENTS[number]
            if number < len(EDGE_MOMENTS)
            else start + timedelta(seconds=rng.randrange(span))
        )
        if number < 2:
            store = "s-sp"
        returns_only = rng.random() < 0.06
        lines = []
        for index in range(rng.randint(1, 4)):
            sku, name, price = rng.choice(SKUS)
            quantity = rng.choice([1, 1, 1, 2, 3, -1]) if not returns_only else -rng.randint(1, 2)
            discount = rng.choice([0, 0, 0, 50, 199]) if price * abs(quantity) > 199 else 0
            lines.append(
                SaleLine(
                    line_id=f"line-{number:05d}-{index}",
                    sku=sku,
                    quantity=quantity,
                    unit_price_cents=price,
                    discount_cents=discount,
                    unit_cost_cents=None if rng.random() < 0.2 else price * 45 // 100,
                    product_name=None if rng.random() < 0.15 else name,
                )
            )
        customer = None if rng.random() < 0.3 else f"c-{rng.randrange(60)}"
        common = {
            "order_id": f"o-{number:05d}",
            "store_id": store,
            "seller_id": rng.choice(SELLERS[store]),
            "event_time": moment,
            "source_time_zone": ZONES[store],
            "channel": rng.choice(["loja", "online", "whatsapp"]),
            "customer_ref": customer,
        }
        # Some orders arrive in two pieces (two messages, one order).
        if len(lines) > 1 and rng.random() < 0.15:
            sales.append(Sale(lines=tuple(lines[:1]), **common))
            sales.append(Sale(lines=tuple(lines[1:]), **common))
        else:
            sales.append(Sale(lines=tuple(lines), **common))
    return sales


@dataclass(frozen=True, slots=True)
class Flat:
    """One line with its sale's fields and its local buckets, computed independently."""

    store_id: str
    seller_id: str
    order_id: str
    customer_ref: str | None
    hour: str
    day: str
    month: str
    event_time: datetime
    sku: str
    product_name: str | None
    quantity: int
    revenue_cents: int
    cost_cents: int | None


def flatten(sales: Iterable[Sale]) -> list[Flat]:
    flat = []
    for sale in sales:
        hour, day, month = local_buckets(sale.event_time, sale.source_time_zone)
        for line in sale.lines:
            flat.append(
                Flat(
                    sale.store_id,
                    sale.seller_id,
                    sale.order_id,
                    sale.customer_ref,
                    hour,
                    day,
                    month,
                    sale.event_time,
                    line.sku,
                    line.product_name,
                    line.quantity,
                    line.revenue_cents,
                    line.cost_cents,
                )
            )
    return flat


def recompute(lines: list[Flat]) -> dict[str, int]:
    """tables/totals.py's definitions, written out again (customers exact)."""
    costed = [line for line in lines if line.cost_cents is not None]
    revenue = sum(line.revenue_cents for line in lines)
    cost = sum(line.cost_cents or 0 for line in costed)
    costed_revenue = sum(line.revenue_cents for line in costed)
    return {
        "revenue_cents": revenue,
        "cost_cents": cost,
        "margin_cents": costed_revenue - cost,
        "uncosted_revenue_cents": revenue - costed_revenue,
        "units": sum(line.quantity for line in lines),
        "returned_units": sum(-line.quantity for line in lines if line.quantity < 0),
        "lines": len(lines),
        "orders": len({line.order_id for line in lines if line.quantity > 0}),
        "customers": len({line.customer_ref for line in lines if line.customer_ref}),
    }


def select(
    lines: list[Flat], store: str, seller: str | None, date_from: date, date_to: date
) -> list[Flat]:
    low, high = date_from.isoformat(), date_to.isoformat()
    return [
        line
        for line in lines
        if line.store_id == store
        and (seller is None or line.seller_id == seller)
        and low <= line.day <= high
    ]


def series(lines: list[Flat], key: Callable[[Flat], str]) -> list[dict[str, Any]]:
    groups: dict[str, list[Flat]] = defaultdict(list)
    for line in lines:
        groups[key(line)].append(line)
    return [{"bucket": bucket, **recompute(groups[bucket])} for bucket in sorted(groups)]


def ranking(lines: list[Flat], by: str, limit: int) -> list[dict[str, Any]]:
    groups: dict[str, list[Flat]] = defaultdict(list)
    for line in lines:
        groups[line.sku].append(line)
    entries = []
    for sku, group in groups.items():
        named = [line for line in group if line.product_name]
        name = max(named, key=lambda line: line.event_time).product_name if named else ""
        entries.append({"sku": sku, "product_name": name, **recompute(group)})
    field = {"revenue": "revenue_cents", "units": "units", "margin": "margin_cents"}[by]
    entries.sort(key=lambda entry: (-entry[field], entry["sku"]))
    return entries[:limit]


async def write_through_the_sink(store: HistoryStore, sales: list[Sale]) -> HistorySink:
    """Insert by the sink's own dedup path, in batches of about 5,000 lines."""
    sink = HistorySink("127.0.0.1:9", topic_set("chdb-test."), store, "unused")
    batch = DecodedBatch()
    for offset, sale in enumerate(sales):
        batch.lines.extend(sale_rows(sale, offset % 8, offset))
        if len(batch.lines) >= 5000:
            await sink.process_batch(batch)
            batch = DecodedBatch()
    await sink.process_batch(batch)
    return sink


# --- tests ---------------------------------------------------------------------------------


async def test_migrations_apply_once_and_a_rerun_is_a_no_op(tmp_path: Path) -> None:
    folder = tmp_path / "ch"
    async with opened(folder) as store:
        first = await rows_of(store, "SELECT version, name FROM schema_migrations ORDER BY version")
        assert first == [
            (1, "sale_lines"),
            (2, "rejections"),
            (3, "daily_rollups"),
            (4, "sink_offsets"),
        ]
        again = await store._call(lambda: apply_migrations(store._client, RETENTION))
        assert again == []
    async with opened(folder) as store:
        rerun = await rows_of(store, "SELECT version, name FROM schema_migrations ORDER BY version")
        assert rerun == first
        tables = await rows_of(
            store,
            "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name",
        )
        assert {name for (name,) in tables} >= {
            *RETENTION_TABLES,
            "daily_store_mv",
            "daily_seller_mv",
            "daily_product_mv",
            "schema_migrations",
            "sink_offsets",
        }


async def test_ttl_is_in_the_schema_and_follows_the_retention_setting(tmp_path: Path) -> None:
    folder = tmp_path / "ch"
    async with opened(folder) as store:
        for table in RETENTION_TABLES:
            [(ddl,)] = await rows_of(store, f"SHOW CREATE TABLE {table}")
            assert "TTL " in ddl and f"toIntervalDay({RETENTION})" in ddl, ddl
        [(ddl,)] = await rows_of(store, "SHOW CREATE TABLE sale_lines")
        assert "PARTITION BY toYYYYMM(local_date)" in ddl
        assert "line_id_bloom" in ddl
    async with opened(folder, retention=400) as store:
        for table in RETENTION_TABLES:
            [(ddl,)] = await rows_of(store, f"SHOW CREATE TABLE {table}")
            assert "toIntervalDay(400)" in ddl and f"toIntervalDay({RETENTION})" not in ddl


async def test_the_dedup_path_writes_each_line_and_rejection_once(tmp_path: Path) -> None:
    sales = synthetic_sales(orders=120)
    at = datetime(2026, 2, 1, tzinfo=UTC)
    rejections = [
        Rejection(f"r-{n}", "f.csv", n, "quantity_zero", "0", "x;0", at) for n in range(30)
    ]
    total = sum(len(sale.lines) for sale in sales)
    async with opened(tmp_path / "ch") as store:
        first = await write_through_the_sink(store, sales)
        again = await write_through_the_sink(store, sales)
        for sink in (first, again):
            batch = DecodedBatch(rejections=[rejection_row(item) for item in rejections])
            await sink.process_batch(batch)

        assert first.health().lines_written == total
        assert again.health().lines_written == 0
        assert again.health().duplicates_skipped == total + 30
        assert first.health().rejections_written == 30
        assert again.health().rejections_written == 0
        [(count, distinct)] = await rows_of(
            store, "SELECT count(), uniqExact(line_id) FROM sale_lines"
        )
        assert count == distinct == total
        [(rollup_lines,)] = await rows_of(store, "SELECT sum(line_count) FROM daily_store")
        assert rollup_lines == total  # the views saw each line once too
        [(rejected, distinct_rejected)] = await rows_of(
            store, "SELECT count(), uniqExact(rejection_id) FROM rejections"
        )
        assert rejected == distinct_rejected == 30


async def test_a_copy_on_a_neighbouring_day_is_still_found(tmp_path: Path) -> None:
    """A line written before a time-zone rule change may sit on the day next to the one its
    re-delivery computes: the dedup lookup still finds it."""
    [sale] = synthetic_sales(orders=1)
    rows = sale_rows(sale, 0, 0)
    shifted = [
        (*row[:LOCAL_DATE], row[LOCAL_DATE] - timedelta(days=1), *row[LOCAL_DATE + 1 :])
        for row in rows
    ]
    async with opened(tmp_path / "ch") as store:
        await store.insert_lines(shifted)
        sink = await write_through_the_sink(store, [sale])
        assert sink.health().lines_written == 0
        assert sink.health().duplicates_skipped == len(rows)


async def test_summaries_series_and_rankings_equal_a_python_recompute(tmp_path: Path) -> None:
    sales = synthetic_sales()
    lines = flatten(sales)
    async with opened(tmp_path / "ch") as store:
        await write_through_the_sink(store, sales)
        await compare_everything(store, lines)
        # Merges combine the rollups' partial states: the answers must not move.
        for table in ("daily_store", "daily_seller", "daily_product", "sale_lines"):
            await store._call(store._client.command, f"OPTIMIZE TABLE {table} FINAL")
        await compare_everything(store, lines)


async def compare_everything(store: HistoryStore, lines: list[Flat]) -> None:
    ranges = [(FIRST_DAY, LAST_DAY), (date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 3, 8),) * 2]
    for store_id, sellers in SELLERS.items():
        for date_from, date_to in ranges:
            for seller in (None, *sellers):
                chosen = select(lines, store_id, seller, date_from, date_to)
                got = await store.summary(store_id, seller, date_from, date_to)
                assert got == recompute(chosen), (store_id, seller, date_from, date_to)
                for grain, key in (
                    ("hour", lambda line: line.hour),
                    ("day", lambda line: line.day),
                    ("month", lambda line: line.month),
                ):
                    got_series = await store.timeseries(store_id, seller, grain, date_from, date_to)
                    assert got_series == series(chosen, key), (store_id, seller, grain)
            everything = select(lines, store_id, None, date_from, date_to)
            for by in ("revenue", "units", "margin"):
                got_ranking = await store.product_ranking(store_id, date_from, date_to, by, 5)
                assert got_ranking == ranking(everything, by, 5), (store_id, by)
    # The recompute is not vacuous: returns, unknown costs and the DST day are all in it.
    assert any(line.quantity < 0 for line in lines)
    assert any(line.cost_cents is None for line in lines)
    assert any(line.hour == "2026-03-08T03" and line.store_id == "s-ny" for line in lines)


async def test_empty_ranges_and_unknown_stores_are_zeros(tmp_path: Path) -> None:
    async with opened(tmp_path / "ch") as store:
        await write_through_the_sink(store, synthetic_sales(orders=50))
        zeros = dict.fromkeys(recompute([]), 0)
        assert await store.summary("s-nowhere", None, FIRST_DAY, LAST_DAY) == zeros
        assert await store.summary("s-sp", "v-nobody", FIRST_DAY, LAST_DAY) == zeros
        assert await store.summary("s-sp", None, date(2030, 1, 1), date(2030, 1, 31)) == zeros
        assert await store.timeseries("s-nowhere", None, "day", FIRST_DAY, LAST_DAY) == []
        assert await store.product_ranking("s-sp", FIRST_DAY, LAST_DAY, "revenue", 0) == []
        with pytest.raises(ValueError, match="rank by"):
            await store.product_ranking("s-sp", FIRST_DAY, LAST_DAY, "profit", 5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="granularity"):
            await store.timeseries("s-sp", None, "week", FIRST_DAY, LAST_DAY)  # type: ignore[arg-type]


async def test_store_ids_and_seller_stores(tmp_path: Path) -> None:
    async with opened(tmp_path / "ch") as store:
        assert await store.store_ids() == []
        await write_through_the_sink(store, synthetic_sales())
        assert await store.store_ids() == sorted(ZONES)
        assert await store.seller_stores("v-shared") == ["s-am", "s-sp"]
        assert await store.seller_stores("v-4") == ["s-ny"]
        assert await store.seller_stores("v-nobody") == []
        assert await store.ping()


async def test_user_text_is_bound_not_spliced(tmp_path: Path) -> None:
    hostile = "s-sp' OR 1=1 --"
    async with opened(tmp_path / "ch") as store:
        await write_through_the_sink(store, synthetic_sales(orders=50))
        assert (await store.summary(hostile, None, FIRST_DAY, LAST_DAY))["lines"] == 0
        assert await store.seller_stores(hostile) == []


async def test_one_chdb_folder_per_process(tmp_path: Path) -> None:
    """What chDB allows in one process: one folder at a time. A second folder while the first
    is open is refused with a clear error; once the first is closed another may be opened,
    and the first still holds its data when opened again."""
    async with opened(tmp_path / "one") as store:
        await write_through_the_sink(store, synthetic_sales(orders=5))
        with pytest.raises(HistoryUnavailableError, match="one folder per process"):
            await HistoryStore.open(f"chdb://{tmp_path / 'two'}", RETENTION)
    async with opened(tmp_path / "two") as store:
        assert await store.store_ids() == []
    async with opened(tmp_path / "one") as store:
        assert await store.store_ids() != []


async def test_sink_offsets_keep_the_latest_per_partition(tmp_path: Path) -> None:
    async with opened(tmp_path / "ch") as store:
        assert await store.load_sink_offsets(["t.sales"]) == {}
        await store.save_sink_offsets({("t.sales", 0): 10, ("t.sales", 1): 4})
        await store.save_sink_offsets({("t.sales", 0): 25, ("t.rejected", 0): 2})
        # A re-read after a wipe or a rebalance may record a smaller offset: the latest wins.
        await store.save_sink_offsets({("t.sales", 1): 3})
        expected = {("t.sales", 0): 25, ("t.sales", 1): 3}
        assert await store.load_sink_offsets(["t.sales"]) == expected
        await store._call(store._client.command, "OPTIMIZE TABLE sink_offsets FINAL")
        assert await store.load_sink_offsets(["t.sales", "t.rejected"]) == {
            **expected,
            ("t.rejected", 0): 2,
        }
        assert await store.load_sink_offsets([]) == {}


async def test_a_store_connecting_in_the_background_serves_once_chdb_is_free(
    tmp_path: Path,
) -> None:
    """The worker starts while its chDB cannot be opened (here: this process holds another
    folder, which chDB refuses): calls say "unavailable", the sink retries its batch, and
    once the folder can be opened the schema is migrated and the batch lands, once."""
    sales = synthetic_sales(orders=40)
    tp = TopicPartition("chdb-test.sales", 0)
    batch = DecodedBatch(offsets={tp: len(sales)})
    for offset, sale in enumerate(sales):
        batch.lines.extend(sale_rows(sale, 0, offset))

    async def quick_sleep(seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.05))

    holder = await HistoryStore.open(f"chdb://{tmp_path / 'other'}", RETENTION)
    store = HistoryStore.connect_in_background(
        f"chdb://{tmp_path / 'ch'}", RETENTION, base_delay=0.02, max_delay=0.2
    )
    try:
        sink = HistorySink("127.0.0.1:9", topic_set("chdb-test."), store, "x", sleep=quick_sleep)
        writing = asyncio.create_task(sink.process_batch(batch))
        deadline = time.monotonic() + 30
        while store.connect_attempts_failed < 3 or sink.health().consecutive_failures < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert not store.connected and not await store.ping()
        assert "one folder per process" in (store.last_error or "")
        assert not sink.health().healthy and not writing.done()

        await holder.close()  # the folder can be opened now
        assert await store.wait_connected(timeout=60)
        await asyncio.wait_for(writing, 60)
        assert await store.ping()
        health = sink.health()
        assert health.healthy and health.lines_written == len(batch.lines)
        [(count, distinct)] = await rows_of(
            store, "SELECT count(), uniqExact(line_id) FROM sale_lines"
        )
        assert count == distinct == len(batch.lines)
        assert await store.load_sink_offsets([tp.topic]) == {(tp.topic, 0): len(sales)}
        versions = await rows_of(store, "SELECT version FROM schema_migrations ORDER BY version")
        assert [version for (version,) in versions] == [1, 2, 3, 4]
    finally:
        await store.close()
        await holder.close()
