"""Products trending on the dashboards: the manager's "Em queda" (products that sold well and
are falling) and the seller's "Em alta" (rising products with a good margin, to promote),
from ``GET /api/v1/stores/{store}/trending?direction=down|up`` (``docs/api.md``, "Trending";
the rules are ``app/insights/trends.py``'s).

What to show is chosen here by pure functions (``falling``, ``rising``) and written as HTML in
the reader's language (``falling_html``, ``rising_html``), each product with its evidence:
units of the last 28 and 7 days against the periods before with the change, the store's rank
by revenue now and before, and the margin (rising) or the revenue lost (falling). The pages
only fetch and place it. The answer moves only when one of the store's days closes, so a
page asks for it at most once a minute (``views.panels.Throttled``).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from views import i18n
from views.api import ApiClient, ApiProblem, segment
from views.panels import measure, note

log = logging.getLogger(__name__)

Translate = Callable[..., str]
Direction = Literal["up", "down"]

FALLING_SHOWN = 5
"""Falling products on the manager's page: the most revenue lost first (the API's order)."""
RISING_SHOWN = 3
"""Rising products on the seller's page: a good margin first (the API's order)."""
RISING_ASKED = 10
"""Rising products read for the seller's page: those without a known positive margin are
left out, so a few more than shown."""


async def fetch(
    api: ApiClient, store_id: str, direction: Direction, limit: int
) -> dict[str, Any] | None:
    """The store's trending answer, or None when the API cannot give it (a worker that
    computes no trends, a role refused): the rest of the page goes on without it."""
    try:
        return await api.get(
            f"/api/v1/stores/{segment(store_id)}/trending", direction=direction, limit=limit
        )
    except ApiProblem as problem:
        log.info("trending unavailable for %s: %s %s", store_id, problem.status, problem.message)
        return None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One product of a trending list as the panels show it."""

    sku: str
    name: str
    units_28: int
    units_previous_28: int
    units_7: int
    units_previous_7: int
    growth_28: float | None
    """Units of the last 28 days / the 28 before - 1; None without sales before."""
    growth_7: float | None
    rank_28: int | None
    """Rank in the store by revenue over the last 28 days (1 = best); None without revenue."""
    rank_previous_28: int | None
    margin_rate: float | None
    """Margin / costed revenue over the last 28 days; None when no line had a cost."""
    revenue_lost_cents: int
    """Revenue of the 28 days before minus the last 28."""


def evidence(product: dict[str, Any]) -> Evidence:
    def number(text: str | None) -> float | None:
        return None if text is None else float(text)

    return Evidence(
        sku=product["sku"],
        name=product.get("product_name") or product["sku"],
        units_28=product["last_28"]["units"],
        units_previous_28=product["previous_28"]["units"],
        units_7=product["last_7"]["units"],
        units_previous_7=product["previous_7"]["units"],
        growth_28=number(product["growth_28d"]["units"]),
        growth_7=number(product["growth_7d"]["units"]),
        rank_28=product.get("rank_28"),
        rank_previous_28=product.get("rank_previous_28"),
        margin_rate=number(product.get("margin_rate")),
        revenue_lost_cents=product.get(
            "revenue_lost_cents",
            product["previous_28"]["revenue_cents"] - product["last_28"]["revenue_cents"],
        ),
    )


def falling(answer: dict[str, Any], count: int = FALLING_SHOWN) -> list[Evidence]:
    """The manager's list: the API's first falling products (the most revenue lost first)."""
    return [evidence(p) for p in answer.get("products", [])[:count]]


def rising(answer: dict[str, Any], count: int = RISING_SHOWN) -> list[Evidence]:
    """The seller's list: the API's first rising products with a known, positive margin (a
    good margin first, as the API orders them). A product without a known cost, or sold at
    a loss, is not one to promote."""
    found = [evidence(p) for p in answer.get("products", [])]
    return [e for e in found if e.margin_rate is not None and e.margin_rate > 0][:count]


# -- words ----------------------------------------------------------------------------------


def units_words(count: int, t: Translate, locale: str) -> str:
    """``61 un.``; ``1 unit``, ``61 units``."""
    key = "trends.units_one" if count == 1 else "trends.units_many"
    return t(key, count=i18n.number(count, locale))


def change_words(
    last: int, before: int, growth: float | None, days: int, t: Translate, locale: str
) -> str:
    """``61 un. nos últimos 28 dias, contra 41 un. nos 28 anteriores (+49%)``; without sales
    before, no change is given (there is nothing to grow from)."""
    sentence = t(
        "trends.units_change",
        last=units_words(last, t, locale),
        before=units_words(before, t, locale),
        days=i18n.number(days, locale),
    )
    if growth is None:
        return sentence
    return f"{sentence} ({i18n.signed_change(growth, locale, decimals=0)})"


def rank_words(product: Evidence, t: Translate, locale: str) -> str:
    """Where the product stands in the store by revenue now and before."""
    now, before = product.rank_28, product.rank_previous_28
    if now is None:
        return t("trends.rank_gone", before=i18n.number(before or 0, locale))
    if before is None:
        return t("trends.rank_new", rank=i18n.number(now, locale))
    return t("trends.rank_moved", rank=i18n.number(now, locale), before=i18n.number(before, locale))


def window_words(answer: dict[str, Any], t: Translate, locale: str) -> str:
    last = answer.get("last_closed_day")
    if not last:
        return ""
    return t("trends.window", last=i18n.day(date.fromisoformat(last), locale))


# -- HTML -----------------------------------------------------------------------------------


def _data(product: Evidence) -> str:
    def raw(value: object) -> str:
        return (
            ""
            if value is None
            else html.escape(repr(value) if isinstance(value, float) else str(value))
        )

    fields = {
        "sku": product.sku,
        "units-28": product.units_28,
        "units-previous-28": product.units_previous_28,
        "units-7": product.units_7,
        "units-previous-7": product.units_previous_7,
        "growth-28": product.growth_28,
        "growth-7": product.growth_7,
        "rank": product.rank_28,
        "rank-before": product.rank_previous_28,
        "rate": product.margin_rate,
        "lost": product.revenue_lost_cents,
    }
    return " ".join(f'data-{name}="{raw(value)}"' for name, value in fields.items())


def _evidence_html(product: Evidence, t: Translate, locale: str) -> str:
    return (
        measure(
            t("trends.units_help"),
            change_words(
                product.units_28, product.units_previous_28, product.growth_28, 28, t, locale
            ),
            "trend-units-28",
        )
        + measure(
            t("trends.units_help"),
            change_words(product.units_7, product.units_previous_7, product.growth_7, 7, t, locale),
            "trend-units-7",
        )
        + measure(t("trends.rank_help"), rank_words(product, t, locale), "trend-rank")
    )


def _answer_html(
    answer: dict[str, Any] | None,
    shown: list[Evidence],
    direction: Direction,
    t: Translate,
    locale: str,
    card: Callable[[Evidence], str],
) -> str:
    prefix = "trends-up" if direction == "up" else "trends-down"
    if answer is None:
        return note("trends.unavailable", t, f"{prefix}-unavailable")
    if not answer.get("last_closed_day"):
        return note("trends.no_days", t, f"{prefix}-empty")
    parts = [
        f'<p class="note" id="{prefix}-window">{html.escape(window_words(answer, t, locale))}</p>'
    ]
    if not shown:
        parts.append(note(f"trends.{direction}_empty", t, f"{prefix}-empty"))
    else:
        cards = "".join(card(product) for product in shown)
        parts.append(f'<div class="margin-grid" id="{prefix}">{cards}</div>')
    return "".join(parts)


def falling_html(answer: dict[str, Any] | None, t: Translate, locale: str) -> str:
    """The manager's "Em queda": each product with the revenue it lost and its evidence;
    how many more are falling, when the list is longer than the page's."""
    shown = falling(answer or {})

    def card(product: Evidence) -> str:
        lost = t("trends.lost", amount=i18n.money(product.revenue_lost_cents, locale))
        return (
            f'<div class="kpi margin-card trend-card falling" role="group" '
            f'aria-label="{html.escape(product.name)}" {_data(product)}>'
            f'<span class="margin-name">{html.escape(product.name)}</span>'
            + measure(t("trends.lost_help"), lost, "trend-lost")
            + _evidence_html(product, t, locale)
            + "</div>"
        )

    markup = _answer_html(answer, shown, "down", t, locale, card)
    more = (answer or {}).get("count", 0) - len(shown)
    if answer is not None and shown and more > 0:
        key = "trends.more_falling_one" if more == 1 else "trends.more_falling"
        markup += note(key, t, "trends-down-more", count=i18n.number(more, locale))
    return markup


def rising_html(answer: dict[str, Any] | None, t: Translate, locale: str) -> str:
    """The seller's "Em alta": each product with its margin and its evidence."""
    shown = rising(answer or {})

    def card(product: Evidence) -> str:
        rate = t("trends.margin", rate=i18n.percent(product.margin_rate or 0, locale, decimals=0))
        return (
            f'<div class="kpi margin-card trend-card rising" role="group" '
            f'aria-label="{html.escape(product.name)}" {_data(product)}>'
            f'<span class="margin-name">{html.escape(product.name)}</span>'
            + _evidence_html(product, t, locale)
            + measure(t("trends.margin_help"), rate, "trend-margin")
            + "</div>"
        )

    return _answer_html(answer, shown, "up", t, locale, card)
