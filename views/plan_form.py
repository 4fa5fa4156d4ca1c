"""The plan editor's form as pure functions: what a manager types (``1.800,00``, ``2,5``)
turned into the API's plan (integer cents, decimal-string rates), and a saved plan turned
back into what the form shows. The API checks the plan itself and names the field at fault;
these functions only read numbers as the manager writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from views.i18n import resolve_locale

TIER_ROWS = 4
"""Tiers the form offers; a plan with more is edited through the API."""


class FormError(ValueError):
    """A field the form cannot read: ``field`` is the form's name for it."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _decimal(text: str, locale: str, field: str) -> Decimal:
    cleaned = re.sub(r"[R$\s%]", "", text.strip())
    if resolve_locale(locale) == "pt_BR":
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FormError(field) from None
    if not value.is_finite() or value < 0:
        raise FormError(field)
    return value


def parse_money(text: str, locale: str, field: str) -> int:
    """Reais as the manager writes them (``R$ 1.800,00``, ``1800``; ``1,800.00`` in English)
    as integer cents; a fraction of a cent is refused, not rounded."""
    cents = _decimal(text, locale, field) * 100
    if cents != cents.to_integral_value():
        raise FormError(field)
    return int(cents)


def parse_rate(text: str, locale: str, field: str) -> str:
    """A percentage (``2,5`` or ``2,5%``) as the API's decimal-string rate (``0.025``)."""
    rate = _decimal(text, locale, field) / 100
    return format(rate.normalize(), "f")


def money_text(cents: int, locale: str) -> str:
    """Cents as the form shows them, without the currency sign: ``1.800,00`` / ``1,800.00``."""
    whole, part = divmod(cents, 100)
    grouped = f"{whole:,}"
    if resolve_locale(locale) == "pt_BR":
        return f"{grouped.replace(',', '.')},{part:02d}"
    return f"{grouped}.{part:02d}"


def rate_text(rate: str, locale: str) -> str:
    """A decimal-string rate as the percentage the form shows: ``0.025`` -> ``2,5``."""
    shown = format((Decimal(rate) * 100).normalize(), "f")
    return shown.replace(".", ",") if resolve_locale(locale) == "pt_BR" else shown


@dataclass(frozen=True, slots=True)
class PlanForm:
    """The form's fields as typed (empty text: not set)."""

    base_pay: str
    basis: str
    tier_mode: str
    tiers: tuple[tuple[str, str], ...]
    """(threshold in reais, rate in %) per row; empty rows are left out."""
    quota: str = ""
    bonus: str = ""
    cap: str = ""


def plan_body(form: PlanForm, plan_id: str, effective_from: str, locale: str) -> dict[str, Any]:
    """The ``PUT /plan`` (and ``/plan/simulate``) body of the form; the server numbers it."""
    tiers = [
        {
            "threshold_cents": parse_money(threshold or "0", locale, f"tiers[{n}].threshold"),
            "rate": parse_rate(rate, locale, f"tiers[{n}].rate"),
        }
        for n, (threshold, rate) in enumerate(
            (threshold, rate) for threshold, rate in form.tiers if rate.strip()
        )
    ]
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "effective_from": effective_from,
        "base_pay_cents": parse_money(form.base_pay, locale, "base_pay"),
        "basis": form.basis,
        "tier_mode": form.tier_mode,
        "tiers": tiers,
    }
    if form.quota.strip() and form.bonus.strip():
        body["quota_bonus"] = {
            "quota_cents": parse_money(form.quota, locale, "quota"),
            "amount_cents": parse_money(form.bonus, locale, "bonus"),
        }
    if form.cap.strip():
        body["commission_cap_cents"] = parse_money(form.cap, locale, "cap")
    return body


def form_of(plan: dict[str, Any] | None, locale: str) -> PlanForm:
    """What the form shows for a saved plan (or a blank one)."""
    if plan is None:
        return PlanForm("", "revenue", "progressive", (("0", ""),) + (("", ""),) * 3)
    rows = [
        (money_text(tier["threshold_cents"], locale), rate_text(tier["rate"], locale))
        for tier in plan["tiers"]
    ][:TIER_ROWS]
    rows += [("", "")] * (TIER_ROWS - len(rows))
    bonus = plan.get("quota_bonus") or {}
    return PlanForm(
        money_text(plan["base_pay_cents"], locale),
        plan["basis"],
        plan["tier_mode"],
        tuple(rows),
        money_text(bonus["quota_cents"], locale) if bonus.get("amount_cents") is not None else "",
        money_text(bonus["amount_cents"], locale) if bonus.get("amount_cents") is not None else "",
        money_text(plan["commission_cap_cents"], locale)
        if plan.get("commission_cap_cents") is not None
        else "",
    )
