"""A projection of a store's or a seller's sales over a span of days, on the event clock: pure.

The API (``app/api/projections.py``) reads the live tables and calls these; nothing here does
I/O or looks at the wall clock.

**The event clock.** A store's clock is its latest event: the local hour bucket of the newest
sale line it has aggregated (``EventClock``). The day of that bucket is the day in progress
("today"); every day before it is *closed*. A day therefore closes when a sale stamped after
its midnight (in the store's zone) arrives, never because the wall clock says so: a store
whose latest sale was yesterday at 21:40 still has yesterday in progress this morning, until
its first sale of today. A replay of old files walks the same clock and gets the same
projections as the live traffic did. A seller's series uses their store's clock: a seller
without a sale today still has yesterday closed once the store has sold after midnight.

The clock's resolution is the hour: the live tables keep hour buckets, not times (the
in-memory feed of recent sales has exact times but is empty after a restart, and answers
must not change with a restart). Within the hour of the latest sale the clock reads the
middle of the hour (``now_hour``): the latest sale lies somewhere in it, and the middle is
off by at most half an hour of the hour-of-day profile either way.

**The forecaster** of a series as of a closed day D is ``DailyForecaster.replay`` of the
series' daily totals from ``D - HISTORY_DAYS + 1`` to D (``rebuild_forecaster``): a fixed
window, so the forecaster is a function of D and the aggregates alone, the same after a
restart, on another worker, and for ``as_of=D`` later as it was live on D + 1. A year is
plenty: the model's level forgets with alpha = 0.05 (a day a year ago weighs 1e-8), the
conformal scores keep 91 days, and only the weekday profile (gamma = 0.05 a week) still
remembers 7 % of a year ago. The hour-of-day profile (``rebuild_hour_profile``) learns the
last ``PROFILE_DAYS`` closed days' hourly totals (its weekday sums forget 10 % a week).

**A span** ``[first, last]`` is planned against the reference day R (the last closed day, or
``as_of``) by ``plan_span``: days up to R are actual; live, the day in progress R + 1 counts
what it sold so far and the forecast of its rest; later days are forecast. ``project`` adds
them up with ``project_today`` and ``project_period_end``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.forecast.intervals import Band
from app.forecast.intraday import (
    HOURS,
    HourProfile,
    PeriodProjection,
    TodayProjection,
    project_period_end,
    project_today,
)
from app.forecast.series import (
    DailyForecaster,
    DailyTotals,
    ForecastPoint,
    SeriesForecaster,
    TotalForecast,
    TotalsForecast,
    to_int,
)

HISTORY_DAYS = 365
"""Closed days a forecaster is replayed from (the last ones, up to the reference day)."""
PROFILE_DAYS = 91
"""Closed days the hour-of-day profile learns (13 weeks)."""
MAX_DAYS_AHEAD = 366
"""How far after the reference day a span may end: beyond a year, a daily model's sum says
nothing, and a long path is computed for nothing."""
MODEL_NAME = "weekday-profile"
"""The point model every projection comes from (``app.forecast.models.WeekdayProfile``)."""
SHARE_PLACES = 4
"""Decimal places of ``share_of_day_done`` in answers (the figure is a display aid)."""


# -- the event clock ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventClock:
    """Where a store's latest event puts it: the local day in progress and the hour."""

    day: date
    """The local day of the latest sale line: the day in progress."""
    hour: int
    """Its local hour, 0 - 23."""

    @property
    def last_closed_day(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def now_hour(self) -> float:
        """The clock within the day, for the hour-of-day profile: the middle of the hour of
        the latest sale (the tables know the hour, not the minute)."""
        return self.hour + 0.5

    @classmethod
    def from_hour_bucket(cls, label: str) -> EventClock:
        """From an hour bucket label of the live tables, ``2026-12-04T14`` (local)."""
        day, separator, hour = label.partition("T")
        if not separator or len(hour) != 2 or not hour.isdigit() or int(hour) >= HOURS:
            raise ValueError(f"not an hour bucket: {label!r}")
        return cls(date.fromisoformat(day), int(hour))


# -- spans -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpanPlan:
    """What each day of a span ``[first, last]`` is, against the reference day."""

    first: date
    last: date
    reference: date
    """The last closed day the forecast starts after (the clock's, or ``as_of``)."""
    actual_first: date | None
    actual_last: date | None
    """The days counted as sold (``None``: none, the span is all ahead)."""
    includes_today: bool
    """The day in progress (reference + 1) is in the span: live answers only."""
    skip: int
    """Days between the reference day and the first day forecast, not forecast."""
    forecast_days: int
    """Days forecast (0: the span is over)."""


def plan_span(first: date, last: date, reference: date, live: bool) -> SpanPlan:
    """Live (``live=True``), the day after ``reference`` is in progress: its sales so far are
    actual and its rest is forecast. As of a day (``live=False``), ``reference`` is that day
    and nothing after it is known."""
    if first > last:
        raise ValueError(f"{first} is after {last}")
    if last <= reference:  # over: what was sold, nothing to forecast
        return SpanPlan(first, last, reference, first, last, False, 0, 0)
    actual_end = reference + timedelta(days=1) if live else reference
    if first <= actual_end:  # under way: sold so far + the forecast of the rest
        forecast_days = (last - reference).days
        return SpanPlan(first, last, reference, first, actual_end, live, 0, forecast_days)
    # All ahead: the forecast of the span's days alone.
    skip = (first - reference).days - 1
    return SpanPlan(first, last, reference, None, None, False, skip, (last - first).days + 1)


# -- rebuilding state --------------------------------------------------------------------------


def history_window(reference: date, days: int = HISTORY_DAYS) -> tuple[date, date]:
    """The first and last day a forecaster as of ``reference`` is replayed from."""
    return reference - timedelta(days=days - 1), reference


def rebuild_forecaster(days: Iterable[DailyTotals], through: date) -> DailyForecaster:
    """The forecaster as of ``through``: the totals replayed in day order from the first one
    given, the days without a total learned as zeros, up to and including ``through`` (so
    its forecasts start on the day after, whatever day the series last sold)."""
    return DailyForecaster.replay(sorted(days), through=through)


def rebuild_hour_profile(
    hourly: Mapping[date, Sequence[int]], first: date, last: date
) -> HourProfile:
    """The hour-of-day profile learned from every day ``first..last`` in order (a day
    without sales is learned as 24 zeros: it only ages the sums, as a live day would)."""
    profile = HourProfile()
    zeros = [0] * HOURS
    day = first
    while day <= last:
        profile.learn_day(day, hourly.get(day, zeros))
        day += timedelta(days=1)
    return profile


# -- forecasts ---------------------------------------------------------------------------------


def forecast_window(forecaster: DailyForecaster, skip: int, days: int) -> TotalsForecast:
    """The sum of ``days`` days starting ``skip`` days after the day after the last learned
    one, with intervals: ``forecast_total(days)`` when the window starts tomorrow (intervals
    calibrated on past sums of as many days), else the window's share of the forecast path
    with ``ConformalBands.band_window``'s borrowed intervals."""
    if skip < 0 or days < 1:
        raise ValueError("skip >= 0 and days >= 1")
    if skip == 0:
        return forecaster.forecast_total(days)
    if forecaster.last_day is None:
        raise ValueError("need at least one day learned")
    first = forecaster.last_day + timedelta(days=skip + 1)
    last = first + timedelta(days=days - 1)
    return TotalsForecast(
        _window(forecaster.revenue, skip, days, first, last),
        _window(forecaster.units, skip, days, first, last),
    )


def _window(
    series: SeriesForecaster, skip: int, days: int, first: date, last: date
) -> TotalForecast:
    path = series.model.forecast(skip + days)[skip:]
    band: Band = series.bands.band_window(skip + days, days, math.fsum(path))
    return TotalForecast(first, last, *(to_int(value) for value in band))


# -- the answer --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sold:
    """Revenue (integer cents) and units (net of returns) sold over some days."""

    revenue_cents: int
    units: int


def project(
    plan: SpanPlan,
    forecaster: DailyForecaster,
    actual: Sold,
    today_sold: Sold | None = None,
    hour_fractions: Sequence[float] | None = None,
    now_hour: float | None = None,
) -> dict[str, Any]:
    """The figures of a projection answer, as plain JSON-ready values.

    ``actual``: the span's sales over ``plan.actual_first..actual_last`` (today's so far
    included when the span includes today). With ``plan.includes_today``: ``today_sold``,
    the day in progress's sales so far, ``hour_fractions``, its weekday's hour-of-day
    profile, and ``now_hour``, the event clock's hour. ``forecaster`` has learned every day
    up to ``plan.reference`` (``rebuild_forecaster``).
    """
    learned = forecaster.days_learned > 0
    if learned and forecaster.last_day != plan.reference:
        raise ValueError(f"the forecaster stops on {forecaster.last_day}, not {plan.reference}")
    today: TodayProjection | None = None
    points: tuple[ForecastPoint, ForecastPoint] | None = None
    if plan.includes_today:
        if today_sold is None or hour_fractions is None or now_hour is None:
            raise ValueError("a span with today needs today's sales, hour profile and clock")
        if learned:
            tomorrow = forecaster.forecast(1)
            points = (tomorrow.revenue[0], tomorrow.units[0])
        today = project_today(
            today_sold.revenue_cents, hour_fractions, now_hour, points[0] if points else None
        )

    period_end: dict[str, Any] | None = None
    if plan.forecast_days == 0:
        period_end = {
            "revenue": _bounds(project_period_end(actual.revenue_cents, None)),
            "units": _bounds(project_period_end(actual.units, None)),
        }
    elif learned:
        remaining = forecast_window(forecaster, plan.skip, plan.forecast_days)
        share = today.share_done if today is not None else 0.0
        revenue = project_period_end(
            actual.revenue_cents, remaining.revenue, share, points[0].mid if points else 0
        )
        units = project_period_end(
            actual.units, remaining.units, share, points[1].mid if points else 0
        )
        period_end = {"revenue": _bounds(revenue), "units": _bounds(units)}
    # else: nothing learned yet (a series whose first sale is today), so no forecast.

    return {
        "actual_to_date": {"revenue_cents": actual.revenue_cents, "units": actual.units},
        "today": _today(plan, today, today_sold),
        "period_end": period_end,
        "days_learned": forecaster.days_learned,
        "model": MODEL_NAME,
    }


def _today(
    plan: SpanPlan, today: TodayProjection | None, sold: Sold | None
) -> dict[str, Any] | None:
    if today is None or sold is None:
        return None
    return {
        "day": (plan.reference + timedelta(days=1)).isoformat(),
        "sold_so_far_cents": sold.revenue_cents,
        "projected": {
            "mid": today.mid,
            "low80": today.low80,
            "high80": today.high80,
            "low95": today.low95,
            "high95": today.high95,
        },
        "share_of_day_done": round(today.share_done, SHARE_PLACES),
    }


def _bounds(projection: PeriodProjection) -> dict[str, int]:
    return {
        "mid": projection.mid,
        "low80": projection.low80,
        "high80": projection.high80,
        "low95": projection.low95,
        "high95": projection.high95,
    }
