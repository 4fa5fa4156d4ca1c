"""The under-performing product detector, driven by the store's event clock: pure.

``detect_underperformers(rule, clock, products)`` judges every product of a store at the
store's clock. It reads counts, never events of the product itself: a product that stops
selling produces no events, and it is the *store's* clock moving (any sale of the store) that
moves its window on and reveals the silence.

**Window.** The ``rule.window_hours`` closed hours before the clock's hour, local time
(``[end - window_hours, end)`` with ``end`` the start of the clock's hour). The hour in
progress is left out: the tables count whole hours, and half an hour counted against a whole
hour's expectation would look like a drop. The window therefore moves at each hour the clock
enters (``app.alerts.core.hour_ticks``).

**Expectation.** Baseline week k (1, 2, ...) is the window moved k weeks back: the same
weekdays and hours. A week counts when the store has data from its start on
(``store_first_hour``; None means the store's history covers every week asked for). With at
least ``baseline_weeks_min`` such weeks, the product's own last ``baseline_weeks_max`` (at
most) weeks are its baseline: a week without a sale of it is a 0, not a missing week. With
fewer, and comparable stores given (``PeerBaseline``), their weekly counts of the product for
the same periods, times ``scale`` (this store's size relative to theirs), are the baseline.
Otherwise the product is not tested (too little history to say anything).

**Test.** ``app.alerts.stats``: the expectation is the mean weekly count, the model Poisson
or negative binomial as the weeks' variance says, the p-value one-sided. Products whose
expectation is below ``rule.min_expected_units`` are not tested (a product that sells 2 units
a week cannot be significantly below that in a week) and are not in the family that
Benjamini–Hochberg corrects for. A tested product fires when BH at ``rule.fdr_level`` rejects
it, its p-value is at most ``rule.significance`` and observed / expected is at most
``rule.max_ratio`` (a significant 5 % dip of a best-seller is not news).

**Stopped at once.** For the suggestions: the run of hours without a sale at the window's end,
and what the baseline weeks sold in the same hours (``expected_during_silence``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from app.alerts.core import (
    Evaluation,
    Severity,
    StoreClock,
    hour_label,
    parse_hour,
    to_utc,
)
from app.alerts.rules import UnderperformingProductRule, decimal_text
from app.alerts.stats import CountModel, benjamini_hochberg, bh_adjusted, choose_model, test_count
from app.alerts.suggest import ProductContext, suggest_actions

Baseline = Literal["own", "peers"]
RATIO_PLACES = Decimal("0.0001")
STOP_MIN_EXPECTED = 4.0
"""A silence counts as "stopped at once" when the baseline sold at least this many units in
the same hours: 0 of a Poisson 4 has probability 1.8 %."""
STEADY_BEFORE = 0.5
"""... and the window's hours before the silence sold at least half their expectation."""
WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PeerBaseline:
    """The same product in the chain's comparable stores, as plain numbers: for each store,
    its units of the product in each baseline period (the window moved 1, 2, ... weeks back),
    and this store's size relative to theirs (choosing the stores and the scale is the
    caller's: same region, format or revenue band)."""

    store_weeks: Sequence[Sequence[int]]
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class ProductCounts:
    """A product's hourly figures in the store: hour bucket label -> units sold (gross of
    returns: ``Totals.units + Totals.returned_units``) and -> net revenue in cents. Hours
    without a sale may be absent. Only the window and its baseline weeks are read."""

    sku: str
    units: Mapping[str, int]
    revenue_cents: Mapping[str, int] = field(default_factory=dict)
    peers: PeerBaseline | None = None
    context: ProductContext | None = None


@dataclass(frozen=True, slots=True)
class ProductFinding:
    sku: str
    observed_units: int
    expected_units: float
    ratio: Decimal
    """observed / expected, 4 places."""
    p_value: float
    adjusted_p_value: float
    """Benjamini–Hochberg adjusted across the store's tested products."""
    model: CountModel
    baseline: Baseline
    baseline_weeks: int
    """Weeks (own) or store-weeks (peers) the expectation is the mean of."""
    window_start: str
    window_end: str
    """Hour labels: the window is ``[window_start, window_end)``, local."""
    observed_revenue_cents: int
    expected_revenue_cents: int | None
    """The baseline weeks' mean revenue (own baseline only)."""
    silent_hours: int
    """Closed hours at the window's end without a sale of the product."""
    expected_during_silence: float | None
    last_sale_hour: str | None
    """The hour of the last sale within the window (None: none in it)."""
    stopped: bool
    firing: bool
    severity: Severity

    def facts(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "observed_units": self.observed_units,
            "expected_units": round(self.expected_units, 4),
            "ratio": decimal_text(self.ratio),
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "model": self.model.model,
            "dispersion": self.model.dispersion,
            "baseline_variance": self.model.variance,
            "baseline": self.baseline,
            "baseline_weeks": self.baseline_weeks,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "observed_revenue_cents": self.observed_revenue_cents,
            "expected_revenue_cents": self.expected_revenue_cents,
            "silent_hours": self.silent_hours,
            "expected_during_silence": None
            if self.expected_during_silence is None
            else round(self.expected_during_silence, 4),
            "last_sale_hour": self.last_sale_hour,
            "stopped": self.stopped,
        }


@dataclass(frozen=True, slots=True)
class Detection:
    """Every tested product's finding (sorted by SKU) and the evaluations for the lifecycle
    (one per tested product, firing or not); ``untested`` says why the others were not."""

    findings: tuple[ProductFinding, ...]
    evaluations: tuple[Evaluation, ...]
    untested: Mapping[str, str]
    """SKU -> ``"insufficient_history"`` or ``"below_min_expected"``."""

    @property
    def firing(self) -> tuple[ProductFinding, ...]:
        return tuple(f for f in self.findings if f.firing)


@dataclass(frozen=True, slots=True)
class _Periods:
    """The window (index 0) and the baseline weeks (index k), as label ranges."""

    starts: tuple[str, ...]
    ends: tuple[str, ...]
    order: tuple[int, ...]
    """Period indexes by start, for the bisection (week k is before week k - 1)."""
    sorted_starts: tuple[str, ...]


def window_of(rule: UnderperformingProductRule, clock: StoreClock) -> tuple[datetime, datetime]:
    """The window's naive local start and end (exclusive) at ``clock``."""
    end = clock.hour_start
    return end - timedelta(hours=rule.window_hours), end


def detect_underperformers(
    rule: UnderperformingProductRule,
    clock: StoreClock,
    products: Sequence[ProductCounts],
    store_first_hour: str | None = None,
) -> Detection:
    """Judge the store's products at ``clock`` (module docstring)."""
    start, end = window_of(rule, clock)
    first = None if store_first_hour is None else parse_hour(store_first_hour)
    if first is not None and first > start:
        # The window itself is not all covered: a new store's first week is not a drop.
        reason = "insufficient_history"
        return Detection((), (), {p.sku: reason for p in _unique(products)})
    own_weeks = rule.baseline_weeks_max
    if first is not None:
        own_weeks = min(own_weeks, (start - first) // WEEK)
    periods = _periods(start, end, rule.baseline_weeks_max)

    untested: dict[str, str] = {}
    pending: list[
        tuple[ProductCounts, int, int, CountModel, Baseline, int, int | None, list[int]]
    ] = []
    for product in _unique(products):
        window_units, window_revenue, week_units, week_revenue = _period_sums(product, periods)
        if own_weeks >= rule.baseline_weeks_min:
            counts = week_units[:own_weeks]
            model = choose_model(counts)
            baseline: Baseline = "own"
            weeks = own_weeks
            expected_revenue: int | None = round(math.fsum(week_revenue[:own_weeks]) / own_weeks)
        elif product.peers is not None and _peer_counts(product.peers, rule):
            flat = _peer_counts(product.peers, rule)
            model = choose_model(flat, product.peers.scale)
            baseline, weeks, expected_revenue = "peers", len(flat), None
        else:
            untested[product.sku] = "insufficient_history"
            continue
        if model.mean < rule.min_expected_units:
            untested[product.sku] = "below_min_expected"
            continue
        pending.append(
            (
                product,
                window_units,
                window_revenue,
                model,
                baseline,
                weeks,
                expected_revenue,
                week_units[:own_weeks],
            )
        )

    tests = [test_count(units, model) for _, units, _, model, *_ in pending]
    p_values = [t.p_value for t in tests]
    rejected = benjamini_hochberg(p_values, float(rule.fdr_level))
    adjusted = bh_adjusted(p_values)
    as_of = to_utc(end, clock.time_zone)
    findings: list[ProductFinding] = []
    evaluations: list[Evaluation] = []
    for entry, test, bh, adj in zip(pending, tests, rejected, adjusted, strict=True):
        product, units, revenue, model, baseline, weeks, expected_revenue, own_counts = entry
        ratio = (Decimal(units) / Decimal(repr(model.mean))).quantize(RATIO_PLACES, ROUND_HALF_EVEN)
        firing = (
            bh
            and units < model.mean
            and test.p_value <= float(rule.significance)
            and Decimal(units) <= rule.max_ratio * Decimal(repr(model.mean))
        )
        silent, last_sale = _silence(product, start, end)
        during: float | None = None
        stopped = False
        if baseline == "own" and silent > 0:
            during = _expected_during(product, end - timedelta(hours=silent), end, own_weeks)
            before_expected = model.mean - during
            before_observed = units  # every unit of the window was sold before the silence
            steady_weeks = min(own_counts) > 0
            stopped = (
                during >= STOP_MIN_EXPECTED
                and steady_weeks
                and (before_expected < 1.0 or before_observed >= STEADY_BEFORE * before_expected)
            )
        severity: Severity = "info"
        if firing:
            severity = "critical" if units == 0 else "high" if ratio <= Decimal("0.5") else "medium"
        finding = ProductFinding(
            sku=product.sku,
            observed_units=units,
            expected_units=model.mean,
            ratio=ratio,
            p_value=test.p_value,
            adjusted_p_value=adj,
            model=model,
            baseline=baseline,
            baseline_weeks=weeks,
            window_start=hour_label(start),
            window_end=hour_label(end),
            observed_revenue_cents=revenue,
            expected_revenue_cents=expected_revenue,
            silent_hours=silent,
            expected_during_silence=during,
            last_sale_hour=last_sale,
            stopped=stopped,
            firing=firing,
            severity=severity,
        )
        findings.append(finding)
        evaluations.append(
            Evaluation(
                rule_id=rule.rule_id,
                kind=rule.kind,
                store_id=rule.store_id,
                subject=product.sku,
                firing=firing,
                as_of=as_of,
                severity=severity,
                facts=finding.facts(),
                suggestions=tuple(suggest_actions(finding, product.context)) if firing else (),
            )
        )
    order = sorted(range(len(findings)), key=lambda i: findings[i].sku)
    return Detection(
        tuple(findings[i] for i in order), tuple(evaluations[i] for i in order), untested
    )


def _unique(products: Sequence[ProductCounts]) -> list[ProductCounts]:
    seen: set[str] = set()
    for product in products:
        if product.sku in seen:
            raise ValueError(f"product {product.sku!r} given twice")
        seen.add(product.sku)
    return list(products)


def _peer_counts(peers: PeerBaseline, rule: UnderperformingProductRule) -> list[int]:
    """The peers' store-weeks, when at least one store has ``baseline_weeks_min`` of them."""
    usable = [
        list(weeks[: rule.baseline_weeks_max])
        for weeks in peers.store_weeks
        if len(weeks) >= rule.baseline_weeks_min
    ]
    for weeks in usable:
        if any(type(c) is not int or c < 0 for c in weeks):
            raise ValueError("peer counts must be whole numbers of units, 0 or more")
    return [count for weeks in usable for count in weeks]


def _periods(start: datetime, end: datetime, weeks: int) -> _Periods:
    starts = tuple(hour_label(start - k * WEEK) for k in range(weeks + 1))
    ends = tuple(hour_label(end - k * WEEK) for k in range(weeks + 1))
    order = tuple(sorted(range(weeks + 1), key=lambda k: starts[k]))
    return _Periods(starts, ends, order, tuple(starts[k] for k in order))


def _period_sums(
    product: ProductCounts, periods: _Periods
) -> tuple[int, int, list[int], list[int]]:
    """Units and revenue of the window, and of each baseline week (week 1 first)."""
    n = len(periods.starts)
    units = [0] * n
    revenue = [0] * n
    for series, totals in ((product.units, units), (product.revenue_cents, revenue)):
        for label, value in series.items():
            position = bisect.bisect_right(periods.sorted_starts, label) - 1
            if position < 0:
                continue
            k = periods.order[position]
            if label < periods.ends[k]:
                if series is product.units and (type(value) is not int or value < 0):
                    raise ValueError(
                        f"{product.sku} {label}: units must be a whole number, 0 or more"
                    )
                totals[k] += value
    return units[0], revenue[0], units[1:], revenue[1:]


def _silence(product: ProductCounts, start: datetime, end: datetime) -> tuple[int, str | None]:
    """Closed hours without a sale at the window's end, and the window's last sale hour."""
    first, last = hour_label(start), hour_label(end)
    sold = [label for label, units in product.units.items() if first <= label < last and units]
    if not sold:
        return int((end - start) / timedelta(hours=1)), None
    latest = max(sold)
    return int((end - parse_hour(latest)) / timedelta(hours=1)) - 1, latest


def _expected_during(product: ProductCounts, start: datetime, end: datetime, weeks: int) -> float:
    """The baseline weeks' mean units over ``[start, end)`` moved 1..``weeks`` weeks back."""
    total = 0
    for k in range(1, weeks + 1):
        low, high = hour_label(start - k * WEEK), hour_label(end - k * WEEK)
        total += sum(units for label, units in product.units.items() if low <= label < high)
    return total / weeks
