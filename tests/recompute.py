"""An independent recompute of the live aggregates, straight from the definitions in
``tables/totals.py`` (no code shared with ``tables/aggregation.py``): what the unit tests fold
batches against, and what the integration tests compare the worker's tables with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from app.records import Sale
from tables.sketch import DistinctSketch
from tables.totals import Totals


def counters(totals: Totals) -> tuple[int, ...]:
    """Every figure of a ``Totals``, customers as the sketch's estimate."""
    return (
        totals.revenue_cents,
        totals.cost_cents,
        totals.costed_revenue_cents,
        totals.units,
        totals.returned_units,
        totals.lines,
        totals.orders,
        totals.customers.estimate(),
    )


@dataclass
class Expected:
    revenue_cents: int = 0
    cost_cents: int = 0
    costed_revenue_cents: int = 0
    units: int = 0
    returned_units: int = 0
    lines: int = 0
    orders: int = 0
    customers: set[str] = field(default_factory=set)

    def figures(self) -> tuple[int, ...]:
        return (
            self.revenue_cents,
            self.cost_cents,
            self.costed_revenue_cents,
            self.units,
            self.returned_units,
            self.lines,
            self.orders,
            _sketch_of(self.customers).estimate(),
        )


def api_figures(values: Sequence[int], customers: int | None) -> dict[str, int | None]:
    """The lookup API's figures from the first seven counters (revenue, cost, costed revenue,
    units, returned units, lines, orders), written from docs/api.md, not from app/."""
    revenue, cost, costed, units, returned, lines, orders = values[:7]
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


def naive_recompute(sales: Sequence[Sale]) -> dict[str, tuple[int, ...]]:
    """Per-key figures straight from the definitions of ``tables/totals.py``, in one pass
    over every sale in delivery order."""
    table: dict[str, Expected] = {}
    orders_seen: set[tuple[str, str]] = set()
    order_products_seen: set[tuple[str, str, str]] = set()
    for sale in sales:
        local = sale.event_time.astimezone(ZoneInfo(sale.source_time_zone))
        periods = (
            ("h", local.strftime("%Y-%m-%dT%H")),
            ("d", local.strftime("%Y-%m-%d")),
            ("m", local.strftime("%Y-%m")),
        )
        for line in sale.lines:
            whole: list[str] = []
            products: list[str] = []
            for code, label in periods:
                whole.append("\x1f".join((sale.store_id, "T", code, label, "")))
                whole.append("\x1f".join((sale.store_id, "S", code, label, sale.seller_id)))
                products.append("\x1f".join((sale.store_id, "P", code, label, line.sku)))
            gross = abs(line.quantity) * line.unit_price_cents - line.discount_cents
            revenue = gross if line.quantity > 0 else -gross
            for key in whole + products:
                entry = table.setdefault(key, Expected())
                entry.revenue_cents += revenue
                if line.unit_cost_cents is not None:
                    entry.cost_cents += line.quantity * line.unit_cost_cents
                    entry.costed_revenue_cents += revenue
                entry.units += line.quantity
                entry.returned_units += max(0, -line.quantity)
                entry.lines += 1
                if sale.customer_ref is not None:
                    entry.customers.add(sale.customer_ref)
            if line.quantity > 0:
                if (sale.store_id, sale.order_id) not in orders_seen:
                    orders_seen.add((sale.store_id, sale.order_id))
                    for key in whole:
                        table[key].orders += 1
                if (sale.store_id, sale.order_id, line.sku) not in order_products_seen:
                    order_products_seen.add((sale.store_id, sale.order_id, line.sku))
                    for key in products:
                        table[key].orders += 1
    return {key: entry.figures() for key, entry in table.items()}


def _sketch_of(customers: set[str]) -> DistinctSketch:
    """The sketch's answer for exactly this set (it depends on the set only, not on the order
    things were added or merged), so approximate counts compare exactly."""
    sketch = DistinctSketch()
    for customer in customers:
        sketch.add(customer)
    return sketch
