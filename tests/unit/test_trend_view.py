"""The trending panels (``views/trends.py``): the manager's "Em queda" and the seller's "Em
alta", from answers built by the API's own functions (``app/api/trending.py`` on
``app/insights/trends.py``'s trends of planted daily sales): which products each shows, their
evidence in words in each language, and the empty, not-yet and unavailable states."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.trending import periods_json, thresholds_json, trend_json
from app.insights.trends import DEFAULT_PARAMS, ProductDay, store_trends
from views.i18n import text
from views.trends import (
    FALLING_SHOWN,
    RISING_SHOWN,
    Evidence,
    change_words,
    falling,
    falling_html,
    rank_words,
    rising,
    rising_html,
)

THROUGH = date(2026, 12, 3)
FIRST = THROUGH - timedelta(days=55)
NAMES = {
    "GARRAFA": "Garrafa térmica 1 L",
    "AGENDA": "Agenda 2027",
    "FILTRO": "Protetor <solar> FPS 50",
    "GUARDA": "Guarda-chuva automático",
    "CADERNO": "Caderno A4",
    "CANETA": "Caneta azul",
}


def days_of(price: int, cost: int | None, units: list[int]) -> list[ProductDay]:
    return [
        ProductDay(
            FIRST + timedelta(days=n),
            u,
            u * price,
            u * price if cost is not None else 0,
            u * cost if cost is not None else 0,
        )
        for n, u in enumerate(units)
        if u
    ]


def series(before: int, ramp: list[int]) -> list[int]:
    """28 days of ``before`` units a day, then the 28 days of ``ramp``."""
    return [before] * 28 + ramp


UP = [1 + n * 5 // 27 for n in range(28)]  # 1 a day up to 6 a day
UP_SLOWER = [1 + n * 4 // 27 for n in range(28)]
DOWN = [max(0, 6 - n * 6 // 27) for n in range(28)]
DOWN_FAST = [max(0, 4 - n * 4 // 20) for n in range(28)]
STORE = {
    "GARRAFA": days_of(8_000, 3_200, series(1, UP)),  # 60 % margin
    "AGENDA": days_of(4_500, None, series(1, UP_SLOWER)),  # no cost: unknown margin
    "FILTRO": days_of(6_000, 4_800, series(1, UP_SLOWER)),  # 20 %
    "GUARDA": days_of(5_000, 2_000, series(6, DOWN)),
    "CADERNO": days_of(3_000, 1_200, series(4, DOWN_FAST)),
    "CANETA": days_of(500, 200, series(5, [5] * 28)),  # flat
}


def answer_of(days: dict[str, list[ProductDay]], direction: str, limit: int = 10) -> dict:
    """The API's answer (``TrendingService.answer``'s JSON) for these days."""
    trends = store_trends(days, THROUGH)
    chosen = trends.rising() if direction == "up" else trends.falling()
    return {
        "store_id": "loja-1",
        "store_name": "Loja Paulista",
        "direction": direction,
        "limit": limit,
        "model": DEFAULT_PARAMS.model,
        "thresholds": thresholds_json(DEFAULT_PARAMS),
        "last_closed_day": THROUGH.isoformat(),
        "periods": periods_json(THROUGH),
        "ranked_products": {"last_28": trends.ranked_28, "previous_28": trends.ranked_previous_28},
        "count": len(chosen),
        "products": [
            trend_json(trend, n, NAMES.get(trend.sku))
            for n, trend in enumerate(chosen[:limit], start=1)
        ],
    }


def t_in(locale: str):
    return lambda key, **params: text(key, locale, **params)


def visible(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def test_the_store_as_planted() -> None:
    up, down = answer_of(STORE, "up"), answer_of(STORE, "down")
    assert [p["sku"] for p in up["products"]] == ["GARRAFA", "FILTRO", "AGENDA"]
    assert [p["sku"] for p in down["products"]] == ["GUARDA", "CADERNO"]


def test_the_seller_sees_rising_products_with_a_known_positive_margin() -> None:
    answer = answer_of(STORE, "up")
    chosen = rising(answer)
    assert [e.sku for e in chosen] == ["GARRAFA", "FILTRO"]  # the agenda's margin is unknown
    garrafa = chosen[0]
    assert garrafa.name == NAMES["GARRAFA"]
    assert (garrafa.units_28, garrafa.units_previous_28) == (sum(UP), 28)
    assert (garrafa.units_7, garrafa.units_previous_7) == (sum(UP[-7:]), sum(UP[-14:-7]))
    assert garrafa.margin_rate == 0.6
    assert garrafa.growth_28 == float(answer["products"][0]["growth_28d"]["units"])
    assert (garrafa.rank_28, garrafa.rank_previous_28) == (1, 3)
    # A loss is not a product to promote either.
    loss = {"GARRAFA": days_of(8_000, 9_000, series(1, UP))}
    assert [p["sku"] for p in answer_of(loss, "up")["products"]] == ["GARRAFA"]
    assert rising(answer_of(loss, "up")) == []
    many = {f"P{n}": days_of(1_000 + n, 500, series(1, UP)) for n in range(6)}
    assert len(rising(answer_of(many, "up"))) == RISING_SHOWN


def test_the_manager_sees_falling_products_the_most_revenue_lost_first() -> None:
    answer = answer_of(STORE, "down")
    chosen = falling(answer)
    assert [e.sku for e in chosen] == ["GUARDA", "CADERNO"]
    guarda = chosen[0]
    assert guarda.revenue_lost_cents == (6 * 28 - sum(DOWN)) * 5_000
    assert guarda.revenue_lost_cents == answer["products"][0]["revenue_lost_cents"]
    assert (guarda.rank_28, guarda.rank_previous_28) == (2, 1)
    assert falling(answer, count=1) == chosen[:1]


def test_the_evidence_in_words_in_each_language() -> None:
    pt, en = t_in("pt_BR"), t_in("en")
    assert change_words(61, 41, 0.487805, 28, pt, "pt_BR") == (
        "61 un. nos últimos 28 dias, contra 41 un. nos 28 anteriores (+49%)"
    )
    assert change_words(61, 41, 0.487805, 28, en, "en") == (
        "61 units in the last 28 days, against 41 units in the 28 before (+49%)"
    )
    assert change_words(8, 18, -0.555556, 7, pt, "pt_BR") == (
        "8 un. nos últimos 7 dias, contra 18 un. nos 7 anteriores (\u221256%)"
    )
    assert change_words(1, 0, None, 7, en, "en") == (
        "1 unit in the last 7 days, against 0 units in the 7 before"
    )
    assert change_words(1_234, 1, 1233.0, 28, pt, "pt_BR").startswith("1.234 un. nos")

    def product(rank: int | None, before: int | None) -> Evidence:
        return Evidence("X", "X", 0, 0, 0, 0, None, None, rank, before, None, 0)

    assert rank_words(product(5, 12), pt, "pt_BR") == "5º da loja em faturamento (era o 12º)"
    assert rank_words(product(5, 12), en, "en") == "#5 in the store by revenue (was #12)"
    assert rank_words(product(3, None), en, "en") == "#3 in the store by revenue (no sales before)"
    assert rank_words(product(None, 2), pt, "pt_BR") == (
        "Sem vendas nos últimos 28 dias (era o 2º da loja)"
    )


def test_the_falling_panel_in_each_language() -> None:
    answer = answer_of(STORE, "down")
    lost = (6 * 28 - sum(DOWN)) * 5_000
    assert lost == 360_000
    for locale in ("pt_BR", "en"):
        markup = falling_html(answer, t_in(locale), locale)
        shown = visible(markup)
        assert markup.count('class="kpi margin-card trend-card falling"') == 2
        assert 'data-sku="GUARDA"' in markup and 'data-lost="360000"' in markup
        if locale == "pt_BR":
            assert "Vendas até 03/12/2026, o último dia completo da loja." in shown
            assert "Guarda-chuva automático R$ 3.600,00 a menos em faturamento" in shown
            assert "2º da loja em faturamento (era o 1º)" in shown
        else:
            assert "Sales up to Dec 3, 2026, the store's last full day." in shown
            assert "Guarda-chuva automático R$3,600.00 less revenue over the last 28" in shown
            assert "#2 in the store by revenue (was #1)" in shown
        for key in ("trends.lost_help", "trends.units_help", "trends.rank_help"):
            assert f'title="{html.escape(text(key, locale))}"' in markup
        assert "GUARDA" not in shown and "CADERNO" not in shown  # names, not codes
    # More falling than the page shows: how many more, in words.
    cut = answer_of(STORE, "down", limit=1)
    assert visible(falling_html(cut, t_in("pt_BR"), "pt_BR")).endswith("E mais 1 produto em queda.")
    many = {f"P{n}": days_of(5_000, 2_000, series(6, DOWN)) for n in range(9)}
    answer = answer_of(many, "down", limit=FALLING_SHOWN)
    assert answer["count"] > FALLING_SHOWN
    markup = falling_html(answer, t_in("en"), "en")
    assert markup.count("trend-card falling") == FALLING_SHOWN
    assert f"And {answer['count'] - FALLING_SHOWN} more products falling." in visible(markup)


def test_the_rising_panel_in_each_language() -> None:
    answer = answer_of(STORE, "up")
    for locale in ("pt_BR", "en"):
        markup = rising_html(answer, t_in(locale), locale)
        shown = visible(markup)
        assert markup.count('class="kpi margin-card trend-card rising"') == 2
        assert "AGENDA" not in markup and NAMES["AGENDA"] not in shown
        assert "Protetor &lt;solar&gt; FPS 50" in markup and "<solar>" not in markup
        words = "60% de margem nos últimos 28 dias" if locale == "pt_BR" else "60% margin over"
        assert words in shown
        before = sum(UP[-14:-7])
        if locale == "pt_BR":
            assert f"{sum(UP[-7:])} un. nos últimos 7 dias, contra {before} un." in shown
        for key in ("trends.margin_help", "trends.units_help", "trends.rank_help"):
            assert f'title="{html.escape(text(key, locale))}"' in markup


def test_empty_not_yet_and_unavailable_panels_say_so() -> None:
    flat = {"CANETA": STORE["CANETA"]}
    for locale in ("pt_BR", "en"):
        t = t_in(locale)
        up = rising_html(answer_of(flat, "up"), t, locale)
        assert 'id="trends-up-empty"' in up and text("trends.up_empty", locale) in visible(up)
        down = falling_html(answer_of(flat, "down"), t, locale)
        assert 'id="trends-down-empty"' in down
        assert text("trends.down_empty", locale) in visible(down)
        assert "trends-down-more" not in down
        # Only products without a known margin rising: nothing to promote.
        unknown = rising_html(answer_of({"AGENDA": STORE["AGENDA"]}, "up"), t, locale)
        assert 'id="trends-up-empty"' in unknown
        before_any_sale = {"direction": "up", "last_closed_day": None, "count": 0, "products": []}
        assert visible(rising_html(before_any_sale, t, locale)) == text("trends.no_days", locale)
        assert visible(falling_html(None, t, locale)) == text("trends.unavailable", locale)
        assert 'id="trends-up-unavailable"' in rising_html(None, t, locale)


@st.composite
def stores(draw: st.DrawFn) -> dict[str, list[ProductDay]]:
    found = {}
    for sku in draw(st.lists(st.sampled_from(list(NAMES)), unique=True, max_size=6)):
        before = draw(st.integers(0, 8))
        ramp = [max(0, before + draw(st.integers(-6, 6)) * n // 27) for n in range(28)]
        cost = draw(st.one_of(st.none(), st.integers(0, 9_000)))
        found[sku] = days_of(draw(st.integers(100, 8_000)), cost, series(before, ramp))
    return found


@settings(max_examples=100, deadline=None, database=None)
@given(days=stores())
def test_whatever_the_store_the_panels_follow_the_api(days: dict[str, Any]) -> None:
    up, down = answer_of(days, "up"), answer_of(days, "down")
    shown_up = re.findall(
        r'trend-card rising"[^>]*data-sku="([^"]+)"', rising_html(up, t_in("en"), "en")
    )
    shown_down = re.findall(
        r'trend-card falling"[^>]*data-sku="([^"]+)"', falling_html(down, t_in("en"), "en")
    )
    positive = [
        p["sku"]
        for p in up["products"]
        if p["margin_rate"] is not None and float(p["margin_rate"]) > 0
    ]
    assert shown_up == positive[:RISING_SHOWN]
    assert shown_down == [p["sku"] for p in down["products"]][:FALLING_SHOWN]
