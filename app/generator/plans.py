"""The demo chain's commission plans in the API's plan format (``docs/pay.md``).

The generator gives each seller a plan (``Seller.commission_plan_id``): a rate of net
revenue, plus a higher rate on everything once the month's revenue reaches a threshold. In the
pay format that is a retroactive plan of two tiers. The store's plan is the one most of its
sellers have; a seller on another plan gets an override of their own. The base pay is the
demo's own figure (the generator has none).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from app.generator.chain import Chain, CommissionPlan

DEMO_BASE_PAY_CENTS = 180_000
"""R$ 1.800,00 a month, about a Brazilian retail seller's floor."""


def _rate(basis_points: int) -> str:
    return str(Decimal(basis_points).scaleb(-4))


def _plan_json(
    plan: CommissionPlan, plan_id: str, store_id: str, seller_id: str | None, first: date
) -> dict[str, Any]:
    return {
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


def demo_plans(chain: Chain, store_id: str, effective_from: date) -> list[dict[str, Any]]:
    """The store's plan first, then one override per seller on another plan; each a plan
    version as ``PUT /api/v1/stores/{store}/plan`` takes it (the server numbers them).
    ``effective_from`` must be the first of a month."""
    plans = {plan.plan_id: plan for plan in chain.plans}
    sellers = [s for s in chain.sellers if s.store_id == store_id]
    if not sellers:
        return []
    usual = Counter(s.commission_plan_id for s in sellers).most_common(1)[0][0]
    versions = [_plan_json(plans[usual], usual, store_id, None, effective_from)]
    for seller in sellers:
        if seller.commission_plan_id != usual:
            plan = plans[seller.commission_plan_id]
            plan_id = f"{plan.plan_id}-{seller.seller_id}"
            versions.append(_plan_json(plan, plan_id, store_id, seller.seller_id, effective_from))
    return versions
