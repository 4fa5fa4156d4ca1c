"""Records to ClickHouse rows: pure functions, one column order, the live tables' buckets.

``local_date`` and ``local_hour`` come from ``tables.buckets.local_buckets``, the function
the live tables use, so a sale lands in the same hour and day in ClickHouse as on the live
screens (ClickHouse's own zone functions could disagree with Python's zoneinfo on old or
changed zone rules). A missing customer or product name is stored as ``''``.

A value the columns cannot hold (a date before 1970, an amount beyond 64 bits, a number where
text belongs) raises ``UnstorableError``: the sink counts and logs such a message instead of
retrying an insert that can never succeed.
"""

from __future__ import annotations

from datetime import date, datetime

from app.records import Rejection, Sale
from tables.buckets import local_buckets

SALE_LINE_COLUMNS: tuple[str, ...] = (
    "line_id",
    "order_id",
    "store_id",
    "seller_id",
    "customer_ref",
    "channel",
    "sku",
    "product_name",
    "event_time",
    "time_zone",
    "local_date",
    "local_hour",
    "quantity",
    "unit_price_cents",
    "discount_cents",
    "unit_cost_cents",
    "revenue_cents",
    "cost_cents",
    "kafka_partition",
    "kafka_offset",
)
"""Columns of ``sale_lines`` that rows fill (``ingested_at`` is ClickHouse's default)."""

REJECTION_COLUMNS: tuple[str, ...] = (
    "rejection_id",
    "source",
    "line_number",
    "reason",
    "detail",
    "raw",
    "rejected_at",
)

SINK_OFFSET_COLUMNS: tuple[str, ...] = ("topic", "partition", "next_offset")
"""Columns of ``sink_offsets`` that the sink fills (``updated_at`` is ClickHouse's default)."""

# The ranges of ClickHouse's Date (local_date), DateTime64 (times) and integer columns.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(2149, 6, 6)
FIRST_TIME_YEAR = 1900
LAST_TIME_YEAR = 2299
INT32 = 2**31
INT64 = 2**63

LINE_ID = SALE_LINE_COLUMNS.index("line_id")
STORE_ID = SALE_LINE_COLUMNS.index("store_id")
LOCAL_DATE = SALE_LINE_COLUMNS.index("local_date")
REJECTION_ID = REJECTION_COLUMNS.index("rejection_id")


class UnstorableError(ValueError):
    """A record holds a value that the history's column types cannot store."""


def _check_int(name: str, value: int | None, limit: int) -> None:
    if value is not None and (type(value) is not int or not -limit <= value < limit):
        raise UnstorableError(f"{name} {value!r} does not fit its column")


def _check_text(name: str, value: object) -> None:
    if type(value) is not str:
        raise UnstorableError(f"{name} is not text: {value!r}")


def _check_time(name: str, moment: datetime) -> None:
    if not FIRST_TIME_YEAR <= moment.year <= LAST_TIME_YEAR:
        raise UnstorableError(f"{name} {moment.isoformat()} is out of range")


def local_date_and_hour(event_time: datetime, zone_name: str) -> tuple[date, int]:
    hour_label, day_label, _ = local_buckets(event_time, zone_name)
    return date.fromisoformat(day_label), int(hour_label[-2:])


def sale_rows(sale: Sale, partition: int, offset: int) -> list[tuple]:
    """One row per line of ``sale``, in ``SALE_LINE_COLUMNS`` order."""
    local_date, local_hour = local_date_and_hour(sale.event_time, sale.source_time_zone)
    check_sale(sale, local_date)
    customer_ref = sale.customer_ref or ""
    return [
        (
            line.line_id,
            sale.order_id,
            sale.store_id,
            sale.seller_id,
            customer_ref,
            sale.channel,
            line.sku,
            line.product_name or "",
            sale.event_time,
            sale.source_time_zone,
            local_date,
            local_hour,
            line.quantity,
            line.unit_price_cents,
            line.discount_cents,
            line.unit_cost_cents,
            line.revenue_cents,
            line.cost_cents,
            partition,
            offset,
        )
        for line in sale.lines
    ]


def check_sale(sale: Sale, local_date: date) -> None:
    """Raise ``UnstorableError`` unless every value of ``sale`` fits its column."""
    if not FIRST_DATE <= local_date <= LAST_DATE:
        raise UnstorableError(f"local date {local_date} is out of range")
    for name in ("order_id", "store_id", "seller_id", "channel", "source_time_zone"):
        _check_text(name, getattr(sale, name))
    if sale.customer_ref is not None:
        _check_text("customer_ref", sale.customer_ref)
    for line in sale.lines:
        _check_text("line_id", line.line_id)
        _check_text("sku", line.sku)
        if line.product_name is not None:
            _check_text("product_name", line.product_name)
        _check_int("quantity", line.quantity, INT32)
        for name in ("unit_price_cents", "discount_cents", "unit_cost_cents"):
            _check_int(name, getattr(line, name), INT64)
        _check_int("revenue_cents", line.revenue_cents, INT64)
        _check_int("cost_cents", line.cost_cents, INT64)


def rejection_row(rejection: Rejection) -> tuple:
    """The row of ``rejection``, in ``REJECTION_COLUMNS`` order."""
    for name in ("rejection_id", "source", "reason", "detail", "raw"):
        _check_text(name, getattr(rejection, name))
    _check_int("line_number", rejection.line_number, INT64)
    _check_time("rejected_at", rejection.rejected_at)
    return (
        rejection.rejection_id,
        rejection.source,
        rejection.line_number,
        rejection.reason,
        rejection.detail,
        rejection.raw,
        rejection.rejected_at,
    )
