"""``HistoryStore.connect_in_background`` with an injected connect function: the worker starts
without ClickHouse, every call says "unavailable" until a connection is made, and the sink
waits for it without losing anything."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

import pytest
from aiokafka import TopicPartition

from agents.clickhouse_sink import DecodedBatch, HistorySink
from app.history import HistoryStore, HistoryUnavailableError, sale_rows
from app.history.rows import LINE_ID
from app.records import Sale, SaleLine
from app.topics import topic_set

DSN = "http://default:secret@127.0.0.1:9/history"


@dataclass
class Result:
    result_rows: list[tuple]


@dataclass
class FakeClient:
    """Enough of a clickhouse_connect client: records inserts, answers from them, and
    remembers which threads used it."""

    inserts: list[tuple[str, list[tuple]]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    closed: bool = False

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> Result:
        self.threads.add(threading.current_thread().name)
        if sql == "SELECT 1":
            return Result([(1,)])
        if "FROM sale_lines" in sql:
            lines = [row for table, rows in self.inserts if table == "sale_lines" for row in rows]
            stored = {row[LINE_ID] for row in lines}
            wanted = (parameters or {}).get("ids", [])
            return Result([(line_id,) for line_id in wanted if line_id in stored])
        return Result([])

    def insert(self, table: str, rows: Any, column_names: Any = None) -> None:
        self.threads.add(threading.current_thread().name)
        self.inserts.append((table, [tuple(row) for row in rows]))

    def close(self) -> None:
        self.closed = True


@dataclass
class FlakyConnect:
    """Fails until ``up`` is set (or ``failures`` calls have failed), then returns ``client``."""

    client: FakeClient = field(default_factory=FakeClient)
    failures: int = 10**9
    up: threading.Event = field(default_factory=threading.Event)
    error: Callable[[], Exception] = lambda: HistoryUnavailableError("connection refused")
    calls: list[float] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)

    def __call__(self, dsn: str, retention_days: int) -> FakeClient:
        assert (dsn, retention_days) == (DSN, 30)
        self.calls.append(time.monotonic())
        self.threads.add(threading.current_thread().name)
        if not self.up.is_set() and len(self.calls) <= self.failures:
            raise self.error()
        return self.client


def background(connect: FlakyConnect, base: float = 0.005, cap: float = 0.05) -> HistoryStore:
    return HistoryStore.connect_in_background(
        DSN,
        30,
        connect=connect,  # type: ignore[arg-type]
        base_delay=base,
        max_delay=cap,
        rng=random.Random(1),
    )


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_returns_at_once_and_every_call_is_unavailable_until_connected() -> None:
    connect = FlakyConnect(failures=3)
    started = time.monotonic()
    store = background(connect, base=0.05, cap=0.05)
    assert time.monotonic() - started < 0.05  # no connection attempt awaited
    try:
        assert not store.connected
        assert not await store.ping()
        with pytest.raises(HistoryUnavailableError, match="not connected yet"):
            await store.summary("s-1", None, date(2026, 1, 1), date(2026, 1, 31))
        with pytest.raises(HistoryUnavailableError):
            await store.insert_lines([("row",)])
        with pytest.raises(HistoryUnavailableError):
            await store.load_sink_offsets(["sales"])

        assert await store.wait_connected(timeout=10)
        assert store.connected and await store.ping()
        assert len(connect.calls) == 4 and store.connect_attempts_failed == 3
        assert store.last_error == "HistoryUnavailableError: connection refused"
        # Connected on the store's one thread, and every later call runs on that thread.
        assert connect.threads == connect.client.threads
        assert len(connect.threads) == 1
    finally:
        await store.close()
    assert connect.client.closed
    assert not store.connected
    with pytest.raises(HistoryUnavailableError, match="closed"):
        await store.store_ids()


async def test_attempts_back_off_exponentially_and_any_error_is_retried() -> None:
    connect = FlakyConnect(failures=5, error=lambda: OSError("no route to host"))
    store = background(connect, base=0.02, cap=10.0)
    try:
        assert await store.wait_connected(timeout=10)
    finally:
        await store.close()
    gaps = [later - earlier for earlier, later in pairwise(connect.calls)]
    assert len(gaps) == 5
    for attempt, gap in enumerate(gaps, start=1):
        # backoff_delay waits at least half of its ceiling, 0.02 * 2**(attempt - 1).
        assert gap >= 0.02 * 2 ** (attempt - 1) / 2 * 0.95, (attempt, gaps)
    assert store.last_error == "OSError: no route to host"


async def test_wait_connected_times_out_and_close_stops_the_attempts() -> None:
    connect = FlakyConnect()  # never comes up
    store = background(connect, base=0.002, cap=0.01)
    assert not await store.wait_connected(timeout=0.2)
    assert len(connect.calls) >= 3
    started = time.monotonic()
    await store.close()
    assert time.monotonic() - started < 1
    calls = len(connect.calls)
    await asyncio.sleep(0.1)
    assert len(connect.calls) == calls  # no attempt after close
    assert not store.connected
    assert not await store.wait_connected(timeout=1)


async def test_a_connection_that_succeeds_after_close_is_closed() -> None:
    entered, release = threading.Event(), threading.Event()
    client = FakeClient()

    def slow_connect(dsn: str, retention_days: int) -> FakeClient:
        entered.set()
        release.wait(10)
        return client

    store = HistoryStore.connect_in_background(DSN, 30, connect=slow_connect)  # type: ignore[arg-type]
    await asyncio.to_thread(entered.wait, 10)
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waits for the attempt under way
    release.set()
    await closing
    assert client.closed and not store.connected


def sale(number: int) -> Sale:
    return Sale(
        order_id=f"o-{number}",
        store_id="s-1",
        seller_id="v-1",
        event_time=datetime(2026, 5, 4, 15, tzinfo=UTC),
        source_time_zone="America/Sao_Paulo",
        channel="loja",
        lines=(SaleLine(f"l-{number}", "sku-1", 1, 1000),),
    )


async def test_the_sink_waits_for_a_store_that_is_not_connected_and_loses_nothing() -> None:
    connect = FlakyConnect()
    store = background(connect)
    slept: list[bool] = []

    async def sleep(seconds: float) -> None:
        slept.append(sink.health().healthy)
        await asyncio.sleep(0.001)

    sink = HistorySink("127.0.0.1:9", topic_set("unit."), store, "unit", sleep=sleep)
    tp = TopicPartition("unit.sales", 0)
    batch = DecodedBatch(offsets={tp: 3})
    for offset in range(3):
        batch.lines.extend(sale_rows(sale(offset), 0, offset))
    try:
        writing = asyncio.create_task(sink.process_batch(batch))
        await eventually(lambda: len(slept) >= 3)
        assert not writing.done()
        health = sink.health()
        assert not health.healthy
        assert "HistoryUnavailableError" in (health.last_error or "")
        assert "not connected yet" in (health.last_error or "")

        connect.up.set()
        await asyncio.wait_for(writing, 10)
    finally:
        await store.close()
    assert set(slept) == {False}
    assert sink.health().healthy and sink.health().lines_written == 3
    tables = [table for table, _ in connect.client.inserts]
    assert tables == ["sale_lines", "sink_offsets"]  # the offsets after the rows
    assert connect.client.inserts[1][1] == [("unit.sales", 0, 3)]
