"""Forecast quality: progressive validation of daily revenue forecasts, per candidate model.

    .venv/bin/python bench/forecast.py              # generated chain (seed 7) + Online Retail
    .venv/bin/python bench/forecast.py --seeds 7 11 --days 180
    .venv/bin/python bench/forecast.py --tune       # the parameter grids, on chains 1, 2, 3

Each series is a store's (or seller's) daily net revenue in integer cents, every day from the
first to the last, days without sales as 0. Progressive validation: for each day, every
candidate forecasts the next 28 days *as it stood* (having learned only the days before),
then learns the day. Reported per series and horizon (1, 7, 28 days ahead):

* MAE, in currency units;
* MASE = sum |actual - forecast| / sum |actual - same weekday a week before| over the same
  target days: below 1 the model beats "same weekday last week" (Hyndman's scaling with
  m = 7, taken on the evaluated days). For horizon 28 that reference is the stricter one: it
  is what seasonal naive achieves 7 days ahead, not 28;
* rel. snaive = the same ratio against the seasonal-naive forecast made from the same origin
  (the last observed same weekday: 28 days old at horizon 28);
* coverage of the 80 % and 95 % conformal intervals (``app.forecast.intervals``), on every
  forecast made, the first weeks included (intervals then rest on few or default scores);
* the cost of a learn and of a 28-day forecast, microseconds, of the whole per-measure
  forecaster (model + interval bookkeeping), and of ``DailyForecaster`` (revenue + units).

Forecasts start once a week is learned (seasonal naive needs it). Data:

(a) generated chains (``app.generator``: ``build_chain(seed, stores=8)``,
    ``SalesGenerator.orders_between``, 4,000 orders a day): each store's net revenue per
    local day, from the rows' own local timestamps (the store's zone), broken rows skipped
    as ingestion would reject them;
(b) Online Retail (``../shared/data/online-retail``): Country as the store, the top
    countries by revenue plus the whole shop; revenue = Quantity x UnitPrice in pence,
    cancellations negative, with the rows the shipped mapping skips or rejects left out
    (non-products, zero or sub-penny prices, negative quantities on ordinary invoices,
    exact duplicate lines); days in UK local time as written.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.forecast.candidates import (  # noqa: E402
    RiverCalendarRegression,
    RiverHoltWinters,
    RiverSnarimax,
)
from app.forecast.intervals import Band  # noqa: E402
from app.forecast.models import (  # noqa: E402
    WEEK,
    PointForecaster,
    ProfileParams,
    SeasonalNaive,
    WeekdayProfile,
)
from app.forecast.series import DailyForecaster, SeriesForecaster  # noqa: E402
from app.generator import SalesGenerator, build_chain  # noqa: E402

HORIZONS = (1, 7, 28)
WARMUP_DAYS = 7
SETTLED_DAYS = 35
"""Coverage is also shown for origins after this many days (intervals on real scores)."""
TARGET_MASE = 0.9
TOTAL_WINDOWS = (7, 28)
ONLINE_RETAIL_AFTER_HOLIDAYS = date(2011, 1, 17)
"""Two weeks after the shop reopened (4 January 2011) from its Christmas closure."""
ONLINE_RETAIL = REPO.parent / "shared" / "data" / "online-retail"
CHOSEN = "weekday-profile"

TUNING_SEEDS = (1, 2, 3)
# Each family's parameters are the best of its grid (``--tune``) on chains 1, 2 and 3,
# which are not chains the report is measured on.
CANDIDATES: dict[str, Callable[[], PointForecaster]] = {
    "seasonal-naive": SeasonalNaive,
    "weekday-profile": lambda: WeekdayProfile(ProfileParams()),
    "snarimax": lambda: RiverSnarimax(p=1, d=0, q=0, sp=1, sd=1, sq=1, lr=0.003),
    "holt-winters-add": lambda: RiverHoltWinters(0.05, 0.01, 0.3),
    "holt-winters-mul": lambda: RiverHoltWinters(0.05, 0.01, 0.3, multiplicative=True),
    "calendar-regression": lambda: RiverCalendarRegression(lr=0.03),
}


@dataclass(frozen=True)
class Series:
    name: str
    days: list[date]
    revenue: list[int]
    units: list[int]


# ------------------------------------------------------------------------------ data


def _cents(text: str) -> int:
    reais, _, cents = text.partition(".")
    value = int(reais.lstrip("-") or "0") * 100 + int((cents or "0").ljust(2, "0")[:2])
    return -value if text.startswith("-") else value


def generated_series(seed: int, days: int, stores: int = 8) -> list[Series]:
    """Daily net revenue and units per store of a generated chain, in each store's zone."""
    chain = build_chain(seed, stores=stores)
    generator = SalesGenerator(chain, seed)
    # 06:00 UTC is 01:00-03:00 in Brazil's zones: nothing sells before 07:00 local, so
    # every local day in the window is whole.
    first = date(2026, 1, 5)
    start = datetime(first.year, first.month, first.day, 6, tzinfo=UTC)
    revenue: dict[tuple[str, str], int] = defaultdict(int)
    units: dict[tuple[str, str], int] = defaultdict(int)
    for order in generator.orders_between(start, start + timedelta(days=days)):
        for row, defect in zip(order.rows, order.defects, strict=True):
            if defect:
                continue  # ingestion rejects it: the worker never counts it
            quantity = int(row["quantity"])
            gross = abs(quantity) * _cents(row["unit_price"]) - _cents(row["discount"])
            key = (row["store_id"], row["event_time"][:10])  # the local date, as written
            revenue[key] += gross if quantity > 0 else -gross
            units[key] += quantity
    calendar = [first + timedelta(days=n) for n in range(days)]
    out: list[Series] = []
    for store in chain.stores:
        keys = [(store.store_id, day.isoformat()) for day in calendar]
        out.append(
            Series(
                f"{store.store_id} ({store.time_zone.split('/')[-1]})",
                calendar,
                [revenue.get(key, 0) for key in keys],
                [units.get(key, 0) for key in keys],
            )
        )
    return out


def _skipped_skus() -> tuple[frozenset[str], re.Pattern[str]]:
    """The stock codes the shipped mapping skips as non-products (its ``skip`` rules)."""
    mapping = yaml.safe_load((REPO / "app" / "mappings" / "online-retail.yaml").read_text())
    codes: set[str] = set()
    patterns: list[str] = []
    for rule in mapping["skip"]:
        if rule["field"] == "sku":
            codes.update(rule.get("in", ()))
            if "matches" in rule:
                patterns.append(rule["matches"])
    return frozenset(codes), re.compile("|".join(patterns) or "(?!)")


def online_retail_series(folder: Path, countries: int = 4) -> list[Series]:
    """Daily net revenue (pence) and units of the top ``countries`` and of the whole shop."""
    revenue: dict[tuple[str, date], int] = defaultdict(int)
    units: dict[tuple[str, date], int] = defaultdict(int)
    seen: set[tuple[str, ...]] = set()
    non_products, non_product_pattern = _skipped_skus()
    for path in sorted(folder.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                key = tuple(row)
                if key in seen:
                    continue  # exact duplicate line: the mapping dedupes them
                seen.add(key)
                invoice, sku, _, quantity_text, when, price_text, _, country = row
                sku = sku.upper()
                if sku in non_products or non_product_pattern.match(sku):
                    continue
                price = Decimal(price_text) * 100
                if price == 0 or price != price.to_integral_value():
                    continue  # zero price (stock correction) or fractions of a penny
                quantity = int(quantity_text)
                if quantity < 0 and not invoice.upper().startswith("C"):
                    continue  # a stock adjustment, rejected by the mapping
                day = _uk_day(when)
                cents = quantity * int(price)
                for name in (country, "whole shop"):
                    revenue[(name, day)] += cents
                    units[(name, day)] += quantity
    if not revenue:
        return []
    totals: dict[str, int] = defaultdict(int)
    for (name, _), cents in revenue.items():
        totals[name] += cents
    ranked = sorted((n for n in totals if n != "whole shop"), key=lambda n: -totals[n])
    first = min(day for _, day in revenue)
    last = max(day for _, day in revenue)
    calendar = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        Series(
            name,
            calendar,
            [revenue.get((name, day), 0) for day in calendar],
            [units.get((name, day), 0) for day in calendar],
        )
        for name in ["whole shop", *ranked[:countries]]
    ]


def _uk_day(text: str) -> date:
    if "/" in text:
        return datetime.strptime(text, "%m/%d/%Y %H:%M").date()
    return date.fromisoformat(text[:10])


# ------------------------------------------------------------------------ evaluation


@dataclass
class Record:
    """One forecast of one target day (or of the sum of the days up to it)."""

    target: date
    actual: float
    mid: float
    inside80: bool
    inside95: bool
    lag7_error: float = 0.0
    snaive_error: float = 0.0


@dataclass
class Scores:
    """Progressive-validation records of one candidate on one series."""

    days: dict[int, list[Record]] = field(default_factory=lambda: defaultdict(list))
    """Per horizon 1..28, every forecast of a day that many days ahead."""
    totals: dict[int, list[Record]] = field(default_factory=lambda: defaultdict(list))
    """Per window (7, 28), every forecast of the sum of the next so many days."""
    settled: list[Record] = field(default_factory=list)
    """Day forecasts made after SETTLED_DAYS days were learned (all horizons)."""
    learn_ns: list[int] = field(default_factory=list)
    forecast_ns: list[int] = field(default_factory=list)

    def _records(self, horizon: int, since: date | None) -> list[Record]:
        return [r for r in self.days[horizon] if since is None or r.target >= since]

    def mase(self, horizon: int, since: date | None = None) -> float:
        records = self._records(horizon, since)
        return _ratio([abs(r.actual - r.mid) for r in records], [r.lag7_error for r in records])

    def rel_snaive(self, horizon: int, since: date | None = None) -> float:
        records = self._records(horizon, since)
        return _ratio([abs(r.actual - r.mid) for r in records], [r.snaive_error for r in records])

    def mase_by_history(self, first_day: date, low: int, high: int) -> float:
        """MASE of horizons 1, 7 and 28 pooled, for forecasts made when ``low`` to
        ``high - 1`` days were learned."""
        records = [
            r
            for h in HORIZONS
            for r in self.days[h]
            if low <= (r.target - first_day).days - h + 1 < high
        ]
        return _ratio([abs(r.actual - r.mid) for r in records], [r.lag7_error for r in records])

    def mae(self, horizon: int) -> float:
        errors = [abs(r.actual - r.mid) for r in self.days[horizon]]
        return sum(errors) / len(errors) if errors else math.nan

    def points(self, horizon: int, since: date | None = None) -> int:
        return len(self._records(horizon, since))

    def coverage(self, level: int, since: date | None = None) -> float:
        """Of every day forecast, horizons 1 to 28 pooled."""
        pooled = [r for h in sorted(self.days) for r in self._records(h, since)]
        return _share(pooled, level)

    def settled_coverage(self, level: int, since: date | None = None) -> float:
        return _share([r for r in self.settled if since is None or r.target >= since], level)

    def total_coverage(self, window: int, level: int, since: date | None = None) -> float:
        records = [r for r in self.totals[window] if since is None or r.target >= since]
        return _share(records, level)


def _share(records: Sequence[Record], level: int) -> float:
    if not records:
        return math.nan
    inside = sum(r.inside80 if level == 80 else r.inside95 for r in records)
    return inside / len(records)


def _ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    below = sum(denominator)
    return sum(numerator) / below if below else math.nan


def evaluate(
    values: Sequence[int],
    days: Sequence[date],
    make: Callable[[], PointForecaster],
    bands: bool = True,
) -> Scores:
    """Progressive validation of one candidate on one series (see the module's doc)."""
    scores = Scores()
    longest = max(HORIZONS)
    series = SeriesForecaster(make())
    for index, (day, y) in enumerate(zip(days, values, strict=True)):
        # index = days learned so far; the forecast is made from the last of them.
        if index >= WARMUP_DAYS:
            origin = index - 1
            started = time.perf_counter_ns()
            if bands:
                path = series.forecast(longest)
            else:
                path = [Band(m, m, m, m, m) for m in series.model.forecast(longest)]
            scores.forecast_ns.append(time.perf_counter_ns() - started)
            for horizon in range(1, longest + 1):
                target = origin + horizon
                if target >= len(values):
                    break
                actual = values[target]
                band = path[horizon - 1]
                # Seasonal naive from this origin: the last observed same weekday.
                snaive = values[target - WEEK * math.ceil(horizon / WEEK)]
                record = Record(
                    days[target],
                    actual,
                    band.mid,
                    band.low80 <= actual <= band.high80,
                    band.low95 <= actual <= band.high95,
                    abs(actual - values[target - WEEK]),
                    abs(actual - snaive),
                )
                scores.days[horizon].append(record)
                if index >= SETTLED_DAYS:
                    scores.settled.append(record)
            for window in TOTAL_WINDOWS:
                if bands and origin + window < len(values):
                    band = series.forecast_total(window)
                    actual = sum(values[origin + 1 : origin + window + 1])
                    scores.totals[window].append(
                        Record(
                            days[origin + window],
                            actual,
                            band.mid,
                            band.low80 <= actual <= band.high80,
                            band.low95 <= actual <= band.high95,
                        )
                    )
        started = time.perf_counter_ns()
        if bands:
            series.learn(day, float(y))
        else:
            series.model.learn_one(day, float(y))
        scores.learn_ns.append(time.perf_counter_ns() - started)
    return scores


def daily_forecaster_cost(series: Series) -> tuple[float, float, int]:
    """µs per ``learn_day`` and per ``forecast(28)`` of the production forecaster (revenue
    and units), and the size of its state at the end, bytes."""
    forecaster = DailyForecaster()
    learn: list[int] = []
    forecast: list[int] = []
    for day, revenue, units in zip(series.days, series.revenue, series.units, strict=True):
        started = time.perf_counter_ns()
        forecaster.learn_day(day, revenue, units)
        learn.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        forecaster.forecast(max(HORIZONS))
        forecast.append(time.perf_counter_ns() - started)
    return (
        statistics.median(learn) / 1000,
        statistics.median(forecast) / 1000,
        len(forecaster.to_state()),
    )


# -------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 2) -> str:
    if math.isnan(value):
        return "n/a"
    if digits and value >= 100:
        return "> 100"  # an SGD model that diverged on some series
    return f"{value:.{digits}f}"


def _money(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value >= 1e12:
        return "> 10,000,000,000"  # diverged
    return f"{value / 100:,.0f}"


def report(
    title: str,
    series_list: list[Series],
    names: Sequence[str],
    measure: str = "revenue",
    since: date | None = None,
    per_series: bool = True,
) -> dict[str, dict[str, Scores]]:
    print(f"\n## {title}: {measure}\n")
    days = series_list[0].days
    print(
        f"{len(series_list)} series, {len(days)} days ({days[0]} to {days[-1]}); forecasts "
        f"from day {WARMUP_DAYS + 1}; target days per horizon: "
        + ", ".join(f"h{h} {len(days) - WARMUP_DAYS - h + 1}" for h in HORIZONS)
    )
    results: dict[str, dict[str, Scores]] = {}
    for name in names:
        results[name] = {}
        for series in series_list:
            values = series.revenue if measure == "revenue" else series.units
            results[name][series.name] = evaluate(values, series.days, CANDIDATES[name])

    print("\nPer candidate, mean over the series (MASE against same weekday last week):\n")
    _summary(results, names, None)
    if since is not None:
        print(f"\nThe same, target days from {since} on only:\n")
        _summary(results, names, since)

    ages = ((7, 14), (14, 21), (21, 35), (35, 10_000))
    print("\nBy history learned when the forecast was made (MASE, h 1, 7 and 28 pooled):\n")
    print(
        "| model | " + " | ".join(f"{lo}-{hi - 1} days" for lo, hi in ages[:-1]) + " | 35+ days |"
    )
    print("|---|" + "---|" * len(ages))
    for name in names:
        cells = [
            statistics.fmean(
                results[name][s.name].mase_by_history(s.days[0], lo, hi) for s in series_list
            )
            for lo, hi in ages
        ]
        print(f"| {name} | " + " | ".join(_fmt(c) for c in cells) + " |")
    if not per_series:
        return results
    for name in names:
        print(f"\n{name}, per series:\n")
        header = "| series | mean day | " + " | ".join(f"MAE h{h}" for h in HORIZONS)
        header += " | " + " | ".join(f"MASE h{h}" for h in HORIZONS)
        if since is not None:
            header += " | " + " | ".join(f"MASE h{h} from {since}" for h in HORIZONS)
        header += " | cover 80 | cover 95 |"
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for series in series_list:
            s = results[name][series.name]
            values = series.revenue if measure == "revenue" else series.units
            mean_day = statistics.fmean(values)
            scale = _money if measure == "revenue" else (lambda v: _fmt(v, 0))
            flags = ["" if s.mase(h) < TARGET_MASE else " ✗" for h in HORIZONS]
            print(
                f"| {series.name} | {scale(mean_day)} | "
                + " | ".join(scale(s.mae(h)) for h in HORIZONS)
                + " | "
                + " | ".join(_fmt(s.mase(h)) + f for h, f in zip(HORIZONS, flags, strict=True))
                + (
                    " | " + " | ".join(_fmt(s.mase(h, since)) for h in HORIZONS)
                    if since is not None
                    else ""
                )
                + f" | {_fmt(s.coverage(80))} | {_fmt(s.coverage(95))} |"
            )
    return results


def _summary(
    results: dict[str, dict[str, Scores]], names: Sequence[str], since: date | None
) -> None:
    header = "| model | " + " | ".join(f"MASE h{h}" for h in HORIZONS)
    header += " | " + " | ".join(f"rel. snaive h{h}" for h in HORIZONS)
    header += " | cover 80 / 95 | settled | "
    header += " | ".join(f"sum {w} d cover" for w in TOTAL_WINDOWS)
    header += " | µs learn | µs forecast |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name in names:
        scores = list(results[name].values())

        def mean(figure: Callable[[Scores], float], scores: list[Scores] = scores) -> float:
            values = [v for s in scores if not math.isnan(v := figure(s))]
            return statistics.fmean(values) if values else math.nan

        mases = [mean(lambda s, h=h: s.mase(h, since)) for h in HORIZONS]
        rels = [mean(lambda s, h=h: s.rel_snaive(h, since)) for h in HORIZONS]
        cover = [mean(lambda s, lv=lv: s.coverage(lv, since)) for lv in (80, 95)]
        settled = [mean(lambda s, lv=lv: s.settled_coverage(lv, since)) for lv in (80, 95)]
        totals = [
            f"{_fmt(mean(lambda s, w=w: s.total_coverage(w, 80, since)))} / "
            f"{_fmt(mean(lambda s, w=w: s.total_coverage(w, 95, since)))}"
            for w in TOTAL_WINDOWS
        ]
        learn = statistics.median(ns for s in scores for ns in s.learn_ns) / 1000
        forecast = statistics.median(ns for s in scores for ns in s.forecast_ns) / 1000
        mark = " (chosen)" if name == CHOSEN else ""
        print(
            f"| {name}{mark} | "
            + " | ".join(_fmt(m) for m in mases)
            + " | "
            + " | ".join(_fmt(r) for r in rels)
            + f" | {_fmt(cover[0])} / {_fmt(cover[1])} | {_fmt(settled[0])} / "
            f"{_fmt(settled[1])} | " + " | ".join(totals) + f" | {learn:,.0f} | {forecast:,.0f} |"
        )


def tune(seeds: Sequence[int], days: int) -> None:
    """Each family's grid on chains the report does not use; mean MASE over h 1, 7, 28."""
    series_list = [s for seed in seeds for s in generated_series(seed, days)]
    grids: dict[str, list[tuple[str, Callable[[], PointForecaster]]]] = {
        "weekday-profile": [
            (
                f"alpha={a} gamma={g} beta={b} phi={phi} huber_k={k}",
                lambda a=a, g=g, b=b, phi=phi, k=k: WeekdayProfile(
                    ProfileParams(alpha=a, gamma=g, beta=b, phi=phi, huber_k=k)
                ),
            )
            for a in (0.05, 0.1, 0.2)
            for g in (0.05, 0.1)
            for b, phi in ((0.0, 0.9), (0.01, 0.95), (0.01, 1.0), (0.02, 0.9), (0.02, 1.0))
            for k in (1.5, 2.5)
        ],
        "holt-winters": [
            (
                f"alpha={a} beta={b} gamma={g} {'mul' if m else 'add'}",
                lambda a=a, b=b, g=g, m=m: RiverHoltWinters(a, b, g, multiplicative=m),
            )
            for a in (0.05, 0.1, 0.3)
            for b in (0.01, 0.05)
            for g in (0.05, 0.1, 0.3)
            for m in (False, True)
        ],
        "snarimax": [
            (
                f"p={p} q={q} sp={sp} sd={sd} sq={sq} lr={lr}",
                lambda p=p, q=q, sp=sp, sd=sd, sq=sq, lr=lr: RiverSnarimax(
                    p=p, d=0, q=q, sp=sp, sd=sd, sq=sq, lr=lr
                ),
            )
            for p, q, sp, sd, sq in (
                (1, 0, 1, 1, 1),
                (1, 1, 1, 1, 1),
                (2, 0, 2, 0, 0),
                (7, 0, 1, 0, 0),
            )
            for lr in (0.003, 0.01, 0.03)
        ],
        "calendar-regression": [
            (f"lr={lr}", lambda lr=lr: RiverCalendarRegression(lr=lr)) for lr in (0.003, 0.01, 0.03)
        ],
    }
    print(
        f"## Tuning on generated chains {', '.join(map(str, seeds))}, {days} days "
        "(mean MASE h1, h7, h28 over their stores)\n"
    )
    for family, grid in grids.items():
        print(f"\n{family}:\n")
        ranked: list[tuple[float, str, list[float]]] = []
        for label, make in grid:
            per = [evaluate(s.revenue, s.days, make, bands=False) for s in series_list]
            mases = [statistics.fmean(p.mase(h) for p in per) for h in HORIZONS]
            ranked.append((statistics.fmean(mases), label, mases))
        for mean, label, mases in sorted(ranked):
            print(f"  {mean:.3f}  ({', '.join(f'{m:.3f}' for m in mases)})  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--countries", type=int, default=4)
    parser.add_argument("--models", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--units", action="store_true", help="also the units, every model")
    parser.add_argument("--tune", action="store_true", help="run the grids on TUNING_SEEDS instead")
    args = parser.parse_args()
    if args.tune:
        tune(TUNING_SEEDS, args.days)
        return

    costs: list[tuple[str, float, float, int]] = []
    for seed in args.seeds:
        started = time.perf_counter()
        series_list = generated_series(seed, args.days)
        print(
            f"\n(generated chain seed {seed}: {args.days} days x {len(series_list)} stores "
            f"in {time.perf_counter() - started:.1f} s)"
        )
        report(f"Generated chain, seed {seed}", series_list, args.models)
        report(
            f"Generated chain, seed {seed}",
            series_list,
            args.models if args.units else [CHOSEN, "seasonal-naive"],
            "units",
            per_series=False,
        )
        costs.append((f"generated seed {seed}", *daily_forecaster_cost(series_list[0])))

    if not ONLINE_RETAIL.is_dir():
        print(f"\nOnline Retail skipped: {ONLINE_RETAIL} is absent.")
    else:
        series_list = online_retail_series(ONLINE_RETAIL, args.countries)
        report("Online Retail", series_list, args.models, since=ONLINE_RETAIL_AFTER_HOLIDAYS)
        report(
            "Online Retail",
            series_list,
            args.models if args.units else [CHOSEN, "seasonal-naive"],
            "units",
            since=ONLINE_RETAIL_AFTER_HOLIDAYS,
            per_series=False,
        )
        costs.append(("Online Retail, whole shop", *daily_forecaster_cost(series_list[0])))

    print("\n## DailyForecaster (revenue + units, intervals), median cost\n")
    print("| series | µs per learn_day | µs per forecast(28) | state after the run, bytes |")
    print("|---|---|---|---|")
    for name, learn, forecast, size in costs:
        print(f"| {name} | {learn:,.0f} | {forecast:,.0f} | {size:,} |")


if __name__ == "__main__":
    main()
