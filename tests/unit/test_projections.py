"""Projections rebuilt from the daily aggregates (``app/api/projections.py``,
``app/forecast/projection.py``): the event clock and which days are closed, the cache of
rebuilt forecasters, and the period-end arithmetic against a recompute written here from
the sale lines themselves (the forecast part from a ``DailyForecaster`` replayed here).

The tables are in memory, filled by the aggregation code the worker runs
(``tables.aggregation.aggregate_batch``), so the service reads the same keys it reads live.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.api.lookups import Lookups
from app.api.periods import BadParameter
from app.api.projections import ProjectionService
from app.forecast import DailyForecaster, HourProfile, share_done
from app.forecast import projection as pure
from app.forecast.intervals import ConformalBands
from app.forecast.projection import (
    EventClock,
    Sold,
    forecast_window,
    plan_span,
    project,
    rebuild_forecaster,
)
from app.forecast.series import DailyTotals
from app.records import Sale, SaleLine
from tables.aggregation import aggregate_batch, split_key
from tables.totals import Totals

STORE = "loja-01"
ZONE = "America/Sao_Paulo"  # UTC-3 all year (no summer time since 2019)
ANA, BIA = "s-ana", "s-bia"
FIRST_DAY = date(2026, 1, 5)  # a Monday
# Far from the sales on purpose: only the defaults of a store without sales may use it.
WALL_TODAY = date(2030, 6, 1)
WEEKDAY_ORDERS = [6, 6, 7, 8, 10, 14, 4]
BOUNDS = ("mid", "low80", "high80", "low95", "high95")


class MemoryTables:
    """The live tables' read side, filled batch by batch as the agent fills them."""

    def __init__(self) -> None:
        self.data: dict[str, Totals] = {}
        self.scans = 0

    def add(self, sales: Iterable[Sale]) -> None:
        for key, delta in aggregate_batch(list(sales), {}).deltas.items():
            if key in self.data:
                self.data[key].merge(delta)
            else:
                self.data[key] = delta

    def get(self, key: str) -> Totals | None:
        found = self.data.get(key)
        return Totals.from_bytes(found.to_bytes()) if found is not None else None

    def scan(
        self, store: str, dimension: str, grain: str, first: str, last: str, customers: bool = True
    ) -> Iterator[tuple[str, str, Totals]]:
        self.scans += 1
        code = {"hour": "h", "day": "d", "month": "m"}[grain]
        for key in sorted(self.data):
            key_store, key_dimension, key_grain, bucket, member = split_key(key)
            if (key_store, key_dimension, key_grain) != (store, dimension, code):
                continue
            # As RocksDB's range: the label compared as a prefix up to ``last``.
            if first <= bucket and bucket[: len(last)] <= last:
                yield bucket, member, Totals.from_bytes(self.data[key].to_bytes())


def local(day: date, hour: int, minute: int = 0, zone: str = ZONE) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


def sale(
    number: int,
    when: datetime,
    seller: str = ANA,
    quantity: int = 1,
    price: int = 4_990,
    store: str = STORE,
    zone: str = ZONE,
) -> Sale:
    return Sale(
        order_id=f"o-{number}",
        store_id=store,
        seller_id=seller,
        event_time=when.astimezone(UTC),
        source_time_zone=zone,
        channel="store",
        lines=(SaleLine(f"o-{number}-1", f"SKU-{number % 5}", quantity, price),),
        customer_ref=f"c-{number % 40}",
    )


def day_sales(day: date, start: int, last_hour: int = 21) -> list[Sale]:
    """A day of a mall store: more on Fridays and Saturdays, 10h to ``last_hour``, two
    sellers, now and then a return."""
    rng = random.Random(day.toordinal())
    sales = []
    for n in range(WEEKDAY_ORDERS[day.weekday()] + rng.randint(0, 3)):
        hour = rng.randint(10, 21)
        if hour > last_hour:
            continue
        quantity = -1 if rng.random() < 0.05 else rng.randint(1, 3)
        sales.append(
            sale(
                start + n,
                local(day, hour, rng.randint(0, 59)),
                rng.choice([ANA, ANA, BIA]),
                quantity,
                rng.choice([1_990, 4_990, 12_900, 25_000]),
            )
        )
    return sales


def history(first: date, last: date) -> list[Sale]:
    sales: list[Sale] = []
    day = first
    while day <= last:
        sales.extend(day_sales(day, 1000 * (day - FIRST_DAY).days))
        day += timedelta(days=1)
    return sales


def service(tables: MemoryTables, **options: Any) -> ProjectionService:
    return ProjectionService(Lookups(tables, None, {}), 1825, **options)  # type: ignore[arg-type]


# -- the recompute, from the sale lines --------------------------------------------------------


def local_day(item: Sale) -> date:
    return item.event_time.astimezone(ZoneInfo(item.source_time_zone)).date()


def sold(sales: Iterable[Sale], first: date, last: date, seller: str | None = None) -> Sold:
    """Revenue and units of the lines whose local day is in ``first..last``, by hand:
    quantity x price, a return negative."""
    revenue = units = 0
    for item in sales:
        if (seller is None or item.seller_id == seller) and first <= local_day(item) <= last:
            for line in item.lines:
                units += line.quantity
                sign = -1 if line.quantity < 0 else 1
                revenue += sign * (abs(line.quantity) * line.unit_price_cents)
    return Sold(revenue, units)


def figures(amounts: Sold) -> dict[str, int]:
    return {"revenue_cents": amounts.revenue_cents, "units": amounts.units}


def daily(sales: list[Sale], first: date, last: date, seller: str | None = None) -> list[Any]:
    days = []
    day = first
    while day <= last:
        figures = sold(sales, day, day, seller)
        days.append((day, figures.revenue_cents, figures.units))
        day += timedelta(days=1)
    return days


def hourly(sales: list[Sale], day: date, seller: str | None = None) -> list[int]:
    hours = [0] * 24
    for item in sales:
        if local_day(item) == day and (seller is None or item.seller_id == seller):
            hours[item.event_time.astimezone(ZoneInfo(ZONE)).hour] += sum(
                (-1 if line.quantity < 0 else 1) * abs(line.quantity) * line.unit_price_cents
                for line in item.lines
            )
    return hours


# -- the event clock ---------------------------------------------------------------------------


def test_the_clock_reads_an_hour_bucket() -> None:
    clock = EventClock.from_hour_bucket("2026-03-09T23")
    assert (clock.day, clock.hour) == (date(2026, 3, 9), 23)
    assert clock.last_closed_day == date(2026, 3, 8)
    assert clock.now_hour == 23.5  # the middle of the hour: the tables know no minutes
    for bad in ("2026-03-09", "2026-03-09T24", "2026-03-09Tx1", "2026-03-09T1"):
        with pytest.raises(ValueError):
            EventClock.from_hour_bucket(bad)


def test_the_clock_is_the_latest_sale_in_the_zone_it_was_made_in() -> None:
    """One instant, 02:30 UTC on 10 March: still the 9th in São Paulo and in Rio Branco
    (UTC-5), already the 10th in Lisbon. Each store's day follows its own zone."""
    instant = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    tables = MemoryTables()
    tables.add(
        [
            sale(1, instant, store="sp", zone="America/Sao_Paulo"),
            sale(2, instant, store="ac", zone="America/Rio_Branco"),
            sale(3, instant, store="pt", zone="Europe/Lisbon"),
        ]
    )
    projections = service(tables)
    assert projections.clock("sp") == EventClock(date(2026, 3, 9), 23)
    assert projections.clock("ac") == EventClock(date(2026, 3, 9), 21)
    assert projections.clock("pt") == EventClock(date(2026, 3, 10), 2)
    assert projections.clock("nowhere") is None


async def test_yesterday_stays_open_until_a_sale_after_its_midnight() -> None:
    """The store's latest sale was yesterday at 21:40: yesterday is the day in progress, the
    day before is the last closed one, whatever the wall clock says. The first sale after
    midnight closes it (and the forecaster is rebuilt through it)."""
    yesterday = date(2026, 2, 20)
    sales = history(FIRST_DAY, yesterday - timedelta(days=1))
    sales.append(sale(1, local(yesterday, 21, 40), price=10_000))
    tables = MemoryTables()
    tables.add(sales)
    projections = service(tables)
    answer = await projections.answer(STORE, None, {}, WALL_TODAY)
    assert answer["last_closed_day"] == "2026-02-19"
    assert (answer["from"], answer["to"]) == ("2026-02-20", "2026-02-20")  # the day in progress
    assert answer["today"]["day"] == "2026-02-20"
    assert answer["today"]["sold_so_far_cents"] == 10_000
    # Another wall clock, the same answer: the wall clock plays no part.
    assert await projections.answer(STORE, None, {}, date(2026, 2, 21)) == answer

    tables.add([sale(2, local(yesterday + timedelta(days=1), 0, 10), price=2_000)])
    answer = await projections.answer(STORE, None, {}, WALL_TODAY)
    assert answer["last_closed_day"] == "2026-02-20"
    assert answer["today"]["day"] == "2026-02-21"
    assert answer["today"]["sold_so_far_cents"] == 2_000
    assert projections.replays == 2


def test_a_late_line_for_an_old_day_does_not_move_the_clock_back() -> None:
    tables = MemoryTables()
    tables.add([sale(1, local(date(2026, 3, 9), 14, 5))])
    tables.add([sale(2, local(date(2026, 2, 1), 20, 0))])  # arrives later, dated earlier
    assert service(tables).clock(STORE) == EventClock(date(2026, 3, 9), 14)


def test_the_clock_crosses_months_and_years() -> None:
    tables = MemoryTables()
    tables.add([sale(1, local(date(2025, 12, 31), 23, 59)), sale(2, local(date(2025, 11, 3), 9))])
    assert service(tables).clock(STORE) == EventClock(date(2025, 12, 31), 23)
    tables.add([sale(3, local(date(2026, 1, 1), 0, 1))])
    assert service(tables).clock(STORE) == EventClock(date(2026, 1, 1), 0)


# -- spans -------------------------------------------------------------------------------------

D = date(2026, 3, 10)  # the reference day (the last closed day, or as_of)


@pytest.mark.parametrize(
    ("first", "last", "live", "actual", "today", "skip", "days"),
    [
        # Over: everything actual, nothing forecast.
        (date(2026, 3, 1), D, True, (date(2026, 3, 1), D), False, 0, 0),
        # Live, under way: actual through the day in progress, which is forecast with the rest.
        (date(2026, 3, 1), date(2026, 3, 31), True, (date(2026, 3, 1), date(2026, 3, 11)), True,
         0, 21),
        # Live, the day in progress alone.
        (date(2026, 3, 11), date(2026, 3, 11), True, (date(2026, 3, 11), date(2026, 3, 11)), True,
         0, 1),
        # Live, all ahead: from the day after the day in progress.
        (date(2026, 3, 12), date(2026, 3, 18), True, None, False, 1, 7),
        # As of D: actual through D, forecast from D + 1, never a today.
        (date(2026, 3, 1), date(2026, 3, 31), False, (date(2026, 3, 1), D), False, 0, 21),
        (date(2026, 3, 11), date(2026, 3, 17), False, None, False, 0, 7),
        (date(2026, 4, 1), date(2026, 4, 30), False, None, False, 21, 30),
    ],
)  # fmt: skip
def test_a_span_is_planned_against_the_reference_day(
    first: date,
    last: date,
    live: bool,
    actual: tuple[date, date] | None,
    today: bool,
    skip: int,
    days: int,
) -> None:
    plan = plan_span(first, last, D, live)
    assert (plan.actual_first, plan.actual_last) == (actual or (None, None))
    assert (plan.includes_today, plan.skip, plan.forecast_days) == (today, skip, days)


# -- period end against a recompute ------------------------------------------------------------

TODAY = date(2026, 2, 18)  # a Wednesday: 6 weeks and 2 days after FIRST_DAY
MONTH = {"from": "2026-02-01", "to": "2026-02-28"}


def chain_until_today(last_hour: int = 15) -> tuple[MemoryTables, list[Sale]]:
    """Six weeks of history, then today up to ``last_hour`` local."""
    sales = history(FIRST_DAY, TODAY - timedelta(days=1))
    sales += day_sales(TODAY, 900_000, last_hour=last_hour)
    tables = MemoryTables()
    tables.add(sales)
    return tables, sales


@pytest.mark.parametrize("seller", [None, ANA])
async def test_period_end_containing_today_equals_a_recompute(seller: str | None) -> None:
    tables, sales = chain_until_today()
    answer = await service(tables).answer(STORE, seller, MONTH, WALL_TODAY)
    last_closed = TODAY - timedelta(days=1)
    latest_hour = max(s.event_time.astimezone(ZoneInfo(ZONE)) for s in sales).hour
    assert answer["last_closed_day"] == last_closed.isoformat()

    # Actual: the month's lines through today, summed here from the lines themselves.
    actual = sold(sales, date(2026, 2, 1), TODAY, seller)
    assert answer["actual_to_date"] == figures(actual)
    today_sold = sold(sales, TODAY, TODAY, seller)
    assert answer["today"]["sold_so_far_cents"] == today_sold.revenue_cents

    # The forecast: a forecaster replayed here from the daily totals summed here.
    # From the series' first day with a line (a seller may start later than the store).
    start = min(local_day(s) for s in sales if seller is None or s.seller_id == seller)
    forecaster = DailyForecaster.replay(daily(sales, start, last_closed, seller))
    assert answer["days_learned"] == forecaster.days_learned == (last_closed - start).days + 1
    remaining = forecaster.forecast_total((date(2026, 2, 28) - last_closed).days)
    assert (remaining.revenue.first_day, remaining.revenue.last_day) == (TODAY, date(2026, 2, 28))
    today_point = forecaster.forecast(1)
    # The share of today done: an hour profile learned here from the hourly totals.
    profile = HourProfile()
    for offset in range(pure.PROFILE_DAYS - 1, -1, -1):
        day = last_closed - timedelta(days=offset)
        profile.learn_day(day, hourly(sales, day, seller))
    share = share_done(profile.fractions(TODAY.weekday()), latest_hour + 0.5)
    assert answer["today"]["share_of_day_done"] == round(share, 4)

    for measure, got, total, point, done in (
        ("revenue", answer["period_end"]["revenue"], remaining.revenue, today_point.revenue[0],
         actual.revenue_cents),
        ("units", answer["period_end"]["units"], remaining.units, today_point.units[0],
         actual.units),
    ):  # fmt: skip
        base = done - share * point.mid  # today's expected part already sold comes out
        expected = {name: round(base + getattr(total, name)) for name in BOUNDS}
        assert got == expected, measure
        assert got["low95"] <= got["low80"] <= got["mid"] <= got["high80"] <= got["high95"]
        assert all(type(value) is int for value in got.values())

    # Today: sold so far + the rest of the day from today's forecast point.
    point = today_point.revenue[0]
    projected = answer["today"]["projected"]
    assert projected["mid"] == round(today_sold.revenue_cents + (1 - share) * point.mid)
    assert projected["low95"] <= projected["low80"] <= projected["mid"]
    assert projected["mid"] <= projected["high80"] <= projected["high95"]


async def test_a_span_in_the_past_answers_the_actual_only() -> None:
    tables, sales = chain_until_today()
    span = {"from": "2026-01-10", "to": "2026-02-17"}
    answer = await service(tables).answer(STORE, None, span, WALL_TODAY)
    actual = sold(sales, date(2026, 1, 10), date(2026, 2, 17))
    assert answer["actual_to_date"] == figures(actual)
    assert answer["today"] is None
    assert answer["period_end"] == {
        "revenue": dict.fromkeys(BOUNDS, actual.revenue_cents),
        "units": dict.fromkeys(BOUNDS, actual.units),
    }


async def test_a_span_ahead_answers_the_forecast_of_its_days() -> None:
    tables, sales = chain_until_today()
    span = {"from": "2026-02-23", "to": "2026-03-01"}  # next Monday to Sunday
    answer = await service(tables).answer(STORE, None, span, WALL_TODAY)
    assert answer["actual_to_date"] == {"revenue_cents": 0, "units": 0}
    assert answer["today"] is None
    forecaster = DailyForecaster.replay(daily(sales, FIRST_DAY, TODAY - timedelta(days=1)))
    # The path from the day in progress (18th) to 1 March, of which the last 7 days are the
    # span's.
    path = forecaster.revenue.model.forecast(12)[5:]
    revenue = answer["period_end"]["revenue"]
    assert revenue["mid"] == round(math.fsum(path))
    assert revenue["low95"] < revenue["low80"] < revenue["mid"] < revenue["high80"]
    assert revenue["high80"] < revenue["high95"]


def test_a_window_from_tomorrow_is_the_calibrated_total() -> None:
    forecaster = DailyForecaster.replay(daily(history(FIRST_DAY, TODAY), FIRST_DAY, TODAY))
    assert forecast_window(forecaster, 0, 10) == forecaster.forecast_total(10)
    bands = forecaster.revenue.bands
    assert isinstance(bands, ConformalBands)
    for days in (1, 5, 30):
        assert bands.band_window(days, days, 1e6) == bands.band_total(days, 1e6)
    # Later windows borrow the quantile of their far end: relatively at least as wide as
    # the window of the same length from tomorrow.
    near = bands.band_window(7, 7, 1e6)
    later = bands.band_window(35, 7, 1e6)
    assert later.high95 - later.low95 >= near.high95 - near.low95
    with pytest.raises(ValueError):
        bands.band_window(3, 4, 1e6)


# -- as_of ---------------------------------------------------------------------------------------


async def test_as_of_is_the_forecaster_that_stood_that_day_and_answers_the_same_twice() -> None:
    as_of = date(2026, 2, 10)
    # On 11 February (the 10th just closed) the live forecaster was rebuilt through the 10th.
    early = MemoryTables()
    early.add([*history(FIRST_DAY, as_of), sale(1, local(as_of + timedelta(days=1), 10))])
    then = await service(early).forecaster(STORE, None, as_of)

    tables, sales = chain_until_today()
    query = {**MONTH, "as_of": as_of.isoformat()}
    first = await service(tables).answer(STORE, None, query, WALL_TODAY)
    second = await service(tables).answer(STORE, None, query, WALL_TODAY)  # a cold cache
    assert first == second
    assert first["as_of"] == first["last_closed_day"] == "2026-02-10"
    assert first["today"] is None
    # Actual through the as_of day only; the forecast from the day after, as it stood then.
    actual = sold(sales, date(2026, 2, 1), as_of)
    assert first["actual_to_date"] == figures(actual)
    projections = service(tables)
    now = await projections.forecaster(STORE, None, as_of)
    assert now.to_state() == then.to_state()
    remaining = now.forecast_total(18)
    assert first["period_end"]["revenue"]["mid"] == actual.revenue_cents + remaining.revenue.mid
    live = await projections.answer(STORE, None, MONTH, WALL_TODAY)
    assert live["period_end"] != first["period_end"]


async def test_as_of_must_be_a_closed_day() -> None:
    tables, _ = chain_until_today()
    projections = service(tables)
    for day in ("2026-02-18", "2026-02-19"):  # the day in progress, and after it
        with pytest.raises(BadParameter, match="not a closed day"):
            await projections.answer(STORE, None, {"as_of": day}, WALL_TODAY)
    with pytest.raises(BadParameter, match="as_of"):
        await projections.answer(STORE, None, {"as_of": "18/02/2026"}, WALL_TODAY)
    with pytest.raises(BadParameter, match="no closed day"):
        await projections.answer("nowhere", None, {"as_of": "2026-02-10"}, WALL_TODAY)
    with pytest.raises(BadParameter, match="days after the last closed day"):
        await projections.answer(STORE, None, {"to": "2027-03-01"}, WALL_TODAY)
    assert projections.replays == 0  # refused before any work


async def test_a_store_without_sales_answers_nothing_projected() -> None:
    answer = await service(MemoryTables()).answer("nowhere", None, {}, WALL_TODAY)
    assert answer == {
        "from": "2030-06-01",
        "to": "2030-06-01",
        "as_of": None,
        "last_closed_day": None,
        "actual_to_date": {"revenue_cents": 0, "units": 0},
        "today": None,
        "period_end": None,
        "days_learned": 0,
        "model": "weekday-profile",
    }


async def test_a_series_whose_first_sale_is_today_has_a_pace_but_no_period_end() -> None:
    tables = MemoryTables()
    tables.add([sale(1, local(TODAY, 12, 30), price=30_000)])
    answer = await service(tables).answer(STORE, None, MONTH, WALL_TODAY)
    assert answer["days_learned"] == 0
    assert answer["period_end"] is None
    assert answer["today"]["sold_so_far_cents"] == 30_000
    projected = answer["today"]["projected"]
    # Nothing learned: an even day, 12.5 of 24 hours done, the pace carried to midnight.
    assert projected["mid"] == round(30_000 / (12.5 / 24))
    assert projected["low95"] == projected["high95"] == projected["mid"]


async def test_a_seller_without_a_sale_today_follows_the_stores_clock() -> None:
    tables, _ = chain_until_today()
    tables.add([sale(5, local(TODAY, 15, 30), seller=ANA)])
    projections = service(tables)
    answer = await projections.answer(STORE, "s-nobody", MONTH, WALL_TODAY)
    assert answer["last_closed_day"] == "2026-02-17"
    assert answer["days_learned"] == 0 and answer["period_end"] is None
    assert answer["today"]["sold_so_far_cents"] == 0


# -- the cache -----------------------------------------------------------------------------------


async def test_a_second_request_does_not_replay_and_a_new_closed_day_does() -> None:
    tables, _ = chain_until_today()
    projections = service(tables)
    first = await projections.answer(STORE, None, MONTH, WALL_TODAY)
    assert projections.replays == 1
    assert await projections.answer(STORE, None, MONTH, WALL_TODAY) == first
    await projections.answer(STORE, None, {"from": "2026-02-18", "to": "2026-03-31"}, WALL_TODAY)
    assert projections.replays == 1  # any span, the same series and closed day
    await projections.answer(STORE, ANA, MONTH, WALL_TODAY)
    assert projections.replays == 2  # another series

    # A sale later today: the same closed day, no replay; today's figures move.
    tables.add([sale(7, local(TODAY, 16, 10), price=99_900)])
    later = await projections.answer(STORE, None, MONTH, WALL_TODAY)
    assert projections.replays == 2
    assert later["today"]["sold_so_far_cents"] == first["today"]["sold_so_far_cents"] + 99_900

    # The first sale after midnight closes today: a new key, one replay.
    tables.add([sale(8, local(TODAY + timedelta(days=1), 0, 5))])
    await projections.answer(STORE, None, MONTH, WALL_TODAY)
    assert projections.replays == 3
    assert ("forecaster", STORE, None, TODAY) in projections.cached_keys()


async def test_concurrent_requests_replay_once() -> None:
    tables, _ = chain_until_today()
    projections = service(tables)
    answers = await asyncio.gather(
        *(projections.answer(STORE, None, MONTH, WALL_TODAY) for _ in range(5))
    )
    assert projections.replays == 1
    assert all(answer == answers[0] for answer in answers)


async def test_the_cache_is_bounded_least_recently_used_first_out() -> None:
    tables, _ = chain_until_today()
    # Each forecaster comes with its store's series scan (cached too): two entries a day.
    projections = service(tables, max_entries=6)
    for day in (date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)):
        await projections.forecaster(STORE, None, day)
    await projections.forecaster(STORE, None, date(2026, 2, 10))  # used again: kept
    await projections.forecaster(STORE, None, date(2026, 2, 13))
    keys = projections.cached_keys()
    assert len(keys) == 6
    # The oldest series scans went first; the forecaster used again outlived its elders'.
    assert [key[3] for key in keys if key[0] == "forecaster"] == [
        date(2026, 2, 11),
        date(2026, 2, 12),
        date(2026, 2, 10),
        date(2026, 2, 13),
    ]
    assert ("daily", STORE, "T", date(2026, 2, 10)) not in keys
    assert projections.replays == 4
    await projections.forecaster(STORE, None, date(2026, 2, 14))  # pushes day 11's out
    assert projections.replays == 5
    await projections.forecaster(STORE, None, date(2026, 2, 11))  # evicted: rebuilt
    assert projections.replays == 6


async def test_replays_run_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []

    def recording(days: Iterable[DailyTotals], through: date) -> DailyForecaster:
        threads.append(threading.current_thread().name)
        return rebuild_forecaster(days, through)

    monkeypatch.setattr("app.api.projections.rebuild_forecaster", recording)
    tables, _ = chain_until_today()
    projections = service(tables)
    try:
        await projections.answer(STORE, None, MONTH, WALL_TODAY)
    finally:
        projections.close()
    assert len(threads) == 1 and threads[0].startswith("projections")
    assert threads[0] != threading.current_thread().name


async def test_a_failed_rebuild_is_not_cached() -> None:
    tables, _ = chain_until_today()
    projections = service(tables)
    calls = 0

    async def failing() -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError("tables gone")

    key = ("forecaster", STORE, None, TODAY)
    with pytest.raises(RuntimeError):
        await projections._cached(key, failing)
    assert projections.cached_keys() == []
    with pytest.raises(RuntimeError):
        await projections._cached(key, failing)
    assert calls == 2


# -- the pure assembly ---------------------------------------------------------------------------


def test_project_refuses_a_forecaster_of_another_day() -> None:
    forecaster = DailyForecaster.replay(daily(history(FIRST_DAY, TODAY), FIRST_DAY, TODAY))
    plan = plan_span(date(2026, 2, 1), date(2026, 2, 28), TODAY - timedelta(days=2), live=False)
    with pytest.raises(ValueError, match="stops on"):
        project(plan, forecaster, Sold(0, 0))
