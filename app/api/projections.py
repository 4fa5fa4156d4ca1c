"""Projections for the API: a store's or a seller's period end, today's total, and ``as_of``.

The arithmetic is ``app/forecast/projection.py`` (pure; its docstring has the rules). This
module reads what it needs from the live tables, keeps the rebuilt state in a cache, and
answers plain dicts; the routes (``app/api/routes.py``) add scope, names and routing.

**State: rebuilt deterministically from the daily aggregates, not kept in a changelog.** A
forecaster is ``DailyForecaster.replay`` of the series' daily totals up to its last closed
day, a function of that day and the aggregates only; the aggregates survive restarts and
rebalances (they are the live tables, restored from their changelogs), so the projections do
too. Nothing new is written per series, and the worker's transactions stay as they are.
The price is a replay per series and closed day (10 ms for 90 days of history, 65 ms for
365; docs/api.md, "Projections"), paid on the first request of the day; and a late line for
a closed day is learned at the next closed day's rebuild (a changelogged model would never
learn it; either is deterministic).

**Everything from the live tables.** The event clock, the daily and hourly series and the
sales to date are all read from the store's live tables, not from ClickHouse for old days as
the other lookups do: the tables hold every day since the changelog began (compacted,
nothing deleted), they are exactly what the clock was read from, and ClickHouse is written
by an asynchronous sink that may be behind, or another worker's (chDB is per worker); a
forecaster rebuilt from a history still arriving would be cached for a whole day.

**The cache.** Forecasters are kept by ``(store, seller or None, reference day)`` and hour
profiles by ``(store, seller or None, last closed day)``, least recently used first out,
``max_entries`` in all (a forecaster of a year's history holds about 180 KB of Python
objects). The reference day is the last closed day, or ``as_of``: a forecaster as of D is the
same object whether it serves ``as_of=D`` or the live answer of the day after D. A new closed
day is a new key; the old one ages out. Concurrent requests for a key being built wait for
that one build (so the replay runs once per series and day).

**Off the event loop.** Reading the series is RocksDB range scans, which stay on the loop (a
rebalance may close a table, so no other thread reads one), once per store, dimension and
closed day for every member at once;
the replay (pure Python, 0.16 ms a day) runs in a one-thread executor, so the API keeps
answering (the thread yields the GIL every 5 ms) and replays of a burst of misses queue
rather than take both cores.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from time import perf_counter
from typing import Any, TypeVar

from app.api.lookups import Lookups
from app.api.periods import BadParameter, DateRange, parse_date, parse_range
from app.forecast.intraday import HOURS, HourProfile
from app.forecast.projection import (
    HISTORY_DAYS,
    MAX_DAYS_AHEAD,
    MODEL_NAME,
    PROFILE_DAYS,
    EventClock,
    Sold,
    history_window,
    plan_span,
    project,
    rebuild_forecaster,
    rebuild_hour_profile,
)
from app.forecast.series import DailyForecaster, DailyTotals
from tables.aggregation import Dimension
from tables.buckets import Grain

log = logging.getLogger(__name__)

T = TypeVar("T")
CacheKey = tuple[str, str, str | None, date]

MAX_ENTRIES = 256
"""Forecasters and hour profiles kept: about 45 MB at most, a few series' worth of misses
per worker and day beyond it."""


class ProjectionService:
    def __init__(
        self,
        lookups: Lookups,
        retention_days: int,
        max_entries: int = MAX_ENTRIES,
        history_days: int = HISTORY_DAYS,
        profile_days: int = PROFILE_DAYS,
    ) -> None:
        if max_entries < 2:
            raise ValueError("max_entries >= 2 (a forecaster and an hour profile)")
        self.lookups = lookups
        self.retention_days = retention_days
        self.max_entries = max_entries
        self.history_days = history_days
        self.profile_days = profile_days
        self._cache: OrderedDict[CacheKey, Any] = OrderedDict()
        self._building: dict[CacheKey, asyncio.Future[Any]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self.replays = 0
        """Forecasters rebuilt since start (cache misses): the tests count them."""

    # -- the event clock -------------------------------------------------------------------

    def clock(self, store_id: str) -> EventClock | None:
        """The store's event clock, from the latest hour bucket of its live tables (None
        before its first sale). Three short scans: the last month, its last day, that day's
        last hour; the tables are restored from their changelogs, so the clock survives a
        restart, unlike the in-memory feed of recent sales."""
        month = self._last_bucket(store_id, "month", "0", "9")
        if month is None:
            return None
        day = self._last_bucket(store_id, "day", f"{month}-01", f"{month}-31")
        hour = self._last_bucket(store_id, "hour", f"{day}T00", f"{day}T23") if day else None
        if hour is None:  # written in one batch with the month: absent only mid-restore
            return None
        return EventClock.from_hour_bucket(hour)

    def _last_bucket(self, store_id: str, grain: Grain, first: str, last: str) -> str | None:
        found = None
        for bucket, _, _ in self.lookups.tables.scan(
            store_id, "T", grain, first, last, customers=False
        ):
            found = bucket
        return found

    # -- the answer ------------------------------------------------------------------------

    async def answer(
        self,
        store_id: str,
        seller_id: str | None,
        query: Mapping[str, str],
        fallback_today: date,
    ) -> dict[str, Any]:
        """The projection over ``from``/``to`` (default: the day in progress) as of now or
        ``as_of``. ``fallback_today`` (the store's wall-clock date) is used only for the
        defaults of a store that has not sold yet."""
        clock = self.clock(store_id)
        today = clock.day if clock is not None else fallback_today
        span = parse_range(query, today, self.retention_days)
        as_of = parse_date(query, "as_of", today) if query.get("as_of") else None
        head: dict[str, Any] = {
            "from": span.first.isoformat(),
            "to": span.last.isoformat(),
            "as_of": as_of.isoformat() if as_of else None,
        }
        if as_of is not None:
            _check_as_of(store_id, as_of, clock, today, self.retention_days)
        if clock is None:
            return {
                **head,
                "last_closed_day": None,
                "actual_to_date": {"revenue_cents": 0, "units": 0},
                "today": None,
                "period_end": None,
                "days_learned": 0,
                "model": MODEL_NAME,
            }
        reference = as_of if as_of is not None else clock.last_closed_day
        if (span.last - reference).days > MAX_DAYS_AHEAD:
            raise BadParameter(
                f"'to' ({span.last}) is more than {MAX_DAYS_AHEAD} days after the last closed "
                f"day ({reference}{', as_of' if as_of is not None else ''}): too far to forecast"
            )
        plan = plan_span(span.first, span.last, reference, live=as_of is None)
        forecaster = await self.forecaster(store_id, seller_id, reference)
        actual = Sold(0, 0)
        if plan.actual_first is not None and plan.actual_last is not None:
            actual = await self._sold(store_id, seller_id, plan.actual_first, plan.actual_last)
        extra: dict[str, Any] = {}
        if plan.includes_today:
            profile = await self.hour_profile(store_id, seller_id, clock.last_closed_day)
            extra = {
                "today_sold": await self._sold(store_id, seller_id, clock.day, clock.day),
                "hour_fractions": profile.fractions(clock.day.weekday()),
                "now_hour": clock.now_hour,
            }
        return {
            **head,
            "last_closed_day": reference.isoformat(),
            **project(plan, forecaster, actual, **extra),
        }

    async def _sold(self, store_id: str, seller_id: str | None, first: date, last: date) -> Sold:
        # From the live tables alone (live_start = first): the module docstring says why.
        figures = await self.lookups.summary(store_id, seller_id, DateRange(first, last), first)
        return Sold(figures["revenue_cents"], figures["units"])

    # -- rebuilt state, cached ---------------------------------------------------------------

    async def forecaster(
        self, store_id: str, seller_id: str | None, through: date
    ) -> DailyForecaster:
        """The series' forecaster as of ``through`` (a closed day)."""

        async def build() -> DailyForecaster:
            first, last = history_window(through, self.history_days)
            days = (await self._daily(store_id, seller_id, first, last)).get(
                _dimension(seller_id)[1], []
            )
            started = perf_counter()
            forecaster = await self._off_loop(lambda: rebuild_forecaster(days, through))
            self.replays += 1
            log.debug(
                "replayed %s/%s through %s: %d days in %.1f ms",
                store_id,
                seller_id,
                through,
                forecaster.days_learned,
                (perf_counter() - started) * 1000,
            )
            return forecaster

        return await self._cached(("forecaster", store_id, seller_id, through), build)

    async def hour_profile(
        self, store_id: str, seller_id: str | None, through: date
    ) -> HourProfile:
        """The series' hour-of-day profile from the ``profile_days`` closed days up to
        ``through``."""

        async def build() -> HourProfile:
            first = through - timedelta(days=self.profile_days - 1)
            hourly = (await self._hourly(store_id, seller_id, first, through)).get(
                _dimension(seller_id)[1], {}
            )
            return await self._off_loop(lambda: rebuild_hour_profile(hourly, first, through))

        return await self._cached(("hours", store_id, seller_id, through), build)

    def cached_keys(self) -> list[CacheKey]:
        """What the cache holds, least recently used first."""
        return list(self._cache)

    async def _cached(self, key: CacheKey, build: Callable[[], Awaitable[T]]) -> T:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]  # type: ignore[no-any-return]
        building = self._building.get(key)
        if building is None:
            building = asyncio.ensure_future(self._build(key, build))
            # A build whose every waiter went away still fails in the open: retrieve it.
            building.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._building[key] = building
        # Shielded: a request that goes away must not cancel a build others wait for.
        return await asyncio.shield(building)  # type: ignore[no-any-return]

    async def _build(self, key: CacheKey, build: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await build()
        finally:
            self._building.pop(key, None)
        self._cache[key] = value
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return value

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projections")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # -- series from the live tables ---------------------------------------------------------

    # A seller's rows sit among every seller's of the store (keys run bucket, then member),
    # so a scan for one seller reads the whole team's: one scan per store, dimension and
    # window reads every member's series at once, cached like the rest, so a team's first
    # answer of the day scans once rather than once per seller.

    async def _daily(
        self, store_id: str, seller_id: str | None, first: date, last: date
    ) -> dict[str, list[DailyTotals]]:
        dimension = _dimension(seller_id)[0]

        async def build() -> dict[str, list[DailyTotals]]:
            members: dict[str, list[DailyTotals]] = {}
            for bucket, found, totals in self.lookups.tables.scan(
                store_id, dimension, "day", first.isoformat(), last.isoformat(), customers=False
            ):
                members.setdefault(found, []).append(
                    DailyTotals(date.fromisoformat(bucket), totals.revenue_cents, totals.units)
                )
            return members

        return await self._cached(("daily", store_id, dimension, last), build)

    async def _hourly(
        self, store_id: str, seller_id: str | None, first: date, last: date
    ) -> dict[str, dict[date, list[int]]]:
        dimension = _dimension(seller_id)[0]

        async def build() -> dict[str, dict[date, list[int]]]:
            members: dict[str, dict[date, list[int]]] = {}
            for bucket, found, totals in self.lookups.tables.scan(
                store_id, dimension, "hour", f"{first}T00", f"{last}T23", customers=False
            ):
                clock = EventClock.from_hour_bucket(bucket)
                days = members.setdefault(found, {})
                days.setdefault(clock.day, [0] * HOURS)[clock.hour] += totals.revenue_cents
            return members

        return await self._cached(("hourly", store_id, dimension, last), build)


def _check_as_of(
    store_id: str, as_of: date, clock: EventClock | None, today: date, retention_days: int
) -> None:
    """``as_of`` must be a closed day: the answer "as it stood at the end of that day"."""
    if clock is None:
        raise BadParameter(f"'as_of' ({as_of}): store {store_id!r} has no closed day yet")
    if as_of > clock.last_closed_day:
        raise BadParameter(
            f"'as_of' ({as_of}) is not a closed day of store {store_id!r}: the last one is "
            f"{clock.last_closed_day} (a day closes when a sale after its midnight arrives)"
        )
    if as_of < today - timedelta(days=retention_days):
        raise BadParameter(
            f"'as_of' ({as_of}) is older than the retention period ({retention_days} days)"
        )


def _dimension(seller_id: str | None) -> tuple[Dimension, str]:
    return ("T", "") if seller_id is None else ("S", seller_id)
