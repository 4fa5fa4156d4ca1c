"""The plan editor's form: numbers read as a manager writes them, and back."""

from __future__ import annotations

import pytest

from app.pay.plans import parse_plan
from views.plan_form import (
    FormError,
    PlanForm,
    form_of,
    money_text,
    parse_money,
    parse_rate,
    plan_body,
    rate_text,
)


@pytest.mark.parametrize(
    ("text", "locale", "cents"),
    [
        ("1.800,00", "pt_BR", 180_000),
        ("R$ 1.800,5", "pt_BR", 180_050),
        ("1800", "pt_BR", 180_000),
        ("0,01", "pt_BR", 1),
        ("1,800.00", "en", 180_000),
        ("R$1,800.05", "en", 180_005),
    ],
)
def test_money_is_read_as_written_into_whole_cents(text: str, locale: str, cents: int) -> None:
    assert parse_money(text, locale, "base_pay") == cents


@pytest.mark.parametrize("text", ["dois mil", "", "-10", "1,001", "NaN", "1.800,005"])
def test_unreadable_money_names_its_field(text: str) -> None:
    with pytest.raises(FormError) as refused:
        parse_money(text, "pt_BR", "quota")
    assert refused.value.field == "quota"


def test_rates_are_percentages_as_written() -> None:
    assert parse_rate("2,5", "pt_BR", "r") == "0.025"
    assert parse_rate("10%", "pt_BR", "r") == "0.1"
    assert parse_rate("0,75", "pt_BR", "r") == "0.0075"
    assert parse_rate("2.5", "en", "r") == "0.025"
    assert rate_text("0.025", "pt_BR") == "2,5" and rate_text("0.1", "en") == "10"
    assert money_text(123_456_789, "pt_BR") == "1.234.567,89"
    assert money_text(5, "en") == "0.05"


def test_the_form_builds_a_plan_the_api_accepts_and_shows_it_back() -> None:
    form = PlanForm(
        "1.500,00",
        "revenue",
        "progressive",
        (("0", "5"), ("500,00", "10"), ("", ""), ("", "")),
        quota="40.000,00",
        bonus="300,00",
        cap="1.500,00",
    )
    body = plan_body(form, "padrao", "2026-12-01", "pt_BR")
    assert body["tiers"] == [
        {"threshold_cents": 0, "rate": "0.05"},
        {"threshold_cents": 50_000, "rate": "0.1"},
    ]
    assert body["quota_bonus"] == {"quota_cents": 4_000_000, "amount_cents": 30_000}
    assert body["commission_cap_cents"] == 150_000
    plan = parse_plan({**body, "store_id": "loja", "version": 1})
    assert plan.base_pay_cents == 150_000
    shown = form_of(body, "pt_BR")
    assert shown.tiers[:2] == (("0,00", "5"), ("500,00", "10"))
    assert (shown.quota, shown.bonus, shown.cap) == ("40.000,00", "300,00", "1.500,00")
    assert plan_body(shown, "padrao", "2026-12-01", "pt_BR") == body


def test_a_bad_tier_is_named_by_its_row() -> None:
    form = PlanForm("1.500,00", "revenue", "progressive", (("0", "5"), ("500", "dez")))
    with pytest.raises(FormError) as refused:
        plan_body(form, "padrao", "2026-12-01", "pt_BR")
    assert refused.value.field == "tiers[1].rate"
