"""River's forecasters behind the point-forecaster interface, for the benchmark's comparison.

``bench/forecast.py`` runs each of these through the same ``SeriesForecaster`` (learning,
conformal intervals, scoring) as ``WeekdayProfile`` and reports which is best by MASE; these
adapters are kept in the package so that the comparison can be re-run on new data, and so
that a model can be swapped in should real data rank them differently. They have no state
format: only the chosen model is persisted (``app.forecast.series``).

Scaling. Daily revenue is in the millions of cents; River's SGD regressors diverge on raw
values and Holt-Winters' multiplicative form divides by them, so every adapter learns
``y / scale`` with ``scale`` the mean |y| of the first week (frozen, so the model stays a
deterministic function of the days learned), and multiplies forecasts back. Until a week
is learned the adapters forecast the mean so far, as ``WeekdayProfile`` does.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import date
from typing import Any

from river import linear_model, optim, preprocessing, time_series

from app.forecast.models import WEEK, check_next_day


class _Scaled:
    """The first-week buffer and the frozen scale shared by the adapters."""

    def __init__(self) -> None:
        self.last_day: date | None = None
        self.scale = 0.0
        self.buffer: list[tuple[date, float]] = []

    def learn_one(self, day: date, y: float) -> None:
        check_next_day(self.last_day, day)
        self.last_day = day
        if self.scale == 0.0:
            self.buffer.append((day, float(y)))
            if len(self.buffer) < WEEK:
                return
            self.scale = sum(abs(v) for _, v in self.buffer) / WEEK or 1.0
            for past_day, value in self.buffer:
                self._learn(past_day, value / self.scale)
            self.buffer = []
            return
        self._learn(day, float(y) / self.scale)

    def forecast(self, horizon: int) -> list[float]:
        if self.scale == 0.0:
            mean = sum(v for _, v in self.buffer) / len(self.buffer) if self.buffer else 0.0
            return [mean] * horizon
        out = [value * self.scale for value in self._forecast(horizon)]
        # A diverged SGD model must not poison the intervals with NaN: fall back to 0.
        return [value if math.isfinite(value) else 0.0 for value in out]

    def _learn(self, day: date, y: float) -> None:
        raise NotImplementedError

    def _forecast(self, horizon: int) -> list[float]:
        raise NotImplementedError


class RiverHoltWinters(_Scaled):
    """``river.time_series.HoltWinters`` with weekly seasonality (m = 7).

    Two defects of River 0.26.1's initialisation (after the first 7 values) are corrected
    here, else the comparison would measure them rather than the method: the seasonal
    components start as ratios y / level even in the additive form (whose forecasts then
    start near twice the level), and the trend starts as the mean day-to-day difference of
    the first week, which is the weekday pattern, not a trend (+4 % a day on the generated
    chain). After initialisation the additive components are rewritten as y - level and the
    trend as 0 (River's private ``_initialized``, ``season`` and ``trend``; River is pinned).

    River's multiplicative form divides by past values and seasonal factors, so a weekday
    that is always zero (a shop closed on Saturdays) raises ZeroDivisionError: the
    multiplicative variant learns max(y, 0.001 scale) instead of y.
    """

    def __init__(
        self, alpha: float, beta: float, gamma: float, multiplicative: bool = False
    ) -> None:
        super().__init__()
        self.multiplicative = multiplicative
        self.model = time_series.HoltWinters(
            alpha=alpha, beta=beta, gamma=gamma, seasonality=WEEK, multiplicative=multiplicative
        )

    def _learn(self, day: date, y: float) -> None:
        model = self.model
        was_ready = model._initialized
        model.learn_one(max(y, 1e-3) if self.multiplicative else y)
        if was_ready or not model._initialized:
            return
        level = model.level[-1]
        if not self.multiplicative:
            seasons = [v - level for v in model._first_values]
            model.season.clear()
            model.season.extend(seasons)
        if model.trend is not None:
            model.trend.clear()
            model.trend.append(0.0)

    def _forecast(self, horizon: int) -> list[float]:
        return [float(v) for v in self.model.forecast(horizon)]


class RiverSnarimax(_Scaled):
    """``river.time_series.SNARIMAX`` with weekly seasonality (m = 7), its default regressor
    (StandardScaler | LinearRegression) with the given SGD learning rate."""

    def __init__(
        self,
        p: int = 1,
        d: int = 0,
        q: int = 0,
        sp: int = 1,
        sd: int = 1,
        sq: int = 1,
        lr: float = 0.01,
    ) -> None:
        super().__init__()
        regressor = preprocessing.StandardScaler() | linear_model.LinearRegression(
            optimizer=optim.SGD(lr), intercept_lr=lr
        )
        self.model = time_series.SNARIMAX(
            p=p, d=d, q=q, m=WEEK, sp=sp, sd=sd, sq=sq, regressor=regressor
        )

    def _learn(self, day: date, y: float) -> None:
        self.model.learn_one(y)

    def _forecast(self, horizon: int) -> list[float]:
        return [float(v) for v in self.model.forecast(horizon)]


class RiverCalendarRegression(_Scaled):
    """``river.linear_model.LinearRegression`` on calendar and recent-level features.

    Features of day d: weekday one-hot, the mean of the 7 days before d ("level"), that
    level times the weekday one-hot (so the model can learn a multiplicative weekday
    profile), the same weekday last week, and a slow trend (days since the start / 365).
    Multi-day forecasts are recursive: forecast values stand in for the days not yet seen.
    """

    def __init__(self, lr: float = 0.01, l2: float = 0.0) -> None:
        super().__init__()
        self.model = linear_model.LinearRegression(optimizer=optim.SGD(lr), intercept_lr=lr, l2=l2)
        self.history: deque[float] = deque(maxlen=WEEK)
        self.start: date | None = None
        self.next_day: date | None = None

    def _features(self, day: date, history: deque[float]) -> dict[str, Any]:
        assert self.start is not None
        weekday = day.weekday()
        level = sum(history) / len(history) if history else 0.0
        x: dict[str, Any] = {f"wd{weekday}": 1.0, f"lvl_wd{weekday}": level}
        x["level"] = level
        x["last_week"] = history[0] if len(history) == WEEK else level
        x["trend"] = (day - self.start).days / 365.0
        return x

    def _learn(self, day: date, y: float) -> None:
        if self.start is None:
            self.start = day
        if len(self.history) == WEEK:
            self.model.learn_one(self._features(day, self.history), y)
        self.history.append(y)
        self.next_day = date.fromordinal(day.toordinal() + 1)

    def _forecast(self, horizon: int) -> list[float]:
        assert self.next_day is not None
        history = deque(self.history, maxlen=WEEK)
        out: list[float] = []
        for step in range(horizon):
            day = date.fromordinal(self.next_day.toordinal() + step)
            value = float(self.model.predict_one(self._features(day, history)))
            out.append(value)
            history.append(value)
        return out
