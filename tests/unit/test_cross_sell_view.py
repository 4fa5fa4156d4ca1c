"""The dashboards' bought-together panels (``views/cross_sell.py``): which products the
seller's "Ofereça junto" shows and with which partner, checked against the API's own answer
for each product, and the panels' words in each language."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.cross_sell import CrossSell
from app.insights.cross_sell import BasketCounts, ranked, rules_for_product, strongest_pairs
from tables.baskets import OWN_COUNT
from views.cross_sell import (
    Offer,
    baskets_words,
    lift_words,
    offers,
    offers_html,
    pairs_html,
)
from views.i18n import text

NAMES = {
    "cafe": "Café torrado 500 g",
    "filtro": "Filtro de papel 103",
    "caneca": "Caneca <de> cerâmica",
    "bolo": "Bolo de fubá",
    "cha": "Chá de camomila",
}


def answer_of(
    baskets: Iterable[frozenset[str]], sort: str = "support", limit: int = 50, min_count: int = 1
) -> dict[str, Any]:
    """The API's pairs answer (``app/api/cross_sell.py``'s own JSON) for these baskets."""
    counts = counts_of(baskets)
    pairs = strongest_pairs(counts, min_count)
    by_first = {pair[0]: pair for pair in pairs}
    api = CrossSell(None, 90, NAMES.get)  # type: ignore[arg-type]  # JSON only: no tables
    top = ranked((first for first, _ in pairs), sort, limit)  # type: ignore[arg-type]
    return {
        "from": "2026-09-06",
        "to": "2026-12-04",
        "baskets": counts.baskets,
        "min_count": min_count,
        "pairs": [api._pair_json(by_first[first]) for first in top],
    }


def counts_of(baskets: Iterable[frozenset[str]]) -> BasketCounts:
    counts = BasketCounts()
    for basket in baskets:
        counts.baskets += 1
        for sku in basket:
            counts.items[sku] = counts.items.get(sku, 0) + 1
        for pair in combinations(sorted(basket), 2):
            counts.pairs[pair] = counts.pairs.get(pair, 0) + 1
    return counts


def baskets_of(*groups: tuple[int, set[str]]) -> list[frozenset[str]]:
    return [frozenset(skus) for times, skus in groups for _ in range(times)]


STORE = baskets_of(
    (6, {"cafe", "filtro"}),
    (2, {"cafe", "caneca"}),
    (4, {"cafe"}),
    (3, {"bolo", "cha"}),
    (1, {"bolo", "cafe"}),
    (5, {"caneca"}),
)
"""Café in 13 baskets, 6 with filtro; caneca in 7; bolo in 4, 3 with chá; filtro in 6, all
with café; chá in 3, all with bolo."""


def test_offers_are_the_most_bought_products_with_their_most_frequent_partner() -> None:
    chosen = offers(answer_of(STORE))
    assert [(o.product, o.partner, o.baskets) for o in chosen] == [
        ("cafe", "filtro", 6),  # 13 baskets; 6/13 with filtro, 2/13 with caneca
        ("caneca", "cafe", 2),  # 7 baskets
        # filtro (6 baskets) would be café's pair again, the other way round: skipped.
        ("bolo", "cha", 3),  # 4 baskets, 3 with chá
    ]
    assert chosen[0] == Offer("cafe", NAMES["cafe"], 13, "filtro", NAMES["filtro"], 6, 6 / 13)
    assert chosen[2].confidence == 3 / 4


def test_a_pair_is_offered_one_way_only() -> None:
    """X with Y and Y with X are the same pair: the first stays, the second gives its line
    to the next product, whether the products come by baskets or from a ranking."""
    both_ways = baskets_of((5, {"cafe", "filtro"}), (3, {"bolo", "cha"}), (1, {"caneca", "cha"}))
    chosen = offers(answer_of(both_ways))
    assert [(o.product, o.partner) for o in chosen] == [
        ("cafe", "filtro"),  # 5 baskets; filtro (5, with café only) skipped
        ("cha", "bolo"),  # 4 baskets; bolo (3, with chá only) skipped
        ("caneca", "cha"),  # 1 basket
    ]
    ranked_first = offers(answer_of(both_ways), ranking=["filtro", "cafe", "bolo", "cha"])
    assert [(o.product, o.partner) for o in ranked_first] == [("filtro", "cafe"), ("bolo", "cha")]
    assert offers(answer_of(baskets_of((3, {"cafe", "filtro"})))) == offers(
        answer_of(baskets_of((3, {"cafe", "filtro"}))), count=1
    )


def test_a_ranking_chooses_the_products_and_products_without_partners_are_skipped() -> None:
    chosen = offers(answer_of(STORE), ranking=["cha", "nothing-with-it", "caneca", "cha"])
    assert [(o.product, o.partner) for o in chosen] == [("cha", "bolo"), ("caneca", "cafe")]
    assert offers(answer_of(STORE), count=1)[0].product == "cafe"


def test_no_pairs_no_offers() -> None:
    assert offers({"pairs": []}) == []
    assert offers({}) == []
    assert offers(answer_of(baskets_of((5, {"cafe"}), (3, {"filtro"})))) == []


def test_a_product_without_a_name_is_shown_by_its_code() -> None:
    answer = answer_of(baskets_of((3, {"cafe", "sem-nome"})))
    assert [(o.product_name, o.partner_name) for o in offers(answer)] == [
        (NAMES["cafe"], "sem-nome")
    ]
    assert [(o.product_name, o.partner_name) for o in offers(answer, ranking=["sem-nome"])] == [
        ("sem-nome", NAMES["cafe"])
    ]


SKUS = st.sampled_from([f"p{n}" for n in range(8)])


@settings(max_examples=200, deadline=None, database=None)
@given(
    baskets=st.lists(st.frozensets(SKUS, min_size=1, max_size=5), min_size=1, max_size=60),
    limit=st.integers(1, 30),
)
def test_each_offer_is_the_apis_best_rule_for_that_product(
    baskets: list[frozenset[str]], limit: int
) -> None:
    """Whatever the baskets and however few pairs the page reads by support, each product
    offered gets the partner the API answers first for it (``?product=``: by confidence,
    then baskets, then id), or one exactly as good where pairs tie at the cut."""
    counts = counts_of(baskets)
    chosen = offers(answer_of(baskets, limit=limit), count=8)
    assert len({frozenset((o.product, o.partner)) for o in chosen}) == len(chosen)
    for offer in chosen:
        product = offer.product
        together = {
            (b if a == product else a): both
            for (a, b), both in counts.pairs.items()
            if product in (a, b)
        }
        rules = rules_for_product(
            product, {OWN_COUNT: counts.items[product], **together}, counts.items, counts.baskets
        )
        best = ranked(rules, "confidence", 1)[0]
        assert (offer.confidence, offer.baskets) == (best.confidence, best.baskets)
        tied = {
            r.consequent
            for r in rules
            if (r.confidence, r.baskets) == (best.confidence, best.baskets)
        }
        assert offer.partner in tied
        assert offer.product_baskets == counts.items[offer.product]


def test_lift_in_words_in_each_language() -> None:
    def t(locale: str):
        return lambda key, **params: text(key, locale, **params)

    assert lift_words(3.2149, t("pt_BR"), "pt_BR") == "3,2× mais provável juntos"
    assert lift_words(3.2149, t("en"), "en") == "3.2× likelier together"
    assert lift_words(12.06, t("pt_BR"), "pt_BR") == "12,1× mais provável juntos"
    for locale in ("pt_BR", "en"):
        assert lift_words(1.04, t(locale), locale) == text("cross_sell.lift_none", locale)
        assert lift_words(0.5, t(locale), locale) == text("cross_sell.lift_none", locale)
    assert baskets_words(1, t("pt_BR"), "pt_BR") == "1 pedido com os dois"
    assert baskets_words(1234, t("pt_BR"), "pt_BR") == "1.234 pedidos com os dois"
    assert baskets_words(1234, t("en"), "en") == "1,234 orders with both"


def visible(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def test_the_pairs_panel_names_products_and_words_every_measure() -> None:
    answer = answer_of(STORE, sort="lift", limit=5, min_count=3)
    for locale in ("pt_BR", "en"):

        def t(key: str, **params: object) -> str:
            return text(key, locale, **params)  # noqa: B023

        markup = pairs_html(answer, t, locale)
        shown = visible(markup)
        pairs = answer["pairs"]
        assert [pair["products"] for pair in pairs] == [["bolo", "cha"], ["cafe", "filtro"]]
        assert markup.count('class="kpi cross-card"') == 2
        assert 'data-baskets="6"' in markup and 'data-pair="cafe + filtro"' in markup
        for pair in pairs:
            assert (
                text(
                    "cross_sell.pair_name", locale, first=pair["names"][0], second=pair["names"][1]
                )
                in shown
            )
            assert lift_words(pair["lift"], t, locale) in shown
        # Both ways: all of filtro's baskets have café, not the other way round.
        if locale == "pt_BR":
            assert (
                "Quem leva Filtro de papel 103 leva Café torrado 500 g em 100% das vezes." in shown
            )
            assert (
                "Quem leva Café torrado 500 g leva Filtro de papel 103 em 46% das vezes." in shown
            )
            assert "6 pedidos com os dois" in shown
            assert "De 06/09/2026 a 04/12/2026, em 21 pedidos da loja." in shown
        else:
            assert (
                "Who buys Filtro de papel 103 takes Café torrado 500 g 100% of the time." in shown
            )
            assert "From Sep 6, 2026 to Dec 4, 2026, over 21 orders of the store." in shown
        # Help for each measure, on hover or long-press.
        for key in (
            "cross_sell.baskets_help",
            "cross_sell.lift_help",
            "cross_sell.confidence_help",
        ):
            assert f'title="{html.escape(text(key, locale))}"' in markup
        assert "cafe" not in shown and "filtro" not in shown  # names, not codes


def test_names_are_escaped() -> None:
    answer = answer_of(baskets_of((3, {"cafe", "caneca"})), min_count=3)
    markup = pairs_html(answer, lambda key, **p: text(key, "pt_BR", **p), "pt_BR")
    assert "Caneca &lt;de&gt; cerâmica" in markup and "<de>" not in markup


def test_empty_and_unavailable_panels_say_so() -> None:
    def t(key: str, **params: object) -> str:
        return text(key, "pt_BR", **params)

    empty = {"from": None, "to": None, "baskets": 0, "min_count": 3, "pairs": []}
    assert visible(pairs_html(empty, t, "pt_BR")).strip() == text(
        "cross_sell.pairs_empty", "pt_BR", count=3
    )
    assert 'id="pairs-empty"' in pairs_html(empty, t, "pt_BR")
    assert 'id="offers-empty"' in offers_html(empty, [], t, "pt_BR")
    assert visible(pairs_html(None, t, "pt_BR")).strip() == text("cross_sell.unavailable", "pt_BR")
    assert 'id="offers-unavailable"' in offers_html(None, [], t, "pt_BR")


def test_the_offer_sentence_in_each_language() -> None:
    answer = answer_of(STORE)
    chosen = offers(answer)
    pt = visible(offers_html(answer, chosen, lambda k, **p: text(k, "pt_BR", **p), "pt_BR"))
    en = visible(offers_html(answer, chosen, lambda k, **p: text(k, "en", **p), "en"))
    assert "Quem leva Café torrado 500 g costuma levar Filtro de papel 103 (46% das vezes)." in pt
    assert "Who buys Café torrado 500 g often takes Filtro de papel 103 (46% of the time)." in en
    assert "Quem leva Bolo de fubá costuma levar Chá de camomila (75% das vezes)." in pt
    assert "Filtro de papel 103 costuma" not in pt  # café's pair, not offered twice
    assert "6 pedidos com os dois" in pt and "6 orders with both" in en
