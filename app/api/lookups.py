"""Answers of the lookup API for the stores this worker owns: live tables and history, joined.

The web layer (``app/api/routes.py``) decides who may ask and which worker answers; this
module only computes. Days from ``live_start`` on come from the live tables, older ones from
ClickHouse (``split_live``); the two parts add up field by field. Figures are the integers of
``Totals.to_json``; distinct customers over a range that spans both sources are the sum of
the two sides, so a customer who bought on both sides counts twice there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from app.api.periods import DateRange, Ranking, bucket_bounds, covering_buckets, split_live
from app.reference import ReferenceCatalogue
from tables.aggregation import Dimension, aggregate_key
from tables.buckets import Grain
from tables.live import LiveTables
from tables.totals import Totals

Figures = dict[str, int]
FIGURE_NAMES = tuple(Totals().to_json())
ZERO: Figures = dict.fromkeys(FIGURE_NAMES, 0)


class History(Protocol):
    """What the lookups need of ClickHouse (``app.history.store.HistoryStore``)."""

    async def summary(
        self, store_id: str, seller_id: str | None, date_from: date, date_to: date
    ) -> dict[str, int]: ...

    async def timeseries(
        self,
        store_id: str,
        seller_id: str | None,
        granularity: Grain,
        date_from: date,
        date_to: date,
    ) -> list[dict[str, Any]]: ...

    async def product_ranking(
        self, store_id: str, date_from: date, date_to: date, by: Ranking, limit: int
    ) -> list[dict[str, Any]]: ...

    async def product_names(self, store_id: str, skus: list[str]) -> dict[str, str]: ...


def add_figures(left: Figures, right: Figures) -> Figures:
    return {name: left.get(name, 0) + right.get(name, 0) for name in FIGURE_NAMES}


class Lookups:
    def __init__(
        self,
        tables: LiveTables,
        history: History,
        product_names: dict[str, str],
        catalogue: ReferenceCatalogue | None = None,
    ):
        self.tables = tables
        self.history = history
        self.product_names = product_names
        """Latest name per SKU seen on sale lines (the aggregator's)."""
        self.catalogue = catalogue if catalogue is not None else ReferenceCatalogue()
        """The reference topics' names, which win over what sale lines spelt."""

    async def summary(
        self, store_id: str, seller_id: str | None, span: DateRange, live_start: date
    ) -> Figures:
        old, live = split_live(span, live_start)
        figures = dict(ZERO)
        if old is not None:
            figures = add_figures(
                figures, await self.history.summary(store_id, seller_id, old.first, old.last)
            )
        if live is not None:
            figures = add_figures(figures, self._live_summary(store_id, seller_id, live))
        return figures

    def _live_summary(self, store_id: str, seller_id: str | None, span: DateRange) -> Figures:
        return self._live_totals(store_id, *_dimension(seller_id), span).to_json()

    def _live_totals(
        self, store_id: str, dimension: Dimension, member: str, span: DateRange
    ) -> Totals:
        total = Totals()
        months, days = covering_buckets(span)
        for grain, labels in (("month", months), ("day", days)):
            for label in labels:
                found = self.tables.get(aggregate_key(store_id, dimension, grain, label, member))
                if found is not None:
                    total.merge(found)
        return total

    def live_sellers(self, store_id: str) -> set[str]:
        """Sellers with figures of the store in the live tables (month buckets, any date):
        what the store's owner knows without ClickHouse, whenever it started."""
        return {member for _, member, _ in self.tables.scan(store_id, "S", "month", "0", "9")}

    async def timeseries(
        self,
        store_id: str,
        seller_id: str | None,
        granularity: Grain,
        span: DateRange,
        live_start: date,
    ) -> list[dict[str, Any]]:
        old, live = split_live(span, live_start)
        series: dict[str, Figures] = {}
        if old is not None:
            for point in await self.history.timeseries(
                store_id, seller_id, granularity, old.first, old.last
            ):
                bucket = point["bucket"]
                series[bucket] = add_figures(series.get(bucket, ZERO), point)
        if live is not None:
            for bucket, figures in self._live_series(store_id, seller_id, granularity, live):
                series[bucket] = add_figures(series.get(bucket, ZERO), figures)
        return [{"bucket": bucket, **series[bucket]} for bucket in sorted(series)]

    def _live_series(
        self, store_id: str, seller_id: str | None, granularity: Grain, span: DateRange
    ) -> list[tuple[str, Figures]]:
        dimension, member = _dimension(seller_id)
        # Months cut by the range are summed from their days: a month bucket would count
        # the days outside the range too.
        grain: Grain = "day" if granularity == "month" else granularity
        first, last = bucket_bounds(span, grain)
        merged: dict[str, Totals] = {}
        for bucket, found_member, totals in self.tables.scan(
            store_id, dimension, grain, first, last
        ):
            if found_member != member:
                continue
            label = bucket[:7] if granularity == "month" else bucket
            target = merged.get(label)
            if target is None:
                merged[label] = totals
            else:
                target.merge(totals)
        return [(label, merged[label].to_json()) for label in merged]

    async def product_ranking(
        self, store_id: str, span: DateRange, live_start: date, by: Ranking, limit: int
    ) -> list[dict[str, Any]]:
        old, live = split_live(span, live_start)
        products: dict[str, Figures] = defaultdict(lambda: dict(ZERO))
        names: dict[str, str] = {}
        if old is not None:
            # Every product, not the top ``limit``: the live days may reorder them.
            for row in await self.history.product_ranking(
                store_id, old.first, old.last, by, 1_000_000
            ):
                products[row["sku"]] = add_figures(products[row["sku"]], row)
                if row.get("product_name"):
                    names[row["sku"]] = row["product_name"]
        if live is not None:
            # Ranked on the counters alone; distinct customers, the costly part, are merged
            # for the products returned only.
            merged: dict[str, Totals] = {}
            first, last = bucket_bounds(live, "day")
            for _, sku, totals in self.tables.scan(
                store_id, "P", "day", first, last, customers=False
            ):
                if sku in merged:
                    merged[sku].merge(totals)
                else:
                    merged[sku] = totals
            for sku, totals in merged.items():
                products[sku] = add_figures(products[sku], totals.to_json())
        field = {"revenue": "revenue_cents", "units": "units", "margin": "margin_cents"}[by]
        ranked = sorted(products.items(), key=lambda item: (-item[1][field], item[0]))[:limit]
        if live is not None:
            for sku, figures in ranked:
                customers = self._live_totals(store_id, "P", sku, live).customers.estimate()
                figures["customers"] += customers
        catalogued = {sku: self.catalogue.product_name(sku) for sku, _ in ranked}
        unnamed = [
            sku
            for sku, _ in ranked
            if not catalogued[sku] and sku not in names and sku not in self.product_names
        ]
        if unnamed:
            names.update(await self.history.product_names(store_id, unnamed))
        return [
            {
                "rank": position,
                "sku": sku,
                # The catalogue's name first, then the latest sale line's, then the history's.
                "product_name": catalogued[sku] or self.product_names.get(sku) or names.get(sku),
                **figures,
            }
            for position, (sku, figures) in enumerate(ranked, start=1)
        ]

    async def missing_names(self, store_id: str, skus: Iterable[str]) -> dict[str, str]:
        """Names from the store's history for products neither the catalogue nor this
        worker's sale lines name (those of a store taken over, or after a restart)."""
        unnamed = sorted(
            {sku for sku in skus if not self.catalogue.product_name(sku)}
            - self.product_names.keys()
        )
        return await self.history.product_names(store_id, unnamed) if unnamed else {}


def _dimension(seller_id: str | None) -> tuple[Dimension, str]:
    return ("T", "") if seller_id is None else ("S", seller_id)
