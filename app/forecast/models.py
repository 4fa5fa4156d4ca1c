"""Point forecasters of one daily series: the one DataApp uses and the seasonal-naive reference.

A point forecaster learns one day at a time, in day order, and forecasts the days after the
last one it learned (River's uniform interface, with the day passed explicitly because the
weekday is what the models key on):

    model.learn_one(day, y)        # day must follow the previous one; closed days are zeros
    model.forecast(horizon)        # [y(last + 1), ..., y(last + horizon)], floats

``WeekdayProfile`` is the model chosen by ``bench/forecast.py`` (docs/benchmarks.md,
"Forecast quality"): a level times a weekday profile, both exponentially smoothed, with
outliers clipped (Huber) before they reach either. ``SeasonalNaive`` is the reference MASE is
measured against. River's models, compared with these in the benchmark, are adapted in
``app.forecast.candidates``.

Both models here are deterministic pure Python (no randomness, no numpy) and export their
whole state as a JSON-compatible dict: floats survive ``json`` exactly (``repr`` round-trips),
so a restored model forecasts bit for bit what the original would.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Protocol

WEEK = 7


class PointForecaster(Protocol):
    """What ``SeriesForecaster`` needs of a model: learn a day, forecast the next days."""

    last_day: date | None

    def learn_one(self, day: date, y: float) -> None: ...

    def forecast(self, horizon: int) -> list[float]: ...


def check_next_day(last_day: date | None, day: date) -> None:
    """Models learn consecutive days only: a gap would silently shift the weekday profile."""
    if last_day is not None and day != last_day + timedelta(days=1):
        raise ValueError(f"expected {last_day + timedelta(days=1)}, got {day}")


class SeasonalNaive:
    """Same weekday last week: the forecast of day ``d`` is the last learned value on ``d``'s
    weekday. With less than a week learned, the mean of what was learned (0.0 before)."""

    def __init__(self) -> None:
        self.last_day: date | None = None
        self.recent: list[float] = []  # the last 7 values, oldest first

    def learn_one(self, day: date, y: float) -> None:
        check_next_day(self.last_day, day)
        self.last_day = day
        self.recent = [*self.recent[-(WEEK - 1) :], float(y)]

    def forecast(self, horizon: int) -> list[float]:
        if len(self.recent) < WEEK:
            mean = sum(self.recent) / len(self.recent) if self.recent else 0.0
            return [mean] * horizon
        # recent[0] is the day 6 days before the last one, i.e. the weekday of last + 1.
        return [self.recent[h % WEEK] for h in range(horizon)]

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": "seasonal-naive",
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "recent": list(self.recent),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeasonalNaive:
        model = cls()
        model.last_day = date.fromisoformat(state["last_day"]) if state["last_day"] else None
        model.recent = [float(v) for v in state["recent"]]
        return model


@dataclass(frozen=True, slots=True)
class ProfileParams:
    """Smoothing constants of ``WeekdayProfile``. The defaults are the best of the
    benchmark's grid (``bench/forecast.py --tune``) on generated chains 1, 2 and 3, which the
    reported figures do not use (docs/benchmarks.md, "Forecast quality")."""

    alpha: float = 0.05
    """Weight of a new day's residual in the level (about the last 1 / alpha days count)."""
    gamma: float = 0.05
    """Weight of a new week in the weekday profile (about the last 1 / gamma weeks)."""
    beta: float = 0.02
    """Weight of a new day's level change in the trend; 0 switches the trend off."""
    phi: float = 1.0
    """Damping of the trend per day ahead (only with beta > 0); 1 is a linear trend. The
    grid preferred it to damping (0.9, 0.95) on growing generated chains; a trend is the
    smoothed day-to-day change of the level (about 50 days at beta = 0.02)."""
    huber_k: float = 2.5
    """Residuals beyond huber_k robust standard deviations are clipped before learning."""
    spread_alpha: float = 0.05
    """Weight of a new absolute residual in the robust spread."""
    closure_days: int = 14
    """Up to this many zero days in a row, on weekdays the series is open, are a closure
    (a holiday, a seller's leave) and are not learned, if zeros are otherwise rare."""
    closure_zero_rate: float = 0.05
    """'Rare': the smoothed share of zero days on open weekdays is below this (0 switches
    closures off)."""

    def __post_init__(self) -> None:
        for name in ("alpha", "gamma", "spread_alpha"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if not 0.0 <= self.beta <= 1.0 or not 0.0 < self.phi <= 1.0 or self.huber_k <= 0.0:
            raise ValueError("beta in [0, 1], phi in (0, 1], huber_k > 0")


# A weekday whose profile is below this share of an average day is treated as closed: it
# says nothing about the level (dividing by ~0 would blow the level up).
_CLOSED_SHARE = 1e-3
# Mean absolute deviation -> standard deviation for normal residuals (sqrt(pi / 2)).
_MAD_TO_SD = 1.2533141373155003


class WeekdayProfile:
    """Level x weekday profile, exponentially smoothed, robust to outliers.

    The forecast of day ``d`` is ``(level + damped trend) * profile[d.weekday()]``, the
    profile averaging 1 over the week. It is multiplicative because retail weekdays scale
    with the store's size: a Saturday is "1.5 average days" in a big store and a small one.
    A weekday that is always zero (a shop closed on Saturdays) gets a profile of 0 and is
    forecast as 0 without disturbing the level.

    Learning a day:
      * the first 7 days are kept as they come; then level = their mean and profile = each
        day over that mean (so that, after one week, the forecast is the seasonal naive);
      * each later day: the one-step residual is clipped at ``huber_k`` robust standard
        deviations (the spread, an exponentially weighted mean absolute residual, starts
        from the first week's), so a one-off day (a bulk order, a cancelled one) moves the
        model by at most that much;
      * the level moves by ``alpha`` x the residual, the weekday's factor towards the day
        over the level by ``gamma``, and a damped trend follows the level (``beta``), each
        weight no less than 1 / n while history is short, so that the single noisy week the
        profile started from is averaged away within weeks rather than decaying as
        (1 - gamma)^weeks;
      * a zero on a weekday the series is open, when zeros are otherwise rare, starts a
        *closure* (a holiday, a seller's leave): up to ``closure_days`` such days in a row
        are not learned, so a shop closed for Christmas is forecast at its usual level when
        it reopens; longer runs are learned as zeros (the business really stopped). The
        days still count as learned days (the caller learns them as zeros; the intervals
        score them);
      * the profile is renormalised to mean 1 (the level absorbs the factor), which keeps
        "level" readable as the average day and changes no forecast.
    """

    def __init__(self, params: ProfileParams | None = None) -> None:
        self.params = params or ProfileParams()
        self.last_day: date | None = None
        self.warmup: list[float] = []
        self.warmup_weekdays: list[int] = []
        self.ready = False
        self.level = 0.0
        self.trend = 0.0
        self.profile = [1.0] * WEEK  # indexed by date.weekday()
        self.days_seen = 0  # days learned since the model became ready
        self.weeks_seen = [0] * WEEK  # per weekday, days learned since ready
        self.spread = 0.0
        self.spread_count = 0
        self.zero_rate = 0.0
        self.zero_run = 0

    # ------------------------------------------------------------------ learning

    def learn_one(self, day: date, y: float) -> None:
        check_next_day(self.last_day, day)
        self.last_day = day
        y = float(y)
        if not self.ready:
            self.warmup.append(y)
            self.warmup_weekdays.append(day.weekday())
            if len(self.warmup) == WEEK:
                self._start()
            return
        self._update(day.weekday(), y)

    def _start(self) -> None:
        mean = sum(self.warmup) / WEEK
        self.level = max(mean, 0.0)
        if self.level > 0.0:
            for weekday, y in zip(self.warmup_weekdays, self.warmup, strict=True):
                self.profile[weekday] = max(y, 0.0) / self.level
            self._normalise()
        # The first week's spread around its mean (weekday pattern included: a generous
        # start) lets the Huber clip work from the first update: a spike in week two must
        # not become the level.
        self.spread = sum(abs(y - mean) for y in self.warmup) / WEEK
        self.spread_count = WEEK
        open_days = [
            y
            for weekday, y in zip(self.warmup_weekdays, self.warmup, strict=True)
            if self.profile[weekday] > _CLOSED_SHARE
        ]
        if open_days:
            self.zero_rate = sum(1 for y in open_days if y == 0.0) / len(open_days)
        self.warmup = []
        self.warmup_weekdays = []
        self.ready = True

    def _update(self, weekday: int, y: float) -> None:
        p = self.params
        share = self.profile[weekday]
        trend = p.phi * self.trend if p.beta > 0.0 else 0.0
        base = max(self.level + trend, 0.0)
        expected = base * share
        is_open = share > _CLOSED_SHARE
        if y == 0.0 and is_open and expected > 0.0:
            # A closure: held, not learned. It counts once as a zero in the zero rate, so
            # that a series whose zeros are scattered (little demand) stops being "closed".
            if 0 < self.zero_run < p.closure_days:
                self.zero_run += 1
                return
            if self.zero_run == 0 and self.zero_rate < p.closure_zero_rate:
                self.zero_run = 1
                self.zero_rate += p.spread_alpha * (1.0 - self.zero_rate)
                return
        if y != 0.0:
            self.zero_run = 0
        if is_open:
            self.zero_rate += p.spread_alpha * ((1.0 if y == 0.0 else 0.0) - self.zero_rate)
        residual = y - expected
        limit = p.huber_k * _MAD_TO_SD * self.spread
        if limit > 0.0:
            residual = min(max(residual, -limit), limit)
        cleaned = expected + residual
        if expected != 0.0 or y != 0.0:
            # Closed days (forecast 0, actual 0) would shrink the spread towards 0.
            weight = max(p.spread_alpha, 1.0 / (self.spread_count + 1))
            self.spread += weight * (abs(residual) - self.spread)
            self.spread_count += 1

        self.days_seen += 1
        previous_level = self.level
        # The level moves by a share of the residual itself, not of residual / share: a day
        # whose weekday is small (share 0.05) carries little evidence about the level, and
        # dividing by its share would turn one sale on a quiet weekday into a new level.
        weight = max(p.alpha, 1.0 / (self.days_seen + WEEK))
        self.level = max(base + weight * residual, 0.0)
        if p.beta > 0.0:
            self.trend = p.beta * (self.level - previous_level) + (1.0 - p.beta) * trend
        if base > 0.0:
            self.weeks_seen[weekday] += 1
            weight = max(p.gamma, 1.0 / (self.weeks_seen[weekday] + 1))
            observed = max(cleaned, 0.0) / base
            self.profile[weekday] = share + weight * (observed - share)
            self._normalise()

    def _normalise(self) -> None:
        mean = sum(self.profile) / WEEK
        if mean > 0.0:
            self.profile = [value / mean for value in self.profile]
            self.level *= mean
            self.trend *= mean

    # --------------------------------------------------------------- forecasting

    def forecast(self, horizon: int) -> list[float]:
        if not self.ready:
            mean = sum(self.warmup) / len(self.warmup) if self.warmup else 0.0
            return [mean] * horizon
        assert self.last_day is not None
        first = self.last_day.weekday() + 1
        out: list[float] = []
        level = self.level
        damping = 1.0
        for step in range(horizon):
            if self.params.beta > 0.0:
                damping *= self.params.phi
                level += damping * self.trend
            out.append(max(level, 0.0) * self.profile[(first + step) % WEEK])
        return out

    # --------------------------------------------------------------------- state

    def to_state(self) -> dict[str, Any]:
        return {
            "kind": "weekday-profile",
            "params": asdict(self.params),
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "warmup": list(self.warmup),
            "warmup_weekdays": list(self.warmup_weekdays),
            "ready": self.ready,
            "level": self.level,
            "trend": self.trend,
            "profile": list(self.profile),
            "days_seen": self.days_seen,
            "weeks_seen": list(self.weeks_seen),
            "spread": self.spread,
            "spread_count": self.spread_count,
            "zero_rate": self.zero_rate,
            "zero_run": self.zero_run,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WeekdayProfile:
        model = cls(ProfileParams(**state["params"]))
        model.last_day = date.fromisoformat(state["last_day"]) if state["last_day"] else None
        model.warmup = [float(v) for v in state["warmup"]]
        model.warmup_weekdays = [int(v) for v in state["warmup_weekdays"]]
        model.ready = bool(state["ready"])
        model.level = float(state["level"])
        model.trend = float(state["trend"])
        model.profile = [float(v) for v in state["profile"]]
        model.days_seen = int(state["days_seen"])
        model.weeks_seen = [int(v) for v in state["weeks_seen"]]
        model.spread = float(state["spread"])
        model.spread_count = int(state["spread_count"])
        model.zero_rate = float(state["zero_rate"])
        model.zero_run = int(state["zero_run"])
        if not all(math.isfinite(v) for v in (model.level, model.trend, *model.profile)):
            raise ValueError("model state holds a non-finite number")
        return model
