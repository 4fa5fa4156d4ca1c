"""Bought-together counts: baskets, the baskets holding each product, the baskets holding
each pair of products, per store and local day. Exact, and pure (tested without Faust).

A **basket** is one order of one store: the products it holds, present or not (quantities
ignored). A product is in a basket while the order's net units of it are positive: a line
sold puts it in, a return in the same order that brings it back to zero takes it out
again, whichever of the two arrives first. An order that only returns (a return ticket of
its own, as Online Retail's ``C`` invoices) makes no basket.

Every basket belongs to one local day, the day of the first piece of the order that sold
something (the store's zone, event time: a replay lands it on the same day). A piece that
arrives later, or a return, corrects the counts *of that day*, so a window of days is
added up from whole baskets only, and the window slides by dropping whole days.

Table layout (``baskets``; every key starts with the store, as in ``tables/aggregation``)::

    {store}␟L␟                  -> the newest basket day (the window ends there)
    {store}␟N␟{day}             -> baskets of the day (decimal text)
    {store}␟X␟{day}␟{product}   -> JSON {"": baskets holding the product,
                                          partner: baskets holding both, ...}

Each pair is kept under both of its products, so every question about one product is one
read per day; the days come first, so a window is one range and dropping a day one range.
The ``basket-index`` table holds each order's basket (``Basket``), so a later piece
knows what the order held before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import orjson

from app.records import Sale
from tables.aggregation import SEP, order_key
from tables.buckets import local_buckets

OWN_COUNT = ""
"""The entry of a product's day value that counts the baskets holding the product itself
(no product id is empty: ingestion refuses it)."""


def basket_count_key(store_id: str, day: str) -> str:
    return f"{store_id}{SEP}N{SEP}{day}"


def item_key(store_id: str, day: str, sku: str) -> str:
    return f"{store_id}{SEP}X{SEP}{day}{SEP}{sku}"


def newest_day_key(store_id: str) -> str:
    return f"{store_id}{SEP}L{SEP}"


def count_prefix(store_id: str) -> str:
    return f"{store_id}{SEP}N{SEP}"


def item_prefix(store_id: str) -> str:
    return f"{store_id}{SEP}X{SEP}"


@dataclass(frozen=True, slots=True)
class Basket:
    """One order's basket: its day (None until a line sells something) and the net units of
    every product of its lines; the products with net units above zero are in it."""

    day: str | None
    units: Mapping[str, int]

    @property
    def items(self) -> frozenset[str]:
        return frozenset(sku for sku, units in self.units.items() if units > 0)

    def to_bytes(self) -> bytes:
        return orjson.dumps({"day": self.day, "units": self.units})

    @classmethod
    def from_bytes(cls, data: bytes) -> Basket:
        value = orjson.loads(data)
        return cls(value["day"], value["units"])


@dataclass(slots=True)
class BasketDeltas:
    """What a batch changes: counts to add, and the baskets of the orders it touched."""

    baskets: dict[str, int] = field(default_factory=dict)
    """Basket-count key -> change."""
    items: dict[str, dict[str, int]] = field(default_factory=dict)
    """Item key -> partner (``OWN_COUNT`` for the product itself) -> change."""
    orders: dict[str, Basket] = field(default_factory=dict)
    """Order key -> the order's basket after the batch (only those that changed)."""
    newest_day: dict[str, str] = field(default_factory=dict)
    """Store -> the latest basket day of the batch (the window slides to it)."""


def basket_deltas(
    sales: Iterable[Sale],
    known: Mapping[str, Basket],
    first_day_kept: Mapping[str, str] | None = None,
) -> BasketDeltas:
    """The changes a batch of sales makes to the basket counts.

    ``known`` holds the baskets of the batch's orders seen in earlier batches (the
    ``basket-index``; ``order_keys_of`` says which to read). ``first_day_kept`` gives, per
    store, the first day the counts still keep: an order whose basket day is older than
    that (a very late piece) changes nothing, as its day is no longer counted.
    """
    first_day_kept = first_day_kept or {}
    deltas = BasketDeltas()
    before: dict[str, Basket | None] = {}
    after: dict[str, Basket] = {}
    store_of_order: dict[str, str] = {}
    for sale in sales:
        key = order_key(sale.store_id, sale.order_id)
        if key not in before:
            before[key] = known.get(key)
        basket = after.get(key) or before[key]
        units = dict(basket.units) if basket is not None else {}
        day = basket.day if basket is not None else None
        for line in sale.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
            if day is None and line.quantity > 0:
                day = local_buckets(sale.event_time, sale.source_time_zone)[1]
        after[key] = Basket(day, units)
        store_of_order[key] = sale.store_id

    for key, basket in after.items():
        store_id = store_of_order[key]
        previous = before[key]
        if previous is not None and previous.units == basket.units:
            continue
        deltas.orders[key] = basket
        if basket.day is None:
            continue  # nothing sold yet: no basket (a return ticket, or a return come first)
        if basket.day < first_day_kept.get(store_id, ""):
            continue  # its day has left the window: kept in the index, counted nowhere
        old_items = previous.items if previous is not None else frozenset()
        _count_change(deltas, store_id, basket.day, old_items, basket.items)
        if basket.day > deltas.newest_day.get(store_id, ""):
            deltas.newest_day[store_id] = basket.day
    return deltas


def _count_change(
    deltas: BasketDeltas,
    store_id: str,
    day: str,
    old_items: frozenset[str],
    new_items: frozenset[str],
) -> None:
    """Count the basket as ``new_items`` instead of ``old_items``: the pairs gained are those
    with a product just added, the pairs lost those with a product just taken out.

    The hot loop of pair counting (a basket of k products has k(k-1)/2 pairs, and real
    baskets have hundreds): each product's row of counts is looked up once per basket."""
    if old_items == new_items:
        return
    if bool(old_items) != bool(new_items):
        count_key = basket_count_key(store_id, day)
        deltas.baskets[count_key] = deltas.baskets.get(count_key, 0) + (1 if new_items else -1)
    prefix = f"{store_id}{SEP}X{SEP}{day}{SEP}"
    items = deltas.items
    for change, gained, holding in (
        (1, new_items - old_items, new_items),
        (-1, old_items - new_items, old_items),
    ):
        if not gained:
            continue
        rows = {}
        for sku in holding:
            row = items.get(prefix + sku)
            if row is None:
                row = items[prefix + sku] = {}
            rows[sku] = row
        # Each pair once: both gained, from the first in order; else from the gained one.
        ordered_gained = sorted(gained)
        kept = [sku for sku in holding if sku not in gained]
        for index, sku in enumerate(ordered_gained):
            row = rows[sku]
            row[OWN_COUNT] = row.get(OWN_COUNT, 0) + change
            for partner in ordered_gained[index + 1 :]:
                row[partner] = row.get(partner, 0) + change
                other = rows[partner]
                other[sku] = other.get(sku, 0) + change
            for partner in kept:
                row[partner] = row.get(partner, 0) + change
                other = rows[partner]
                other[sku] = other.get(sku, 0) + change


def order_keys_of(sales: Iterable[Sale]) -> set[str]:
    """The ``basket-index`` entries a batch needs before it can count."""
    return {order_key(sale.store_id, sale.order_id) for sale in sales}


def merge_item_counts(current: Mapping[str, int], change: Mapping[str, int]) -> dict[str, int]:
    """A product's day value after a change; partners whose count falls to zero are left
    out (a value left empty is deleted)."""
    if not current:
        return {partner: count for partner, count in change.items() if count}
    merged = dict(current)
    for partner, count in change.items():
        total = merged.get(partner, 0) + count
        if total:
            merged[partner] = total
        else:
            merged.pop(partner, None)
    return merged


def first_day_kept(newest_day: str, days: int) -> str:
    """The first day of a window of ``days`` days ending on ``newest_day`` (ISO dates)."""
    return (date.fromisoformat(newest_day) - timedelta(days=days - 1)).isoformat()
