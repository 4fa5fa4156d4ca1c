"""Lookups join the live tables and the history: split at the live horizon, month buckets for
whole months, figures added field by field. Tested with an in-memory table and history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from app.api.lookups import ZERO, Lookups
from app.api.periods import DateRange
from app.metrics import Histogram, WorkerMetrics, render
from app.records import Sale, SaleLine
from tables.aggregation import aggregate_batch, split_key
from tables.totals import Totals

ZONE = "America/Sao_Paulo"


def sale(order: str, day: int, hour: int, seller: str, sku: str, quantity: int, price: int) -> Sale:
    return Sale(
        order_id=order,
        store_id="s1",
        seller_id=seller,
        event_time=datetime(2026, 3, day, hour + 3, tzinfo=UTC),  # local hour = hour
        source_time_zone=ZONE,
        channel="store",
        lines=(SaleLine(f"{order}-1", sku, quantity, price, unit_cost_cents=price // 2),),
        customer_ref=f"c{order}",
    )


SALES = [
    sale("o1", 1, 10, "v1", "A", 2, 1000),
    sale("o2", 1, 11, "v2", "B", 1, 5000),
    sale("o3", 15, 9, "v1", "A", 1, 1000),
    sale("o4", 31, 20, "v1", "C", 3, 200),
]


class MemoryTables:
    def __init__(self, sales: list[Sale]) -> None:
        self.data = {
            key: totals.to_bytes() for key, totals in aggregate_batch(sales, {}).deltas.items()
        }

    def get(self, key: str) -> Totals | None:
        value = self.data.get(key)
        return Totals.from_bytes(value) if value is not None else None

    def scan(
        self, store: str, dimension: str, grain: str, first: str, last: str, customers: bool = True
    ) -> Iterator[tuple[str, str, Totals]]:
        code = {"hour": "h", "day": "d", "month": "m"}[grain]
        decode = Totals.from_bytes if customers else Totals.counters_from_bytes
        for key in sorted(self.data):
            key_store, key_dimension, key_grain, bucket, member = split_key(key)
            wanted = (key_store, key_dimension, key_grain) == (store, dimension, code)
            if wanted and first <= bucket <= last:
                yield bucket, member, decode(self.data[key])


class History:
    """Figures for February only; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []
        self.february = {**ZERO, "revenue_cents": 700, "lines": 1, "orders": 1, "units": 7}

    async def summary(
        self, store_id: str, seller_id: str | None, first: date, last: date
    ) -> dict[str, int]:
        self.asked.append(("summary", seller_id, first, last))
        return dict(self.february) if first.month <= 2 else dict(ZERO)

    async def timeseries(
        self, store_id: str, seller_id: str | None, granularity: str, first: date, last: date
    ) -> list[dict[str, Any]]:
        self.asked.append(("timeseries", granularity, first, last))
        return [{"bucket": "2026-02", **self.february}] if granularity == "month" else []

    async def product_ranking(
        self, store_id: str, first: date, last: date, by: str, limit: int
    ) -> list[dict[str, Any]]:
        self.asked.append(("ranking", first, last, limit))
        return [
            {
                "sku": "B",
                "product_name": "Bolsa",
                **{**ZERO, "revenue_cents": 9000, "margin_cents": 100},
            }
        ]

    async def product_names(self, store_id: str, skus: list[str]) -> dict[str, str]:
        return {sku: f"name of {sku}" for sku in skus}


def lookups(history: History | None = None) -> Lookups:
    return Lookups(MemoryTables(SALES), history or History(), {})  # type: ignore[arg-type]


async def test_live_summary_of_a_whole_month_equals_the_sum_of_its_sales() -> None:
    history = History()
    figures = await lookups(history).summary(
        "s1", None, DateRange(date(2026, 3, 1), date(2026, 3, 31)), date(2026, 1, 1)
    )
    assert figures["revenue_cents"] == 2 * 1000 + 5000 + 1000 + 3 * 200
    assert (figures["lines"], figures["orders"], figures["units"]) == (4, 4, 7)
    assert figures["margin_cents"] == figures["revenue_cents"] - (1000 + 2500 + 500 + 300)
    assert history.asked == []  # nothing before the live horizon


async def test_a_range_across_the_horizon_adds_history_and_live() -> None:
    history = History()
    span = DateRange(date(2026, 2, 1), date(2026, 3, 1))
    figures = await lookups(history).summary("s1", None, span, date(2026, 3, 1))
    assert history.asked == [("summary", None, date(2026, 2, 1), date(2026, 2, 28))]
    assert figures["revenue_cents"] == 700 + 2000 + 5000
    assert figures["lines"] == 1 + 2


async def test_seller_summary_counts_only_that_seller() -> None:
    figures = await lookups().summary(
        "s1", "v1", DateRange(date(2026, 3, 1), date(2026, 3, 31)), date(2026, 1, 1)
    )
    assert (figures["revenue_cents"], figures["lines"]) == (2000 + 1000 + 600, 3)


async def test_monthly_series_from_days_cut_by_the_range() -> None:
    points = await lookups().timeseries(
        "s1", None, "month", DateRange(date(2026, 3, 2), date(2026, 3, 31)), date(2026, 1, 1)
    )
    assert [(p["bucket"], p["lines"]) for p in points] == [("2026-03", 2)]


async def test_hourly_series_in_local_hours() -> None:
    points = await lookups().timeseries(
        "s1", "v1", "hour", DateRange(date(2026, 3, 1), date(2026, 3, 1)), date(2026, 1, 1)
    )
    assert [(p["bucket"], p["revenue_cents"]) for p in points] == [("2026-03-01T10", 2000)]


async def test_ranking_merges_history_and_live_and_names_products() -> None:
    history = History()
    span = DateRange(date(2026, 2, 1), date(2026, 3, 31))
    ranked = await lookups(history).product_ranking("s1", span, date(2026, 3, 1), "revenue", 2)
    assert [(p["rank"], p["sku"], p["revenue_cents"]) for p in ranked] == [
        (1, "B", 14000),
        (2, "A", 3000),
    ]
    assert ranked[0]["product_name"] == "Bolsa" and ranked[1]["product_name"] == "name of A"
    # Distinct customers are merged for the products returned: A was bought by o1 and o3.
    assert (ranked[0]["customers"], ranked[1]["customers"]) == (1, 2)
    assert history.asked[0][-1] > 2  # every product of the old days, not just the top two


def test_metrics_text_is_prometheus_exposition() -> None:
    metrics = WorkerMetrics()
    metrics.lines_processed = 12
    metrics.rejections["invalid_record"] = 2
    metrics.batch_seconds.observe(0.02)
    sink_latency = Histogram((0.1,))
    sink_latency.observe(0.05)
    text = render(metrics, {"sales": {0: 3}}, {"healthy": 1.0}, sink_latency)
    assert "dataapp_lines_processed_total 12" in text
    assert 'dataapp_rejections_total{reason="invalid_record"} 2' in text
    assert 'dataapp_consumer_lag{topic="sales",partition="0"} 3' in text
    assert 'dataapp_batch_seconds_bucket{le="0.025"} 1' in text
    assert 'dataapp_history_batch_seconds_bucket{le="+Inf"} 1' in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram()
    for value in (0.0005, 0.003, 0.003, 7.0):
        histogram.observe(value)
    lines = histogram.lines("x")
    assert lines[0] == 'x_bucket{le="0.001"} 1'
    assert 'x_bucket{le="0.005"} 3' in lines
    assert lines[-3] == 'x_bucket{le="+Inf"} 4'
