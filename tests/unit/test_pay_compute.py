"""Pay figures (``app.pay.compute``): hand-computed cases at every edge, properties, and an
independent recompute.

The recompute below (``naive_pay``) shares nothing with ``compute.py`` but the plan: it works
in ``Fraction``, computes progressive commission by a different formula (each rate step applies
to everything above its threshold) and, for small bases, cent by cent; it rounds half-even with
integer arithmetic. Every figure ``compute.py`` gives must equal it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.pay.compute import (
    BasisFigures,
    Pay,
    TeamMember,
    commission_cents,
    exact_commission,
    pay,
    pay_for_basis,
    projected_figures,
    projected_pay,
    simulate,
    to_cents,
)
from app.pay.plans import PlanVersion, QuotaBonus, Tier

SETTINGS = settings(max_examples=300, deadline=None, database=None)


def brazil(**changes: object) -> PlanVersion:
    """The plan of docs/pay.md: R$ 1.800 base, 1 % to R$ 30.000, 2 % above, R$ 300 at
    R$ 40.000, commission capped at R$ 1.500."""
    plan = PlanVersion(
        plan_id="padrao-loja-001",
        version=1,
        effective_from=date(2026, 3, 1),
        store_id="loja-001",
        base_pay_cents=180_000,
        basis="revenue",
        tier_mode="progressive",
        tiers=(Tier(0, Decimal("0.01")), Tier(3_000_000, Decimal("0.02"))),
        quota_bonus=QuotaBonus(4_000_000, amount_cents=30_000),
        commission_cap_cents=150_000,
    )
    return replace(plan, **changes)


def revenue(cents: int) -> BasisFigures:
    return BasisFigures(revenue_cents=cents, margin_cents=0)


# --- the independent recompute ------------------------------------------------------------


def half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2):
        return floor + 1
    if rest < Fraction(1, 2):
        return floor
    return floor + (floor % 2)


def naive_commission(plan: PlanVersion, basis: int) -> Fraction:
    if basis <= 0:
        return Fraction(0)
    steps = [(tier.threshold_cents, Fraction(tier.rate)) for tier in plan.tiers]
    if plan.tier_mode == "retroactive":
        for threshold, rate in reversed(steps):
            if basis >= threshold:
                return rate * basis
    # Progressive, as rate steps: each tier adds (its rate - the previous rate) on every cent
    # above its threshold.
    total = Fraction(0)
    previous = Fraction(0)
    for threshold, rate in steps:
        total += (rate - previous) * max(0, basis - threshold)
        previous = rate
    return total


def cent_by_cent_commission(plan: PlanVersion, basis: int) -> Fraction:
    """Progressive only: the cent number c (from 0) earns the rate of the tier it lies in."""
    total = Fraction(0)
    for cent in range(max(basis, 0)):
        rate = next(t.rate for t in reversed(plan.tiers) if t.threshold_cents <= cent)
        total += Fraction(rate)
    return total


def naive_total(plan: PlanVersion, basis: int) -> tuple[int, int, int, bool]:
    raw = naive_commission(plan, basis)
    cap = plan.commission_cap_cents
    commission = half_even(raw if cap is None else min(raw, Fraction(cap)))
    bonus = 0
    quota = plan.quota_bonus
    if quota is not None and basis >= quota.quota_cents:
        if quota.amount_cents is not None:
            bonus = quota.amount_cents
        else:
            bonus = half_even(Fraction(quota.rate_of_base) * plan.base_pay_cents)
    capped = cap is not None and raw >= cap
    return commission, bonus, plan.base_pay_cents + commission + bonus, capped


def naive_pay(plan: PlanVersion, basis: int) -> dict[str, object]:
    commission, bonus, total, capped = naive_total(plan, basis)
    reached = [i for i, tier in enumerate(plan.tiers) if basis >= tier.threshold_cents]
    index = reached[-1] if reached else 0
    following = None
    if not capped and index + 1 < len(plan.tiers):
        threshold = plan.tiers[index + 1].threshold_cents
        following = (index + 1, threshold - basis, naive_total(plan, threshold)[2] - total)
    return {
        "commission": commission,
        "bonus": bonus,
        "total": total,
        "capped": capped,
        "tier": index,
        "next": following,
    }


def observed(result: Pay) -> dict[str, object]:
    following = result.next_tier
    return {
        "commission": result.commission_cents,
        "bonus": result.bonus_cents,
        "total": result.total_cents,
        "capped": result.capped,
        "tier": result.tier_index,
        "next": None
        if following is None
        else (following.tier_index, following.missing_cents, following.adds_cents),
    }


# --- strategies -----------------------------------------------------------------------------

# Rates that make half cents of odd amounts, so that the rounding rule is exercised often.
halving_rates = st.sampled_from(["0.5", "0.05", "0.005", "0.25", "0.015", "0.125"]).map(Decimal)
rates = halving_rates | st.integers(0, 4).flatmap(
    lambda places: st.integers(0, 10**places).map(lambda n: Decimal(n).scaleb(-places))
)


@st.composite
def plans(draw: st.DrawFn, mode: str | None = None, top: int = 5_000_000) -> PlanVersion:
    tier_mode = mode or draw(st.sampled_from(("progressive", "retroactive")))
    thresholds = sorted(draw(st.sets(st.integers(1, top), max_size=5)))
    tier_rates = draw(st.lists(rates, min_size=len(thresholds) + 1, max_size=len(thresholds) + 1))
    if tier_mode == "retroactive":
        tier_rates.sort()
    bonus = draw(
        st.none()
        | st.builds(QuotaBonus, st.integers(1, top), amount_cents=st.integers(0, 100_000))
        | st.builds(QuotaBonus, st.integers(1, top), rate_of_base=rates)
    )
    return brazil(
        tier_mode=tier_mode,
        basis=draw(st.sampled_from(("revenue", "margin"))),
        base_pay_cents=draw(st.integers(0, 500_000)),
        tiers=tuple(Tier(t, r) for t, r in zip([0, *thresholds], tier_rates, strict=True)),
        quota_bonus=bonus,
        commission_cap_cents=draw(st.none() | st.integers(0, 200_000)),
    )


@st.composite
def plan_and_basis(draw: st.DrawFn, mode: str | None = None) -> tuple[PlanVersion, int]:
    """A plan and a basis, often on, just below or just above one of its edges."""
    plan = draw(plans(mode))
    edges = [tier.threshold_cents for tier in plan.tiers]
    if plan.quota_bonus is not None:
        edges.append(plan.quota_bonus.quota_cents)
    near_edge = st.sampled_from(edges).flatmap(
        lambda edge: st.integers(-2, 2).map(lambda step: edge + step)
    )
    return plan, draw(near_edge | st.integers(-1_000_000, 10_000_000))


# --- hand-computed cases --------------------------------------------------------------------


def test_the_documented_progressive_example() -> None:
    result = pay(brazil(), revenue(4_500_000))  # R$ 45.000,00
    assert (result.base_cents, result.commission_cents, result.bonus_cents) == (
        180_000,
        60_000,  # 1 % x 30.000 + 2 % x 15.000 = R$ 600
        30_000,  # quota R$ 40.000 met
    )
    assert result.total_cents == 270_000 and result.tier_index == 1
    assert (result.plan_id, result.plan_version, result.basis) == ("padrao-loja-001", 1, "revenue")
    assert result.basis_cents == 4_500_000 and result.quota_met
    assert result.quota_missing_cents is None and not result.capped
    assert result.next_tier is None, "top tier"


def test_the_documented_retroactive_example() -> None:
    result = pay(brazil(tier_mode="retroactive"), revenue(4_500_000))
    assert result.commission_cents == 90_000  # 2 % x R$ 45.000
    assert result.total_cents == 300_000


@pytest.mark.parametrize(
    ("mode", "basis", "commission"),
    [
        # 1 % x 29.999,99 = 29.999,99 cents -> 30.000 (the rounding, not the tier)
        ("progressive", 2_999_999, 30_000),
        ("progressive", 3_000_000, 30_000),
        # 30.000 + 2 % x 0,01 = 30.000,02 cents -> 30.000
        ("progressive", 3_000_001, 30_000),
        # 30.000 + 2 % x 0,50 = 30.001 cents
        ("progressive", 3_000_050, 30_001),
        ("retroactive", 2_999_999, 30_000),
        # reaching the tier: 2 % on everything, R$ 300 more for one cent more
        ("retroactive", 3_000_000, 60_000),
        # 2 % x 30.000,01 = 60.000,02 cents -> 60.000
        ("retroactive", 3_000_001, 60_000),
    ],
)
def test_tier_boundaries_are_exact_to_the_cent(mode: str, basis: int, commission: int) -> None:
    assert pay(brazil(tier_mode=mode), revenue(basis)).commission_cents == commission


@pytest.mark.parametrize(
    ("mode", "basis", "commission", "tier"),
    [
        # Rates large enough for a single cent to show: 10 % then 50 % from R$ 1.000,00.
        ("progressive", 99_999, 10_000, 0),  # 9.999,9 -> 10.000
        ("progressive", 100_000, 10_000, 1),  # 10.000 exactly
        ("progressive", 100_001, 10_000, 1),  # 10.000 + 0,5 = 10.000,5 -> 10.000 (even)
        ("progressive", 100_002, 10_001, 1),  # 10.000 + 1
        ("progressive", 100_003, 10_002, 1),  # 10.001,5 -> 10.002 (even)
        ("retroactive", 99_999, 10_000, 0),  # 9.999,9 -> 10.000
        ("retroactive", 100_000, 50_000, 1),  # 50 % of everything
        ("retroactive", 100_001, 50_000, 1),  # 50.000,5 -> 50.000 (even)
        ("retroactive", 100_003, 50_002, 1),  # 50.001,5 -> 50.002 (even)
    ],
)
def test_one_cent_either_side_of_a_threshold(
    mode: str, basis: int, commission: int, tier: int
) -> None:
    plan = brazil(
        tier_mode=mode,
        tiers=(Tier(0, Decimal("0.10")), Tier(100_000, Decimal("0.50"))),
        commission_cap_cents=None,
    )
    result = pay(plan, revenue(basis))
    assert (result.commission_cents, result.tier_index) == (commission, tier)


def test_a_retroactive_plan_jumps_at_its_threshold() -> None:
    """Not continuous, by design: the cent that reaches the tier is worth R$ 300, and a
    one-cent return after it takes R$ 300 away. Still never lower for a higher basis."""
    plan = brazil(tier_mode="retroactive")
    below = pay(plan, revenue(2_999_999))
    on = pay(plan, revenue(3_000_000))
    assert on.total_cents - below.total_cents == 30_000
    assert below.next_tier is not None
    assert (below.next_tier.missing_cents, below.next_tier.adds_cents) == (1, 30_000)
    progressive = brazil()
    assert (
        pay(progressive, revenue(3_000_000)).total_cents
        - pay(progressive, revenue(2_999_999)).total_cents
        == 0  # 29.999,99 and 30.000 cents both round to 30.000
    )


def test_the_cap_holds() -> None:
    plan = brazil()
    # 300 + 2 % x (90.000 - 30.000) = R$ 1.500 exactly at R$ 90.000
    at_cap = pay(plan, revenue(9_000_000))
    assert at_cap.commission_cents == 150_000 and at_cap.capped and at_cap.next_tier is None
    below = pay(plan, revenue(8_999_999))  # 149.999,98 -> 149.999,98 cents -> 150.000
    assert below.commission_cents == 150_000 and not below.capped
    far = pay(plan, revenue(1_000_000_000))
    assert far.commission_cents == 150_000 and far.capped
    # The bonus is on top of the cap: base + cap + bonus.
    assert far.total_cents == 180_000 + 150_000 + 30_000
    retroactive = brazil(tier_mode="retroactive")
    assert pay(retroactive, revenue(7_500_000)).capped  # 2 % x 75.000 = 1.500
    assert not pay(retroactive, revenue(7_499_999)).capped


def test_a_capped_seller_has_no_next_tier() -> None:
    plan = brazil(
        tiers=(Tier(0, Decimal("0.01")), Tier(3_000_000, Decimal("0.02"))),
        commission_cap_cents=20_000,
    )
    result = pay(plan, revenue(2_500_000))  # 1 % x 25.000 = 250 > 200
    assert result.capped and result.commission_cents == 20_000 and result.next_tier is None


def test_the_quota_bonus_at_the_quota_and_one_cent_below() -> None:
    plan = brazil()
    below = pay(plan, revenue(3_999_999))
    at = pay(plan, revenue(4_000_000))
    assert (below.bonus_cents, below.quota_met, below.quota_missing_cents) == (0, False, 1)
    assert (at.bonus_cents, at.quota_met, at.quota_missing_cents) == (30_000, True, None)
    # 1 % x 30.000 + 2 % x 9.999,99 = 49.999,98 cents -> 50.000
    assert below.total_cents == 180_000 + 50_000
    assert at.total_cents == 180_000 + 50_000 + 30_000


def test_a_bonus_as_a_share_of_base_is_rounded_half_even() -> None:
    def bonus(base: int) -> int:
        plan = brazil(base_pay_cents=base, quota_bonus=QuotaBonus(1, rate_of_base=Decimal("0.05")))
        return pay(plan, revenue(1)).bonus_cents

    assert bonus(180_000) == 9_000
    assert bonus(10) == 0  # 0,5 cent -> 0
    assert bonus(30) == 2  # 1,5 cents -> 2
    assert bonus(50) == 2  # 2,5 cents -> 2
    assert bonus(70) == 4  # 3,5 cents -> 4


@pytest.mark.parametrize(
    ("basis", "commission"),
    [(50, 0), (150, 2), (250, 2), (350, 4), (49, 0), (51, 1), (251, 3)],
)
def test_the_commission_rounds_half_even(basis: int, commission: int) -> None:
    """1 % of 50 cents is 0,5 cent: half-even gives 0 where half-up would give 1."""
    plan = brazil(tiers=(Tier(0, Decimal("0.01")),), quota_bonus=None)
    assert pay(plan, revenue(basis)).commission_cents == commission


def test_the_total_is_the_sum_of_the_rounded_components() -> None:
    """Commission 0,5 cent -> 0 and bonus 0,5 cent -> 0: the total is the base, 10, while a
    rounding of the exact sum (11) would give 11. Components must add up on a payslip."""
    plan = brazil(
        base_pay_cents=10,
        tiers=(Tier(0, Decimal("0.01")),),
        quota_bonus=QuotaBonus(50, rate_of_base=Decimal("0.05")),
    )
    result = pay(plan, revenue(50))
    assert (result.commission_cents, result.bonus_cents, result.total_cents) == (0, 0, 10)
    assert exact_commission(plan, 50) == Decimal("0.5")


def test_a_negative_basis_earns_nothing_but_the_base() -> None:
    plan = brazil(quota_bonus=QuotaBonus(1, amount_cents=30_000))
    result = pay(plan, revenue(-250_000))  # R$ 2.500 more returned than sold
    assert (result.commission_cents, result.bonus_cents) == (0, 0)
    assert result.total_cents == plan.base_pay_cents and result.basis_cents == -250_000
    assert result.tier_index == 0 and result.quota_missing_cents == 250_001
    assert result.next_tier is not None
    # From -2.500 to 30.000: 32.500 to sell; at 30.000 the commission is R$ 300 and the
    # quota of 1 cent is met on the way (+ R$ 300).
    assert (result.next_tier.missing_cents, result.next_tier.adds_cents) == (
        3_250_000,
        30_000 + 30_000,
    )


def test_returns_reduce_the_commission_of_their_period() -> None:
    # March: R$ 45.000 sold, R$ 5.000 returned (of February's sales or March's): basis 40.000.
    march = pay(brazil(), revenue(4_500_000 - 500_000))
    assert march.commission_cents == 30_000 + 20_000  # 1 % x 30.000 + 2 % x 10.000
    assert march.commission_cents < pay(brazil(), revenue(4_500_000)).commission_cents
    assert march.bonus_cents == 30_000  # still exactly at quota


def test_a_margin_plan_pays_on_margin() -> None:
    plan = brazil(basis="margin")
    result = pay(plan, BasisFigures(revenue_cents=10_000_000, margin_cents=2_000_000))
    assert result.basis_cents == 2_000_000 and result.commission_cents == 20_000
    assert result.bonus_cents == 0


def test_the_next_tier_of_the_documented_example() -> None:
    progressive = pay(brazil(), revenue(2_850_000)).next_tier
    assert progressive is not None
    assert (progressive.tier_index, progressive.threshold_cents) == (1, 3_000_000)
    assert progressive.rate == Decimal("0.02")
    assert (progressive.missing_cents, progressive.adds_cents) == (150_000, 1_500)
    retroactive = pay(brazil(tier_mode="retroactive"), revenue(2_850_000)).next_tier
    assert retroactive is not None
    assert (retroactive.missing_cents, retroactive.adds_cents) == (150_000, 31_500)


def test_the_next_tier_counts_a_quota_met_on_the_way() -> None:
    plan = brazil(quota_bonus=QuotaBonus(2_900_000, amount_cents=30_000))
    following = pay(plan, revenue(2_850_000)).next_tier
    assert following is not None and following.adds_cents == 1_500 + 30_000


def test_amounts_far_beyond_any_store_stay_exact() -> None:
    plan = brazil(
        tiers=(Tier(0, Decimal("0.123457")), Tier(1, Decimal("0.999999"))),
        commission_cap_cents=None,
    )
    basis = 2**63 - 1
    expected = half_even(Fraction("0.123457") + Fraction("0.999999") * (basis - 1))
    assert commission_cents(plan, basis) == expected


def test_figures_are_integer_cents() -> None:
    assert BasisFigures.of({"revenue_cents": 5, "margin_cents": 2, "orders": 1}) == BasisFigures(
        5, 2
    )
    with pytest.raises(TypeError):
        BasisFigures(10.5, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BasisFigures(10, Decimal(1))  # type: ignore[arg-type]


def test_to_cents_rounds_half_even() -> None:
    assert [to_cents(Decimal(v)) for v in ("0.5", "1.5", "2.5", "-0.5", "-1.5", "2.4999")] == [
        0,
        2,
        2,
        0,
        -2,
        2,
    ]


# --- properties and the independent recompute -----------------------------------------------


@SETTINGS
@given(plan_and_basis())
def test_every_figure_equals_an_independent_recompute(case: tuple[PlanVersion, int]) -> None:
    plan, basis = case
    assert observed(pay_for_basis(plan, basis)) == naive_pay(plan, basis)
    figures = BasisFigures(basis, basis) if plan.basis == "margin" else revenue(basis)
    assert pay(plan, figures) == pay_for_basis(plan, basis)


@settings(max_examples=100, deadline=None, database=None)
@given(plans(mode="progressive", top=2_000), st.integers(-50, 2_500))
def test_progressive_commission_equals_a_cent_by_cent_sum(plan: PlanVersion, basis: int) -> None:
    assert exact_commission(plan, basis) == cent_by_cent_commission(plan, basis)
    assert exact_commission(plan, basis) == naive_commission(plan, basis)


@SETTINGS
@given(plan_and_basis(), st.integers(0, 5_000_000))
def test_pay_never_decreases_when_the_basis_grows(
    case: tuple[PlanVersion, int], growth: int
) -> None:
    """Progressive plans, and retroactive ones too since their rates may not decrease."""
    plan, basis = case
    before, after = pay_for_basis(plan, basis), pay_for_basis(plan, basis + growth)
    assert before.commission_cents <= after.commission_cents
    assert before.bonus_cents <= after.bonus_cents
    assert before.total_cents <= after.total_cents


@SETTINGS
@given(plan_and_basis(), st.integers(1, 5_000_000))
def test_returns_never_raise_pay(case: tuple[PlanVersion, int], returned: int) -> None:
    plan, basis = case
    assert (
        pay_for_basis(plan, basis - returned).total_cents <= pay_for_basis(plan, basis).total_cents
    )
    assert pay_for_basis(plan, min(basis, 0) - returned).commission_cents == 0


@SETTINGS
@given(plan_and_basis(mode="progressive"))
def test_a_progressive_plan_has_no_jump(case: tuple[PlanVersion, int]) -> None:
    """One cent more adds at most the top rate of a cent before rounding; rounding moves each
    side by half a cent at most, so at most 2 cents after it, bonus aside."""
    plan, basis = case
    top_rate = max(tier.rate for tier in plan.tiers)
    assert exact_commission(plan, basis + 1) - exact_commission(plan, basis) <= top_rate
    before, after = pay_for_basis(plan, basis), pay_for_basis(plan, basis + 1)
    bonus_step = after.bonus_cents - before.bonus_cents
    assert after.total_cents - before.total_cents - bonus_step <= 2


@SETTINGS
@given(plan_and_basis())
def test_the_cap_always_holds(case: tuple[PlanVersion, int]) -> None:
    plan, basis = case
    result = pay_for_basis(plan, basis)
    cap = plan.commission_cap_cents
    assume(cap is not None)
    assert result.commission_cents <= cap
    uncapped = pay_for_basis(replace(plan, commission_cap_cents=None), basis)
    assert result.commission_cents == min(uncapped.commission_cents, cap)
    if result.capped:
        assert result.next_tier is None
        assert pay_for_basis(plan, basis + 1_000_000).commission_cents == cap


@SETTINGS
@given(plan_and_basis())
def test_the_next_tier_is_reached_where_it_says(case: tuple[PlanVersion, int]) -> None:
    plan, basis = case
    result = pay_for_basis(plan, basis)
    following = result.next_tier
    if following is None:
        assert result.capped or result.tier_index == len(plan.tiers) - 1
        return
    there = pay_for_basis(plan, basis + following.missing_cents)
    assert there.tier_index == following.tier_index == result.tier_index + 1
    assert there.total_cents - result.total_cents == following.adds_cents
    assert pay_for_basis(plan, basis + following.missing_cents - 1).tier_index < (
        following.tier_index
    )


@SETTINGS
@given(
    plans(mode="progressive"),
    st.integers(-1_000_000, 10_000_000),
    st.lists(st.integers(-1_000_000, 10_000_000), min_size=3, max_size=3).map(sorted),
)
def test_projected_pay_is_ordered_for_progressive_plans(
    plan: PlanVersion, actual: int, band: list[int]
) -> None:
    low, mid, high = (BasisFigures(cents, cents) for cents in band)
    projected = projected_pay(plan, BasisFigures(actual, actual), low, mid, high)
    assert projected.actual == pay(plan, BasisFigures(actual, actual))
    assert projected.low.total_cents <= projected.mid.total_cents <= projected.high.total_cents
    assert projected.mid == pay(plan, mid)


def test_projected_pay_of_the_documented_plan() -> None:
    projected = projected_pay(
        brazil(),
        revenue(2_000_000),
        revenue(3_500_000),
        revenue(4_200_000),
        revenue(5_000_000),
    )
    assert projected.actual.total_cents == 180_000 + 20_000
    assert projected.low.total_cents == 180_000 + 40_000  # 300 + 2 % x 5.000
    assert projected.mid.total_cents == 180_000 + 54_000 + 30_000  # quota met
    assert projected.high.total_cents == 180_000 + 70_000 + 30_000


def test_projected_margin_follows_the_margin_rate_to_date() -> None:
    actual = BasisFigures(revenue_cents=1_000_000, margin_cents=333_333)
    assert projected_figures(actual, 3_000_000) == BasisFigures(3_000_000, 999_999)
    # 333.333 x 1.5 = 499.999,5 -> 500.000 (half-even: 499.999 is odd)
    assert projected_figures(actual, 1_500_000).margin_cents == 500_000
    # 2 x 1 / 4 = 0,5 -> 0
    assert projected_figures(BasisFigures(4, 1), 2).margin_cents == 0
    assert projected_figures(BasisFigures(0, 500), 9_000) == BasisFigures(9_000, 500)
    assert projected_figures(BasisFigures(-10, 5), 9_000) == BasisFigures(9_000, 5)


# --- what-if --------------------------------------------------------------------------------


def test_a_what_if_puts_both_plans_side_by_side() -> None:
    current = brazil()
    draft = brazil(version=2, tiers=(Tier(0, Decimal("0.01")), Tier(3_000_000, Decimal("0.03"))))
    team = [
        TeamMember("ana", BasisFigures(4_500_000, 1_800_000)),
        TeamMember("bruno", BasisFigures(2_500_000, 1_000_000)),
    ]
    result = simulate(current, draft, team)
    ana, bruno = result.sellers
    assert (ana.current.total_cents, ana.draft.total_cents, ana.change_cents) == (
        270_000,
        285_000,  # 300 + 3 % x 15.000 = 750, + 300 bonus
        15_000,
    )
    assert (bruno.current.total_cents, bruno.draft.total_cents) == (205_000, 205_000)
    assert result.projected == BasisFigures(7_000_000, 2_800_000)
    assert result.current.pay_cents == 475_000 and result.draft.pay_cents == 490_000
    assert result.change_cents == 15_000
    assert result.current.of_revenue == Fraction(475_000, 7_000_000)  # 6,79 %
    assert result.draft.of_revenue == Fraction(7, 100)
    assert result.current.of_margin == Fraction(475_000, 2_800_000)  # 16,96 %
    assert result.draft.of_margin == Fraction(175, 1000)
    assert ana.current_cost.of_revenue == Fraction(270_000, 4_500_000)
    assert ana.draft_cost.of_margin == Fraction(285_000, 1_800_000)


def test_a_what_if_without_revenue_or_margin_has_no_share() -> None:
    result = simulate(brazil(), brazil(version=2), [TeamMember("ana", BasisFigures(-100, 0))])
    assert result.current.of_revenue is None and result.current.of_margin is None
    assert result.current.pay_cents == 180_000
    empty = simulate(brazil(), brazil(version=2), [])
    assert empty.sellers == () and empty.current.pay_cents == 0


def test_a_what_if_refuses_a_team_or_plans_that_do_not_fit() -> None:
    member = TeamMember("ana", revenue(1))
    with pytest.raises(ValueError, match="twice"):
        simulate(brazil(), brazil(version=2), [member, member])
    with pytest.raises(ValueError, match="loja-002"):
        simulate(brazil(), brazil(store_id="loja-002"), [member])


@SETTINGS
@given(
    plans(),
    plans(),
    st.lists(
        st.tuples(st.integers(-100_000, 10_000_000), st.integers(-100_000, 5_000_000)),
        max_size=8,
    ),
)
def test_a_what_if_equals_pay_seller_by_seller(
    current: PlanVersion, draft: PlanVersion, figures: list[tuple[int, int]]
) -> None:
    team = [TeamMember(f"s{i}", BasisFigures(r, m)) for i, (r, m) in enumerate(figures)]
    before = (current, draft, list(team))
    result = simulate(current, draft, team)
    assert (current, draft, team) == before, "a simulation changes nothing"
    for member, seller in zip(team, result.sellers, strict=True):
        assert seller.current == pay(current, member.projected)
        assert seller.draft == pay(draft, member.projected)
    total_revenue = sum(r for r, _ in figures)
    current_total = sum(
        naive_total(current, m.projected.basis_cents(current.basis))[2] for m in team
    )
    assert result.current.pay_cents == current_total
    assert result.projected.revenue_cents == total_revenue
    if total_revenue > 0:
        assert result.draft.of_revenue == Fraction(result.draft.pay_cents, total_revenue)
