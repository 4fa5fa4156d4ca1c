"""The latest sales of each store, for the dashboards' live feed: kept in memory by the
worker that owns the store, bounded per store, ordered by event time.

Not a table with a changelog on purpose: it is a view of the last minutes, rebuilt as sales
arrive. A worker that just took a store over shows an empty feed until its first sales; the
figures themselves come from the tables and ClickHouse and are complete.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.records import Sale

PER_STORE = 200


@dataclass(frozen=True, slots=True)
class RecentSale:
    event_time: datetime
    order_id: str
    seller_id: str
    items: int
    """Units sold minus units returned."""
    amount_cents: int

    @classmethod
    def of(cls, sale: Sale) -> RecentSale:
        return cls(
            event_time=sale.event_time,
            order_id=sale.order_id,
            seller_id=sale.seller_id,
            items=sum(line.quantity for line in sale.lines),
            amount_cents=sale.revenue_cents,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "event_time": self.event_time.isoformat(),
            "order_id": self.order_id,
            "seller_id": self.seller_id,
            "items": self.items,
            "amount_cents": self.amount_cents,
        }


class RecentSales:
    def __init__(self, per_store: int = PER_STORE) -> None:
        self.per_store = per_store
        self._by_store: dict[str, list[RecentSale]] = {}

    def add(self, sales: Iterable[Sale]) -> None:
        for sale in sales:
            kept = self._by_store.setdefault(sale.store_id, [])
            recent = RecentSale.of(sale)
            # Sales arrive nearly in event-time order: insertion is at or near the end.
            bisect.insort(kept, recent, key=lambda r: (r.event_time, r.order_id))
            if len(kept) > self.per_store:
                del kept[0]

    def latest(self, store_id: str, limit: int, seller_id: str | None = None) -> list[RecentSale]:
        """The store's ``limit`` latest sales (of one seller, if given), newest first."""
        found = []
        for recent in reversed(self._by_store.get(store_id, ())):
            if seller_id is None or recent.seller_id == seller_id:
                found.append(recent)
                if len(found) == limit:
                    break
        return found
