"""The data contract: every record that crosses a DataApp topic.

One module on purpose: producers (ingestion, the generator) and consumers (the Faust
agents, the ClickHouse sinks) import the same definitions, so the wire format cannot drift.
Records are plain slotted dataclasses with explicit ``to_dict``/``from_dict`` so that the hot
ingestion path does not pay for a framework's model machinery; the JSON layout is documented
in ``docs/schema.md``. They are not ``frozen``: a frozen dataclass costs five times as much to
build (every field goes through ``object.__setattr__``), and ingestion builds one per line.
Treat them as values all the same: nothing in DataApp mutates a record after building it.

Money is always integer cents. Time is always an aware UTC ``datetime`` on the record and an
ISO-8601 string ending in ``Z`` on the wire; the zone the source spoke in travels alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

CANONICAL_COLUMNS: tuple[str, ...] = (
    "order_id",
    "store_id",
    "seller_id",
    "customer_id",
    "event_time",
    "time_zone",
    "channel",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
    "unit_cost",
    "discount",
)
"""The canonical flat layout: one row per sale line, as files and the HTTP endpoint carry it
(read by ``app/mappings/canonical.yaml``; money in decimal units there, cents on records)."""


def format_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix, second precision unless there are microseconds."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(slots=True)
class SaleLine:
    """One line of an order.

    ``quantity`` is negative for a returned item. ``discount_cents`` is the discount granted
    on the whole line, as a non-negative amount; on a return it is the discount given back.
    """

    line_id: str
    sku: str
    quantity: int
    unit_price_cents: int
    discount_cents: int = 0
    unit_cost_cents: int | None = None
    product_name: str | None = None

    @property
    def is_return(self) -> bool:
        return self.quantity < 0

    @property
    def revenue_cents(self) -> int:
        """Net revenue of the line: negative for a return."""
        gross = abs(self.quantity) * self.unit_price_cents - self.discount_cents
        return -gross if self.is_return else gross

    @property
    def cost_cents(self) -> int | None:
        if self.unit_cost_cents is None:
            return None
        return self.quantity * self.unit_cost_cents

    def to_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "unit_price_cents": self.unit_price_cents,
            "discount_cents": self.discount_cents,
            "unit_cost_cents": self.unit_cost_cents,
            "product_name": self.product_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SaleLine:
        return cls(
            line_id=data["line_id"],
            sku=data["sku"],
            quantity=int(data["quantity"]),
            unit_price_cents=int(data["unit_price_cents"]),
            discount_cents=int(data.get("discount_cents") or 0),
            unit_cost_cents=data.get("unit_cost_cents"),
            product_name=data.get("product_name"),
        )


@dataclass(slots=True)
class Sale:
    """One order (ticket), or part of one: the lines of an order read together.

    A source may deliver the lines of an order in several pieces (a file split mid-order, a
    re-run after a crash); each piece is a ``Sale`` with the same ``order_id`` and distinct
    ``line_id``s, so consumers merge by ``(store_id, order_id)`` and count lines by id.
    """

    order_id: str
    store_id: str
    seller_id: str
    event_time: datetime
    source_time_zone: str
    channel: str
    lines: tuple[SaleLine, ...]
    customer_ref: str | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def revenue_cents(self) -> int:
        return sum(line.revenue_cents for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "order_id": self.order_id,
            "store_id": self.store_id,
            "seller_id": self.seller_id,
            "customer_ref": self.customer_ref,
            "event_time": format_utc(self.event_time),
            "source_time_zone": self.source_time_zone,
            "channel": self.channel,
            "lines": [line.to_dict() for line in self.lines],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sale:
        return cls(
            order_id=data["order_id"],
            store_id=data["store_id"],
            seller_id=data["seller_id"],
            customer_ref=data.get("customer_ref"),
            event_time=parse_utc(data["event_time"]),
            source_time_zone=data["source_time_zone"],
            channel=data["channel"],
            lines=tuple(SaleLine.from_dict(line) for line in data["lines"]),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was read but not accepted, with why; lands on the dead-letter topic."""

    rejection_id: str
    source: str
    line_number: int
    reason: str
    detail: str
    raw: str
    rejected_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rejection_id": self.rejection_id,
            "source": self.source,
            "line_number": self.line_number,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
            "rejected_at": format_utc(self.rejected_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rejection:
        return cls(
            rejection_id=data["rejection_id"],
            source=data["source"],
            line_number=int(data["line_number"]),
            reason=data["reason"],
            detail=data["detail"],
            raw=data["raw"],
            rejected_at=parse_utc(data["rejected_at"]),
        )


@dataclass(frozen=True, slots=True)
class Store:
    store_id: str
    name: str
    city: str
    state: str
    time_zone: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "name": self.name,
            "city": self.city,
            "state": self.state,
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Store:
        return cls(**{key: data[key] for key in ("store_id", "name", "city", "state", "time_zone")})


@dataclass(frozen=True, slots=True)
class Seller:
    seller_id: str
    store_id: str
    display_name: str
    commission_plan_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "store_id": self.store_id,
            "display_name": self.display_name,
            "commission_plan_id": self.commission_plan_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seller:
        return cls(
            **{
                key: data[key]
                for key in ("seller_id", "store_id", "display_name", "commission_plan_id")
            }
        )


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    cost_cents: int
    price_cents: int

    @property
    def margin_cents(self) -> int:
        return self.price_cents - self.cost_cents

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "cost_cents": self.cost_cents,
            "price_cents": self.price_cents,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Product:
        return cls(
            sku=data["sku"],
            name=data["name"],
            category=data["category"],
            cost_cents=int(data["cost_cents"]),
            price_cents=int(data["price_cents"]),
        )
