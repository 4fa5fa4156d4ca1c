"""Daily forecasts of a store's or a seller's revenue and units, with calibrated intervals.

Pure, deterministic and I/O-free: the worker feeds closed days, the API asks for forecasts.

* ``DailyForecaster`` (``series``): learns one closed day at a time (``learn_day``,
  ``learn_closed_day`` fills the days without sales with zeros), forecasts the next days
  (``forecast``) and sums of them (``forecast_total``) with 80 % and 95 % intervals
  calibrated on its own past errors (``intervals``), saves and restores its state
  (``to_state`` / ``from_state``) and is rebuilt from daily totals by ``replay``.
* ``HourProfile`` and ``project_today`` (``intraday``): today = sold so far + the rest of the
  day from the hour-of-day profile; ``project_period_end``: a period's actual to date + the
  forecast of its remaining days, with low and high.
* ``WeekdayProfile`` (``models``), the point model chosen by ``bench/forecast.py`` against
  River's SNARIMAX, Holt-Winters and a calendar regression (``candidates``) and the
  seasonal-naive reference: docs/benchmarks.md, "Forecast quality".

Money: inputs are integer cents; models compute in floats; every figure returned for
display is an integer (cents, or units), rounded half-even once (``to_int``).
"""

from app.forecast.intervals import BUCKETS, MAX_HORIZON, Band, ConformalBands, IntervalParams
from app.forecast.intraday import (
    HourProfile,
    PeriodProjection,
    TodayProjection,
    project_period_end,
    project_today,
    share_done,
)
from app.forecast.models import PointForecaster, ProfileParams, SeasonalNaive, WeekdayProfile
from app.forecast.series import (
    AlreadyLearned,
    DailyForecaster,
    DailyTotals,
    ForecastConfig,
    ForecastPoint,
    SeriesForecast,
    SeriesForecaster,
    TotalForecast,
    TotalsForecast,
    missing_days,
    to_int,
)

__all__ = [
    "BUCKETS",
    "MAX_HORIZON",
    "AlreadyLearned",
    "Band",
    "ConformalBands",
    "DailyForecaster",
    "DailyTotals",
    "ForecastConfig",
    "ForecastPoint",
    "HourProfile",
    "IntervalParams",
    "PeriodProjection",
    "PointForecaster",
    "ProfileParams",
    "SeasonalNaive",
    "SeriesForecast",
    "SeriesForecaster",
    "TodayProjection",
    "TotalForecast",
    "TotalsForecast",
    "WeekdayProfile",
    "missing_days",
    "project_period_end",
    "project_today",
    "share_done",
    "to_int",
]
