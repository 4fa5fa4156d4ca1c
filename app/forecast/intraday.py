"""Today's projection: sold so far plus the expected rest of the day.

The rest of the day is the share of a day's sales that usually comes after ``now_hour``
(the series' hour-of-day profile) times the day's forecast, or, without a forecast, times
the day the sales so far point to (their pace).

``HourProfile`` learns that profile from each closed day's hourly totals (24 local hours),
separately per weekday (a mall store opens at 14h on Sundays, at 10h otherwise) with
exponential forgetting, falling back to the all-days profile for a weekday seen too little.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from app.forecast.models import WEEK
from app.forecast.series import ForecastPoint, TotalForecast, to_int

HOURS = 24


@dataclass(slots=True)
class HourProfile:
    """Exponentially forgotten hourly totals, per weekday and over all days.

    Each closed day adds its hourly totals (negative hours, i.e. net returns, count as 0)
    after the previous sums were multiplied by ``1 - forget`` (per weekday: once per that
    weekday's day; all days: once per day, at ``forget / 7``, so both remember about the
    same number of weeks). Days with bigger sales weigh more, which is what a share of
    revenue should do. A weekday profile is used once it has ``min_days`` days.
    """

    forget: float = 0.1
    min_days: int = 3
    weekday_sums: list[list[float]] = field(default_factory=lambda: [[0.0] * HOURS] * WEEK)
    weekday_days: list[int] = field(default_factory=lambda: [0] * WEEK)
    all_sums: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    last_day: date | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.forget < 1.0 or self.min_days < 1:
            raise ValueError("forget in (0, 1), min_days >= 1")
        # The default factory shares one inner list: give each weekday its own.
        self.weekday_sums = [list(sums) for sums in self.weekday_sums]

    def learn_day(self, day: date, hourly: Sequence[int]) -> None:
        """One closed day's totals by local hour (index 0 = 00:00-00:59). A 25-hour day (the
        end of summer time) adds its repeated hour into one slot; a 23-hour day has a 0."""
        if len(hourly) != HOURS:
            raise ValueError(f"need {HOURS} hourly totals")
        if self.last_day is not None and day <= self.last_day:
            raise ValueError(f"{day} is not after {self.last_day}")
        self.last_day = day
        weekday = day.weekday()
        keep = 1.0 - self.forget
        keep_all = 1.0 - self.forget / WEEK
        sums = self.weekday_sums[weekday]
        for hour, value in enumerate(hourly):
            positive = float(max(value, 0))
            sums[hour] = sums[hour] * keep + positive
            self.all_sums[hour] = self.all_sums[hour] * keep_all + positive
        if sum(max(v, 0) for v in hourly) > 0:
            self.weekday_days[weekday] += 1

    def fractions(self, weekday: int) -> list[float]:
        """Share of a ``weekday``'s sales in each local hour (sums to 1), or an even
        spread over the day while nothing was learned."""
        sums = self.weekday_sums[weekday]
        if self.weekday_days[weekday] < self.min_days or sum(sums) <= 0.0:
            sums = self.all_sums
        total = math.fsum(sums)
        if total <= 0.0:
            return [1.0 / HOURS] * HOURS
        return [value / total for value in sums]

    def to_state(self) -> dict[str, Any]:
        return {
            "forget": self.forget,
            "min_days": self.min_days,
            "weekday_sums": [list(sums) for sums in self.weekday_sums],
            "weekday_days": list(self.weekday_days),
            "all_sums": list(self.all_sums),
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HourProfile:
        return cls(
            forget=float(state["forget"]),
            min_days=int(state["min_days"]),
            weekday_sums=[[float(v) for v in sums] for sums in state["weekday_sums"]],
            weekday_days=[int(v) for v in state["weekday_days"]],
            all_sums=[float(v) for v in state["all_sums"]],
            last_day=date.fromisoformat(state["last_day"]) if state["last_day"] else None,
        )


def share_done(hour_profile: Sequence[float], now_hour: float) -> float:
    """Share of the day's sales expected before ``now_hour`` (local, 0 <= now_hour <= 24;
    14.5 is 14:30, the current hour counted pro rata)."""
    if len(hour_profile) != HOURS:
        raise ValueError(f"need {HOURS} hourly fractions")
    if not 0.0 <= now_hour <= HOURS:
        raise ValueError("now_hour in [0, 24]")
    total = math.fsum(hour_profile)
    if total <= 0.0:
        raise ValueError("an hour profile must sum to more than 0")
    whole = int(now_hour)
    done = math.fsum(hour_profile[:whole])
    if whole < HOURS:
        done += hour_profile[whole] * (now_hour - whole)
    return min(max(done / total, 0.0), 1.0)


class TodayProjection(NamedTuple):
    """Today's projected total (integer cents or units) and its intervals; all equal to
    ``mid`` when projected from the pace alone."""

    mid: int
    low80: int
    high80: int
    low95: int
    high95: int
    share_done: float
    """Share of the day's usual sales that falls before now."""


def project_today(
    sold_so_far_cents: int,
    hour_profile: Sequence[float],
    now_hour: float,
    day_forecast: ForecastPoint | None = None,
) -> TodayProjection:
    """Sold so far + the expected rest of the day.

    With ``day_forecast`` (today's point of ``DailyForecaster.forecast``): rest = (1 - done)
    x the forecast, and the bands are today's bands scaled the same way (the part of the
    day still to come is uncertain as the whole day was). Without it: the pace so far,
    rest = sold x (1 - done) / done, no band; before any sales are due (done = 0) the rest
    is then unknown and taken as 0.
    """
    done = share_done(hour_profile, now_hour)
    rest = 1.0 - done
    if day_forecast is not None:
        values = [
            sold_so_far_cents + rest * bound
            for bound in (
                day_forecast.mid,
                day_forecast.low80,
                day_forecast.high80,
                day_forecast.low95,
                day_forecast.high95,
            )
        ]
        mid, low80, high80, low95, high95 = (to_int(value) for value in values)
        return TodayProjection(mid, low80, high80, low95, high95, done)
    pace = sold_so_far_cents * rest / done if done > 0.0 else 0.0
    mid = to_int(sold_so_far_cents + pace)
    return TodayProjection(mid, mid, mid, mid, mid, done)


class PeriodProjection(NamedTuple):
    """A period's projected total (integer cents or units) and its intervals."""

    mid: int
    low80: int
    high80: int
    low95: int
    high95: int


def project_period_end(
    actual_to_date: int,
    remaining: TotalForecast | None,
    today_share_done: float = 0.0,
    today_forecast_mid: int = 0,
) -> PeriodProjection:
    """Actual to date + the forecast of the rest of the period, with low and high.

    ``actual_to_date`` is everything the period sold so far, today's sales included.
    ``remaining`` is ``DailyForecaster.forecast_total(n)`` over the period's days from the
    first one not learned (today, when yesterday is learned) to its end: its intervals are
    calibrated on past sums of as many days. Today's part already sold is taken out of that
    sum pro rata: ``today_share_done`` x ``today_forecast_mid`` (``share_done`` of the hour
    profile, today's forecast point's ``mid``); the band keeps its width, since how the
    rest of today goes is as uncertain as the day was, but what is still to come is floored
    at zero, so no bound falls under the actual to date. ``remaining=None`` (the period is
    over, or "as of" its last day): the actual, with no band.

    As of a past day D: the forecaster replayed through D (``DailyForecaster.replay``),
    ``actual_to_date`` = the period's actual through D, ``remaining`` from D + 1 and no
    today share.
    """
    if remaining is None:
        return PeriodProjection(*([actual_to_date] * 5))
    if not 0.0 <= today_share_done <= 1.0:
        raise ValueError("today_share_done in [0, 1]")
    already = today_share_done * today_forecast_mid

    def end(bound: float) -> int:
        # The sales still to come are never below nothing: a band calibrated on symmetric
        # past errors of a sparse series can dip under zero, which would project an end
        # below what is already sold.
        return to_int(actual_to_date + max(bound - already, 0.0))

    return PeriodProjection(
        end(remaining.mid),
        end(remaining.low80),
        end(remaining.high80),
        end(remaining.low95),
        end(remaining.high95),
    )
