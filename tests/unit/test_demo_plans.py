"""The demo's commission plans: valid plans in the API's format that pay what the generator's
plans say (a rate of revenue, a higher rate on everything past the threshold)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from app.generator.chain import build_chain
from app.generator.plans import DEMO_BASE_PAY_CENTS, demo_plans
from app.pay.compute import BasisFigures, pay
from app.pay.plans import parse_plan


def cents(amount_cents: int, basis_points: int) -> int:
    """``amount_cents`` × ``basis_points`` / 10,000, half-even on the cent (docs/pay.md)."""
    exact = Decimal(amount_cents * basis_points) / 10_000
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_every_store_gets_its_usual_plan_and_overrides_for_the_others() -> None:
    chain = build_chain(7, stores=8)
    plans = {plan.plan_id: plan for plan in chain.plans}
    for store in chain.stores:
        drafts = demo_plans(chain, store.store_id, date(2026, 9, 1))
        versions = [parse_plan({**draft, "version": 1}) for draft in drafts]
        store_plan = versions[0]
        assert store_plan.seller_id is None and store_plan.store_id == store.store_id
        sellers = [s for s in chain.sellers if s.store_id == store.store_id]
        overridden = {v.seller_id for v in versions[1:]}
        for seller in sellers:
            on_store_plan = seller.commission_plan_id == store_plan.plan_id
            assert (seller.seller_id in overridden) != on_store_plan
        assert len({v.plan_id for v in versions}) == len(versions)
        for version in versions:
            source = plans[version.plan_id.split("-s-")[0]]
            # Just under and at the threshold, by hand from the generator's basis points.
            under = source.bonus_threshold_cents - 100
            got = pay(version, BasisFigures(under, 0))
            assert got.commission_cents == cents(under, source.base_rate_bp)
            at = pay(version, BasisFigures(source.bonus_threshold_cents, 0))
            rate = source.base_rate_bp + source.bonus_rate_bp
            assert at.commission_cents == cents(source.bonus_threshold_cents, rate)
            assert at.base_cents == DEMO_BASE_PAY_CENTS
