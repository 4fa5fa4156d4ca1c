"""The daily forecaster of one store or one seller: revenue (cents) and units, with intervals.

``DailyForecaster`` learns closed days in order and forecasts the next ones::

    model = DailyForecaster()
    model.learn_closed_day(date(2026, 3, 2), revenue_cents=1_234_500, units=310)
    model.forecast(7).revenue   # 7 ForecastPoint(day, mid, low80, high80, low95, high95)
    model.forecast_total(30)    # the sum of the next 30 days, with intervals

Money: every input is integer cents and every figure returned is an integer (cents for
revenue, units for units), rounded half-even once, from the float the model computed
(``to_int``); models and intervals work in floats internally. A band's bounds are rounded
separately, so ``low80 <= mid <= high80`` holds after rounding too. Revenue bands are not
clipped at 0: a day's net revenue can be negative (returns).

State and replay. The whole forecaster is a deterministic function of the days it learned
(pure Python floats, no randomness): ``to_state()`` gives compact JSON (bytes; 25 - 35 KB
after half a year, plus about 12 bytes a day of history) that ``from_state`` turns back
into a forecaster forecasting exactly the same numbers, and ``DailyForecaster.replay(days)``
rebuilds the same forecaster from the daily totals alone (about 0.1 ms a day).

Recommended: keep ``to_state()`` in the worker's changelog, one record per series written
when a day is learned. A restart or a rebalance then restores exactly what was live (one
record to read, no history to fetch), including when late lines changed a closed day's
aggregate after the model learned it, which a replay from the aggregates would count and
the live model did not. Replay is for what the changelog cannot answer: ``as_of`` (below),
a state lost or written by an older ``STATE_VERSION``, or new model parameters (replay the
forecaster's own ``history()``, or the daily aggregates if that is gone).

As of day D: the forecaster that had learned every day up to and including D, so its
forecasts start on D + 1. ``forecaster.as_of(D)`` replays the forecaster's own history (the
totals exactly as they were learned, kept in its state) through D; ``replay(days,
through=D)`` does the same from any daily totals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from app.forecast.intervals import MAX_HORIZON, Band, ConformalBands, IntervalParams
from app.forecast.models import PointForecaster, ProfileParams, WeekdayProfile

STATE_VERSION = 1


def to_int(value: float) -> int:
    """A float figure as the integer shown: round half-even (Python's ``round``)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite figure: {value}")
    return round(value)


class ForecastPoint(NamedTuple):
    """One forecast day: the forecast and its 80 % and 95 % intervals, integers."""

    day: date
    mid: int
    low80: int
    high80: int
    low95: int
    high95: int


class TotalForecast(NamedTuple):
    """The forecast sum over ``first_day..last_day`` (inclusive) and its intervals."""

    first_day: date
    last_day: date
    mid: int
    low80: int
    high80: int
    low95: int
    high95: int


@dataclass(frozen=True, slots=True)
class SeriesForecast:
    revenue: tuple[ForecastPoint, ...]
    units: tuple[ForecastPoint, ...]


@dataclass(frozen=True, slots=True)
class TotalsForecast:
    revenue: TotalForecast
    units: TotalForecast


class DailyTotals(NamedTuple):
    """One day's totals as learned: what ``replay`` takes."""

    day: date
    revenue_cents: int
    units: int


@dataclass(frozen=True, slots=True)
class ForecastConfig:
    profile: ProfileParams = field(default_factory=ProfileParams)
    intervals: IntervalParams = field(default_factory=IntervalParams)


class AlreadyLearned(ValueError):
    """The day is not after the last learned day: a day is learned once, in order."""


class SeriesForecaster:
    """One measure of one series: a point model and the conformal bands of its errors.

    Generic over the point model so the benchmark runs every candidate through the very
    same learning, interval and scoring code as the production model.
    """

    def __init__(self, model: PointForecaster, bands: ConformalBands | None = None) -> None:
        self.model = model
        self.bands = bands if bands is not None else ConformalBands()

    def learn(self, day: date, y: float) -> None:
        self.bands.learn(y)
        self.model.learn_one(day, y)
        # The path from this origin is scored as the days it covers close.
        self.bands.record(day, self.model.forecast(MAX_HORIZON))

    def forecast(self, horizon: int) -> list[Band]:
        path = self.model.forecast(horizon)
        return [self.bands.band(step + 1, mid) for step, mid in enumerate(path)]

    def forecast_total(self, days: int) -> Band:
        return self.bands.band_total(days, math.fsum(self.model.forecast(days)))


def missing_days(last_day: date | None, day: date) -> list[date]:
    """The days strictly between the last learned day and ``day``: the ones to learn as 0."""
    if last_day is None or day <= last_day:
        return []
    return [last_day + timedelta(days=n) for n in range(1, (day - last_day).days)]


class DailyForecaster:
    """Revenue and units of one store or seller, one closed day at a time.

    A day is learned when it has closed in the series' time zone (by event time, the
    caller's business). Days must come in order: ``learn_day`` takes exactly the day after
    the last one; ``learn_closed_day`` first learns the days in between as zeros (nothing
    sold is a zero, not a missing value: a weekday profile needs every day).
    """

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config or ForecastConfig()
        self.first_day: date | None = None
        self.last_day: date | None = None
        self.revenue = SeriesForecaster(
            WeekdayProfile(self.config.profile), ConformalBands(self.config.intervals)
        )
        self.units = SeriesForecaster(
            WeekdayProfile(self.config.profile), ConformalBands(self.config.intervals)
        )
        # What was learned, day by day from first_day: ``as_of`` replays exactly this, so a
        # late line that changes a closed day's aggregate later cannot change the past.
        self.learned_revenue: list[int] = []
        self.learned_units: list[int] = []

    @property
    def days_learned(self) -> int:
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1

    # ------------------------------------------------------------------ learning

    def learn_day(self, day: date, revenue_cents: int, units: int) -> None:
        """Learn one closed day; it must be the day after the last one learned (or the
        first day ever). Raises ``AlreadyLearned`` for a day already learned (so a replayed
        trigger cannot count a day twice) and ``ValueError`` for a gap."""
        if self.last_day is not None:
            if day <= self.last_day:
                raise AlreadyLearned(f"{day} is not after {self.last_day}")
            if day != self.last_day + timedelta(days=1):
                raise ValueError(f"{day} leaves a gap after {self.last_day}: use learn_closed_day")
        if type(revenue_cents) is not int or type(units) is not int:
            raise TypeError("revenue_cents and units are integers")
        self.revenue.learn(day, float(revenue_cents))
        self.units.learn(day, float(units))
        self.learned_revenue.append(revenue_cents)
        self.learned_units.append(units)
        if self.first_day is None:
            self.first_day = day
        self.last_day = day

    def fill_gap(self, until: date) -> int:
        """Learn zeros for every day after the last learned one and before ``until``;
        returns how many. Nothing happens before the first day learned."""
        days = missing_days(self.last_day, until)
        for day in days:
            self.learn_day(day, 0, 0)
        return len(days)

    def learn_closed_day(self, day: date, revenue_cents: int, units: int) -> int:
        """``fill_gap(day)`` then ``learn_day``: the worker's call when a day closes.
        Returns the number of zero days learned before it."""
        filled = self.fill_gap(day)
        self.learn_day(day, revenue_cents, units)
        return filled

    # --------------------------------------------------------------- forecasting

    def forecast(self, horizon_days: int) -> SeriesForecast:
        """The next ``horizon_days`` days after the last learned one (empty before any)."""
        if horizon_days < 0:
            raise ValueError("horizon_days >= 0")
        if self.last_day is None:
            return SeriesForecast((), ())
        days = forecast_days(self.last_day, horizon_days)
        revenue = self.revenue.forecast(horizon_days)
        units = self.units.forecast(horizon_days)
        return SeriesForecast(
            tuple(_point(day, band) for day, band in zip(days, revenue, strict=True)),
            tuple(_point(day, band) for day, band in zip(days, units, strict=True)),
        )

    def forecast_total(self, days: int) -> TotalsForecast:
        """The sum of the next ``days`` days (from the day after the last learned one), with
        intervals calibrated on past sums of as many days (not a sum of daily intervals:
        a day's error and the next day's are correlated)."""
        if days < 1 or self.last_day is None:
            raise ValueError("need days >= 1 and at least one day learned")
        first = self.last_day + timedelta(days=1)
        last = self.last_day + timedelta(days=days)
        return TotalsForecast(
            _total(first, last, self.revenue.forecast_total(days)),
            _total(first, last, self.units.forecast_total(days)),
        )

    # --------------------------------------------------------------------- state

    def to_state(self) -> bytes:
        """Everything the forecaster knows, as compact JSON (a few tens of KB at most)."""
        document = {
            "version": STATE_VERSION,
            "config": {
                "profile": asdict(self.config.profile),
                "intervals": asdict(self.config.intervals),
            },
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "revenue": _series_state(self.revenue),
            "units": _series_state(self.units),
            "learned_revenue": self.learned_revenue,
            "learned_units": self.learned_units,
        }
        return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_state(cls, data: bytes) -> DailyForecaster:
        document = json.loads(data)
        if document.get("version") != STATE_VERSION:
            raise ValueError(f"unknown forecaster state version {document.get('version')}")
        config = ForecastConfig(
            ProfileParams(**document["config"]["profile"]),
            IntervalParams(**document["config"]["intervals"]),
        )
        forecaster = cls(config)
        first, last = document["first_day"], document["last_day"]
        forecaster.first_day = date.fromisoformat(first) if first else None
        forecaster.last_day = date.fromisoformat(last) if last else None
        forecaster.revenue = _series_from_state(document["revenue"])
        forecaster.units = _series_from_state(document["units"])
        forecaster.learned_revenue = [int(v) for v in document["learned_revenue"]]
        forecaster.learned_units = [int(v) for v in document["learned_units"]]
        return forecaster

    def history(self) -> list[DailyTotals]:
        """Every day learned, as learned (zeros included)."""
        if self.first_day is None:
            return []
        return [
            DailyTotals(self.first_day + timedelta(days=n), revenue, units)
            for n, (revenue, units) in enumerate(
                zip(self.learned_revenue, self.learned_units, strict=True)
            )
        ]

    def as_of(self, day: date) -> DailyForecaster:
        """The forecaster as it stood once ``day`` was learned (its forecasts start on the
        day after), replayed from its own history: what the API showed that day, whatever
        reached the aggregates since. Days after the last learned one are zeros; a day
        before the first gives an empty forecaster. Costs one ``learn_day`` per day replayed
        (about 0.1 ms each; docs/benchmarks.md)."""
        return DailyForecaster.replay(self.history(), self.config, through=day)

    @classmethod
    def replay(
        cls,
        days: Iterable[DailyTotals | tuple[date, int, int]],
        config: ForecastConfig | None = None,
        through: date | None = None,
    ) -> DailyForecaster:
        """A forecaster rebuilt from daily totals in day order (missing days are zeros),
        stopping after ``through`` when given: the forecaster "as of" that day."""
        forecaster = cls(config)
        for day, revenue_cents, units in days:
            if through is not None and day > through:
                break
            forecaster.learn_closed_day(day, revenue_cents, units)
        if through is not None and forecaster.last_day is not None:
            forecaster.fill_gap(through + timedelta(days=1))
        return forecaster


def _point(day: date, band: Band) -> ForecastPoint:
    mid, low80, high80, low95, high95 = band
    return ForecastPoint(
        day, to_int(mid), to_int(low80), to_int(high80), to_int(low95), to_int(high95)
    )


def _total(first: date, last: date, band: Band) -> TotalForecast:
    return TotalForecast(first, last, *(to_int(value) for value in band))


def _series_state(series: SeriesForecaster) -> dict[str, Any]:
    model = series.model
    if not isinstance(model, WeekdayProfile):
        raise TypeError("only the WeekdayProfile model has a state format")
    return {"model": model.to_state(), "bands": series.bands.to_state()}


def _series_from_state(state: dict[str, Any]) -> SeriesForecaster:
    return SeriesForecaster(
        WeekdayProfile.from_state(state["model"]), ConformalBands.from_state(state["bands"])
    )


def forecast_days(last_day: date, horizon: int) -> list[date]:
    """The days a forecast of ``horizon`` days from ``last_day`` covers."""
    return [last_day + timedelta(days=n + 1) for n in range(horizon)]
