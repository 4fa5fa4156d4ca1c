"""Bought together on the dashboards: the manager's "Comprados juntos" (the store's strongest
pairs) and the seller's "Ofereça junto" (the best partner of the store's most bought
products), from ``GET /api/v1/stores/{store}/cross-sell`` (``docs/api.md``).

What to show is chosen here by pure functions (``offers``) and written as HTML in the
reader's language (``pairs_html``, ``offers_html``); the pages only fetch and place it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from views import i18n
from views.api import ApiClient, ApiProblem, segment
from views.panels import measure, note

log = logging.getLogger(__name__)

Translate = Callable[..., str]

PAIRS_SHOWN = 5
"""Pairs on the manager's page: the strongest by lift (the API's default order)."""
OFFERS_SHOWN = 3
"""Products on the seller's page, each with its best partner."""
PAIRS_SCANNED = 50
"""Pairs the seller's page reads, by support: the store's most bought products and their
most frequent partners are among them (see ``offers``)."""
LIFT_LINK = 1.05
"""Below this lift (1,0× once written with one decimal) a pair is no likelier together than
apart, and is not worded as "N× mais provável"."""


async def fetch(api: ApiClient, store_id: str, **query: str | int) -> dict[str, Any] | None:
    """The store's cross-sell answer, or None when the API cannot give it (a worker that
    counts no baskets, a role refused): the rest of the page goes on without it."""
    try:
        return await api.get(f"/api/v1/stores/{segment(store_id)}/cross-sell", **query)
    except ApiProblem as problem:
        log.info("cross-sell unavailable for %s: %s %s", store_id, problem.status, problem.message)
        return None


@dataclass(frozen=True, slots=True)
class Offer:
    """What to offer with a product: its best partner by confidence."""

    product: str
    product_name: str
    product_baskets: int
    partner: str
    partner_name: str
    baskets: int
    """Baskets holding both."""
    confidence: float
    """The share of the product's baskets that hold the partner."""


def offers(
    answer: dict[str, Any], count: int = OFFERS_SHOWN, ranking: Sequence[str] | None = None
) -> list[Offer]:
    """For ``count`` products, the partner a customer who takes the product most often takes
    too (highest confidence, then more baskets, then the partner's id, as the API orders a
    product's rules).

    ``answer`` is a pairs answer (no ``product``); the products are ``ranking``'s first ones
    that have a partner in it, or without a ranking the products of its pairs that most
    baskets hold (the store's most bought products that have partners). Asked by support,
    a pairs answer holds every pair more frequent than its rarest one, so each product's
    best partner by confidence (the product's most frequent pair) is in it whenever the
    product is, or a partner exactly as good where pairs tie at the cut.

    A pair offered one way is not offered the other way round (X with Y, then Y with X, when
    each is the other's best partner): the later one is skipped for the next product, so
    the lines are ``count`` different pairs.
    """
    best: dict[str, dict[str, Any]] = {}
    for pair in answer.get("pairs", []):
        for rule in pair["rules"]:
            product = rule["antecedent"]
            known = best.get(product)
            if known is None or _rule_order(rule) < _rule_order(known):
                best[product] = rule
    if ranking is None:
        chosen = sorted(best, key=lambda sku: (-best[sku]["antecedent_baskets"], sku))
    else:
        chosen = [sku for sku in dict.fromkeys(ranking) if sku in best]
    shown: list[Offer] = []
    pairs: set[frozenset[str]] = set()
    for sku in chosen:
        if len(shown) == count:
            break
        pair = frozenset((sku, best[sku]["consequent"]))
        if pair not in pairs:
            pairs.add(pair)
            shown.append(_offer(best[sku]))
    return shown


def _rule_order(rule: dict[str, Any]) -> tuple[float, int, str]:
    return (-rule["confidence"], -rule["baskets"], rule["consequent"])


def _offer(rule: dict[str, Any]) -> Offer:
    return Offer(
        product=rule["antecedent"],
        product_name=rule.get("antecedent_name") or rule["antecedent"],
        product_baskets=rule["antecedent_baskets"],
        partner=rule["consequent"],
        partner_name=rule.get("consequent_name") or rule["consequent"],
        baskets=rule["baskets"],
        confidence=rule["confidence"],
    )


def lift_words(lift: float, t: Translate, locale: str) -> str:
    """A pair's lift as a person reads it: ``3,2× mais provável juntos``."""
    if lift < LIFT_LINK:
        return t("cross_sell.lift_none")
    return t("cross_sell.lift", lift=i18n.number(lift, locale, decimals=1))


def baskets_words(count: int, t: Translate, locale: str) -> str:
    """``12 pedidos com os dois``; ``1 pedido com os dois``."""
    key = "cross_sell.baskets_one" if count == 1 else "cross_sell.baskets_many"
    return t(key, count=i18n.number(count, locale))


def confidence_words(
    product: str, partner: str, confidence: float, t: Translate, locale: str
) -> str:
    """``Quem leva X leva Y em 45% das vezes.``"""
    return t(
        "cross_sell.confidence",
        product=product,
        partner=partner,
        percent=i18n.percent(confidence, locale, decimals=0),
    )


def window_words(answer: dict[str, Any], t: Translate, locale: str) -> str:
    """Which days the answer covers and how many baskets they had."""
    first, last = answer.get("from"), answer.get("to")
    if not first or not last:
        return ""
    return t(
        "cross_sell.window",
        first=i18n.day(date.fromisoformat(first), locale),
        last=i18n.day(date.fromisoformat(last), locale),
        baskets=i18n.number(answer.get("baskets", 0), locale),
    )


def pairs_html(answer: dict[str, Any] | None, t: Translate, locale: str) -> str:
    """The manager's "Comprados juntos": each pair by name, the baskets holding both, the
    lift in words and, in its details, the confidence both ways."""
    if answer is None:
        return note("cross_sell.unavailable", t, "pairs-unavailable")
    pairs = answer.get("pairs", [])
    if not pairs:
        return note("cross_sell.pairs_empty", t, "pairs-empty", count=answer.get("min_count", 3))
    cards = []
    for pair in pairs:
        names = [name or sku for name, sku in zip(pair["names"], pair["products"], strict=True)]
        forward, backward = pair["rules"]
        title = t("cross_sell.pair_name", first=names[0], second=names[1])
        both_ways = "".join(
            f'<span class="cross-way" data-from="{html.escape(rule["antecedent"])}" '
            f'data-confidence="{rule["confidence"]!r}">'
            f"{html.escape(confidence_words(a, b, rule['confidence'], t, locale))}</span>"
            for rule, a, b in ((forward, names[0], names[1]), (backward, names[1], names[0]))
        )
        cards.append(
            f'<div class="kpi cross-card" role="group" aria-label="{html.escape(title)}" '
            f'data-pair="{html.escape(" + ".join(pair["products"]))}" '
            f'data-baskets="{pair["baskets"]}" data-lift="{pair["lift"]!r}">'
            f'<span class="cross-names">{html.escape(title)}</span>'
            + measure(
                t("cross_sell.baskets_help"),
                baskets_words(pair["baskets"], t, locale),
                "cross-baskets",
            )
            + measure(
                t("cross_sell.lift_help"),
                lift_words(pair["lift"], t, locale),
                "cross-lift",
            )
            + f'<details class="cross-details"><summary title="'
            f'{html.escape(t("cross_sell.confidence_help"))}">'
            f"{html.escape(t('cross_sell.confidence_label'))}</summary>{both_ways}</details>"
            "</div>"
        )
    window = window_words(answer, t, locale)
    return (
        f'<p class="note" id="pairs-window">{html.escape(window)}</p>'
        f'<div class="cross-grid" id="pairs">{"".join(cards)}</div>'
    )


def offers_html(
    answer: dict[str, Any] | None, chosen: list[Offer], t: Translate, locale: str
) -> str:
    """The seller's "Ofereça junto": for each product, its best partner in a sentence."""
    if answer is None:
        return note("cross_sell.unavailable", t, "offers-unavailable")
    if not chosen:
        return note("cross_sell.offers_empty", t, "offers-empty", count=answer.get("min_count", 3))
    cards = []
    for offer in chosen:
        sentence = t(
            "cross_sell.offer",
            product=offer.product_name,
            partner=offer.partner_name,
            percent=i18n.percent(offer.confidence, locale, decimals=0),
        )
        cards.append(
            f'<div class="kpi cross-card" role="group" aria-label="'
            f'{html.escape(offer.product_name)}" data-product="{html.escape(offer.product)}" '
            f'data-partner="{html.escape(offer.partner)}" data-baskets="{offer.baskets}" '
            f'data-confidence="{offer.confidence!r}">'
            + measure(
                t("cross_sell.offer_help"),
                sentence,
                "cross-offer",
            )
            + f'<span class="note cross-baskets">'
            f"{html.escape(baskets_words(offer.baskets, t, locale))}</span></div>"
        )
    window = window_words(answer, t, locale)
    return (
        f'<p class="note" id="offers-window">{html.escape(window)}</p>'
        f'<div class="cross-grid" id="offers">{"".join(cards)}</div>'
    )
