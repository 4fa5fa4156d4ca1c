"""Message catalogue and locale formatting of the dashboards (``views/i18n.py``)."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from views.i18n import (
    DEFAULT_LOCALE,
    LOCALES,
    LOCALES_DIR,
    _parse_catalogue,
    catalogue,
    clock,
    day,
    day_time,
    money,
    number,
    percent,
    placeholders,
    resolve_locale,
    signed_change,
    text,
    tour_steps,
)

SETTINGS = settings(max_examples=300, deadline=None, database=None)
NO_BREAK_SPACES = ("\u00a0", "\u202f")
METRICS = ("revenue", "margin", "orders", "average_ticket", "units", "customers")


def raw(locale: str) -> dict[str, str]:
    """The catalogue file as JSON, read apart from the module under test."""
    return json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8"))


PT = raw("pt_BR")
EN = raw("en")

# What the dashboards are built against: a key renamed or dropped here breaks a page.
REQUIRED_KEYS = [
    "app.title",
    "language.label",
    "language.pt_BR",
    "language.en",
    "auth.title",
    "auth.username",
    "auth.password",
    "auth.submit",
    "auth.wrong_credentials",
    "auth.session_expired",
    "auth.sign_out",
    "period.today",
    "period.this_week",
    "period.this_month",
    "period.last_7_days",
    "period.last_30_days",
    "period.custom",
    "period.from",
    "period.to",
    "period.vs.yesterday",
    "period.vs.last_week",
    "period.vs.last_month",
    "period.vs.previous",
    "granularity.day",
    "granularity.week",
    "granularity.month",
    "manager.title",
    *(f"manager.kpi.{m}" for m in METRICS),
    *(f"manager.kpi_help.{m}" for m in METRICS),
    "manager.feed.title",
    "manager.feed.col.time",
    "manager.feed.col.seller",
    "manager.feed.col.items",
    "manager.feed.col.amount",
    "manager.feed.empty",
    "manager.team.title",
    "manager.team.col.seller",
    "manager.team.col.revenue",
    "manager.team.col.margin",
    "manager.team.col.orders",
    "manager.team.col.share",
    "manager.team.help",
    "manager.compare.title",
    "manager.compare.rank_label",
    "manager.compare.percentile",
    "manager.compare.weakest",
    "manager.compare.strongest",
    "manager.compare.rank",
    *(f"manager.compare.metric.{m}" for m in METRICS),
    *(f"manager.compare.suggestion.{m}" for m in METRICS),
    "seller.title",
    "seller.today",
    "seller.period",
    "seller.history.title",
    "seller.rank.title",
    "seller.rank.value",
    "help.title",
    "help.intro",
    "tour.next",
    "tour.back",
    "tour.done",
    "tour.skip",
    "common.no_comparison",
    "common.updated_at",
    "common.live",
    "common.loading",
    "empty.no_sales_period",
    "empty.no_store_data",
    "error.service_unavailable",
    "error.forbidden",
    "error.generic",
]


# --------------------------------------------------------------------------- catalogues


def test_both_catalogues_have_exactly_the_same_keys() -> None:
    assert set(PT) - set(EN) == set()
    assert set(EN) - set(PT) == set()
    assert len(PT) == len(EN) > 100


@pytest.mark.parametrize("key", sorted(PT))
def test_placeholders_match_between_languages(key: str) -> None:
    assert placeholders(PT[key]) == placeholders(EN[key])


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_trimmed_non_blank_text(locale: str) -> None:
    for key, message in raw(locale).items():
        assert isinstance(message, str), key
        assert message.strip() == message != "", key
        assert "\u00a0" not in message, key


def test_keys_form_a_tree() -> None:
    """No key is also a prefix of others, so the catalogue could become nested JSON."""
    keys = set(PT)
    prefixes = {key.rsplit(".", 1)[0] for key in keys if "." in key}
    assert keys & prefixes == set()


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_the_keys_the_dashboards_use_exist(key: str) -> None:
    assert key in PT
    assert key in EN


def test_language_names_are_written_in_their_own_language() -> None:
    for locale in LOCALES:
        assert text("language.pt_BR", locale) == "Português"
        assert text("language.en", locale) == "English"


def test_pt_br_is_actually_portuguese_and_en_english() -> None:
    assert text("period.today", "pt_BR") == "Hoje"
    assert text("period.today", "en") == "Today"
    same = [key for key in PT if PT[key] == EN[key] and not key.startswith("language.")]
    # Only texts that are the same in both languages by nature (like "{step}") may match.
    assert same == []


def test_parse_catalogue_rejects_duplicate_keys() -> None:
    with pytest.raises(ValueError, match="twice"):
        _parse_catalogue('{"a.b": "x", "a.b": "y"}', "test.json")


@pytest.mark.parametrize(
    "raw_json",
    ['{"a": {"b": "nested"}}', '{"a": 3}', '["a", "b"]', '{"a": "{n:.2f}"}', '{"a": "{x.y}"}'],
)
def test_parse_catalogue_rejects_what_a_page_could_not_show(raw_json: str) -> None:
    with pytest.raises(ValueError):
        _parse_catalogue(raw_json, "test.json")


def test_catalogue_is_loaded_once_and_read_only() -> None:
    first = catalogue("pt_BR")
    assert catalogue("pt_BR") is first
    assert first == PT
    with pytest.raises(TypeError):
        first["app.title"] = "changed"  # type: ignore[index]


@pytest.mark.parametrize(("role", "low", "high"), [("manager", 4, 6), ("seller", 3, 5)])
def test_tour_steps_cover_every_tour_key(role: str, low: int, high: int) -> None:
    for locale in LOCALES:
        steps = tour_steps(role, locale)  # type: ignore[arg-type]
        assert low <= len(steps) <= high
        tour_keys = {key for key in PT if key.startswith(f"tour.{role}.")}
        assert len(tour_keys) == 2 * len(steps)
        assert steps[0] == (
            text(f"tour.{role}.1.title", locale),
            text(f"tour.{role}.1.body", locale),
        )
    assert tour_steps("manager", "pt_BR") != tour_steps("manager", "en")


# --------------------------------------------------------------------------- text


def test_text_fills_placeholders() -> None:
    assert text("seller.rank.value", "pt_BR", rank=2, count=9) == "2º de 9 vendedores"
    assert text("seller.rank.value", "en", rank=2, count=9) == "#2 of 9 sellers"
    assert text("common.updated_at", "pt_BR", time="14:05") == "Atualizado às 14:05"
    metric = text("manager.compare.metric.average_ticket", "pt_BR")
    sentence = text("manager.compare.rank", "pt_BR", rank=3, count=12, metric=metric)
    assert sentence == "Sua loja está em 3º lugar entre 12 lojas em ticket médio."


def test_text_without_placeholders_ignores_extra_parameters() -> None:
    assert text("period.today", "pt_BR", unused=1) == "Hoje"


def test_text_unknown_key_raises_key_error() -> None:
    with pytest.raises(KeyError, match=re.escape("manager.kpi.nope")):
        text("manager.kpi.nope", "pt_BR")
    with pytest.raises(KeyError):
        text("manager.kpi.nope", "en")


def test_text_missing_parameter_raises_key_error() -> None:
    with pytest.raises(KeyError, match="count"):
        text("seller.rank.value", "pt_BR", rank=1)


@pytest.mark.parametrize("locale", ["fr", "xx_YY", "", "de_DE"])
def test_unknown_locale_falls_back_to_pt_br(locale: str) -> None:
    assert resolve_locale(locale) == DEFAULT_LOCALE == "pt_BR"
    assert text("period.today", locale) == "Hoje"
    assert money(123456, locale) == "R$ 1.234,56"
    assert day(date(2026, 11, 29), locale) == "29/11/2026"


@pytest.mark.parametrize(
    ("given_name", "resolved"),
    [("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("pt", "pt_BR"), ("en", "en"), ("en-US", "en")],
)
def test_resolve_locale_accepts_browser_spellings(given_name: str, resolved: str) -> None:
    assert resolve_locale(given_name) == resolved


def test_placeholders_lists_plain_names() -> None:
    assert placeholders("{rank}º de {count}") == {"rank", "count"}
    assert placeholders("sem {{chaves}}") == frozenset()


# --------------------------------------------------------------------------- money


def test_money_pt_br_and_en() -> None:
    assert money(123456, "pt_BR") == "R$ 1.234,56"
    assert money(123456, "en") == "R$1,234.56"


def test_money_keeps_the_sign() -> None:
    assert money(-5, "pt_BR") == "-R$ 0,05"
    assert money(-123456, "pt_BR") == "-R$ 1.234,56"
    assert money(-5, "en") == "-R$0.05"


def test_money_zero_and_large() -> None:
    assert money(0, "pt_BR") == "R$ 0,00"
    assert money(0, "en") == "R$0.00"
    assert money(123456789012345678, "pt_BR") == "R$ 1.234.567.890.123.456,78"


def pt_br_money_to_cents(formatted: str) -> int:
    negative = formatted.startswith("-")
    digits = formatted.removeprefix("-").removeprefix("R$ ").replace(".", "").replace(",", ".")
    cents = Decimal(digits) * 100
    assert cents == cents.to_integral_value()
    return -int(cents) if negative else int(cents)


@SETTINGS
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_money_pt_br_parses_back_to_the_same_cents(cents: int) -> None:
    formatted = money(cents, "pt_BR")
    assert not any(space in formatted for space in NO_BREAK_SPACES)
    assert pt_br_money_to_cents(formatted) == cents


@SETTINGS
@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_money_en_parses_back_to_the_same_cents(cents: int) -> None:
    formatted = money(cents, "en")
    negative = formatted.startswith("-")
    digits = formatted.removeprefix("-").removeprefix("R$").replace(",", "")
    assert int(Decimal(digits) * 100) * (-1 if negative else 1) == cents


# --------------------------------------------------------------------------- numbers


def test_number_groups_thousands() -> None:
    assert number(1234, "pt_BR") == "1.234"
    assert number(1234, "en") == "1,234"
    assert number(-1234567, "pt_BR") == "-1.234.567"
    assert number(0, "en") == "0"


def test_number_shows_exactly_the_decimals_asked() -> None:
    assert number(1234.5, "pt_BR", decimals=2) == "1.234,50"
    assert number(1234.5, "en", decimals=2) == "1,234.50"
    assert number(2, "pt_BR", decimals=1) == "2,0"
    assert number(1234.56, "pt_BR") == "1.235"
    with pytest.raises(ValueError):
        number(1, "pt_BR", decimals=-1)


def test_percent() -> None:
    assert percent(0.123, "pt_BR") == "12,3%"
    assert percent(0.123, "en") == "12.3%"
    assert percent(1, "pt_BR", decimals=0) == "100%"
    assert percent(0.5, "en", decimals=2) == "50.00%"
    assert percent(12.3456, "pt_BR") == "1.234,6%"
    assert percent(-0.04, "pt_BR") == "-4,0%"


# --------------------------------------------------------------------------- signed change


@pytest.mark.parametrize(
    ("fraction", "pt", "en"),
    [
        (0.123, "+12,3%", "+12.3%"),
        (-0.04, "\u22124,0%", "\u22124.0%"),
        (0.0, "0,0%", "0.0%"),
        (-0.0001, "0,0%", "0.0%"),
        (2.5, "+250,0%", "+250.0%"),
        (-12.3456, "\u22121.234,6%", "\u22121,234.6%"),
    ],
)
def test_signed_change(fraction: float, pt: str, en: str) -> None:
    assert signed_change(fraction, "pt_BR") == pt
    assert signed_change(fraction, "en") == en


@pytest.mark.parametrize("fraction", [None, math.nan, math.inf, -math.inf])
def test_signed_change_without_a_previous_figure(fraction: float | None) -> None:
    assert (
        signed_change(fraction, "pt_BR")
        == "sem comparação"
        == text("common.no_comparison", "pt_BR")
    )
    assert signed_change(fraction, "en") == "no comparison" == text("common.no_comparison", "en")


@SETTINGS
@given(st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_signed_change_sign_follows_the_shown_figure(fraction: float) -> None:
    shown = signed_change(fraction, "pt_BR")
    magnitude = shown.lstrip("+\u2212")
    assert magnitude == percent(abs(Decimal(str(fraction))), "pt_BR")
    is_zero = magnitude.rstrip("%") == "0,0"
    assert shown[0] == ("0" if is_zero else "+" if fraction > 0 else "\u2212")


# --------------------------------------------------------------------------- dates


def test_day() -> None:
    assert day(date(2026, 11, 29), "pt_BR") == "29/11/2026"
    assert day(date(2026, 11, 29), "en") == "Nov 29, 2026"
    assert day(date(2026, 1, 5), "pt_BR") == "05/01/2026"


def test_day_time() -> None:
    moment = datetime(2026, 11, 29, 14, 5)
    assert day_time(moment, "pt_BR") == "29/11/2026 14:05"
    assert day_time(moment, "en") == "Nov 29, 2026, 2:05 PM"
    assert day_time(datetime(2026, 11, 29, 0, 7), "en") == "Nov 29, 2026, 12:07 AM"


def test_day_time_shows_the_wall_time_it_is_given() -> None:
    """An aware store-local time is not moved to UTC or to the server's zone."""
    sao_paulo = timezone(timedelta(hours=-3))
    assert day_time(datetime(2026, 11, 29, 23, 30, tzinfo=sao_paulo), "pt_BR") == "29/11/2026 23:30"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_formatter_emits_no_break_spaces(locale: str) -> None:
    outputs = [
        money(-123456789, locale),
        number(1234567.891, locale, decimals=2),
        percent(0.123, locale),
        signed_change(-0.5, locale),
        day(date(2026, 11, 29), locale),
        day_time(datetime(2026, 11, 29, 14, 5), locale),
    ]
    for output in outputs:
        assert not any(space in output for space in NO_BREAK_SPACES), output


def test_locales_dir_holds_one_catalogue_per_locale() -> None:
    files = sorted(path.stem for path in Path(LOCALES_DIR).glob("*.json"))
    assert files == sorted(LOCALES)


def test_clock_follows_the_language_with_and_without_seconds() -> None:
    moment = datetime(2026, 12, 4, 13, 5, 9)
    assert clock(moment, "pt_BR") == "13:05"
    assert clock(moment, "en") == "1:05 PM"
    assert clock(moment, "pt_BR", seconds=True) == "13:05:09"
    assert clock(moment, "en", seconds=True) == "1:05:09 PM"
