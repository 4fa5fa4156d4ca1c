"""The dashboards' periods: presets a manager picks from, each with the previous period it
is compared against. Pure functions of "today" in the stores' time zone.

A period "to date" is compared with the same stretch of the period before (this month's 1st
to 29th against last month's 1st to 29th), so a half-finished month is not held against a
whole one.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Preset = Literal["today", "this_week", "this_month", "last_7_days", "last_30_days", "custom"]
PRESETS: tuple[Preset, ...] = (
    "today",
    "this_week",
    "this_month",
    "last_7_days",
    "last_30_days",
    "custom",
)


@dataclass(frozen=True, slots=True)
class Span:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


@dataclass(frozen=True, slots=True)
class Period:
    preset: Preset
    current: Span
    previous: Span


def period(preset: Preset, today: date, custom: Span | None = None) -> Period:
    """The span of ``preset`` as of ``today``, and the span it is compared against."""
    if preset == "today":
        yesterday = today - timedelta(days=1)
        return Period(preset, Span(today, today), Span(yesterday, yesterday))
    if preset == "this_week":
        monday = today - timedelta(days=today.weekday())
        return Period(
            preset,
            Span(monday, today),
            Span(monday - timedelta(days=7), today - timedelta(days=7)),
        )
    if preset == "this_month":
        first = today.replace(day=1)
        before = (first - timedelta(days=1)).replace(day=1)
        same_day = min(today.day, monthrange(before.year, before.month)[1])
        return Period(preset, Span(first, today), Span(before, before.replace(day=same_day)))
    if preset in ("last_7_days", "last_30_days"):
        days = 7 if preset == "last_7_days" else 30
        return _trailing(preset, Span(today - timedelta(days=days - 1), today))
    if custom is None:
        raise ValueError("a custom period needs its first and last day")
    if custom.last < custom.first:
        custom = Span(custom.last, custom.first)
    return _trailing("custom", custom)


def _trailing(preset: Preset, current: Span) -> Period:
    """A span compared with the span of the same length just before it."""
    last = current.first - timedelta(days=1)
    return Period(preset, current, Span(last - timedelta(days=current.days - 1), last))


def change(current: int, previous: int) -> float | None:
    """Relative change against the previous period; None when there is nothing to compare
    with (a previous figure of zero)."""
    if previous == 0:
        return None
    return (current - previous) / abs(previous)


def average_ticket_cents(revenue_cents: int, orders: int) -> int:
    """Revenue per order in whole cents, rounded half up (integer arithmetic, no float)."""
    if orders <= 0:
        return 0
    return (2 * revenue_cents + orders) // (2 * orders)


AT_A_GLANCE: tuple[Preset, ...] = ("today", "this_week", "this_month")
"""The periods a manager sees side by side, whatever period the page is filtered on."""

COMPARED_FIGURES = ("revenue_cents", "margin_cents", "orders", "units")


def compares_same_time(chosen: Period, today: date) -> bool:
    """Whether the period runs to now, so that its last day is compared with the previous
    period's last day up to the same hour: at 11h, today against yesterday until 11h, not
    against all of yesterday (which makes every morning look like a collapse)."""
    return chosen.preset in AT_A_GLANCE and chosen.current.last == today


def later_hours(
    points: list[dict[str, int | str]], day: date, hour: int, names: tuple[str, ...]
) -> dict[str, int]:
    """The figures ``names`` of ``day``'s hours after ``hour``, from an hourly series (buckets
    ``2026-11-29T14``): what a previous period's total has that the current one cannot have
    had yet."""
    prefix = day.isoformat()
    total = dict.fromkeys(names, 0)
    for point in points:
        bucket = str(point["bucket"])
        if bucket[:10] == prefix and int(bucket[11:13]) > hour:
            for name in names:
                total[name] += int(point[name])
    return total


def minus(
    figures: dict[str, int], later: dict[str, int], names: tuple[str, ...] = COMPARED_FIGURES
) -> dict[str, int]:
    """``figures`` without ``later`` (the other keys of ``figures`` are kept as they are)."""
    return {**figures, **{name: int(figures[name]) - later.get(name, 0) for name in names}}


def glance_span(today: date) -> Span:
    """The days one daily series must cover to give every ``AT_A_GLANCE`` period and the
    period it is compared with."""
    periods = [period(preset, today) for preset in AT_A_GLANCE]
    return Span(min(p.previous.first for p in periods), today)


def sum_days(
    points: list[dict[str, int | str]], span: Span, names: tuple[str, ...]
) -> dict[str, int]:
    """The figures ``names`` summed over the days of ``span``, from a daily series (buckets
    are ISO dates). Revenue, margin, units and orders add up day by day: an order counts on
    the day of its first line."""
    first, last = span.first.isoformat(), span.last.isoformat()
    total = dict.fromkeys(names, 0)
    for point in points:
        if first <= str(point["bucket"]) <= last:
            for name in names:
                total[name] += int(point[name])
    return total


def projection_span(chosen: Period, today: date) -> Span | None:
    """The days whose end a projection answers for ``chosen``: the whole week or month of a
    period to date (where is this month heading?), a range as it is when it reaches today or
    beyond, and None for a range that is over (nothing left to project)."""
    if chosen.preset == "this_week":
        monday = chosen.current.first
        return Span(monday, monday + timedelta(days=6))
    if chosen.preset == "this_month":
        first = chosen.current.first
        return Span(first, first.replace(day=monthrange(first.year, first.month)[1]))
    if chosen.current.last < today:
        return None
    return chosen.current
