"""Pay from a plan and the period's figures: pure functions, integer cents out.

The rounding rule, once for all of DataApp's pay figures: every amount is computed exactly
(``Decimal`` under a context that raises rather than round), and each reported component is
rounded half-even to the cent once, at its end: the commission (after the cap) and a quota
bonus given as a share of the base. Base pay and a fixed bonus are whole cents already. The
total is the sum of the rounded components, never rounded on its own, so that base +
commission + bonus = total on every screen and payslip; it may differ from a rounding of the
exact sum by at most a cent. ``docs/pay.md`` explains the choices.

The basis (net revenue or net margin of the period to date) is the caller's: returns lower it
in the period they happen, because the period's figures already net them. A negative basis
(more returned than sold) earns no commission and no bonus; the base is paid all the same, and
nothing is carried into the next period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction

from app.pay.plans import Basis, PlanVersion

# Rates have at most 6 decimal places and amounts at most 19 digits, so 60 digits hold every
# product and sum exactly; trapping Inexact turns "exact" from a hope into a checked fact.
_EXACT = Context(
    prec=60,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, Inexact, Overflow, DivisionByZero],
)
_ROUND = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow])
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class BasisFigures:
    """The seller's (or team's) figures for the period: net of returns, cents."""

    revenue_cents: int
    margin_cents: int

    def __post_init__(self) -> None:
        for name in ("revenue_cents", "margin_cents"):
            if type(getattr(self, name)) is not int:
                raise TypeError(f"{name} must be int cents, got {getattr(self, name)!r}")

    @classmethod
    def of(cls, figures: Mapping[str, int]) -> BasisFigures:
        """From the API's figures (``app.api.lookups.Figures``)."""
        return cls(figures["revenue_cents"], figures["margin_cents"])

    def basis_cents(self, basis: Basis) -> int:
        return self.revenue_cents if basis == "revenue" else self.margin_cents


@dataclass(frozen=True, slots=True)
class NextTier:
    """What the next tier is worth from where the seller stands."""

    tier_index: int
    threshold_cents: int
    rate: Decimal
    missing_cents: int
    """Basis still to sell (or margin to make) to reach the tier: threshold - basis."""
    adds_cents: int
    """Total pay at the threshold minus total pay now: the commission gained on the way, the
    jump of a retroactive tier, and a quota bonus if the quota lies on the way."""


@dataclass(frozen=True, slots=True)
class Pay:
    plan_id: str
    plan_version: int
    basis: Basis
    basis_cents: int
    """The period's basis as given: negative when returns exceed sales."""
    tier_index: int
    """The highest tier reached (0 for a basis of 0 or less)."""
    base_cents: int
    commission_cents: int
    bonus_cents: int
    total_cents: int
    """base + commission + bonus, each already rounded: nothing is rounded here."""
    capped: bool
    """The commission has reached the plan's cap: more basis adds no commission."""
    quota_met: bool
    quota_missing_cents: int | None
    """Basis still needed for the quota bonus; None without a bonus or once it is met."""
    next_tier: NextTier | None
    """None at the top tier or when capped."""


@dataclass(frozen=True, slots=True)
class ProjectedPay:
    actual: Pay
    low: Pay
    mid: Pay
    high: Pay


@dataclass(frozen=True, slots=True)
class TeamMember:
    seller_id: str
    projected: BasisFigures
    """The seller's projected figures at the end of the period."""


@dataclass(frozen=True, slots=True)
class PayCost:
    """Pay (base, commission and bonus) and what it costs the store."""

    pay_cents: int
    of_revenue: Fraction | None
    """pay / revenue, exact; None when revenue is 0 or less (no meaningful share)."""
    of_margin: Fraction | None
    """pay / margin, exact; None when margin is 0 or less."""


@dataclass(frozen=True, slots=True)
class SellerSimulation:
    seller_id: str
    projected: BasisFigures
    current: Pay
    draft: Pay
    current_cost: PayCost
    draft_cost: PayCost

    @property
    def change_cents(self) -> int:
        return self.draft.total_cents - self.current.total_cents


@dataclass(frozen=True, slots=True)
class Simulation:
    sellers: tuple[SellerSimulation, ...]
    projected: BasisFigures
    """The team's projected figures: the sum of its sellers'."""
    current: PayCost
    draft: PayCost

    @property
    def change_cents(self) -> int:
        return self.draft.pay_cents - self.current.pay_cents


# ---------------------------------------------------------------------------------------------


def current_tier(plan: PlanVersion, basis_cents: int) -> int:
    """Index of the highest tier whose threshold the basis reaches (thresholds inclusive)."""
    index = 0
    for position, tier in enumerate(plan.tiers):
        if basis_cents >= tier.threshold_cents:
            index = position
    return index


def exact_commission(plan: PlanVersion, basis_cents: int) -> Decimal:
    """The commission before the cap and before rounding, exact."""
    if basis_cents <= 0:
        return Decimal(0)
    tiers = plan.tiers
    with localcontext(_EXACT):
        if plan.tier_mode == "retroactive":
            return tiers[current_tier(plan, basis_cents)].rate * basis_cents
        total = Decimal(0)
        for index, tier in enumerate(tiers):
            if basis_cents <= tier.threshold_cents:
                break
            top = tiers[index + 1].threshold_cents if index + 1 < len(tiers) else basis_cents
            total += tier.rate * (min(basis_cents, top) - tier.threshold_cents)
        return total


def commission_cents(plan: PlanVersion, basis_cents: int) -> int:
    """The commission: exact, capped, then rounded half-even to the cent."""
    exact = exact_commission(plan, basis_cents)
    cap = plan.commission_cap_cents
    # The cap is whole cents, so capping before or after rounding gives the same cents.
    return to_cents(exact if cap is None else min(exact, Decimal(cap)))


def bonus_cents(plan: PlanVersion, basis_cents: int) -> int:
    """The quota bonus: paid in full once the basis reaches the quota, else nothing."""
    bonus = plan.quota_bonus
    if bonus is None or basis_cents < bonus.quota_cents:
        return 0
    if bonus.amount_cents is not None:
        return bonus.amount_cents
    assert bonus.rate_of_base is not None  # the plan's own check guarantees one of the two
    with localcontext(_EXACT):
        return to_cents(bonus.rate_of_base * plan.base_pay_cents)


def to_cents(amount: Decimal) -> int:
    """The rounding rule: half-even to the cent (0.5 -> 0, 1.5 -> 2, 2.5 -> 2)."""
    return int(amount.quantize(_ONE, rounding=ROUND_HALF_EVEN, context=_ROUND))


def pay(plan: PlanVersion, figures: BasisFigures) -> Pay:
    """Pay for the period to date under ``plan`` (the version in force for the period)."""
    return pay_for_basis(plan, figures.basis_cents(plan.basis))


def pay_for_basis(plan: PlanVersion, basis_cents: int) -> Pay:
    """Pay at a given basis: what ``pay`` computes once it has picked revenue or margin."""
    settled = _settle(plan, basis_cents)
    if settled.capped:
        return settled
    index = settled.tier_index + 1
    if index >= len(plan.tiers):
        return settled
    tier = plan.tiers[index]
    there = _settle(plan, tier.threshold_cents)
    next_tier = NextTier(
        tier_index=index,
        threshold_cents=tier.threshold_cents,
        rate=tier.rate,
        missing_cents=tier.threshold_cents - basis_cents,
        adds_cents=there.total_cents - settled.total_cents,
    )
    return replace(settled, next_tier=next_tier)


def projected_pay(
    plan: PlanVersion,
    actual_figures: BasisFigures,
    projected_low: BasisFigures,
    projected_mid: BasisFigures,
    projected_high: BasisFigures,
) -> ProjectedPay:
    """Pay to date and at the projected period end (low, mid, high).

    The projected figures are the period's whole figures at its end (actual to date plus the
    forecast of the rest), not the rest alone. For a progressive plan, ordered figures give
    ordered pay; nothing here reorders them.
    """
    return ProjectedPay(
        actual=pay(plan, actual_figures),
        low=pay(plan, projected_low),
        mid=pay(plan, projected_mid),
        high=pay(plan, projected_high),
    )


def projected_figures(actual: BasisFigures, projected_revenue_cents: int) -> BasisFigures:
    """Period-end figures from a projected revenue, the margin at the margin rate to date.

    The forecasts project revenue, not margin; a margin plan's projection assumes the seller
    keeps the mix (hence the margin rate) they have so far. Without revenue to date there is no
    rate, and the projected margin is the margin to date. Rounded half-even to the cent.
    """
    if actual.revenue_cents <= 0:
        return BasisFigures(projected_revenue_cents, actual.margin_cents)
    margin = Fraction(actual.margin_cents * projected_revenue_cents, actual.revenue_cents)
    return BasisFigures(projected_revenue_cents, round(margin))  # round(): half-even


def simulate(
    current_plan: PlanVersion, draft_plan: PlanVersion, team: Sequence[TeamMember]
) -> Simulation:
    """A what-if: the team's projected pay under the current plan and under a draft, seller by
    seller and in total, with the pay cost as a share of revenue and of margin. Saves nothing.

    Both plans apply to every member given: sellers with an override of their own are the
    caller's to leave out (or to simulate against their override).
    """
    if draft_plan.store_id != current_plan.store_id:
        raise ValueError(
            f"the draft is a plan of store {draft_plan.store_id!r}, "
            f"the current plan of store {current_plan.store_id!r}"
        )
    seen: set[str] = set()
    sellers: list[SellerSimulation] = []
    for member in team:
        if member.seller_id in seen:
            raise ValueError(f"seller {member.seller_id!r} is twice in the team")
        seen.add(member.seller_id)
        current = pay(current_plan, member.projected)
        draft = pay(draft_plan, member.projected)
        sellers.append(
            SellerSimulation(
                seller_id=member.seller_id,
                projected=member.projected,
                current=current,
                draft=draft,
                current_cost=pay_cost(current.total_cents, member.projected),
                draft_cost=pay_cost(draft.total_cents, member.projected),
            )
        )
    projected = BasisFigures(
        sum(s.projected.revenue_cents for s in sellers),
        sum(s.projected.margin_cents for s in sellers),
    )
    return Simulation(
        sellers=tuple(sellers),
        projected=projected,
        current=pay_cost(sum(s.current.total_cents for s in sellers), projected),
        draft=pay_cost(sum(s.draft.total_cents for s in sellers), projected),
    )


def pay_cost(pay_cents: int, figures: BasisFigures) -> PayCost:
    revenue, margin = figures.revenue_cents, figures.margin_cents
    return PayCost(
        pay_cents=pay_cents,
        of_revenue=Fraction(pay_cents, revenue) if revenue > 0 else None,
        of_margin=Fraction(pay_cents, margin) if margin > 0 else None,
    )


def _settle(plan: PlanVersion, basis_cents: int) -> Pay:
    """Every figure but the next tier."""
    exact = exact_commission(plan, basis_cents)
    cap = plan.commission_cap_cents
    commission = commission_cents(plan, basis_cents)
    bonus = bonus_cents(plan, basis_cents)
    quota = plan.quota_bonus
    quota_met = quota is not None and basis_cents >= quota.quota_cents
    return Pay(
        plan_id=plan.plan_id,
        plan_version=plan.version,
        basis=plan.basis,
        basis_cents=basis_cents,
        tier_index=current_tier(plan, basis_cents),
        base_cents=plan.base_pay_cents,
        commission_cents=commission,
        bonus_cents=bonus,
        total_cents=plan.base_pay_cents + commission + bonus,
        capped=cap is not None and exact >= cap,
        quota_met=quota_met,
        quota_missing_cents=None if quota is None or quota_met else quota.quota_cents - basis_cents,
        next_tier=None,
    )
