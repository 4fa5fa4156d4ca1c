"""Turning a message of the ``sales`` topic back into a ``Sale``, or saying why it cannot be.

Ingestion only writes valid sales, but anything with access to the topic can write to it; a
message the worker cannot read must not crash it nor vanish, so it leaves as a dead letter
with one of the reasons below.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from app.ingest.normalize import MAX_ABS_QUANTITY, MAX_UNIT_PRICE_CENTS
from app.records import SCHEMA_VERSION, Rejection, Sale
from tables.buckets import local_time, zone

# Ids become parts of table keys joined by a control character (tables/aggregation.py).
_BAD_ID = re.compile(r"[\x00-\x1f\x7f]")
_MAX_LINES = 10_000


class InvalidMessage(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_sale(value: bytes | None) -> Sale:
    if not value:
        raise InvalidMessage("empty_message", "the message has no value")
    try:
        data: Any = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise InvalidMessage("undecodable_message", f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidMessage("undecodable_message", "not a JSON object")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InvalidMessage("unknown_schema_version", f"schema_version {version!r}")
    try:
        sale = Sale.from_dict(data)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise InvalidMessage("invalid_record", f"{type(error).__name__}: {error}") from None
    # parse_utc reads a time without an offset as the host's local time: refuse it instead.
    if datetime.fromisoformat(data["event_time"]).tzinfo is None:
        raise InvalidMessage("invalid_record", "event_time has no zone")
    _check(sale)
    return sale


def _check(sale: Sale) -> None:
    for name in ("order_id", "store_id", "seller_id"):
        text = getattr(sale, name)
        if not isinstance(text, str) or not text or _BAD_ID.search(text):
            raise InvalidMessage("invalid_record", f"{name} is empty or has control characters")
    if not sale.lines or len(sale.lines) > _MAX_LINES:
        raise InvalidMessage("invalid_record", f"a sale needs 1 to {_MAX_LINES} lines")
    if sale.customer_ref is not None and not isinstance(sale.customer_ref, str):
        raise InvalidMessage("invalid_record", "customer_ref is not a string")
    try:
        if not isinstance(sale.source_time_zone, str):
            raise TypeError
        zone(sale.source_time_zone)
    except (KeyError, ValueError, OSError, TypeError):
        raise InvalidMessage(
            "invalid_record", f"unknown time zone {sale.source_time_zone!r}"
        ) from None
    try:
        local_time(sale.event_time, sale.source_time_zone)
    except OverflowError:
        raise InvalidMessage("invalid_record", "event_time is out of range") from None
    for line in sale.lines:
        if not isinstance(line.sku, str) or not line.sku or _BAD_ID.search(line.sku):
            raise InvalidMessage(
                "invalid_record", "a line's sku is empty or has control characters"
            )
        if line.quantity == 0 or line.unit_price_cents < 0 or line.discount_cents < 0:
            raise InvalidMessage(
                "invalid_record", f"line {line.line_id}: zero quantity or negative amount"
            )
        if line.unit_cost_cents is not None and not isinstance(line.unit_cost_cents, int):
            raise InvalidMessage("invalid_record", f"line {line.line_id}: cost is not cents")
        # Ingestion's limits (and the price's for the cost): beyond them a line's figures
        # could overflow the 64-bit counters of tables/totals.py and fail every batch that
        # holds the message.
        if (
            abs(line.quantity) > MAX_ABS_QUANTITY
            or line.unit_price_cents > MAX_UNIT_PRICE_CENTS
            or line.discount_cents > abs(line.quantity) * line.unit_price_cents
            or not 0 <= (line.unit_cost_cents or 0) <= MAX_UNIT_PRICE_CENTS
        ):
            raise InvalidMessage(
                "invalid_record", f"line {line.line_id}: quantity or amount out of range"
            )


def dead_letter(
    value: bytes | None, error: InvalidMessage, topic: str, partition: int, offset: int
) -> Rejection:
    """The dead letter of a message the worker could not read; its id is its position, so a
    message replayed after a crash gives the same id (and the sink stores it once)."""
    raw = (value or b"")[:10_000].decode("utf-8", errors="replace")
    return Rejection(
        rejection_id=f"worker:{topic}:{partition}:{offset}",
        source=f"kafka:{topic}",
        line_number=offset,
        reason=error.reason,
        detail=error.detail,
        raw=raw,
    )
