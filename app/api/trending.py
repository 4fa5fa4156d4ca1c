"""Products trending in a store, for the API: the rising ones to promote and the falling ones
that sold well before (issue 11 §3). The trends and their evidence are
``app/insights/trends.py`` (pure); this module reads the daily aggregates, keeps the result
per store and closed day, and answers plain dicts; the route (``app/api/routes.py``) adds
scope, the store's name and routing.

**On the event clock.** The answer is as of the store's last closed day, read exactly as the
projections read it (``ProjectionService.clock``: the newest hour bucket of the store's live
tables; every day before that bucket's day is closed). The wall clock plays no part, so a
replay of old files answers as the live traffic did.

**State: rebuilt from the daily aggregates.** The trends of a store as of a closed day D are
``store_trends`` of its products' day aggregates (``P``/day) from D - 55 to D: a function of
D and the aggregates only, the same after a restart or a rebalance (the tables are restored
from their changelogs), on any worker. They are computed on the first request after a day
closes and kept by (store, D), least recently used first out; a late line for a closed day
is counted at the next day's rebuild (as the projections do). Concurrent requests for a key
being built wait for that one build.

**Off the event loop.** The scan (one range scan of the store's product-day rows) stays on
the loop, as every RocksDB read does (a rebalance may close a table, so no other thread
reads one); learning the models (pure Python, 30 - 45 ms for 120 products) runs in a
one-thread executor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

from app.api.lookups import Lookups
from app.api.periods import parse_choice, parse_limit
from app.api.projections import ProjectionService
from app.forecast.projection import EventClock
from app.insights.trends import (
    DEFAULT_PARAMS,
    LISTS,
    LONG_DAYS,
    SHORT_DAYS,
    WINDOW_DAYS,
    ProductDay,
    StoreTrends,
    Trend,
    TrendParams,
    Window,
    decimal_text,
    store_trends,
)

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
MAX_ENTRIES = 64
"""Stores' trends kept (a few KB each): every store of a worker for a day, and more."""


class TrendingService:
    def __init__(
        self,
        lookups: Lookups,
        product_name: Callable[[str], str | None],
        params: TrendParams = DEFAULT_PARAMS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[str], EventClock | None] | None = None,
    ) -> None:
        self.lookups = lookups
        self.product_name = product_name
        self.params = params
        self.max_entries = max_entries
        # The projections' clock, read the same way from the same tables.
        self.clock = clock if clock is not None else ProjectionService(lookups, 1).clock
        self._cache: OrderedDict[tuple[str, date], StoreTrends] = OrderedDict()
        self._building: dict[tuple[str, date], asyncio.Future[StoreTrends]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.builds = 0
        """Stores' trends computed since start (cache misses): the tests count them."""

    async def answer(self, store_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        direction = parse_choice(query, "direction", LISTS, "up")
        limit = parse_limit(query, default=DEFAULT_LIMIT)
        clock = self.clock(store_id)
        head: dict[str, Any] = {
            "direction": direction,
            "limit": limit,
            "model": self.params.model,
            "thresholds": thresholds_json(self.params),
        }
        if clock is None:
            return {**head, "last_closed_day": None, "periods": None, "count": 0, "products": []}
        through = clock.last_closed_day
        trends = await self.trends(store_id, through)
        chosen = trends.rising() if direction == "up" else trends.falling()
        return {
            **head,
            "last_closed_day": through.isoformat(),
            "periods": periods_json(through),
            "ranked_products": {
                "last_28": trends.ranked_28,
                "previous_28": trends.ranked_previous_28,
            },
            "count": len(chosen),
            "products": [
                trend_json(trend, position, self.product_name(trend.sku))
                for position, trend in enumerate(chosen[:limit], start=1)
            ],
        }

    # -- rebuilt state, cached ---------------------------------------------------------------

    async def trends(self, store_id: str, through: date) -> StoreTrends:
        """The store's trends as of the closed day ``through``."""
        key = (store_id, through)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        building = self._building.get(key)
        if building is None:
            building = asyncio.ensure_future(self._build(key))
            # A build whose every waiter went away still fails in the open: retrieve it.
            building.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._building[key] = building
        # Shielded: a request that goes away must not cancel a build others wait for.
        return await asyncio.shield(building)

    async def _build(self, key: tuple[str, date]) -> StoreTrends:
        store_id, through = key
        try:
            days = self._product_days(store_id, through)  # on the loop: RocksDB
            params = self.params
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trends")
            result = await asyncio.get_running_loop().run_in_executor(
                self._executor, lambda: store_trends(days, through, params)
            )
            self.builds += 1
        finally:
            self._building.pop(key, None)
        self._cache[key] = result
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return result

    def _product_days(self, store_id: str, through: date) -> dict[str, list[ProductDay]]:
        first = through - timedelta(days=WINDOW_DAYS - 1)
        days: dict[str, list[ProductDay]] = {}
        for bucket, sku, totals in self.lookups.tables.scan(
            store_id, "P", "day", first.isoformat(), through.isoformat(), customers=False
        ):
            days.setdefault(sku, []).append(
                ProductDay(
                    date.fromisoformat(bucket),
                    totals.units,
                    totals.revenue_cents,
                    totals.costed_revenue_cents,
                    totals.cost_cents,
                )
            )
        return days

    def cached_keys(self) -> list[tuple[str, date]]:
        return list(self._cache)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


# -- JSON ---------------------------------------------------------------------------------------


def thresholds_json(params: TrendParams) -> dict[str, Any]:
    return {
        "rising_daily_growth": decimal_text(params.rising_growth),
        "falling_daily_growth": decimal_text(-params.falling_growth),
        "min_units": params.min_units,
        "min_z": decimal_text(params.min_z, 2),
        "falling_top_share": decimal_text(params.top_share),
    }


def periods_json(through: date) -> dict[str, dict[str, str]]:
    def span(days_back: int, length: int) -> dict[str, str]:
        last = through - timedelta(days=days_back)
        return {"from": (last - timedelta(days=length - 1)).isoformat(), "to": last.isoformat()}

    return {
        "last_7": span(0, SHORT_DAYS),
        "previous_7": span(SHORT_DAYS, SHORT_DAYS),
        "last_28": span(0, LONG_DAYS),
        "previous_28": span(LONG_DAYS, LONG_DAYS),
    }


def window_json(window: Window) -> dict[str, int]:
    return {
        "units": window.units,
        "revenue_cents": window.revenue_cents,
        "costed_revenue_cents": window.costed_revenue_cents,
        "margin_cents": window.margin_cents,
    }


def trend_json(trend: Trend, position: int, product_name: str | None) -> dict[str, Any]:
    units_7, revenue_7 = trend.growth_7
    units_28, revenue_28 = trend.growth_28
    answer: dict[str, Any] = {
        "position": position,
        "sku": trend.sku,
        "product_name": product_name,
        "direction": trend.direction,
        "daily_growth": {
            "units": decimal_text(trend.units_growth),
            "revenue": decimal_text(trend.revenue_growth),
        },
        "last_7": window_json(trend.last_7),
        "previous_7": window_json(trend.previous_7),
        "last_28": window_json(trend.last_28),
        "previous_28": window_json(trend.previous_28),
        "growth_7d": {"units": decimal_text(units_7), "revenue": decimal_text(revenue_7)},
        "growth_28d": {"units": decimal_text(units_28), "revenue": decimal_text(revenue_28)},
        "margin_rate": decimal_text(trend.margin_rate),
        "rank_28": trend.rank_28,
        "rank_previous_28": trend.rank_previous_28,
    }
    if trend.direction == "rising":
        answer["score"] = decimal_text(trend.score)
    else:
        answer["revenue_lost_cents"] = trend.revenue_lost_cents
    return answer
