"""The seller's "Maior margem" panel (``views/margins.py``): what it shows of the API's answer
(built here by the API's own functions), its words in each language, its empty and
unavailable states, and the throttle that keeps a page from asking for it on every refresh."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.routes import _margin_json, _product_sales_json
from app.insights.margins import ProductSales, advise
from views.i18n import text
from views.margins import (
    OPPORTUNITIES_SHOWN,
    TOP_SHOWN,
    Product,
    choose,
    margins_html,
    reason_words,
)
from views.panels import Throttled


def sales(
    sku: str,
    units: int,
    price: int,
    cost: int | None,
    seller_units: int = 0,
    name: str | None = None,
) -> ProductSales:
    costed = cost is not None
    return ProductSales(
        sku=sku,
        name=name if name is not None else f"Produto {sku}",
        revenue_cents=units * price,
        units=units,
        costed_revenue_cents=units * price if costed else 0,
        costed_units=units if costed else 0,
        cost_cents=units * cost if cost is not None else 0,
        seller_revenue_cents=seller_units * price,
        seller_units=seller_units,
    )


def answer_of(products: list[ProductSales], limit: int = 5) -> dict[str, Any]:
    """The route's JSON for these products (``app/api/routes.py``'s own helpers)."""
    advice = advise(products, limit)
    return {
        "store_id": "loja-1",
        "store_name": "Loja Paulista",
        "seller_id": "vend-01",
        "seller_name": "Ana Souza",
        "from": "2026-11-05",
        "to": "2026-12-04",
        "seller_share_of_store": float(advice.seller_share_of_store),
        "by_unit_margin": [_margin_json(m) for m in advice.by_unit_margin],
        "by_margin_rate": [_margin_json(m) for m in advice.by_margin_rate],
        "opportunities": [_margin_json(m) for m in advice.opportunities],
        "without_cost": [_product_sales_json(p) for p in advice.without_cost],
    }


STORE = [
    sales("PERF", units=120, price=10_000, cost=5_800, seller_units=3, name="Perfume floral"),
    sales("CABO", units=200, price=2_000, cost=1_500, seller_units=60),  # 25 %
    sales("RELOG", units=10, price=50_000, cost=20_000, seller_units=5),  # sells little
    sales("LIVRO", units=80, price=3_000, cost=None, seller_units=10, name="Livro de receitas"),
    sales("CHAV", units=30, price=1_500, cost=None, seller_units=2, name="Chaveiro <metal>"),
    sales("FONE", units=100, price=4_000, cost=2_400, seller_units=40),  # 40 %
    sales("SEMNOME", units=140, price=9_000, cost=4_950, seller_units=0, name=""),  # 45 %
]
"""The seller makes 120 of 680 units (18 %): the perfume (42 % margin, 120 units, 3 the
seller's) and the unnamed product (45 %, 140 units, none the seller's) are opportunities, at
or above the store's median rate (42 %) and units (120); the watch sells too little."""


def t_in(locale: str):
    return lambda key, **params: text(key, locale, **params)


def visible(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def test_the_panel_shows_the_apis_lists_in_its_order() -> None:
    answer = answer_of(STORE)
    chosen = choose(answer)
    assert [p.sku for p in chosen.top] == ["RELOG", "PERF", "SEMNOME", "FONE", "CABO"]
    assert [p.sku for p in chosen.top] == [p["sku"] for p in answer["by_unit_margin"]]
    assert [p.sku for p in chosen.opportunities] == ["SEMNOME", "PERF"]  # by the store's margin
    assert chosen.top[1] == Product("PERF", "Perfume floral", 4_200, 0.42, 120, 3, 504_000)
    assert chosen.opportunities[0].name == "SEMNOME"  # no name: its code
    assert chosen.without_cost == ["Livro de receitas", "Chaveiro <metal>"]  # by revenue
    assert chosen.days == 30
    assert chosen.seller_share == 0.1765


def test_the_lists_are_cut_for_the_page() -> None:
    many = [
        sales(f"P{n:02}", units=100 + n, price=10_000, cost=3_000 - 10 * n, seller_units=0)
        for n in range(12)
    ] + [sales("MINE", units=1_000, price=1_000, cost=900, seller_units=1_000)]
    chosen = choose(answer_of(many, limit=10))
    assert len(chosen.top) == TOP_SHOWN
    assert len(chosen.opportunities) == OPPORTUNITIES_SHOWN


def test_the_reason_in_words_a_seller_understands() -> None:
    perfume = choose(answer_of(STORE)).opportunities[1]
    assert reason_words(perfume, 30, t_in("pt_BR"), "pt_BR") == (
        "Margem de 42%, a loja vendeu 120 un. em 30 dias, você vendeu 3"
    )
    assert reason_words(perfume, 30, t_in("en"), "en") == (
        "42% margin, the store sold 120 units in 30 days, you sold 3"
    )
    none = Product("X", "X", 100, 0.453, 1_234, 0, 1)
    assert reason_words(none, 30, t_in("pt_BR"), "pt_BR") == (
        "Margem de 45%, a loja vendeu 1.234 un. em 30 dias e você ainda não vendeu"
    )
    one = Product("X", "X", 100, 0.5, 1, 0, 1)
    assert reason_words(one, 30, t_in("en"), "en") == (
        "50% margin, the store sold 1 unit in 30 days and you have not sold it yet"
    )


def test_the_panel_in_each_language() -> None:
    answer = answer_of(STORE)
    pt = margins_html(answer, t_in("pt_BR"), "pt_BR")
    en = margins_html(answer, t_in("en"), "en")
    shown_pt, shown_en = visible(pt), visible(en)
    assert "Vendas da loja de 05/11/2026 a 04/12/2026 (30 dias)." in shown_pt
    assert "Store sales from Nov 5, 2026 to Dec 4, 2026 (30 days)." in shown_en
    # The opportunities, highlighted, each with its reason.
    assert pt.count('class="kpi margin-card opportunity"') == 2
    assert "Margem de 42%, a loja vendeu 120 un. em 30 dias, você vendeu 3" in shown_pt
    assert "45% margin, the store sold 140 units in 30 days and you have not sold it yet" in (
        shown_en
    )
    assert "Você vendeu 18% das unidades da loja no período" in shown_pt
    # The top products: name, unit margin in reais, margin rate.
    assert pt.count('class="kpi margin-card"') == TOP_SHOWN
    assert "Perfume floral R$ 42,00 por unidade ? 42% de margem" in shown_pt
    assert "Perfume floral R$42.00 per unit ? 42% margin" in shown_en
    assert "R$ 300,00 por unidade ? 60% de margem" in shown_pt  # the watch: (500 - 200) / unit
    assert 'data-sku="PERF" data-unit-margin="4200" data-rate="0.42"' in pt
    # Without cost: named apart, never with a margin.
    assert "Sem custo cadastrado: Livro de receitas, Chaveiro <metal> ?" in shown_pt
    assert "No cost on record: Livro de receitas, Chaveiro <metal> ?" in shown_en
    assert "Chaveiro &lt;metal&gt;" in pt and "<metal>" not in pt
    assert "100%" not in shown_pt
    for name in ("Livro de receitas", "Chaveiro"):
        assert name not in shown_pt.split("Sem custo cadastrado")[0]
    # Help on hover or long-press for every measure.
    for key in (
        "margins.opportunity_help",
        "margins.unit_margin_help",
        "margins.rate_help",
        "margins.without_cost_help",
    ):
        assert f'title="{html.escape(text(key, "pt_BR"))}"' in pt
        assert f'title="{html.escape(text(key, "en"))}"' in en
    for title_key in ("margins.opportunities_title", "margins.top_title"):
        assert text(title_key, "pt_BR") in shown_pt and text(title_key, "en") in shown_en


def test_no_opportunity_says_so() -> None:
    # The seller sells every product in the store's proportion: nothing they rarely sell.
    even = [
        sales("A", units=100, price=10_000, cost=5_000, seller_units=50),
        sales("B", units=60, price=5_000, cost=4_000, seller_units=30),
    ]
    for locale in ("pt_BR", "en"):
        markup = margins_html(answer_of(even), t_in(locale), locale)
        assert 'id="margins-no-opportunities"' in markup
        assert text("margins.no_opportunities", locale) in visible(markup)
        assert "margin-opportunities" not in markup and "margins-share" not in markup
        assert markup.count('class="kpi margin-card"') == 2


def test_empty_and_unavailable_panels_say_so() -> None:
    for locale in ("pt_BR", "en"):
        t = t_in(locale)
        nothing = margins_html(answer_of([]), t, locale)
        assert 'id="margins-empty"' in nothing and "margin-card" not in nothing
        assert text("margins.empty", locale, days="30") in visible(nothing)
        assert "margins-without-cost" not in nothing
        # Sales without any cost: the empty state and the products without cost apart.
        uncosted = margins_html(answer_of([sales("L", 5, 3_000, None, 1, "Livro")]), t, locale)
        assert 'id="margins-empty"' in uncosted and 'id="margins-without-cost"' in uncosted
        assert text("margins.without_cost", locale, names="Livro") in visible(uncosted)
        assert "%" not in visible(uncosted)
        unavailable = margins_html(None, t, locale)
        assert visible(unavailable) == text("margins.unavailable", locale)
        assert 'id="margins-unavailable"' in unavailable


SKUS = [f"S{n}" for n in range(10)]


@st.composite
def stores(draw: st.DrawFn) -> list[ProductSales]:
    products = []
    for sku in draw(st.lists(st.sampled_from(SKUS), unique=True, max_size=10)):
        units = draw(st.integers(1, 500))
        price = draw(st.integers(100, 50_000))
        cost = draw(st.one_of(st.none(), st.integers(0, 60_000)))
        products.append(sales(sku, units, price, cost, draw(st.integers(0, units))))
    return products


@settings(max_examples=200, deadline=None, database=None)
@given(products=stores(), limit=st.integers(1, 12))
def test_whatever_the_store_the_panel_follows_the_api(
    products: list[ProductSales], limit: int
) -> None:
    """Each card is the API's product at its place, and a product without a cost never shows
    with a margin, on any store."""
    answer = answer_of(products, limit)
    markup = margins_html(answer, t_in("pt_BR"), "pt_BR")
    shown = re.findall(r'class="kpi margin-card( opportunity)?"[^>]*data-sku="([^"]+)"', markup)
    opportunities = [sku for kind, sku in shown if kind]
    top = [sku for kind, sku in shown if not kind]
    assert opportunities == [p["sku"] for p in answer["opportunities"][:OPPORTUNITIES_SHOWN]]
    assert top == [p["sku"] for p in answer["by_unit_margin"][:TOP_SHOWN]]
    uncosted = {p.sku for p in products if p.costed_units == 0}
    assert not uncosted & set(opportunities + top)


def test_the_answer_is_asked_at_most_once_a_minute() -> None:
    now = [0.0]
    answers: list[dict[str, Any] | None] = [{"n": 1}, None, {"n": 3}]
    asked: list[float] = []

    async def read() -> dict[str, Any] | None:
        asked.append(now[0])
        return answers[len(asked) - 1]

    kept = Throttled(read, seconds=60, clock=lambda: now[0])

    async def scenario() -> list[Any]:
        seen = []
        for at in (0, 0.5, 30, 59.9, 60, 61, 119, 120, 125):
            now[0] = at
            seen.append(await kept.get())
        return seen

    seen = asyncio.run(scenario())
    assert asked == [0, 60, 120]  # refreshes in between get the answer kept
    # The read at 60 s fails: the answer before it stays until the next one, at 120 s.
    assert seen == [{"n": 1}] * 7 + [{"n": 3}] * 2
    assert kept.reads == 3


def test_a_refresh_during_a_read_gets_the_answer_kept_without_asking_again() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    reads = []

    async def read() -> dict[str, Any]:
        reads.append(1)
        started.set()
        await release.wait()
        return {"n": len(reads)}

    async def scenario() -> tuple[Any, Any]:
        kept = Throttled(read, seconds=60)
        first = asyncio.ensure_future(kept.get())
        await started.wait()
        during = await kept.get()  # none kept yet: nothing to show, and no second read
        release.set()
        return await first, during

    first, during = asyncio.run(scenario())
    assert (first, during, len(reads)) == ({"n": 1}, None, 1)
