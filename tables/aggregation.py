"""Pre-aggregation of a batch of sales into table updates: pure, so it is tested without Faust.

A batch of a few thousand sales touches far fewer aggregate keys than it has lines (one store
hour collects every sale of that hour), so the agent reads and writes each key once per batch
instead of once per line; that is where the worker's speed comes from.

Key layout, one string per aggregate (``SEP`` cannot occur in ids: ingestion refuses control
characters, and the agent checks records that did not come through ingestion)::

    {store}␟{dimension}␟{grain}␟{bucket}␟{member}

- dimension ``T`` (the store as a whole, member empty), ``S`` (a seller), ``P`` (a product);
- grain ``h``/``d``/``m`` with the bucket label of ``tables/buckets.py``.

Every key starts with the store, the key of the ``sales`` topic: Faust writes a table update
to the changelog partition of the event being processed, so all of a store's aggregates live
in the partition that its sales arrive on, and one worker owns a store and its sellers.
Within a store the order puts one dimension, grain and period next to each other, so a
RocksDB range scan answers "every seller on these days" or "every product this month".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from app.records import Sale
from tables.buckets import Grain, local_buckets
from tables.sketch import customer_hash
from tables.totals import Totals

SEP = "\x1f"
Dimension = Literal["T", "S", "P"]
GRAIN_CODE: dict[Grain, str] = {"hour": "h", "day": "d", "month": "m"}
_GRAIN_CODES = ("h", "d", "m")


def aggregate_key(
    store_id: str, dimension: Dimension, grain: Grain, bucket: str, member: str = ""
) -> str:
    return f"{store_id}{SEP}{dimension}{SEP}{GRAIN_CODE[grain]}{SEP}{bucket}{SEP}{member}"


def scan_prefix(store_id: str, dimension: Dimension, grain: Grain) -> str:
    """The prefix every key of one store, dimension and grain starts with."""
    return f"{store_id}{SEP}{dimension}{SEP}{GRAIN_CODE[grain]}{SEP}"


def split_key(key: str) -> tuple[str, str, str, str, str]:
    """``(store, dimension, grain code, bucket, member)`` of an aggregate key."""
    store, dimension, grain, bucket, member = key.split(SEP)
    return store, dimension, grain, bucket, member


def order_key(store_id: str, order_id: str) -> str:
    return f"{store_id}{SEP}{order_id}"


def store_of(key: str) -> str:
    return key.split(SEP, 1)[0]


@dataclass(slots=True)
class BatchUpdate:
    """What one batch adds: a delta per aggregate key and the orders it counted."""

    deltas: dict[str, Totals] = field(default_factory=dict)
    counted_orders: dict[str, frozenset[str]] = field(default_factory=dict)
    """Order key -> every product the order has been counted for, after this batch."""
    lines: int = 0


def order_keys(sales: Iterable[Sale]) -> set[str]:
    """The order-index entries a batch needs to know before it can count its orders."""
    return {
        order_key(sale.store_id, sale.order_id)
        for sale in sales
        if any(line.quantity > 0 for line in sale.lines)
    }


def aggregate_batch(sales: Iterable[Sale], counted: Mapping[str, frozenset[str]]) -> BatchUpdate:
    """Fold a batch of sales into per-key deltas.

    ``counted`` holds, for orders seen in earlier batches, the products each was already
    counted for (``order_keys`` says which to look up). An order counts once for its store
    and seller, in the buckets of its first sold line, and once for each product it sold,
    so pieces of one order delivered apart (a file split mid-order) count it once.

    Lines are added to hour buckets only; day and month buckets are then made by merging
    the batch's hours (an hour label starts with its day and month labels), which costs far
    less than adding every line three times.
    """
    update = BatchUpdate()
    hourly: dict[str, Totals] = {}
    seen = update.counted_orders

    for sale in sales:
        store = sale.store_id
        hour = local_buckets(sale.event_time, sale.source_time_zone)[0]
        store_key = f"{store}{SEP}T{SEP}h{SEP}{hour}{SEP}"
        seller_key = f"{store}{SEP}S{SEP}h{SEP}{hour}{SEP}{sale.seller_id}"
        product_prefix = f"{store}{SEP}P{SEP}h{SEP}{hour}{SEP}"
        store_totals = hourly.get(store_key)
        if store_totals is None:
            store_totals = hourly[store_key] = Totals()
        seller_totals = hourly.get(seller_key)
        if seller_totals is None:
            seller_totals = hourly[seller_key] = Totals()
        customer = customer_hash(sale.customer_ref) if sale.customer_ref else None
        if customer is not None:
            store_totals.customers.add_hash(customer)
            seller_totals.customers.add_hash(customer)

        key_of_order = order_key(store, sale.order_id)
        already = seen.get(key_of_order)
        if already is None:
            already = counted.get(key_of_order)
        products_counted = set(already) if already is not None else set()
        order_is_new = already is None

        for line in sale.lines:
            quantity = line.quantity
            revenue = line.revenue_cents
            cost = line.cost_cents
            product_key = product_prefix + line.sku
            product_totals = hourly.get(product_key)
            if product_totals is None:
                product_totals = hourly[product_key] = Totals()
            store_totals.add_line(quantity, revenue, cost)
            seller_totals.add_line(quantity, revenue, cost)
            product_totals.add_line(quantity, revenue, cost)
            if customer is not None:
                product_totals.customers.add_hash(customer)
            if quantity > 0 and line.sku not in products_counted:
                products_counted.add(line.sku)
                product_totals.orders += 1
                if order_is_new:
                    order_is_new = False
                    store_totals.orders += 1
                    seller_totals.orders += 1
            update.lines += 1
        if products_counted:
            seen[key_of_order] = frozenset(products_counted)

    deltas = update.deltas
    for key, totals in hourly.items():
        deltas[key] = totals
        store, dimension, _, hour, member = key.split(SEP)
        for code, label in (("d", hour[:10]), ("m", hour[:7])):
            wider = f"{store}{SEP}{dimension}{SEP}{code}{SEP}{label}{SEP}{member}"
            target = deltas.get(wider)
            if target is None:
                target = deltas[wider] = Totals()
            target.merge(totals)
    return update
