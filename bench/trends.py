"""Trends (issue 11 §3): how well the rising and falling lists find planted trends, and when.

A generated chain (``app/generator``) sells flat for ``--before`` days; from the change day
on, the products the chain plants as trending (``Chain.trends``: about one in ten rises and
one in ten falls, 1.2 - 3 %/day) grow or shrink at their rate, everything else stays flat
(``planted_orders``). The lines are added up per store, product and local day exactly as the
live tables add them (revenue = |quantity| x price - discount, negative for a return; cost
where the line has one), and ``app/insights/trends.store_trends`` classifies every store's
products as of each closed day from the day before the change to ``--after`` days after it.

Per configuration (model x threshold), N days after the change (the change day is day 1):

- rising: precision (listed and planted rising / listed) and recall (listed / planted rising);
- falling: precision (listed and planted falling / listed), recall against the planted
  falling products that sold well before: the store's top third by revenue over the 28 days
  before the change (the only ones the list may show);
- before the change (N = 0): every product listed is a false alarm (``listed``);
- the median days from the change until a planted product is first listed in its direction
  (over the ones listed within ``--after`` days; ``found`` says how many of them).

Precision and recall are pooled over the stores (sums of their counts); the per-store spread
is printed for the chosen configuration. Run::

    .venv/bin/python bench/trends.py [--seed 7] [--orders-per-day 2500] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.generator.chain import Chain, build_chain  # noqa: E402
from app.generator.sales import GeneratedOrder, SalesGenerator  # noqa: E402
from app.insights.trends import (  # noqa: E402
    EWMA_MODEL,
    LONG_DAYS,
    MODEL_NAME,
    ProductDay,
    StoreTrends,
    TrendParams,
    classify,
    competition_ranks,
    store_trends,
)

CHANGE_HOUR_UTC = 3
"""The change happens at 03:00 UTC: midnight in São Paulo (UTC-3), 23:00 or 22:00 of the day
before further west, so every store's first day with the new rates is the change day."""


def planted_orders(
    chain: Chain,
    seed: int,
    first_day: date,
    change_day: date,
    end_day: date,
    orders_per_day: int,
    bad_row_rate: float = 0.0,
) -> Iterator[GeneratedOrder]:
    """The chain's orders from ``first_day`` to ``end_day`` (excluded), flat until
    ``change_day``, with the chain's planted trends from it on (``trend_origin`` = the
    change: a product growing at g sells exp(g x days since the change) times its rate).

    One generator, so order ids never repeat; before the change its products' growth is
    set to 0 (the generator's own per-product rates, which it reads each new local day).
    """

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, CHANGE_HOUR_UTC, tzinfo=UTC)

    generator = SalesGenerator(chain, seed, bad_row_rate=bad_row_rate, trend_origin=at(change_day))
    planted = [product.growth for product in generator._products]
    for product in generator._products:
        product.growth = 0.0
    yield from generator.orders_between(at(first_day), at(change_day), orders_per_day)
    for product, growth in zip(generator._products, planted, strict=True):
        product.growth = growth
    yield from generator.orders_between(at(change_day), at(end_day), orders_per_day)


def cents(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_exact())


@dataclass
class DayTotals:
    units: int = 0
    revenue_cents: int = 0
    costed_revenue_cents: int = 0
    cost_cents: int = 0


Daily = dict[str, dict[str, dict[date, DayTotals]]]
"""store -> sku -> local day -> totals."""


def add_rows(daily: Daily, rows: Sequence[dict[str, str]]) -> None:
    """Lines as the live tables count them (``tables/totals.py``): the local day of the
    event time (sent in the store's offset), revenue = |quantity| x price - discount,
    negated for a return, cost = quantity x unit cost where the line has one."""
    for row in rows:
        quantity = int(row["quantity"])
        gross = abs(quantity) * cents(row["unit_price"]) - cents(row["discount"])
        revenue = -gross if quantity < 0 else gross
        day = date.fromisoformat(row["event_time"][:10])
        totals = daily[row["store_id"]][row["sku"]].setdefault(day, DayTotals())
        totals.units += quantity
        totals.revenue_cents += revenue
        if row.get("unit_cost"):
            totals.costed_revenue_cents += revenue
            totals.cost_cents += quantity * cents(row["unit_cost"])


def product_days(daily: Daily, store: str) -> dict[str, list[ProductDay]]:
    return {
        sku: [
            ProductDay(day, t.units, t.revenue_cents, t.costed_revenue_cents, t.cost_cents)
            for day, t in sorted(days.items())
        ]
        for sku, days in daily[store].items()
    }


# -- truth and scoring -------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    rising: frozenset[str]
    falling: frozenset[str]
    """Planted falling."""
    falling_listable: frozenset[str]
    """Planted falling in the store's top third by revenue over the 28 days before the
    change: what the falling list should show."""


def truth_of(chain: Chain, days: dict[str, list[ProductDay]], change_day: date) -> Truth:
    first = change_day - timedelta(days=LONG_DAYS)
    revenue = {
        sku: sum(d.revenue_cents for d in entries if first <= d.day < change_day)
        for sku, entries in days.items()
    }
    ranks = competition_ranks(revenue)
    top = -(-len(ranks) // 3)
    rising = frozenset(sku for sku, g in chain.trends.items() if g > 0)
    falling = frozenset(sku for sku, g in chain.trends.items() if g < 0)
    listable = frozenset(sku for sku in falling if ranks.get(sku, top + 1) <= top)
    return Truth(rising, falling, listable)


@dataclass
class Counts:
    listed: int = 0
    right: int = 0
    """Listed and planted in that direction."""
    found: int = 0
    """Of the truth set, listed."""
    truth: int = 0

    def add(self, listed: set[str], planted: frozenset[str], wanted: frozenset[str]) -> None:
        self.listed += len(listed)
        self.right += len(listed & planted)
        self.found += len(listed & wanted)
        self.truth += len(wanted)

    @property
    def precision(self) -> float | None:
        return self.right / self.listed if self.listed else None

    @property
    def recall(self) -> float | None:
        return self.found / self.truth if self.truth else None


def listed(store: StoreTrends, params: TrendParams) -> tuple[set[str], set[str]]:
    """(rising, falling) under ``params``' thresholds (the models' growth already learned)."""
    up: set[str] = set()
    down: set[str] = set()
    for trend in store.trends:
        direction = classify(trend, store.ranked_previous_28, params)
        if direction == "rising":
            up.add(trend.sku)
        elif direction == "falling":
            down.add(trend.sku)
    return up, down


def pct(value: float | None) -> str:
    return "  -  " if value is None else f"{100 * value:5.1f}"


# -- the run -----------------------------------------------------------------------------------


MODELS: tuple[TrendParams, ...] = (
    TrendParams(model=EWMA_MODEL, fading_factor=0.05),
    TrendParams(model=EWMA_MODEL, fading_factor=0.1),
    TrendParams(model=MODEL_NAME, holt_alpha=0.1, holt_beta=0.05),
    TrendParams(model=MODEL_NAME, holt_alpha=0.1, holt_beta=0.1),
    TrendParams(model=MODEL_NAME, holt_alpha=0.2, holt_beta=0.1),
)
THRESHOLDS = ((0.008, 0.0), (0.008, 2.0), (0.008, 2.5), (0.008, 3.0), (0.005, 3.0), (0.012, 3.0))
"""(daily growth, least z of the 28-day change) pairs tried on every model."""
CHECKPOINTS = (0, 7, 14, 21, 28, 42)


def model_name(params: TrendParams) -> str:
    if params.model == MODEL_NAME:
        return f"holt a={params.holt_alpha} b={params.holt_beta}"
    return f"ewma f={params.fading_factor}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--orders-per-day", type=int, default=2500)
    parser.add_argument("--before", type=int, default=56, help="flat days before the change")
    parser.add_argument("--after", type=int, default=42, help="days evaluated after it")
    parser.add_argument("--change-day", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--quick", action="store_true", help="the default configuration only")
    args = parser.parse_args(argv)

    chain = build_chain(args.seed)
    change = args.change_day
    first_day = change - timedelta(days=args.before)
    end_day = change + timedelta(days=args.after)
    started = time.perf_counter()
    daily: Daily = defaultdict(lambda: defaultdict(dict))
    orders = 0
    for order in planted_orders(chain, args.seed, first_day, change, end_day, args.orders_per_day):
        add_rows(daily, order.rows)
        orders += 1
    stores = sorted(daily)
    days = {store: product_days(daily, store) for store in stores}
    truths = {store: truth_of(chain, days[store], change) for store in stores}
    rising_n = sum(len(t.rising) for t in truths.values())
    listable_n = sum(len(t.falling_listable) for t in truths.values())
    print(
        f"seed {args.seed}: {len(stores)} stores, {len(chain.products)} products, {orders:,} "
        f"orders over {args.before} flat days + {args.after} (generated in "
        f"{time.perf_counter() - started:.0f} s); planted per store: "
        f"{len(truths[stores[0]].rising)} rising, {len(truths[stores[0]].falling)} falling "
        f"({listable_n / len(stores):.1f} of them in the store's top third before)"
    )

    models = (TrendParams(),) if args.quick else MODELS
    default = TrendParams()
    thresholds = ((default.rising_growth, default.min_z),) if args.quick else THRESHOLDS
    results = []
    for model in models:
        started = time.perf_counter()
        # Growth learned once per store and day; thresholds only re-classify.
        learned: dict[tuple[str, int], StoreTrends] = {}
        for n in range(0, args.after + 1):
            through = change + timedelta(days=n - 1)
            for store in stores:
                learned[store, n] = store_trends(days[store], through, model)
        elapsed = time.perf_counter() - started
        for growth, z in thresholds:
            params = replace(model, rising_growth=growth, falling_growth=growth, min_z=z)
            rows = evaluate(learned, truths, stores, params, args.after)
            results.append((model_name(model), f"{growth}/{z:g}", rows, elapsed))
    print_results(results, rising_n, listable_n)
    return 0


@dataclass
class Row:
    up: dict[int, Counts]
    down: dict[int, Counts]
    delay_up: list[int]
    delay_down: list[int]
    per_store: dict[str, tuple[Counts, Counts]]


def evaluate(
    learned: dict[tuple[str, int], StoreTrends],
    truths: dict[str, Truth],
    stores: list[str],
    params: TrendParams,
    after: int,
) -> Row:
    up = {n: Counts() for n in CHECKPOINTS if n <= after}
    down = {n: Counts() for n in CHECKPOINTS if n <= after}
    first_up: dict[tuple[str, str], int] = {}
    first_down: dict[tuple[str, str], int] = {}
    per_store: dict[str, tuple[Counts, Counts]] = {}
    for store in stores:
        truth = truths[store]
        for n in range(0, after + 1):
            rising, falling = listed(learned[store, n], params)
            if n in up:
                up[n].add(rising, truth.rising, truth.rising)
                down[n].add(falling, truth.falling, truth.falling_listable)
            if n == 28:
                store_up, store_down = Counts(), Counts()
                store_up.add(rising, truth.rising, truth.rising)
                store_down.add(falling, truth.falling, truth.falling_listable)
                per_store[store] = (store_up, store_down)
            if n >= 1:
                for sku in rising & truth.rising:
                    first_up.setdefault((store, sku), n)
                for sku in falling & truth.falling_listable:
                    first_down.setdefault((store, sku), n)
    return Row(up, down, sorted(first_up.values()), sorted(first_down.values()), per_store)


def print_results(
    results: list[tuple[str, str, Row, float]], rising_n: int, listable_n: int
) -> None:
    points = [n for n in CHECKPOINTS if n in results[0][2].up]
    header = " ".join(f"{'N=' + str(n):>13}" for n in points)
    print("\nprecision / recall in %, pooled over the stores (N days after the change)\n")
    print(f"{'model':<22} {'g/z':>7} {'list':<5} {header}  {'median delay':>13}  found")
    for name, threshold, row, _ in results:
        for label, counts, delays, total in (
            ("up", row.up, row.delay_up, rising_n),
            ("down", row.down, row.delay_down, listable_n),
        ):
            cells = []
            for n in points:
                c = counts[n]
                if n == 0:
                    cells.append(f"{'listed ' + str(c.listed):>13}")
                else:
                    cells.append(f"{pct(c.precision)}/{pct(c.recall)} ".rjust(13))
            median = statistics.median(delays) if delays else None
            print(
                f"{name:<22} {threshold:>7} {label:<5} {' '.join(cells)}  "
                f"{'-' if median is None else f'{median:.0f} days':>13}  {len(delays)}/{total}"
            )
    for name, _, _, elapsed in {r[0]: r for r in results}.values():
        print(f"{name}: learned in {elapsed:.1f} s")
    if len(results) == 1:
        row = results[0][2]
        print("\nper store, N=28: up precision/recall, down precision/recall")
        for store, (u, d) in row.per_store.items():
            up, down = f"{pct(u.precision)}/{pct(u.recall)}", f"{pct(d.precision)}/{pct(d.recall)}"
            print(f"  {store:<22} {up}   {down}")


if __name__ == "__main__":
    raise SystemExit(main())
