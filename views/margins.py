"""The seller's "Maior margem": the store's products that leave the most per unit sold, and,
highlighted, the opportunities (products the store sells well and with a good margin that
this seller rarely sells), from ``GET .../sellers/{seller}/margin-products`` (``docs/api.md``,
"Highest margin"; the rules are ``app/insights/margins.py``'s).

What to show is chosen here by pure functions (``choose``) and written as HTML in the
reader's language (``margins_html``); the page only fetches and places it. The API reads the
history line by line for this answer, so a page asks for it at most once a minute and keeps
the last answer between its refreshes (``views.panels.Throttled``).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from views import i18n
from views.api import ApiClient, ApiProblem, segment
from views.panels import measure, note

log = logging.getLogger(__name__)

Translate = Callable[..., str]

DAYS = 30
"""The window asked for: the store's last 30 days of sales (the API's default)."""
TOP_SHOWN = 5
"""Products by unit margin on the page."""
OPPORTUNITIES_SHOWN = 3
"""Opportunities on the page, highlighted, the store's margin on them first."""
WITHOUT_COST_NAMED = 5
"""Products without a cost named in the line apart (the API's first, by revenue)."""
ASKED = max(TOP_SHOWN, OPPORTUNITIES_SHOWN, WITHOUT_COST_NAMED)
"""The ``limit`` asked of the API: each of its lists is cut there."""


async def fetch(api: ApiClient, store_id: str, seller_id: str) -> dict[str, Any] | None:
    """The seller's margin answer, or None when the API cannot give it (history not ready, a
    role refused): the rest of the page goes on without it."""
    try:
        return await api.get(
            f"/api/v1/stores/{segment(store_id)}/sellers/{segment(seller_id)}/margin-products",
            days=DAYS,
            limit=ASKED,
        )
    except ApiProblem as problem:
        log.info(
            "margin products unavailable for %s/%s: %s %s",
            store_id,
            seller_id,
            problem.status,
            problem.message,
        )
        return None


@dataclass(frozen=True, slots=True)
class Product:
    """One product of the answer as the panel shows it."""

    sku: str
    name: str
    unit_margin_cents: int
    margin_rate: float
    store_units: int
    seller_units: int
    margin_cents: int


@dataclass(frozen=True, slots=True)
class Chosen:
    top: list[Product]
    """By unit margin, the highest first."""
    opportunities: list[Product]
    """The store's margin on them first (the API's order)."""
    without_cost: list[str]
    """Names of products sold without a known cost: no margin, never 100 %."""
    days: int
    first: date | None
    last: date | None
    seller_share: float
    """The seller's units / the store's over the window."""


def choose(answer: dict[str, Any]) -> Chosen:
    """What the panel shows of the API's answer: its first products by unit margin, its first
    opportunities and the names of its products without cost, each list in the API's order.

    A product is shown by its name, else by its code. A product listed without cost is never
    shown with a margin, even if a list with margins names it too."""
    uncosted = {p["sku"] for p in answer.get("without_cost", [])}

    def products(key: str, count: int) -> list[Product]:
        return [_product(p) for p in answer.get(key, []) if p["sku"] not in uncosted][:count]

    first, last = answer.get("from"), answer.get("to")
    first_day = date.fromisoformat(first) if first else None
    last_day = date.fromisoformat(last) if last else None
    days = (last_day - first_day).days + 1 if first_day and last_day else DAYS
    return Chosen(
        top=products("by_unit_margin", TOP_SHOWN),
        opportunities=products("opportunities", OPPORTUNITIES_SHOWN),
        without_cost=[
            p.get("product_name") or p["sku"]
            for p in answer.get("without_cost", [])[:WITHOUT_COST_NAMED]
        ],
        days=days,
        first=first_day,
        last=last_day,
        seller_share=float(answer.get("seller_share_of_store", 0.0)),
    )


def _product(p: dict[str, Any]) -> Product:
    return Product(
        sku=p["sku"],
        name=p.get("product_name") or p["sku"],
        unit_margin_cents=p["unit_margin_cents"],
        margin_rate=p["margin_rate"],
        store_units=p["store_units"],
        seller_units=p["seller_units"],
        margin_cents=p["margin_cents"],
    )


# -- words ----------------------------------------------------------------------------------


def rate_words(rate: float, locale: str) -> str:
    """A margin rate as a whole percentage: ``42%``."""
    return i18n.percent(rate, locale, decimals=0)


def units_words(count: int, t: Translate, locale: str) -> str:
    """``120 un.``; ``1 unit``, ``120 units``."""
    key = "margins.units_one" if count == 1 else "margins.units_many"
    return t(key, count=i18n.number(count, locale))


def reason_words(product: Product, days: int, t: Translate, locale: str) -> str:
    """Why a product is an opportunity, as a seller reads it: ``Margem de 42%, a loja vendeu
    120 un. em 30 dias, você vendeu 3``; a seller who sold none (net) is told so."""
    params = {
        "rate": rate_words(product.margin_rate, locale),
        "store_units": units_words(product.store_units, t, locale),
        "days": i18n.number(days, locale),
        "seller_units": i18n.number(product.seller_units, locale),
    }
    key = "margins.reason" if product.seller_units > 0 else "margins.reason_none"
    return t(key, **params)


def unit_margin_words(product: Product, t: Translate, locale: str) -> str:
    """``R$ 12,34 por unidade``."""
    return t("margins.unit_margin", amount=i18n.money(product.unit_margin_cents, locale))


def margin_rate_words(product: Product, t: Translate, locale: str) -> str:
    """``42% de margem``."""
    return t("margins.rate", rate=rate_words(product.margin_rate, locale))


def without_cost_words(names: list[str], t: Translate) -> str:
    """``Sem custo cadastrado: X, Y``."""
    return t("margins.without_cost", names=", ".join(names))


def window_words(chosen: Chosen, t: Translate, locale: str) -> str:
    if chosen.first is None or chosen.last is None:
        return ""
    return t(
        "margins.window",
        first=i18n.day(chosen.first, locale),
        last=i18n.day(chosen.last, locale),
        days=i18n.number(chosen.days, locale),
    )


# -- HTML -----------------------------------------------------------------------------------


def _heading(title_key: str, help_key: str, t: Translate) -> str:
    return (
        f'<h3 class="margin-heading" title="{html.escape(t(help_key))}">'
        f"{html.escape(t(title_key))} "
        f'<span class="help-mark" aria-hidden="true">?</span></h3>'
    )


def _data(product: Product) -> str:
    return (
        f'data-sku="{html.escape(product.sku)}" data-unit-margin="{product.unit_margin_cents}" '
        f'data-rate="{product.margin_rate!r}" data-store-units="{product.store_units}" '
        f'data-seller-units="{product.seller_units}"'
    )


def margins_html(answer: dict[str, Any] | None, t: Translate, locale: str) -> str:
    """The seller's "Maior margem": the opportunities highlighted, each with its reason in
    words, the products by unit margin (unit margin in reais, margin rate), and the products
    without a cost in a line apart."""
    if answer is None:
        return note("margins.unavailable", t, "margins-unavailable")
    chosen = choose(answer)
    parts = []
    window = window_words(chosen, t, locale)
    if window:
        parts.append(f'<p class="note" id="margins-window">{html.escape(window)}</p>')
    if chosen.top:
        parts.append(_heading("margins.opportunities_title", "margins.opportunity_help", t))
        parts.append(_opportunities_html(chosen, t, locale))
        parts.append(_heading("margins.top_title", "margins.unit_margin_help", t))
        parts.append(_top_html(chosen, t, locale))
    else:
        days = i18n.number(chosen.days, locale)
        parts.append(note("margins.empty", t, "margins-empty", days=days))
    if chosen.without_cost:
        parts.append(
            f'<p class="note" id="margins-without-cost" '
            f'title="{html.escape(t("margins.without_cost_help"))}">'
            f"{html.escape(without_cost_words(chosen.without_cost, t))} "
            f'<span class="help-mark" aria-hidden="true">?</span></p>'
        )
    return f'<div id="margins">{"".join(parts)}</div>'


def _opportunities_html(chosen: Chosen, t: Translate, locale: str) -> str:
    if not chosen.opportunities:
        return note("margins.no_opportunities", t, "margins-no-opportunities")
    share = i18n.percent(chosen.seller_share, locale, decimals=0)
    cards = "".join(
        f'<div class="kpi margin-card opportunity" role="group" '
        f'aria-label="{html.escape(p.name)}" {_data(p)}>'
        f'<span class="margin-tag">{html.escape(t("margins.opportunity_label"))}</span>'
        f'<span class="margin-name">{html.escape(p.name)}</span>'
        + measure(
            t("margins.opportunity_help"), reason_words(p, chosen.days, t, locale), "margin-reason"
        )
        + "</div>"
        for p in chosen.opportunities
    )
    return note("margins.share_note", t, "margins-share", share=share) + (
        f'<div class="margin-grid" id="margin-opportunities">{cards}</div>'
    )


def _top_html(chosen: Chosen, t: Translate, locale: str) -> str:
    cards = "".join(
        f'<div class="kpi margin-card" role="group" aria-label="{html.escape(p.name)}" '
        f"{_data(p)}>"
        f'<span class="margin-name">{html.escape(p.name)}</span>'
        + measure(t("margins.unit_margin_help"), unit_margin_words(p, t, locale), "margin-unit")
        + measure(t("margins.rate_help"), margin_rate_words(p, t, locale), "margin-rate")
        + "</div>"
        for p in chosen.top
    )
    return f'<div class="margin-grid" id="margin-top">{cards}</div>'
