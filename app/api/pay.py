"""The pay and plan answers of the API, pure: parameters, which plan applies to whom, and the
JSON of the figures of ``app.pay.compute``. The handlers in ``routes.py`` fetch the plans and
the sales figures and call these; nothing here does I/O.

Money is integer cents. Shares of pay in revenue or margin are decimal strings rounded
half-even to six places (``"0.067857"``, 6.7857 %), from the exact integers the same answer
carries (``pay_cents`` / ``revenue_cents``); null when the figure is 0 or less.

**Projected pay** (``projected``): the pay at the month's end, from the seller's projection of
the month (``Outlook``: the period-end revenue the projection route answers, its mid and the
bounds of its 80 % interval), the margin projected at the margin rate to date
(``compute.projected_figures``). Low and high are the pay *at* the low and high revenue, each
a whole pay (base + commission + bonus = total at each end); a team's projected totals are
the sum of the sellers' mids only, since sums of bounds are no interval (``docs/api.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from app.api.lookups import Figures
from app.api.periods import BadParameter, DateRange, parse_choice, parse_date
from app.pay.compute import (
    BasisFigures,
    Pay,
    PayCost,
    pay,
    pay_cost,
    projected_figures,
    projected_pay,
)
from app.pay.plans import PERIODS, PlanHistory, PlanVersion, plan_for, to_json
from app.reference import ReferenceCatalogue

FALLBACK_TIME_ZONE = "America/Sao_Paulo"
"""The zone of a store the reference data does not know: the canonical layout's default."""
SHARE_PLACES = 6
BAND = "80%"
"""The interval a projected pay's low and high come from: the projection's 80 % one (a
seller's month at 95 % is too wide to act on; the projection route answers both)."""
ENDS = ("mid", "low", "high")


def store_today(catalogue: ReferenceCatalogue, store_id: str, now: datetime) -> date:
    """Today in the store's time zone (``ref.stores``), which decides the month a pay answer
    is about: at 22:00 in São Paulo on the 31st it is already the 1st in UTC."""
    store = catalogue.stores.get(store_id)
    zone = ZoneInfo(store.time_zone if store is not None else FALLBACK_TIME_ZONE)
    return now.astimezone(zone).date()


def parse_period(query: Mapping[str, str]) -> str:
    return parse_choice(query, "period", PERIODS, "month")


def parse_as_of(query: Mapping[str, str], today: date, retention_days: int) -> date:
    """``as_of`` (``YYYY-MM-DD``, default today): not after today, not before the history the
    API keeps."""
    as_of = parse_date(query, "as_of", today)
    if as_of > today:
        raise BadParameter(
            f"'as_of' ({as_of}) is after today ({today}) in the store's time zone: there are no "
            "sales to pay yet"
        )
    oldest = today - timedelta(days=retention_days)
    if as_of < oldest:
        raise BadParameter(
            f"'as_of' ({as_of}) is older than the retention period ({retention_days} days)"
        )
    return as_of


def month_to_date(as_of: date) -> DateRange:
    """The month containing ``as_of``, up to and including ``as_of``: the sales a pay answer
    counts."""
    return DateRange(as_of.replace(day=1), as_of)


def month_end(day: date) -> date:
    """The last day of the month containing ``day``."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def period_head(period: str, span: DateRange) -> dict[str, str]:
    return {
        "period": period,
        "from": span.first.isoformat(),
        "to": span.last.isoformat(),
        "as_of": span.last.isoformat(),
    }


# -- plans --------------------------------------------------------------------------------------


def plan_scope(plan: PlanVersion) -> str:
    return "store" if plan.seller_id is None else "seller"


def in_force(history: PlanHistory | None, seller_id: str | None, day: date) -> PlanVersion | None:
    """``plan_for`` of a store that may have no plans at all."""
    return None if history is None else plan_for(history, seller_id, day)


def plan_view(history: PlanHistory | None, today: date) -> dict[str, Any]:
    """What ``GET /plan`` answers besides the store: every version in the order saved, the
    store's plan in force today, and the sellers' overrides in force today."""
    if history is None:
        return {
            "today": today.isoformat(),
            "versions": [],
            "in_force": None,
            "overrides_in_force": [],
        }
    overrides = sorted({p.seller_id for p in history.versions if p.seller_id is not None})
    overriding = [plan_for(history, seller_id, today) for seller_id in overrides]
    return {
        "today": today.isoformat(),
        "versions": [to_json(plan) for plan in history.versions],
        "in_force": _json_or_none(plan_for(history, None, today)),
        "overrides_in_force": [
            to_json(plan) for plan in overriding if plan is not None and plan.seller_id is not None
        ],
    }


def _json_or_none(plan: PlanVersion | None) -> dict[str, Any] | None:
    return None if plan is None else to_json(plan)


def draft_applies(draft: PlanVersion, seller_id: str, current: PlanVersion | None) -> bool:
    """Whether a draft, were it saved, would be the plan of ``seller_id`` for the period: an
    override applies to its seller; the store's plan to every seller without an override of
    their own in force."""
    if draft.seller_id is not None:
        return draft.seller_id == seller_id
    return current is None or current.seller_id is None


# -- pay ----------------------------------------------------------------------------------------


def share(numerator: int, denominator: int) -> str | None:
    """``numerator / denominator`` as a decimal string, half-even to six places; None when the
    denominator is 0 or less (a share of nothing, or of a loss, means nothing)."""
    if denominator <= 0:
        return None
    return _decimal(Fraction(numerator, denominator))


def cost_json(cost: PayCost) -> dict[str, Any]:
    return {
        "pay_cents": cost.pay_cents,
        "of_revenue": None if cost.of_revenue is None else _decimal(cost.of_revenue),
        "of_margin": None if cost.of_margin is None else _decimal(cost.of_margin),
    }


def _decimal(value: Fraction) -> str:
    scaled = round(value * 10**SHARE_PLACES)  # round() of a Fraction is half-even, exact
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**SHARE_PLACES)
    return f"{sign}{whole}.{part:0{SHARE_PLACES}d}"


def pay_json(
    result: Pay, plan: PlanVersion, projected: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every figure of a seller's pay, in cents; ``projected`` is ``projected_json``'s, or
    null without a projection (``docs/api.md``, "Pay")."""
    tier = result.next_tier
    return {
        "plan_id": result.plan_id,
        "plan_version": result.plan_version,
        "plan_scope": plan_scope(plan),
        "basis": result.basis,
        "basis_cents": result.basis_cents,
        "tier_index": result.tier_index,
        "base_cents": result.base_cents,
        "commission_cents": result.commission_cents,
        "bonus_cents": result.bonus_cents,
        "total_cents": result.total_cents,
        "capped": result.capped,
        "quota_met": result.quota_met,
        "quota_missing_cents": result.quota_missing_cents,
        "next_tier": None
        if tier is None
        else {
            "tier_index": tier.tier_index,
            "threshold_cents": tier.threshold_cents,
            "rate": f"{tier.rate:f}",
            "missing_cents": tier.missing_cents,
            "adds_cents": tier.adds_cents,
        },
        "projected": projected,
    }


def basis_of(figures: Figures) -> BasisFigures:
    return BasisFigures.of(figures)


def seller_pay(
    plan: PlanVersion, figures: Figures, outlook: Outlook | None = None
) -> dict[str, Any]:
    """One seller's pay row: the figures it is computed from, the pay, and the pay projected
    from ``outlook`` (null without one)."""
    return {
        "revenue_cents": figures["revenue_cents"],
        "margin_cents": figures["margin_cents"],
        **pay_json(
            pay(plan, basis_of(figures)),
            plan,
            None if outlook is None else projected_json(plan, figures, outlook),
        ),
    }


# -- projected pay ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outlook:
    """A seller's revenue at the end of the month (the whole month's, not the rest alone)."""

    method: str
    """``forecast``: the seller's projection of the month (``period_end.revenue``);
    ``final``: the month is over, the figures are the actual; ``no_history``: the seller sold
    nothing in the year before (no forecast): the actual to date, nothing more expected."""
    mid: int
    low: int
    high: int

    @classmethod
    def final(cls, figures: Figures) -> Outlook:
        revenue = figures["revenue_cents"]
        return cls("final", revenue, revenue, revenue)

    @classmethod
    def of_projection(cls, answer: Mapping[str, Any], figures: Figures) -> Outlook:
        """From a projection answer (``ProjectionService.answer``) of the whole month: its
        ``period_end`` revenue, mid and the 80 % bounds (``BAND``)."""
        period_end = answer.get("period_end")
        if period_end is None:
            revenue = figures["revenue_cents"]
            return cls("no_history", revenue, revenue, revenue)
        end = period_end["revenue"]
        return cls("forecast", end["mid"], end["low80"], end["high80"])


def projected_json(plan: PlanVersion, figures: Figures, outlook: Outlook) -> dict[str, Any]:
    """The pay at the month's end under ``plan``: at the projected revenue's mid, low and high,
    the margin at the margin rate to date. ``next_tier_reached`` and ``quota_met`` are the
    mid's: a tier above the one reached to date, and the quota bonus."""
    actual = basis_of(figures)
    ends = {end: projected_figures(actual, getattr(outlook, end)) for end in ("low", "mid", "high")}
    result = projected_pay(plan, actual, ends["low"], ends["mid"], ends["high"])
    at = {"mid": result.mid, "low": result.low, "high": result.high}

    def each(figure: str) -> dict[str, int]:
        return {end: getattr(at[end], figure) for end in ENDS}

    return {
        "method": outlook.method,
        "band": BAND,
        "revenue_cents": {end: ends[end].revenue_cents for end in ENDS},
        "margin_cents": {end: ends[end].margin_cents for end in ENDS},
        "commission_cents": each("commission_cents"),
        "bonus_cents": each("bonus_cents"),
        "total_cents": each("total_cents"),
        "next_tier_reached": result.mid.tier_index > result.actual.tier_index,
        "quota_met": result.mid.quota_met,
    }


@dataclass(frozen=True, slots=True)
class TeamSeller:
    seller_id: str
    display_name: str
    figures: Figures


def team_members(
    figures: Mapping[str, Figures], names: Mapping[str, str], listed: Iterable[str]
) -> list[TeamSeller]:
    """The team of a pay period: every seller with sales in it (``lines``), plus the sellers
    ``listed`` (the store's in the reference data: paid their base without a sale), by id."""
    wanted = set(listed) | {seller for seller, found in figures.items() if found.get("lines")}
    zero = {"revenue_cents": 0, "margin_cents": 0, "lines": 0}
    return [
        TeamSeller(seller, names.get(seller, seller), dict(figures.get(seller, zero)))
        for seller in sorted(wanted)
    ]


def team_pay(
    history: PlanHistory,
    members: Sequence[TeamSeller],
    as_of: date,
    outlooks: Mapping[str, Outlook] | None = None,
) -> dict[str, Any]:
    """The team's pay rows and their totals. Every member has a plan: the caller answers 404
    when the store has no plan in force (``no_plan``). ``outlooks`` by seller id: a member
    without one has ``projected`` null, and so have the totals."""
    outlooks = outlooks or {}
    rows: list[dict[str, Any]] = []
    for member in members:
        plan = plan_for(history, member.seller_id, as_of)
        assert plan is not None, "the store's plan is in force"
        rows.append(
            {
                "seller_id": member.seller_id,
                "display_name": member.display_name,
                **seller_pay(plan, member.figures, outlooks.get(member.seller_id)),
            }
        )
    revenue = sum(row["revenue_cents"] for row in rows)
    margin = sum(row["margin_cents"] for row in rows)
    total = sum(row["total_cents"] for row in rows)
    return {
        "sellers": rows,
        "totals": {
            "sellers": len(rows),
            "revenue_cents": revenue,
            "margin_cents": margin,
            "base_cents": sum(row["base_cents"] for row in rows),
            "commission_cents": sum(row["commission_cents"] for row in rows),
            "bonus_cents": sum(row["bonus_cents"] for row in rows),
            "total_cents": total,
            "of_revenue": share(total, revenue),
            "of_margin": share(total, margin),
            "projected": projected_totals([row["projected"] for row in rows]),
        },
    }


def projected_totals(projected: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The team's projected pay: the sum of the sellers' mids (the sums of their lows and
    highs would be no interval of the team's), with its shares of the projected revenue and
    margin. Null when a seller has no projection (or there are no sellers)."""
    if not projected or any(row is None for row in projected):
        return None
    rows = [row for row in projected if row is not None]

    def mid(figure: str) -> int:
        return sum(row[figure]["mid"] for row in rows)

    total, revenue, margin = mid("total_cents"), mid("revenue_cents"), mid("margin_cents")
    return {
        "revenue_cents": revenue,
        "margin_cents": margin,
        "commission_cents": mid("commission_cents"),
        "bonus_cents": mid("bonus_cents"),
        "total_cents": total,
        "of_revenue": share(total, revenue),
        "of_margin": share(total, margin),
    }


def simulation(
    history: PlanHistory | None,
    draft: PlanVersion,
    members: Sequence[TeamSeller],
    as_of: date,
    outlooks: Mapping[str, Outlook] | None = None,
) -> dict[str, Any]:
    """Each member's pay for the period to date under the plan in force and under the store's
    plans as they would be with ``draft`` saved and in force for the period (its
    ``effective_from`` aside: the question is what this period would pay). A member without a
    plan either way has null there, and so do the totals of that side. Saves nothing.

    With ``outlooks`` (by seller id), each side's ``projected`` is the pay at the month's end
    under that side's plan, and the answer's ``projected`` the team's at the mids, with the
    pay cost's shares of the projected revenue and margin (``simulation_projected``)."""
    outlooks = outlooks or {}
    rows: list[dict[str, Any]] = []
    current_total: int | None = 0
    draft_total: int | None = 0
    for member in members:
        current = in_force(history, member.seller_id, as_of)
        proposed = draft if draft_applies(draft, member.seller_id, current) else current
        basis = basis_of(member.figures)
        now = None if current is None else pay(current, basis)
        then = None if proposed is None else pay(proposed, basis)
        current_total = _add(current_total, now)
        draft_total = _add(draft_total, then)
        outlook = outlooks.get(member.seller_id)
        rows.append(
            {
                "seller_id": member.seller_id,
                "display_name": member.display_name,
                "revenue_cents": basis.revenue_cents,
                "margin_cents": basis.margin_cents,
                "current": None
                if now is None or current is None
                else pay_json(now, current, _projected(current, member.figures, outlook)),
                "draft": None
                if then is None or proposed is None
                else pay_json(then, proposed, _projected(proposed, member.figures, outlook)),
                "change_cents": None
                if now is None or then is None
                else then.total_cents - now.total_cents,
            }
        )
    team = BasisFigures(
        sum(row["revenue_cents"] for row in rows), sum(row["margin_cents"] for row in rows)
    )
    return {
        "draft": to_json(draft),
        "sellers": rows,
        "totals": {
            "sellers": len(rows),
            "revenue_cents": team.revenue_cents,
            "margin_cents": team.margin_cents,
            "current": None if current_total is None else cost_json(pay_cost(current_total, team)),
            "draft": None if draft_total is None else cost_json(pay_cost(draft_total, team)),
            "change_cents": None
            if current_total is None or draft_total is None
            else draft_total - current_total,
        },
        "projected": simulation_projected(rows)
        if rows and all(member.seller_id in outlooks for member in members)
        else None,
    }


def simulation_projected(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The team's projected pay cost under each side, at the sellers' mids: ``pay_cents`` and
    its shares of the team's projected revenue and margin (the sums of the mids), beside the
    period to date's ``totals``. A side is null when a seller has no plan on it."""
    team = BasisFigures(
        sum(_mid_of(row, "revenue_cents") for row in rows),
        sum(_mid_of(row, "margin_cents") for row in rows),
    )
    sides: dict[str, int | None] = {}
    for side in ("current", "draft"):
        paid: int | None = 0
        for row in rows:
            if paid is None or row[side] is None:
                paid = None
            else:
                paid += row[side]["projected"]["total_cents"]["mid"]
        sides[side] = paid
    current, proposed = sides["current"], sides["draft"]
    return {
        "revenue_cents": team.revenue_cents,
        "margin_cents": team.margin_cents,
        "current": None if current is None else cost_json(pay_cost(current, team)),
        "draft": None if proposed is None else cost_json(pay_cost(proposed, team)),
        "change_cents": None if current is None or proposed is None else proposed - current,
    }


def _mid_of(row: Mapping[str, Any], figure: str) -> int:
    """A simulation row's projected figure at the mid: the same under either side's plan (the
    revenue is the projection's; the margin its rate to date's)."""
    side = row["current"] if row["current"] is not None else row["draft"]
    return int(side["projected"][figure]["mid"])


def _projected(
    plan: PlanVersion, figures: Figures, outlook: Outlook | None
) -> dict[str, Any] | None:
    return None if outlook is None else projected_json(plan, figures, outlook)


def _add(total: int | None, result: Pay | None) -> int | None:
    if total is None or result is None:
        return None
    return total + result.total_cents
