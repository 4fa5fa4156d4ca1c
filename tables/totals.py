"""What every live aggregate holds, and how one sale line adds to it.

One definition for the live tables, the batch recompute in the tests and the SQL over
ClickHouse (``app/history``), so that "equal to the cent" has one meaning:

- ``revenue_cents``: net revenue of the lines (``SaleLine.revenue_cents``; returns negative);
- ``cost_cents``: ``quantity * unit_cost_cents`` over lines whose cost is known;
- ``costed_revenue_cents``: revenue of those same lines, so that
  ``margin_cents = costed_revenue_cents - cost_cents`` is never inflated by lines without a
  cost (their revenue is ``uncosted_revenue_cents``);
- ``units``: net units (``sum(quantity)``, returns negative); ``returned_units``: units
  returned, as a positive number; ``lines``: line items;
- ``orders``: distinct orders with at least one sold (positive-quantity) line, each counted
  in the bucket of the first such line seen (an order's lines share one time in practice);
- ``customers``: distinct customers, by a sketch that is exact up to 128 customers and
  about 2% off beyond (``tables/sketch.py``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from tables.sketch import DistinctSketch

_COUNTERS = struct.Struct("<7q")


@dataclass(slots=True)
class Totals:
    revenue_cents: int = 0
    cost_cents: int = 0
    costed_revenue_cents: int = 0
    units: int = 0
    returned_units: int = 0
    lines: int = 0
    orders: int = 0
    customers: DistinctSketch = field(default_factory=DistinctSketch)

    @property
    def margin_cents(self) -> int:
        return self.costed_revenue_cents - self.cost_cents

    @property
    def uncosted_revenue_cents(self) -> int:
        return self.revenue_cents - self.costed_revenue_cents

    def add_line(
        self,
        quantity: int,
        revenue_cents: int,
        cost_cents: int | None,
    ) -> None:
        self.revenue_cents += revenue_cents
        if cost_cents is not None:
            self.cost_cents += cost_cents
            self.costed_revenue_cents += revenue_cents
        self.units += quantity
        if quantity < 0:
            self.returned_units -= quantity
        self.lines += 1

    def merge(self, other: Totals) -> None:
        self.revenue_cents += other.revenue_cents
        self.cost_cents += other.cost_cents
        self.costed_revenue_cents += other.costed_revenue_cents
        self.units += other.units
        self.returned_units += other.returned_units
        self.lines += other.lines
        self.orders += other.orders
        self.customers.merge(other.customers)

    def to_bytes(self) -> bytes:
        return (
            _COUNTERS.pack(
                self.revenue_cents,
                self.cost_cents,
                self.costed_revenue_cents,
                self.units,
                self.returned_units,
                self.lines,
                self.orders,
            )
            + self.customers.to_bytes()
        )

    @classmethod
    def counters_from_bytes(cls, data: bytes) -> Totals:
        """The counters only, customers left empty: several times cheaper than
        ``from_bytes`` where distinct customers are not wanted (rankings)."""
        return cls(*_COUNTERS.unpack_from(data))

    @classmethod
    def from_bytes(cls, data: bytes) -> Totals:
        counters = _COUNTERS.unpack_from(data)
        return cls(*counters, customers=DistinctSketch.from_bytes(data[_COUNTERS.size :]))

    def to_json(self) -> dict[str, Any]:
        """The API's figures: integers only (money in cents)."""
        return {
            "revenue_cents": self.revenue_cents,
            "cost_cents": self.cost_cents,
            "margin_cents": self.margin_cents,
            "uncosted_revenue_cents": self.uncosted_revenue_cents,
            "units": self.units,
            "returned_units": self.returned_units,
            "lines": self.lines,
            "orders": self.orders,
            "customers": self.customers.estimate(),
        }
