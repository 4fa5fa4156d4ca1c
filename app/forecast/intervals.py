"""Prediction intervals from a model's own past errors: split conformal, per horizon bucket.

Every time the series learns a day (the "origin"), the model's forecast path for the next
days is recorded; as those days close, each forecast's absolute error becomes a *score*,
kept per horizon bucket. The 80 % (95 %) interval of a new forecast is the forecast plus or
minus the conformal quantile of its bucket's scores: the ceil((n + 1) * 0.8)-th smallest of
n scores. If the errors to come are like the recent ones (exchangeable), the interval holds
the actual value at least 80 % (95 %) of the time; ``bench/forecast.py`` measures how often
it does.

Two details make that hold on retail series:

* scores are *normalised*: |actual - forecast| / max(|forecast|, floor), where the floor is
  ``floor_share`` of a typical day (an exponentially weighted mean of |actual|). Errors grow
  with the level (a Saturday, a bigger month), so a relative score carries over from one
  day to another; the floor keeps a forecast of 0 (a closed weekday) from dividing by 0.
* the same is done for *cumulative* sums (the next k days together), because a period's
  projection ("the rest of the month") is a sum whose errors are correlated from day to
  day: adding daily intervals would be far too wide or, assuming independence, too narrow.
  A sum's score is its relative error times k ** ``TOTAL_EXPONENT``, so windows of different
  lengths pooled in one bucket are comparable.

Buckets pool neighbouring horizons (errors grow slowly with the horizon). To keep the state
small, each origin contributes ONE score per bucket, at a horizon that rotates through the
bucket with the origin's date: a window of ``window`` scores is then ``window`` days of
origins whatever the bucket's width. Origins of the series' first ``skip_first_days`` days
are not scored: the model is then still its seasonal-naive start, whose errors are larger
than the ones to come, and keeping them made later intervals too wide (measured: coverage
0.84 / 0.97 instead of 0.83 / 0.96 on a generated chain, 95 % bands 18 % wider). A bucket with
fewer than ``min_scores`` scores (the fewest a 95 % quantile can rest on) borrows the scores
of every bucket up to it, then of all buckets; with fewer still, default widths apply
(``DEFAULT_SCORES``): the first intervals of a new series are guesses, and the benchmark
counts them in its coverage.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, NamedTuple

BUCKETS: tuple[tuple[int, int], ...] = (
    (1, 1),
    (2, 3),
    (4, 7),
    (8, 14),
    (15, 21),
    (22, 28),
    (29, 35),
)
"""Horizon buckets, first and last horizon (days ahead) of each. Horizons beyond the last
bucket use the last one."""
MAX_HORIZON = BUCKETS[-1][1]
LEVELS: tuple[float, float] = (0.8, 0.95)
DEFAULT_SCORES: tuple[float, float] = (0.5, 1.0)
"""Relative half-widths used before any bucket has ``min_scores`` scores."""


class Band(NamedTuple):
    """A forecast and its two intervals, as floats (``series`` rounds them to integers)."""

    mid: float
    low80: float
    high80: float
    low95: float
    high95: float


@dataclass(frozen=True, slots=True)
class IntervalParams:
    window: int = 91
    """Scores kept per bucket: the last 13 weeks of origins."""
    min_scores: int = 19
    """ceil((n + 1) * 0.95) <= n needs n >= 19."""
    floor_share: float = 0.1
    """Normaliser floor, as a share of a typical day."""
    typical_alpha: float = 0.1
    """Weight of a new day in the typical |day| (the floor's reference)."""
    skip_first_days: int = 14
    """Forecasts made before this many days were learned are not scored."""

    def __post_init__(self) -> None:
        if self.window < self.min_scores or self.min_scores < 19:
            raise ValueError("need min_scores >= 19 and window >= min_scores")
        if self.skip_first_days < 0:
            raise ValueError("skip_first_days >= 0")
        if self.floor_share <= 0.0 or not 0.0 < self.typical_alpha <= 1.0:
            raise ValueError("floor_share > 0 and typical_alpha in (0, 1]")


def bucket_of(horizon: int) -> int:
    """Index in ``BUCKETS`` of a horizon (1 = tomorrow when the last learned day is today)."""
    if horizon < 1:
        raise ValueError("horizons start at 1")
    for index, (_, last) in enumerate(BUCKETS):
        if horizon <= last:
            return index
    return len(BUCKETS) - 1


def conformal_quantile(scores: Sequence[float], level: float) -> float:
    """The ceil((n + 1) * level)-th smallest score; the largest when n is too small for it."""
    return _ranked(sorted(scores), level)


def _ranked(ordered: Sequence[float], level: float) -> float:
    rank = math.ceil((len(ordered) + 1) * level)
    return ordered[min(rank, len(ordered)) - 1]


def sampled_horizons(origin_ordinal: int) -> list[int]:
    """The horizon each bucket scores for an origin: it rotates through the bucket with
    the calendar, not with the series' age, so a replay from any start samples the same
    horizons on the same days."""
    return [first + origin_ordinal % (last - first + 1) for first, last in BUCKETS]


def _stored(value: float) -> float:
    """Four significant digits: plenty for a relative error, and a third of the state.
    Applied where a number is stored, so a restored or replayed state is the same."""
    return float(f"{value:.4g}")


@dataclass(slots=True)
class _Pending:
    """What one origin forecast, at the one horizon it contributes per bucket."""

    origin: int  # the origin's date ordinal
    age: int  # days learned since the origin
    floor: float  # the normaliser's floor at the origin (floor_share x typical day)
    day_forecasts: list[float]
    total_forecasts: list[float]
    horizons: list[int] = field(default_factory=list)  # derived from origin, not stored

    def __post_init__(self) -> None:
        self.horizons = sampled_horizons(self.origin)


@dataclass(slots=True)
class ConformalBands:
    """Scores of past forecasts of one series, and the intervals they give.

    Call ``learn(y)`` with each new day's actual value *before* the model learns it, then
    ``record(day, path)`` with the model's forecast path from that day (``MAX_HORIZON`` days).
    """

    params: IntervalParams = field(default_factory=IntervalParams)
    typical: float = 0.0
    typical_count: int = 0
    actuals: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_HORIZON))
    pending: list[_Pending] = field(default_factory=list)
    day_scores: list[deque[float]] = field(default_factory=list)
    total_scores: list[deque[float]] = field(default_factory=list)
    _day_q: list[tuple[float, float] | None] = field(default_factory=list)
    _total_q: list[tuple[float, float] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.day_scores:
            self.day_scores = [deque(maxlen=self.params.window) for _ in BUCKETS]
            self.total_scores = [deque(maxlen=self.params.window) for _ in BUCKETS]
        self._refresh()

    # ------------------------------------------------------------------ learning

    def learn(self, y: float) -> None:
        """The next day's actual: scores every pending forecast that reached it."""
        self.actuals.append(y)
        weight = max(self.params.typical_alpha, 1.0 / (self.typical_count + 1))
        self.typical += weight * (abs(y) - self.typical)
        self.typical_count += 1
        actuals = list(self.actuals)
        kept: list[_Pending] = []
        scored = False
        for item in self.pending:
            item.age += 1
            for index, horizon in enumerate(item.horizons):
                if horizon != item.age:
                    continue
                forecast = item.day_forecasts[index]
                score = abs(y - forecast) / _scale(forecast, item.floor)
                self.day_scores[index].append(_stored(score))
                total = math.fsum(actuals[-horizon:])
                forecast = item.total_forecasts[index]
                score = abs(total - forecast) / _total_scale(forecast, item.floor, horizon)
                self.total_scores[index].append(_stored(score))
                scored = True
            if item.age < MAX_HORIZON:
                kept.append(item)
        self.pending = kept
        if scored:
            self._refresh()

    def record(self, origin: date, path: Sequence[float]) -> None:
        """The forecast made at ``origin`` (the day just learned) for the next days."""
        if len(path) < MAX_HORIZON:
            raise ValueError(f"need a path of {MAX_HORIZON} days")
        if self.typical_count < self.params.skip_first_days:
            return
        ordinal = origin.toordinal()
        horizons = sampled_horizons(ordinal)
        self.pending.append(
            _Pending(
                ordinal,
                0,
                _stored(self.params.floor_share * self.typical),
                [_stored(path[horizon - 1]) for horizon in horizons],
                [_stored(math.fsum(path[:horizon])) for horizon in horizons],
            )
        )

    def _refresh(self) -> None:
        self._day_q = _quantiles(self.day_scores, self.params.min_scores)
        self._total_q = _quantiles(self.total_scores, self.params.min_scores)

    # --------------------------------------------------------------- intervals

    def band(self, horizon: int, mid: float) -> Band:
        """Intervals of a forecast ``mid`` of the day ``horizon`` days after the last one."""
        floor = self.params.floor_share * self.typical
        return _band(mid, _scale(mid, floor), self._day_q[bucket_of(horizon)])

    def band_total(self, days: int, mid: float) -> Band:
        """Intervals of a forecast ``mid`` of the sum of the next ``days`` days."""
        floor = self.params.floor_share * self.typical
        return _band(mid, _total_scale(mid, floor, days), self._total_q[bucket_of(days)])

    def band_window(self, last_horizon: int, days: int, mid: float) -> Band:
        """Intervals of a forecast ``mid`` of the sum of the ``days`` days ending
        ``last_horizon`` days after the last one learned (a window that starts later than
        tomorrow: next week, next month). Scores exist only for windows that start
        tomorrow, so this borrows the widest quantiles of the buckets from that of ``days``
        to that of the window's far end (its errors of the level are those of a forecast
        that far ahead, and it is no surer than the same window from tomorrow; the buckets'
        quantiles, pooled while scores are few, need not grow with the horizon) and scales
        them for ``days`` days (its day-to-day noise averages over ``days``). An
        approximation that ``bench/forecast.py`` does not measure; equal to
        ``band_total(days, mid)`` when ``last_horizon == days``."""
        if days < 1 or last_horizon < days:
            raise ValueError("need 1 <= days <= last_horizon")
        floor = self.params.floor_share * self.typical
        widest: tuple[float, float] | None = None
        for quantiles in self._total_q[bucket_of(days) : bucket_of(last_horizon) + 1]:
            q80, q95 = quantiles if quantiles is not None else DEFAULT_SCORES
            if widest is not None:
                q80, q95 = max(q80, widest[0]), max(q95, widest[1])
            widest = (q80, q95)
        return _band(mid, _total_scale(mid, floor, days), widest)

    def scores_count(self) -> list[int]:
        """Scores held per bucket (day forecasts)."""
        return [len(scores) for scores in self.day_scores]

    # --------------------------------------------------------------------- state

    def to_state(self) -> dict[str, Any]:
        return {
            "params": asdict(self.params),
            "typical": self.typical,
            "typical_count": self.typical_count,
            "actuals": list(self.actuals),
            "pending": [
                [item.origin, item.age, item.floor, item.day_forecasts, item.total_forecasts]
                for item in self.pending
            ],
            "day_scores": [list(scores) for scores in self.day_scores],
            "total_scores": [list(scores) for scores in self.total_scores],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConformalBands:
        params = IntervalParams(**state["params"])
        return cls(
            params=params,
            typical=float(state["typical"]),
            typical_count=int(state["typical_count"]),
            actuals=deque((float(v) for v in state["actuals"]), maxlen=MAX_HORIZON),
            pending=[
                _Pending(
                    int(origin),
                    int(age),
                    float(floor),
                    [float(v) for v in day_forecasts],
                    [float(v) for v in total_forecasts],
                )
                for origin, age, floor, day_forecasts, total_forecasts in state["pending"]
            ],
            day_scores=[
                deque((float(v) for v in scores), maxlen=params.window)
                for scores in state["day_scores"]
            ],
            total_scores=[
                deque((float(v) for v in scores), maxlen=params.window)
                for scores in state["total_scores"]
            ],
        )


TOTAL_EXPONENT = 0.25
"""Sums of more days have smaller relative errors (day-to-day noise averages out, like
1 / sqrt(days); errors of the level do not, like 1): a bucket pools windows of different
lengths, so their scores are put on one footing by this power of the length, measured
between the two (docs/benchmarks.md, "Forecast quality")."""


def _total_scale(total: float, floor: float, days: int) -> float:
    return _scale(total, floor * days) / days**TOTAL_EXPONENT


def _scale(value: float, floor: float) -> float:
    # The smallest positive scale keeps an all-zero series (nothing sold yet) finite.
    return max(abs(value), floor, 1e-9)


def _quantiles(
    buckets: Sequence[deque[float]], min_scores: int
) -> list[tuple[float, float] | None]:
    """Per bucket (80 %, 95 %) quantiles; a bucket short of scores pools those up to it,
    then all buckets' scores (early on the short horizons have more, the long ones none)."""
    out: list[tuple[float, float] | None] = []
    pooled: list[float] = []
    everything: list[float] | None = None
    for scores in buckets:
        pooled.extend(scores)
        if len(scores) >= min_scores:
            source: list[float] = sorted(scores)
        elif len(pooled) >= min_scores:
            source = sorted(pooled)
        else:
            if everything is None:
                everything = sorted(score for bucket in buckets for score in bucket)
            source = everything
        if len(source) < min_scores:
            out.append(None)
        else:
            out.append((_ranked(source, LEVELS[0]), _ranked(source, LEVELS[1])))
    return out


def _band(mid: float, scale: float, quantiles: tuple[float, float] | None) -> Band:
    q80, q95 = quantiles if quantiles is not None else DEFAULT_SCORES
    return Band(mid, mid - q80 * scale, mid + q80 * scale, mid - q95 * scale, mid + q95 * scale)
