"""The history store: every read and write of ClickHouse, as async calls.

The ``clickhouse_connect`` client is synchronous, and chDB is an engine inside this process.
Every call therefore runs on ONE dedicated thread (a single-thread executor): the event loop
never blocks on ClickHouse, calls are serialized in the order they were made, and chDB is
only ever touched by the thread that opened it.

Queries bind every value as a server-side parameter (``{name:Type}``); the only text put
into SQL is chosen by this module from fixed tables (a rollup's name, a metric to order by).
Figures carry the integer keys of ``Totals.to_json()``; ``customers`` is exact here (the live
tables use a sketch that is exact only up to a few hundred customers).

``HistoryStore.open`` connects at once and raises when ClickHouse is unreachable;
``HistoryStore.connect_in_background`` returns at once and keeps trying (with backoff) on
that same thread: until it is connected every call raises ``HistoryUnavailableError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Literal, TypeVar

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from app.history.client import HistoryUnavailableError, backoff_delay, connect
from app.history.migrations import migrate
from app.history.rows import REJECTION_COLUMNS, SALE_LINE_COLUMNS, SINK_OFFSET_COLUMNS

log = logging.getLogger(__name__)

T = TypeVar("T")
ConnectFunction = Callable[[str, int], Client]
"""Connects and migrates, or raises: ``connect_and_migrate`` unless a test passes another."""

Granularity = Literal["hour", "day", "month"]
RankBy = Literal["revenue", "units", "margin"]

METRIC_KEYS: tuple[str, ...] = (
    "revenue_cents",
    "cost_cents",
    "margin_cents",
    "uncosted_revenue_cents",
    "units",
    "returned_units",
    "lines",
    "orders",
    "customers",
)
"""The keys of ``tables.totals.Totals.to_json()``, in its order."""

ID_CHUNK = 5_000
"""Ids per dedup query: bounds the size of one query's parameters."""

# Metric expressions, in the order ``_metrics`` reads them. Aliases start with m_ so they
# never shadow a column inside another aggregate.
_ROLLUP_METRICS = """
    sum(sum_revenue_cents) AS m_revenue,
    sum(sum_cost_cents) AS m_cost,
    sum(sum_costed_revenue_cents) AS m_costed,
    sum(sum_units) AS m_units,
    sum(sum_returned_units) AS m_returned,
    sum(line_count) AS m_lines,
    uniqExactIfMerge(orders_state) AS m_orders,
    uniqExactIfMerge(customers_state) AS m_customers"""
_LINE_METRICS = """
    sum(revenue_cents) AS m_revenue,
    sum(ifNull(cost_cents, 0)) AS m_cost,
    sumIf(revenue_cents, cost_cents IS NOT NULL) AS m_costed,
    sum(toInt64(quantity)) AS m_units,
    sumIf(-toInt64(quantity), quantity < 0) AS m_returned,
    count() AS m_lines,
    uniqExactIf(order_id, quantity > 0) AS m_orders,
    uniqExactIf(customer_ref, customer_ref != '') AS m_customers"""
_METRIC_COUNT = 8
_RANK_ORDER: dict[str, str] = {
    "revenue": "m_revenue",
    "units": "m_units",
    "margin": "(m_costed - m_cost)",
}
_DATE_RANGE = "local_date BETWEEN {date_from:Date} AND {date_to:Date}"


def metrics(values: Sequence[Any]) -> dict[str, int]:
    """The API figures from the eight aggregates of ``_ROLLUP_METRICS``/``_LINE_METRICS``."""
    revenue, cost, costed, units, returned, lines, orders, customers = (int(v) for v in values)
    return {
        "revenue_cents": revenue,
        "cost_cents": cost,
        "margin_cents": costed - cost,
        "uncosted_revenue_cents": revenue - costed,
        "units": units,
        "returned_units": returned,
        "lines": lines,
        "orders": orders,
        "customers": customers,
    }


def _scope(seller_id: str | None) -> tuple[str, str]:
    """The rollup and the filter for a store, or for one seller of it."""
    if seller_id is None:
        return "daily_store", "store_id = {store_id:String}"
    return "daily_seller", "store_id = {store_id:String} AND seller_id = {seller_id:String}"


def _chunks(items: Sequence[str], size: int = ID_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HistoryStore:
    """One ClickHouse client, used from one thread. Build it with ``await HistoryStore.open``
    or ``HistoryStore.connect_in_background``."""

    def __init__(self, client: Client | None, executor: ThreadPoolExecutor) -> None:
        self._client = client
        self._executor = executor
        self._closed = False
        self._stopping = threading.Event()
        self._timer: threading.Timer | None = None
        self._last_error: str | None = None
        self._attempts = 0

    @classmethod
    async def open(cls, dsn: str, retention_days: int) -> HistoryStore:
        """Connect and bring the schema up to date (migrations, retention); raise
        ``HistoryUnavailableError`` when ClickHouse cannot be reached."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        loop = asyncio.get_running_loop()
        try:
            client = await loop.run_in_executor(executor, connect_and_migrate, dsn, retention_days)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(client, executor)

    @classmethod
    def connect_in_background(
        cls,
        dsn: str,
        retention_days: int,
        *,
        connect: ConnectFunction | None = None,
        base_delay: float = 0.2,
        max_delay: float = 30.0,
        rng: random.Random | None = None,
    ) -> HistoryStore:
        """A store that is not connected yet; returns at once (no event loop needed).

        Connecting and migrating run on the store's own thread, again and again with
        ``backoff_delay(attempt, base_delay, max_delay)`` between failures, until they succeed
        or the store is closed. Until then every query and insert raises
        ``HistoryUnavailableError``, ``ping()`` is False and ``connected`` is False."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")
        store = cls(None, executor)
        connect_function = connect or connect_and_migrate
        chooser = rng or random.Random()

        def attempt() -> None:  # on the store's thread
            if store._stopping.is_set():
                return
            try:
                client = connect_function(dsn, retention_days)
            except Exception as error:
                store._attempts += 1
                store._last_error = f"{type(error).__name__}: {error}"
                delay = backoff_delay(store._attempts, base_delay, max_delay, chooser)
                log.warning(
                    "ClickHouse is not available (attempt %d), retrying in %.1f s: %s",
                    store._attempts,
                    delay,
                    store._last_error,
                )
                # A daemon timer, not a sleep on the store's thread: an idle executor never
                # holds up the interpreter's exit, and close() needs not wait for a backoff.
                timer = threading.Timer(delay, schedule)
                timer.daemon = True
                store._timer = timer
                timer.start()
                return
            if store._stopping.is_set():  # closed while this attempt was connecting
                client.close()
                return
            store._client = client
            log.info("ClickHouse connected after %d failed attempts", store._attempts)

        def schedule() -> None:
            if store._stopping.is_set():
                return
            # RuntimeError: the executor is shut down (closed, or the interpreter exits).
            with contextlib.suppress(RuntimeError):
                executor.submit(attempt)

        schedule()
        return store

    @property
    def connected(self) -> bool:
        """Whether the store holds a client (connected and migrated) and is not closed. It
        says nothing of whether the server answers now: ``ping()`` does."""
        return self._client is not None and not self._closed

    @property
    def last_error(self) -> str | None:
        """Why the latest background connection attempt failed (kept after success)."""
        return self._last_error

    @property
    def connect_attempts_failed(self) -> int:
        """Background connection attempts that failed so far."""
        return self._attempts

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until ``connected`` (True) or ``timeout`` seconds have passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self.connected:
            if self._closed or (deadline is not None and loop.time() >= deadline):
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self) -> None:
        """Close the client, or stop connecting; waits for a connection attempt under way."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        timer = self._timer
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        try:
            # On the owning thread, after every call queued before it.
            await loop.run_in_executor(self._executor, self._close_client)
        finally:
            self._executor.shutdown(wait=True)

    def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise HistoryUnavailableError("the history store is closed")
        if self._client is None:
            reason = f": {self._last_error}" if self._last_error else ""
            raise HistoryUnavailableError(f"ClickHouse is not connected yet{reason}")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args))
        except (ClickHouseError, OSError) as error:
            raise HistoryUnavailableError(
                f"ClickHouse call failed ({type(error).__name__}: {error})"
            ) from error

    # --- writes, and the lookups that make them idempotent --------------------------------

    async def existing_line_ids(
        self,
        store_ids: Collection[str],
        line_ids: Collection[str],
        local_dates: Collection[date] | None = None,
    ) -> set[str]:
        """Which of ``line_ids`` (of lines of ``store_ids``) are already stored. ``local_dates``,
        when the caller knows them, prunes the search to those days' partitions and ranges."""
        if not line_ids or not store_ids:
            return set()
        return await self._call(
            self._existing_line_ids,
            sorted(store_ids),
            sorted(set(line_ids)),
            None if local_dates is None else sorted(set(local_dates)),
        )

    def _existing_line_ids(
        self, store_ids: list[str], line_ids: list[str], local_dates: list[date] | None
    ) -> set[str]:
        where = "store_id IN {store_ids:Array(String)} AND line_id IN {ids:Array(String)}"
        parameters: dict[str, Any] = {"store_ids": store_ids}
        if local_dates is not None:
            where += " AND local_date IN {local_dates:Array(Date)}"
            parameters["local_dates"] = local_dates
        found: set[str] = set()
        for chunk in _chunks(line_ids):
            result = self._client.query(
                f"SELECT line_id FROM sale_lines WHERE {where}",
                parameters={**parameters, "ids": list(chunk)},
            )
            found.update(row[0] for row in result.result_rows)
        return found

    async def insert_lines(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in ``SALE_LINE_COLUMNS`` order (the rollups follow by their views)."""
        if rows:
            await self._call(self._insert, "sale_lines", rows, SALE_LINE_COLUMNS)

    async def existing_rejection_ids(self, rejection_ids: Collection[str]) -> set[str]:
        if not rejection_ids:
            return set()
        return await self._call(self._existing_rejection_ids, sorted(set(rejection_ids)))

    def _existing_rejection_ids(self, rejection_ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(rejection_ids):
            result = self._client.query(
                "SELECT rejection_id FROM rejections WHERE rejection_id IN {ids:Array(String)}",
                parameters={"ids": list(chunk)},
            )
            found.update(row[0] for row in result.result_rows)
        return found

    async def insert_rejections(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in ``REJECTION_COLUMNS`` order."""
        if rows:
            await self._call(self._insert, "rejections", rows, REJECTION_COLUMNS)

    # --- the sink's progress ---------------------------------------------------------------

    async def load_sink_offsets(self, topics: Collection[str]) -> dict[tuple[str, int], int]:
        """Per ``(topic, partition)`` of ``topics``, the latest offset the sink recorded: the
        offset after the last message whose rows are stored. Partitions never recorded are
        absent."""
        if not topics:
            return {}
        rows = await self._call(
            self._rows,
            "SELECT topic, partition, argMax(next_offset, (updated_at, next_offset)) "
            "FROM sink_offsets WHERE topic IN {topics:Array(String)} GROUP BY topic, partition",
            {"topics": sorted(set(topics))},
        )
        return {(row[0], int(row[1])): int(row[2]) for row in rows}

    async def save_sink_offsets(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """Record, per ``(topic, partition)``, the offset after the last message whose rows
        are stored. Call it only once those rows are written."""
        if offsets:
            rows = [
                (topic, int(partition), int(offset))
                for (topic, partition), offset in sorted(offsets.items())
            ]
            await self._call(self._insert, "sink_offsets", rows, SINK_OFFSET_COLUMNS)

    def _insert(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        self._client.insert(table, rows, column_names=list(columns))

    # --- reads ----------------------------------------------------------------------------

    async def summary(
        self, store_id: str, seller_id: str | None, date_from: date, date_to: date
    ) -> dict[str, int]:
        """Totals over the closed range of local dates; zeros where there is no data."""
        table, scope = _scope(seller_id)
        sql = f"SELECT {_ROLLUP_METRICS} FROM {table} WHERE {scope} AND {_DATE_RANGE}"
        parameters = _parameters(store_id, seller_id, date_from, date_to)
        rows = await self._call(self._rows, sql, parameters)
        return metrics(rows[0]) if rows else metrics([0] * _METRIC_COUNT)

    async def timeseries(
        self,
        store_id: str,
        seller_id: str | None,
        granularity: Granularity,
        date_from: date,
        date_to: date,
    ) -> list[dict[str, Any]]:
        """One entry per bucket that has data, in time order, labelled as ``tables/buckets.py``
        labels them. Months are cut to the range: a month's figures cover its days in it."""
        parameters = _parameters(store_id, seller_id, date_from, date_to)
        if granularity == "hour":
            scope = _scope(seller_id)[1]
            sql = (
                f"SELECT local_date, local_hour, {_LINE_METRICS} FROM sale_lines "
                f"WHERE {scope} AND {_DATE_RANGE} "
                "GROUP BY local_date, local_hour ORDER BY local_date, local_hour"
            )
            rows = await self._call(self._rows, sql, parameters)
            return [
                {"bucket": f"{row[0].isoformat()}T{int(row[1]):02d}", **metrics(row[2:])}
                for row in rows
            ]
        if granularity not in ("day", "month"):
            raise ValueError(f"granularity must be hour, day or month, not {granularity!r}")
        table, scope = _scope(seller_id)
        key = "local_date" if granularity == "day" else "toStartOfMonth(local_date)"
        sql = (
            f"SELECT {key} AS bucket_start, {_ROLLUP_METRICS} FROM {table} "
            f"WHERE {scope} AND {_DATE_RANGE} GROUP BY bucket_start ORDER BY bucket_start"
        )
        rows = await self._call(self._rows, sql, parameters)
        width = 10 if granularity == "day" else 7
        return [{"bucket": row[0].isoformat()[:width], **metrics(row[1:])} for row in rows]

    async def product_ranking(
        self, store_id: str, date_from: date, date_to: date, by: RankBy, limit: int
    ) -> list[dict[str, Any]]:
        """The store's top ``limit`` products by ``by`` (descending, then by sku)."""
        order = _RANK_ORDER.get(by)
        if order is None:
            raise ValueError(f"rank by revenue, units or margin, not {by!r}")
        if limit <= 0:
            return []
        sql = (
            f"SELECT sku, argMaxIfMerge(product_name_state) AS m_name, {_ROLLUP_METRICS} "
            f"FROM daily_product WHERE store_id = {{store_id:String}} AND {_DATE_RANGE} "
            f"GROUP BY sku ORDER BY {order} DESC, sku ASC LIMIT {{limit:UInt32}}"
        )
        parameters = {**_parameters(store_id, None, date_from, date_to), "limit": int(limit)}
        rows = await self._call(self._rows, sql, parameters)
        return [{"sku": row[0], "product_name": row[1], **metrics(row[2:])} for row in rows]

    async def product_sales_with_seller(
        self, store_id: str, seller_id: str, date_from: date, date_to: date
    ) -> list[tuple[Any, ...]]:
        """Per product of the store over the range: sku, latest name, revenue, units,
        revenue and units of the lines with a known cost, their cost, and the seller's
        revenue and units (``app/insights/margins.py``'s ``ProductSales`` fields, in order)."""
        sql = (
            "SELECT sku, argMaxIf(product_name, event_time, product_name != ''), "
            "sum(revenue_cents), sum(toInt64(quantity)), "
            "sumIf(revenue_cents, cost_cents IS NOT NULL), "
            "sumIf(toInt64(quantity), cost_cents IS NOT NULL), sum(ifNull(cost_cents, 0)), "
            "sumIf(revenue_cents, seller_id = {seller_id:String}), "
            "sumIf(toInt64(quantity), seller_id = {seller_id:String}) "
            f"FROM sale_lines WHERE store_id = {{store_id:String}} AND {_DATE_RANGE} "
            "GROUP BY sku ORDER BY sku"
        )
        parameters = _parameters(store_id, seller_id, date_from, date_to)
        return await self._call(self._rows, sql, parameters)

    async def seller_stores(self, seller_id: str) -> list[str]:
        """Stores where the seller has history, sorted."""
        rows = await self._call(
            self._rows,
            "SELECT DISTINCT store_id FROM daily_seller WHERE seller_id = {seller_id:String} "
            "ORDER BY store_id",
            {"seller_id": seller_id},
        )
        return [row[0] for row in rows]

    async def product_names(self, store_id: str, skus: Collection[str]) -> dict[str, str]:
        """The latest non-empty name of each of ``skus`` in the store's history."""
        if not skus:
            return {}
        rows = await self._call(
            self._rows,
            "SELECT sku, argMaxIfMerge(product_name_state) FROM daily_product "
            "WHERE store_id = {store_id:String} AND sku IN {skus:Array(String)} GROUP BY sku",
            {"store_id": store_id, "skus": sorted(skus)},
        )
        return {row[0]: row[1] for row in rows if row[1]}

    async def store_sellers(self, store_id: str) -> list[str]:
        """Sellers with history in the store, sorted."""
        rows = await self._call(
            self._rows,
            "SELECT DISTINCT seller_id FROM daily_seller WHERE store_id = {store_id:String} "
            "ORDER BY seller_id",
            {"store_id": store_id},
        )
        return [row[0] for row in rows]

    async def store_ids(self) -> list[str]:
        rows = await self._call(
            self._rows, "SELECT DISTINCT store_id FROM daily_store ORDER BY store_id", {}
        )
        return [row[0] for row in rows]

    async def ping(self) -> bool:
        """Whether ClickHouse answers now (for readiness checks)."""
        try:
            rows = await self._call(self._rows, "SELECT 1", {})
        except HistoryUnavailableError:
            return False
        return rows == [(1,)]

    def _rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple]:
        return [tuple(row) for row in self._client.query(sql, parameters=parameters).result_rows]


def _parameters(
    store_id: str, seller_id: str | None, date_from: date, date_to: date
) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "store_id": store_id,
        "date_from": date_from,
        "date_to": date_to,
    }
    if seller_id is not None:
        parameters["seller_id"] = seller_id
    return parameters


def connect_and_migrate(dsn: str, retention_days: int) -> Client:
    """A client for ``dsn`` with the schema up to date; ``HistoryUnavailableError`` if not."""
    client = connect(dsn)
    try:
        migrate(client, retention_days)
    except (ClickHouseError, OSError) as error:
        client.close()
        raise HistoryUnavailableError(
            f"could not bring the history schema up to date ({type(error).__name__}: {error})"
        ) from error
    except BaseException:
        client.close()
        raise
    return client
