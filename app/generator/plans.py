"""The demo chain's commission plans in the API's plan format (``docs/pay.md``).

The generator gives each seller a plan (``Seller.commission_plan_id``): a rate of net
revenue, plus a higher rate on everything once the month's revenue reaches a threshold. In the
pay format that is a retroactive plan of two tiers. The store's plan is the one most of its
sellers have; a seller on another plan gets an override of their own. The base pay is the
demo's own figure (the generator has none).

The demo saves its plans when it starts, from the first month of its history (90 days back by
default), so that the pay of the months already sold is shown too. A version whose month is
already past when it is saved changes pay already earned, which the API accepts only from a
correction (``docs/pay.md``, "Editing"): such versions carry one, whose reason says it is the
demo's setup, so the plan history tells it apart from a manager's correction.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.generator.chain import Chain, CommissionPlan

DEMO_BASE_PAY_CENTS = 180_000
"""R$ 1.800,00 a month, about a Brazilian retail seller's floor."""


def _rate(basis_points: int) -> str:
    return str(Decimal(basis_points).scaleb(-4))


def correction_reason(effective_from: date) -> str:
    """Why a demo plan starts in a month already past: the demo's history is paid by it."""
    return (
        "Demo chain: the generator's commission plan, saved when the demo started, pays the "
        f"demo's sales history from {effective_from.isoformat()} on"
    )


def _plan_json(
    plan: CommissionPlan,
    plan_id: str,
    store_id: str,
    seller_id: str | None,
    first: date,
    back_dated: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "effective_from": first.isoformat(),
        "store_id": store_id,
        "seller_id": seller_id,
        "base_pay_cents": DEMO_BASE_PAY_CENTS,
        "basis": "revenue",
        "tier_mode": "retroactive",
        "tiers": [
            {"threshold_cents": 0, "rate": _rate(plan.base_rate_bp)},
            {
                "threshold_cents": plan.bonus_threshold_cents,
                "rate": _rate(plan.base_rate_bp + plan.bonus_rate_bp),
            },
        ],
    }
    if back_dated:
        body["correction"] = {"reason": correction_reason(first)}
    return body


def demo_plans(
    chain: Chain, store_id: str, effective_from: date, today: date | None = None
) -> list[dict[str, Any]]:
    """The store's plan first, then one override per seller on another plan; each a plan
    version as ``PUT /api/v1/stores/{store}/plan`` takes it (the server numbers them).
    ``effective_from`` must be the first of a month. When it is before the month of
    ``today`` (the store's date; default: now in the store's time zone, the clock the demo's
    live sales follow), every version is marked as a correction (``correction_reason``)."""
    plans = {plan.plan_id: plan for plan in chain.plans}
    sellers = [s for s in chain.sellers if s.store_id == store_id]
    if not sellers:
        return []
    if today is None:
        store = next((s for s in chain.stores if s.store_id == store_id), None)
        zone = ZoneInfo(store.time_zone) if store is not None else UTC
        today = datetime.now(zone).date()
    back_dated = effective_from < today.replace(day=1)
    usual = Counter(s.commission_plan_id for s in sellers).most_common(1)[0][0]
    versions = [_plan_json(plans[usual], usual, store_id, None, effective_from, back_dated)]
    for seller in sellers:
        if seller.commission_plan_id != usual:
            plan = plans[seller.commission_plan_id]
            plan_id = f"{plan.plan_id}-{seller.seller_id}"
            versions.append(
                _plan_json(plan, plan_id, store_id, seller.seller_id, effective_from, back_dated)
            )
    return versions
