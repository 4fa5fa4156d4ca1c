"""The demo's commission plans: valid plans in the API's format that pay what the generator's
plans say (a rate of revenue, a higher rate on everything past the threshold), which the API
saves from the first month of the demo's history (marked as corrections when that month is
past)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from app.generator.chain import build_chain
from app.generator.plans import DEMO_BASE_PAY_CENTS, correction_reason, demo_plans
from app.pay.compute import BasisFigures, pay
from app.pay.editing import plan_to_save
from app.pay.plans import Correction, PlanError, PlanHistory, add_version, parse_plan


def cents(amount_cents: int, basis_points: int) -> int:
    """``amount_cents`` × ``basis_points`` / 10,000, half-even on the cent (docs/pay.md)."""
    exact = Decimal(amount_cents * basis_points) / 10_000
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def test_every_store_gets_its_usual_plan_and_overrides_for_the_others() -> None:
    chain = build_chain(7, stores=8)
    plans = {plan.plan_id: plan for plan in chain.plans}
    for store in chain.stores:
        drafts = demo_plans(chain, store.store_id, date(2026, 9, 1), today=date(2026, 9, 1))
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


def test_plans_from_a_past_month_are_saved_as_the_demos_corrections() -> None:
    """The demo backfills 90 days: its plans start months before the store's current month,
    which a save accepts only from a correction; each says it is the demo's setup."""
    chain = build_chain(7, stores=8)
    first, today = date(2026, 9, 1), date(2026, 12, 4)
    for store in chain.stores:
        drafts = demo_plans(chain, store.store_id, first, today=today)
        assert drafts and all(
            draft["correction"] == {"reason": correction_reason(first)} for draft in drafts
        )
        history = PlanHistory(store.store_id)
        for draft in drafts:
            plan = plan_to_save(history, draft, store.store_id, store_today=today)
            assert plan.correction == Correction(correction_reason(first))
            history = add_version(history, plan)
        assert len(history.versions) == len(drafts)
        # Without the correction the same save is refused: it is what lets them through.
        bare = {key: value for key, value in drafts[0].items() if key != "correction"}
        with pytest.raises(PlanError) as refused:
            plan_to_save(PlanHistory(store.store_id), bare, store.store_id, store_today=today)
        assert refused.value.field == "effective_from"
    assert "2026-09-01" in correction_reason(first) and "demo" in correction_reason(first).lower()


@pytest.mark.parametrize("today", [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1)])
def test_plans_from_the_current_month_are_no_corrections(today: date) -> None:
    """Without history (``--history-days 0``) the plans start this month: plain versions."""
    chain = build_chain(7, stores=8)
    store = chain.stores[0].store_id
    first = date(2026, 12, 1) if today.month == 12 else today
    for draft in demo_plans(chain, store, first, today=today):
        assert "correction" not in draft
        assert plan_to_save(PlanHistory(store), draft, store, store_today=today).correction is None


def test_without_a_day_the_stores_wall_clock_decides() -> None:
    """What ``dataapp run`` does: no day given, today in the store's time zone."""
    chain = build_chain(7, stores=8)
    store = chain.stores[0].store_id
    assert all("correction" in draft for draft in demo_plans(chain, store, date(2020, 1, 1)))
    assert all("correction" not in draft for draft in demo_plans(chain, store, date(2100, 1, 1)))
