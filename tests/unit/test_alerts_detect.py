"""The under-performing product detector (``app.alerts.detect``) and its suggestions
(``app.alerts.suggest``): worked examples by hand, the event clock revealing a product that
stopped, the peers' fallback, a property, and a simulated store with planted drops."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from app.alerts.core import StoreClock, hour_label, hour_ticks
from app.alerts.detect import (
    PeerBaseline,
    ProductCounts,
    detect_underperformers,
)
from app.alerts.rules import UnderperformingProductRule
from app.alerts.stats import benjamini_hochberg
from app.alerts.suggest import ProductContext, compare_price, strongest_partner
from app.insights.cross_sell import rule as cross_sell_rule

ZONE = "America/Sao_Paulo"
# 2026-03-10 is a Tuesday; 15:40 in Sao Paulo (UTC-3) is 18:40 UTC: the clock's hour is
# 2026-03-10T15, the closed hours end at 15:00 local.
CLOCK = StoreClock(datetime.fromisoformat("2026-03-10T18:40:00+00:00"), ZONE)
DAY_RULE = UnderperformingProductRule("r1", "S01", window_hours=24)
FIRST_4_WEEKS = "2026-02-09T15"  # the window (from 2026-03-09T15) has exactly 4 weeks before
SETTINGS = settings(max_examples=100, deadline=None, database=None)


def weeks_back(label: str, k: int) -> str:
    return hour_label(datetime.fromisoformat(label + ":00") - timedelta(days=7 * k))


def product(
    sku: str, observed: int, weekly: list[int], hour: str = "2026-03-10T10"
) -> ProductCounts:
    """``observed`` units at ``hour`` (in the window) and week k's count at ``hour`` k weeks
    back."""
    units = {weeks_back(hour, k): count for k, count in enumerate([observed, *weekly]) if count}
    return ProductCounts(sku, units)


def test_clock_and_window() -> None:
    assert CLOCK.hour_start == datetime(2026, 3, 10, 15)
    assert CLOCK.event_clock.hour == 15
    assert hour_ticks(None, CLOCK) == ["2026-03-10T15"]
    later = StoreClock(CLOCK.latest_event + timedelta(hours=2, minutes=30), ZONE)
    assert hour_ticks(CLOCK, later) == ["2026-03-10T16", "2026-03-10T17", "2026-03-10T18"]
    assert hour_ticks(CLOCK, CLOCK) == []


def test_worked_example() -> None:
    products = [
        product("A", 2, [10, 10, 10, 10]),  # Poisson(10): P(X <= 2) = 61 e^-10 = 0.00277
        product("B", 12, [10, 10, 10, 10]),  # above: p = 1
        product("C", 2, [4, 16, 6, 14]),  # overdispersed: negative binomial
        product("D", 0, [2, 2, 2, 2]),  # expects 2 < 5: not tested
        product("E", 9, [0, 0, 0, 0]),  # new product: expects 0, not tested
    ]
    detection = detect_underperformers(DAY_RULE, CLOCK, products, FIRST_4_WEEKS)
    assert detection.untested == {"D": "below_min_expected", "E": "below_min_expected"}
    a, b, c = detection.findings
    assert (a.sku, b.sku, c.sku) == ("A", "B", "C")
    assert a.p_value == pytest.approx(61 * math.exp(-10), rel=1e-12)
    assert (a.model.model, a.expected_units, a.ratio) == ("poisson", 10.0, Decimal("0.2"))
    assert b.p_value == 1.0
    r = 100 / (104 / 3 - 10)
    assert c.model.model == "negative_binomial"
    assert c.p_value == pytest.approx(scipy_stats.nbinom.cdf(2, r, r / (r + 10)), rel=1e-12)
    # BH across the three tested products, then the per-product significance 0.01.
    rejected = benjamini_hochberg([a.p_value, b.p_value, c.p_value], 0.05)
    assert rejected[0] and not rejected[1]
    assert c.p_value > 0.01  # whatever BH says, C is not significant at 0.01
    assert [f.sku for f in detection.firing] == ["A"]
    assert (a.window_start, a.window_end) == ("2026-03-09T15", "2026-03-10T15")
    assert (a.baseline, a.baseline_weeks) == ("own", 4)
    assert a.severity == "high"  # ratio 0.2 <= 0.5, not zero
    evaluation = next(e for e in detection.evaluations if e.subject == "A")
    assert evaluation.firing
    assert evaluation.as_of == datetime.fromisoformat("2026-03-10T18:00:00+00:00")
    facts = evaluation.facts
    assert (facts["observed_units"], facts["expected_units"], facts["ratio"]) == (2, 10.0, "0.2000")
    assert facts["p_value"] == a.p_value
    assert [s.action for s in evaluation.suggestions] == ["promote"]
    assert not next(e for e in detection.evaluations if e.subject == "B").firing


def test_window_excludes_the_hour_in_progress_and_the_hour_before_it() -> None:
    inside = product("A", 0, [10, 10, 10, 10])
    units = dict(inside.units)
    units["2026-03-10T15"] = 50  # the clock's own hour: not closed
    units["2026-03-09T14"] = 50  # the hour before the window
    units["2026-03-09T15"] = 1  # the window's first hour
    detection = detect_underperformers(DAY_RULE, CLOCK, [ProductCounts("A", units)], FIRST_4_WEEKS)
    assert detection.findings[0].observed_units == 1


def test_more_weeks_are_used_up_to_the_maximum() -> None:
    weekly = [10] * 8 + [1000]  # the 9th week back is beyond baseline_weeks_max
    detection = detect_underperformers(DAY_RULE, CLOCK, [product("A", 10, weekly)])
    assert detection.findings[0].baseline_weeks == 8
    assert detection.findings[0].expected_units == 10


def test_a_product_that_stops_is_revealed_by_the_store_clock() -> None:
    """Steady: one unit in every opening hour (10h-22h, Sundays 14h-20h) for 9 weeks, until
    it stops at 2026-03-10 10:00. It has no event after that; only the store's clock (the
    other products' sales) moves on."""
    stop = datetime(2026, 3, 10, 10)
    start = stop - timedelta(weeks=9)
    units: dict[str, int] = {}
    hour = start
    while hour < stop:
        opening = (14, 20) if hour.weekday() == 6 else (10, 22)
        if opening[0] <= hour.hour < opening[1]:
            units[hour_label(hour)] = 1
        hour += timedelta(hours=1)
    steady = ProductCounts("STEADY", units)
    at_stop = detect_underperformers(DAY_RULE, StoreClock.at_hour("2026-03-10T10", ZONE), [steady])
    assert not at_stop.firing
    fired_at = None
    for clock_hour in range(11, 23):
        clock = StoreClock.at_hour(f"2026-03-10T{clock_hour:02d}", ZONE)
        detection = detect_underperformers(DAY_RULE, clock, [steady])
        if detection.firing:
            fired_at = clock_hour
            break
    # Before the stop the window's 24 hours hold 12 opening hours: 12 expected. After h silent
    # hours observed = 12 - h against 12 (Poisson): p <= 0.01 and ratio <= 0.75 from h = 7
    # (5 sold: P(X <= 5 | 12) = 0.0203 > 0.01; h = 8: P(X <= 4 | 12) = 0.0076).
    assert fired_at == 18
    finding = detection.firing[0]
    # Clock hours since the last sale, yesterday 21h (the night counts; its expectation is 0).
    assert finding.silent_hours == 20
    assert finding.last_sale_hour == "2026-03-09T21"
    assert finding.expected_during_silence == 8
    assert finding.stopped
    evaluation = detection.evaluations[0]
    assert [s.action for s in evaluation.suggestions] == ["check_stock_display", "promote"]
    assert evaluation.suggestions[0].params == {
        "silent_hours": 20,
        "expected_during_silence": 8.0,
        "last_sale_hour": "2026-03-09T21",
    }


def test_peers_when_the_store_lacks_history() -> None:
    two_weeks = "2026-02-23T15"
    lonely = product("A", 1, [10, 10])
    detection = detect_underperformers(DAY_RULE, CLOCK, [lonely], two_weeks)
    assert detection.untested == {"A": "insufficient_history"}
    peers = PeerBaseline(store_weeks=[[10, 10, 10, 10], [12, 8, 10, 10], [5, 5]], scale=1.5)
    with_peers = replace(lonely, peers=peers)
    detection = detect_underperformers(DAY_RULE, CLOCK, [with_peers], two_weeks)
    (finding,) = detection.findings
    # The third store has too few weeks; the other two give 8 store-weeks, mean 10, scaled 15.
    assert (finding.baseline, finding.baseline_weeks) == ("peers", 8)
    assert finding.expected_units == pytest.approx(15)
    assert finding.expected_revenue_cents is None
    assert finding.firing


def test_a_store_whose_history_starts_inside_the_window_is_not_judged() -> None:
    detection = detect_underperformers(
        DAY_RULE, CLOCK, [product("A", 0, [10] * 4)], "2026-03-10T09"
    )
    assert detection.findings == ()
    assert detection.untested == {"A": "insufficient_history"}


def test_revenue_is_reported_beside_units() -> None:
    base = product("A", 2, [10, 10, 10, 10])
    revenue = {label: units * 1000 for label, units in base.units.items()}
    detection = detect_underperformers(
        DAY_RULE, CLOCK, [replace(base, revenue_cents=revenue)], FIRST_4_WEEKS
    )
    finding = detection.findings[0]
    assert (finding.observed_revenue_cents, finding.expected_revenue_cents) == (2000, 10000)


def test_refuses_bad_counts() -> None:
    with pytest.raises(ValueError, match="given twice"):
        detect_underperformers(DAY_RULE, CLOCK, [product("A", 1, [5]), product("A", 1, [5])])
    with pytest.raises(ValueError, match="units must be"):
        detect_underperformers(DAY_RULE, CLOCK, [ProductCounts("A", {"2026-03-10T10": -1})])


# -- suggestions -------------------------------------------------------------------------------


def test_suggestions_with_every_fact() -> None:
    partners = [
        cross_sell_rule("A", "B", 30, 100, 200, 1000),  # confidence 0.3, lift 1.5
        cross_sell_rule("A", "C", 20, 100, 50, 1000),  # confidence 0.2, lift 4.0
        cross_sell_rule("A", "D", 2, 100, 10, 1000),  # confidence 0.02 < 0.05: too weak
        cross_sell_rule("X", "Y", 50, 60, 60, 1000),  # another product's rule
    ]
    context = ProductContext(
        partners=partners,
        store_price_cents=11_000,
        chain_median_price_cents=10_000,
        margin_rate=Decimal("0.10"),
    )
    base = product("A", 2, [10, 10, 10, 10])
    detection = detect_underperformers(
        DAY_RULE, CLOCK, [replace(base, context=context)], FIRST_4_WEEKS
    )
    suggestions = detection.evaluations[0].suggestions
    assert [(s.action, s.reason) for s in suggestions] == [
        ("compare_price", "price_above_chain"),
        ("bundle", "strong_cross_sell_partner"),
        ("promote", "below_expected"),
    ]
    assert suggestions[0].params["gap_rate"] == "0.1000"
    assert suggestions[1].params == {
        "partner_sku": "C",
        "lift": 4.0,
        "confidence": 0.2,
        "baskets": 20,
    }
    # A 10 % margin leaves no room for a discount: display only.
    assert suggestions[2].params["means"] == ["display"]


def test_no_partner_no_bundle_and_close_prices_no_comparison() -> None:
    assert strongest_partner("A", []) is None
    assert (
        strongest_partner("A", [cross_sell_rule("A", "B", 10, 100, 500, 1000)]) is None
    )  # lift 0.2
    assert compare_price(10_400, 10_000) is None  # 4 % above
    assert compare_price(None, 10_000) is None
    assert compare_price(10_500, None) is None
    detection = detect_underperformers(
        DAY_RULE, CLOCK, [product("A", 2, [10, 10, 10, 10])], FIRST_4_WEEKS
    )
    (promote,) = detection.evaluations[0].suggestions
    assert promote.params["means"] == ["display", "price"]


# -- a property --------------------------------------------------------------------------------


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(min_value=0, max_value=80), min_size=4, max_size=8),
            st.integers(min_value=0, max_value=40),
            st.booleans(),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_never_fires_when_observed_is_at_or_above_expected(
    specs: list[tuple[list[int], int, bool]],
) -> None:
    products = []
    for index, (weekly, extra, at_least) in enumerate(specs):
        mean = sum(weekly) / len(weekly)
        observed = math.ceil(mean) + extra if at_least else extra
        products.append(product(f"P{index:02d}", observed, weekly))
    detection = detect_underperformers(DAY_RULE, CLOCK, products)
    for finding in detection.findings:
        if finding.observed_units >= finding.expected_units:
            assert not finding.firing
            assert finding.p_value == 1.0
        if finding.firing:
            assert finding.observed_units < finding.expected_units
            assert finding.ratio <= DAY_RULE.max_ratio


# -- a simulated store -------------------------------------------------------------------------


def simulate(
    seed: int, products: int = 150, stops: int = 8, drops: int = 8
) -> tuple[list[ProductCounts], set[str], set[str], dict[str, float], set[str]]:
    """Nine weeks of a store up to 2026-03-10 15:00 (local): 150 products selling 3 to 150
    units a week (log-uniform) in opening hours, 30 % of them overdispersed (each week's rate
    times a gamma of mean 1 and shape 4, CV 0.5), the rest Poisson. Planted among them: 8
    products that stop selling 72 hours before the clock, and 8 that sell at 25 % of their
    rate over the whole last week."""
    rng = np.random.default_rng(seed)
    end = datetime(2026, 3, 10, 15)
    start = end - timedelta(weeks=9)
    hours = []
    hour = start
    while hour < end:
        opening = (14, 20) if hour.weekday() == 6 else (10, 22)
        if opening[0] <= hour.hour < opening[1]:
            hours.append(hour)
        hour += timedelta(hours=1)
    weeks = np.array([(h - start) // timedelta(weeks=1) for h in hours])
    per_week = len(hours) / 9
    rates = np.exp(rng.uniform(math.log(3), math.log(150), products))
    overdispersed = rng.random(products) < 0.3
    planted = rng.choice(products, stops + drops, replace=False)
    stopped, dropped = set(planted[:stops].tolist()), set(planted[stops:].tolist())
    multipliers = np.where(
        overdispersed[:, None], rng.gamma(4.0, 0.25, (products, 9)), 1.0
    )  # product x week
    lam = rates[:, None] * multipliers[:, weeks] / per_week  # product x hour
    in_window = np.array([h >= end - timedelta(hours=168) for h in hours])
    silent = np.array([h >= end - timedelta(hours=72) for h in hours])
    for index in dropped:
        lam[index, in_window] *= 0.25
    for index in stopped:
        lam[index, silent] = 0.0
    counts = rng.poisson(lam)
    labels = [hour_label(h) for h in hours]
    result = []
    for index in range(products):
        row = counts[index]
        units = {labels[j]: int(row[j]) for j in np.nonzero(row)[0]}
        result.append(ProductCounts(f"P{index:03d}", units))
    names = {f"P{i:03d}": float(rates[i]) for i in range(products)}
    varying = {f"P{i:03d}" for i in np.nonzero(overdispersed)[0]}
    return result, {f"P{i:03d}" for i in stopped}, {f"P{i:03d}" for i in dropped}, names, varying


SIM_CLOCK = StoreClock.at_hour("2026-03-10T15", ZONE)
SEEDS = range(12)
Run = tuple[set[str], set[str], set[str], dict[str, float], set[str], set[str]]


@pytest.fixture(scope="module")
def simulated() -> list[Run]:
    """(fired, stopped, dropped, rates, overdispersed, flagged stopped) per seed."""
    rule = UnderperformingProductRule("r1", "S01")
    runs = []
    for seed in SEEDS:
        products, stopped, dropped, rates, varying = simulate(seed)
        detection = detect_underperformers(rule, SIM_CLOCK, products)
        fired = {f.sku for f in detection.firing}
        flagged = {f.sku for f in detection.firing if f.stopped}
        runs.append((fired, stopped, dropped, rates, varying, flagged))
    return runs


def recall(runs: list[Run], which: int, steady: bool, big: bool) -> tuple[int, int]:
    found = total = 0
    for run in runs:
        fired, rates, varying = run[0], run[3], run[4]
        for sku in run[which]:
            if (sku not in varying) == steady and (rates[sku] >= 40) == big:
                total += 1
                found += sku in fired
    return found, total


def test_simulation_finds_the_planted_drops(simulated: list[Run]) -> None:
    """Bounds below the figures measured on these 12 seeds (and on 60, docs/alerts.md): a
    steady product (Poisson weeks) of 40 units a week or more that falls to 25 % for a week
    is always found (21 of 21; 107 of 107 on 60 seeds); one that stopped 72 hours ago (about
    38 % of the week's opening hours) is found 3 times in 4 (23 of 30; 76 % on 60 seeds).
    Overdispersed products need deeper drops (their weeks vary by half anyway)."""
    found, total = recall(simulated, 2, steady=True, big=True)
    assert total >= 15
    assert found == total
    found, total = recall(simulated, 1, steady=True, big=True)
    assert total >= 20
    assert found >= 0.6 * total


def test_simulation_has_few_false_alarms(simulated: list[Run]) -> None:
    """Measured: 0.25 false alerts per store evaluation, at most 1 (0.42 and 4 on 60 seeds);
    3.9 % of the alerts raised are false (7.2 % on 60 seeds), within the FDR level of 5 % to
    10 % that BH at 0.05 promises up to the dependence of the weeks."""
    false = [len(run[0] - run[1] - run[2]) for run in simulated]
    alerts = sum(len(run[0]) for run in simulated)
    assert max(false) <= 2
    assert sum(false) / len(false) <= 0.5
    assert sum(false) / alerts <= 0.10


def test_simulation_flags_the_stopped_ones_as_stopped(simulated: list[Run]) -> None:
    """Measured: 23 of the 24 stops found are flagged "stopped at once" (96 of 100 on 60
    seeds); 1 alert that is not a planted stop is flagged (10 on 60 seeds)."""
    found = sum(len(run[0] & run[1]) for run in simulated)
    flagged = sum(len(run[5] & run[1]) for run in simulated)
    wrong = sum(len(run[5] - run[1]) for run in simulated)
    assert flagged >= 0.9 * found
    assert wrong <= 2
