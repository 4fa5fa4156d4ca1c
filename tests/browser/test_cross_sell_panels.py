"""Bought together on the dashboards, in a real browser against a real worker and broker: the
manager's "Comprados juntos" and the seller's "Ofereça junto" show the API's pairs and rules
(names, orders with both, lift and confidence written in each language), in pt-BR and
English, on a phone (real mobile emulation, 360 to 414 px) and a 1440 px desktop, with no
text leaving its card nor the page wider than the screen, a new basket shown without a
reload, and screenshots (``test-output/screenshots``).

Baskets with known pairs are planted through the API as an admin, on top of the single-line
sales of ``test_dashboards``'s stack (whose fixture this module reuses: its own worker)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.browser_tools import (
    DESKTOP,
    PHONE,
    console_errors,
    contrast_failures,
    emulate_phone,
    full_page_screenshot,
    overflowing_text,
    png_size,
    screenshot,
    viewport_size,
)
from tests.browser.test_dashboards import (  # noqa: F401  (stack: the fixture, reused)
    LANGUAGES,
    SELLER,
    STORE,
    ZONE,
    Stack,
    deep,
    kpis,
    other_language,
    page_in,
    sign_in,
    stack,
    wait_for,
)
from tests.worker_tools import sale_line_now
from views.i18n import day, number, text

pytestmark = [pytest.mark.browser, pytest.mark.kafka, pytest.mark.slow]

NAMES = {
    "CAFE-500": "Café torrado 500 g",
    "FILTRO-103": "Filtro de papel 103",
    "CANECA-01": "Caneca de cerâmica",
    # Long on purpose: it must wrap inside its card on a 360 px phone.
    "PANELAS-5": "Jogo de panelas antiaderentes com tampa de vidro temperado, 5 peças",
    "COLHER-PAU": "Colher de pau",
}
PLANTED = [
    (6, ("CAFE-500", "FILTRO-103")),
    (3, ("CAFE-500", "CANECA-01")),
    (2, ("CAFE-500",)),
    (4, ("PANELAS-5", "COLHER-PAU")),
    (1, ("PANELAS-5",)),
]
"""Café in 11 baskets (6 with filtro, 3 with caneca); filtro in 6, all with café; panelas in
5, 4 with the colher. The stack's own sales are single lines: products without partners."""
OFFERED = ["CAFE-500", "PANELAS-5", "CANECA-01"]
"""The store's three most bought products that have a partner, most baskets first, a pair
offered once: filtro (café's best partner, and café its) and the colher (the panelas') are
skipped, their pair already offered the other way round."""
PAIRS_QUERY = "limit=5"
SIZES = ("phone", "desktop")
SELLER_API_USER = "vendedor-junto"

TITLES = """
const selector = arguments[0], found = [];
(function walk(root) {
  root.querySelectorAll(selector).forEach(e => found.push(e.getAttribute('title')));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
return found;
"""
SCROLL_TO = """
const selector = arguments[0];
let target = null;
(function walk(root) {
  if (target) return;
  target = root.querySelector(selector);
  if (!target) {
    root.querySelectorAll('*').forEach(e => { if (e.shadowRoot && !target) walk(e.shadowRoot); });
  }
})(document);
if (target) target.scrollIntoView({block: 'start'});
return target !== null;
"""

OPEN_DETAILS = """
(function walk(root) {
  root.querySelectorAll('details.cross-details').forEach(d => { d.open = true; });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
"""


def basket(planted: Stack, skus: tuple[str, ...], seller: str = SELLER) -> None:
    """One order of ``seller`` holding ``skus`` (one unit each), a minute ago, through the
    API as an admin."""
    planted.orders += 1
    order = f"junto-{uuid.uuid4().hex[:10]}"
    lines = []
    for sku in skus:
        line = sale_line_now(planted.orders, STORE, seller, 1, "20.00", "8.00", ZONE)
        lines.append({**line, "order_id": order, "sku": sku, "product_name": NAMES[sku]})
    answer = planted.worker.request("POST", "/api/v1/ingest/sales", planted.admin, lines)
    assert answer.status == 200 and answer.body["accepted"] == len(lines), answer.body


@pytest.fixture(scope="module")
def planted(stack: Stack) -> Iterator[Stack]:  # noqa: F811
    for times, skus in PLANTED:
        for _ in range(times):
            basket(stack, skus)

    def counted() -> dict[str, Any] | None:
        answer = stack.api(f"/api/v1/stores/{STORE}/cross-sell?product=CAFE-500")
        return answer if answer["product_baskets"] == 11 else None

    cafe = wait_for(counted, "the planted baskets in the API", timeout=60)
    # The API's answer is the planted one, by hand: café's partners by confidence.
    assert [(r["consequent"], r["baskets"]) for r in cafe["rules"]] == [
        ("FILTRO-103", 6),
        ("CANECA-01", 3),
    ]
    assert cafe["rules"][0]["confidence"] == 6 / 11
    assert cafe["rules"][0]["consequent_name"] == NAMES["FILTRO-103"]
    stack.worker.add_user(SELLER_API_USER, "seller", STORE, SELLER)  # the seller's own token
    yield stack


# -- what the page should say, written here apart from the views ----------------------------


def decimal(value: float, locale: str, places: int) -> str:
    """``3,2`` in pt-BR, ``3.2`` in English (no grouping: the planted figures are small)."""
    written = f"{value:.{places}f}"
    return written.replace(".", ",") if locale == "pt_BR" else written


def share(value: float, locale: str) -> str:
    return f"{decimal(value * 100, locale, 0)}%"


def count_words(count: int, locale: str) -> str:
    if locale == "pt_BR":
        return f"{count} pedido com os dois" if count == 1 else f"{count} pedidos com os dois"
    return f"{count} order with both" if count == 1 else f"{count} orders with both"


def lift_words(lift: float, locale: str) -> str:
    if locale == "pt_BR":
        return f"{decimal(lift, locale, 1)}× mais provável juntos"
    return f"{decimal(lift, locale, 1)}× likelier together"


def both_ways(product: str, partner: str, confidence: float, locale: str) -> str:
    if locale == "pt_BR":
        return f"Quem leva {product} leva {partner} em {share(confidence, locale)} das vezes."
    return f"Who buys {product} takes {partner} {share(confidence, locale)} of the time."


def offer_words(product: str, partner: str, confidence: float, locale: str) -> str:
    if locale == "pt_BR":
        return (
            f"Quem leva {product} costuma levar {partner} ({share(confidence, locale)} das vezes)."
        )
    return f"Who buys {product} often takes {partner} ({share(confidence, locale)} of the time)."


def without_mark(shown: str) -> str:
    """A measure's text without its help mark ("?")."""
    return shown.removesuffix("?").strip()


# -- checks ---------------------------------------------------------------------------------


def shown_pairs(driver: WebDriver, planted: Stack) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The manager's pair cards once they are the API's pairs (same products, baskets)."""

    def same() -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
        answer = planted.api(f"/api/v1/stores/{STORE}/cross-sell?{PAIRS_QUERY}")
        cards = deep(driver, "#pairs .cross-card")
        wanted = [(" + ".join(p["products"]), str(p["baskets"])) for p in answer["pairs"]]
        got = [(c["data"]["pair"], c["data"]["baskets"]) for c in cards]
        return (cards, answer) if got == wanted and wanted else None

    return wait_for(same, "the API's pairs on the manager's page")


def check_pairs(driver: WebDriver, planted: Stack, locale: str) -> None:
    """Each pair by its products' names, the orders with both, the lift in words and the
    confidence both ways, as the API answers them, in ``locale``; help for every measure."""
    cards, answer = shown_pairs(driver, planted)
    assert {frozenset(p["products"]) for p in answer["pairs"]} == {
        frozenset(("CAFE-500", "FILTRO-103")),
        frozenset(("CAFE-500", "CANECA-01")),
        frozenset(("PANELAS-5", "COLHER-PAU")),
    }
    names = [item["text"] for item in deep(driver, "#pairs .cross-names")]
    counts = [without_mark(item["text"]) for item in deep(driver, "#pairs .cross-baskets")]
    lifts = [without_mark(item["text"]) for item in deep(driver, "#pairs .cross-lift")]
    ways = [item["text"] for item in deep(driver, "#pairs .cross-way")]
    join = " + " if locale == "pt_BR" else " and "
    for n, pair in enumerate(answer["pairs"]):
        first, second = pair["names"]
        assert names[n] == f"{first}{join}{second}"
        assert counts[n] == count_words(pair["baskets"], locale)
        assert float(cards[n]["data"]["lift"]) == pair["lift"]
        assert lifts[n] == lift_words(pair["lift"], locale)
        forward, backward = pair["rules"]
        assert ways[2 * n : 2 * n + 2] == [
            both_ways(first, second, forward["confidence"], locale),
            both_ways(second, first, backward["confidence"], locale),
        ]
    # The planted pair by hand: filtro always with café; café with filtro in b of its
    # 5 + b baskets (6 of 11 as planted, 7 of 12 after the live test's basket).
    cafe = next(n for n, p in enumerate(answer["pairs"]) if "FILTRO-103" in p["products"])
    b = int(cards[cafe]["data"]["baskets"])
    assert b in (6, 7)
    assert counts[cafe] == count_words(b, locale)
    assert both_ways(NAMES["FILTRO-103"], NAMES["CAFE-500"], 1.0, locale) in ways
    assert both_ways(NAMES["CAFE-500"], NAMES["FILTRO-103"], b / (b + 5), locale) in ways
    # Help: under the title, and on each measure (hover or long-press).
    assert text("cross_sell.pairs_title", locale) in [item["text"] for item in deep(driver, "h2")]
    assert text("cross_sell.pairs_help", locale) in [item["text"] for item in deep(driver, "p")]
    titles = set(driver.execute_script(TITLES, "#pairs [title]"))
    assert {
        text(f"cross_sell.{key}_help", locale) for key in ("baskets", "lift", "confidence")
    } <= titles
    assert deep(driver, "#pairs-window")[0]["text"] == text(
        "cross_sell.window",
        locale,
        first=day(date.fromisoformat(answer["from"]), locale),
        last=day(date.fromisoformat(answer["to"]), locale),
        baskets=number(answer["baskets"], locale),
    )
    shown = " ".join(item["text"] for item in deep(driver, "p, h2, span"))
    assert not [sku for sku in NAMES if sku in shown], "codes instead of names"
    assert other_language(driver, locale, ("cross_sell.",)) == []


def check_offers(driver: WebDriver, planted: Stack, locale: str) -> None:
    """For the store's three most bought products with a partner, the partner the API
    answers first for that product (by confidence) in a sentence in ``locale``."""
    refused = planted.worker.request(
        "GET", f"/api/v1/stores/{STORE}/cross-sell", planted.worker.tokens[SELLER_API_USER]
    )
    assert refused.status == 200, (
        "the API refuses the seller's own store's cross-sell "
        f"({refused.status} {refused.body}); docs/api.md says a seller may read it"
    )
    best = {}
    for sku in OFFERED:
        rules = planted.api(f"/api/v1/stores/{STORE}/cross-sell?product={sku}&limit=1")["rules"]
        best[sku] = rules[0]

    def same() -> list[dict[str, Any]] | None:
        cards = deep(driver, "#offers .cross-card")
        got = [(c["data"]["product"], c["data"]["partner"]) for c in cards]
        wanted = [(sku, best[sku]["consequent"]) for sku in OFFERED]
        return cards if got == wanted else None

    cards = wait_for(same, "the API's best partners on the seller's page")
    assert [best[sku]["consequent"] for sku in OFFERED] == ["FILTRO-103", "COLHER-PAU", "CAFE-500"]
    sentences = [without_mark(item["text"]) for item in deep(driver, "#offers .cross-offer")]
    counts = [item["text"] for item in deep(driver, "#offers .cross-baskets")]
    for n, sku in enumerate(OFFERED):
        rule = best[sku]
        assert float(cards[n]["data"]["confidence"]) == rule["confidence"]
        assert sentences[n] == offer_words(
            rule["antecedent_name"], rule["consequent_name"], rule["confidence"], locale
        )
        assert counts[n] == count_words(rule["baskets"], locale)
    assert text("cross_sell.offers_title", locale) in [item["text"] for item in deep(driver, "h2")]
    assert text("cross_sell.offers_help", locale) in [item["text"] for item in deep(driver, "p")]
    assert text("cross_sell.offer_help", locale) in driver.execute_script(TITLES, "#offers [title]")
    assert other_language(driver, locale, ("cross_sell.",)) == []


def open_page(driver: WebDriver, planted: Stack, username: str, path: str, locale: str, size: str):
    sign_in(driver, planted, username)
    wait_for(lambda: driver.current_url.endswith(path), f"the page {path}")
    if size == "phone":
        emulate_phone(driver, *PHONE)
    driver.get(page_in(planted, path, locale))
    wait_for(lambda: kpis(driver, "today"), f"{path} in {locale}")
    assert viewport_size(driver) == (PHONE if size == "phone" else DESKTOP)


def shot(driver: WebDriver, selector: str, name: str, size: str) -> None:
    """The panel scrolled into view, as the reader sees it."""
    assert driver.execute_script(SCROLL_TO, selector)
    time.sleep(0.5)
    path = screenshot(driver, name)
    assert png_size(path) == (PHONE if size == "phone" else DESKTOP)


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_manager_sees_the_stores_strongest_pairs(
    browser: WebDriver, planted: Stack, locale: str, size: str
) -> None:
    open_page(browser, planted, "gerente", "/manager", locale, size)
    check_pairs(browser, planted, locale)
    assert overflowing_text(browser) == [], f"manager in {locale} on a {size}"
    assert contrast_failures(browser) == []
    shot(browser, "#pairs", f"cross-sell-manager-{locale}-{size}", size)
    if (locale, size) == ("pt_BR", "desktop"):
        # Live: one more basket of café and filtro shows without a reload.
        before = {
            c["data"]["pair"]: int(c["data"]["baskets"]) for c in shown_pairs(browser, planted)[0]
        }
        key = next(pair for pair in before if "FILTRO-103" in pair)
        basket(planted, ("CAFE-500", "FILTRO-103"))
        wait_for(
            lambda: any(
                c["data"]["pair"] == key and int(c["data"]["baskets"]) == before[key] + 1
                for c in deep(browser, "#pairs .cross-card")
            ),
            "the new basket in the manager's pairs",
        )
        check_pairs(browser, planted, locale)
        # The confidence both ways, in the details a tap opens.
        browser.execute_script(OPEN_DETAILS)
        full_page_screenshot(browser, "cross-sell-manager-desktop")
    assert console_errors(browser) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_seller_sees_what_to_offer_with_the_most_bought_products(
    browser: WebDriver, planted: Stack, locale: str, size: str
) -> None:
    open_page(browser, planted, "vendedor", "/seller", locale, size)
    check_offers(browser, planted, locale)
    assert overflowing_text(browser) == [], f"seller in {locale} on a {size}"
    assert contrast_failures(browser) == []
    shot(browser, "#offers", f"cross-sell-seller-{locale}-{size}", size)
    assert console_errors(browser) == []


@pytest.mark.parametrize("path", ["/manager", "/seller"])
def test_no_horizontal_overflow_at_phone_widths(
    browser: WebDriver, planted: Stack, path: str
) -> None:
    """Both panels at the narrowest and widest common phones, in both languages: the long
    product name wraps inside its card and the page is never wider than the screen."""
    username = "gerente" if path == "/manager" else "vendedor"
    selector = "#pairs" if path == "/manager" else "#offers"
    sign_in(browser, planted, username)
    wait_for(lambda: browser.current_url.endswith(path), f"the page {path}")
    for width in (360, 414):
        emulate_phone(browser, width)
        for locale in LANGUAGES:
            browser.get(page_in(planted, path, locale))
            wait_for(lambda: kpis(browser, "today"), f"{path} at {width} px")
            wait_for(lambda: deep(browser, selector), f"the panel at {width} px")
            time.sleep(1)
            assert viewport_size(browser)[0] == width
            assert overflowing_text(browser) == [], f"{path} in {locale} at {width} px"
            assert browser.execute_script(SCROLL_TO, selector)
            time.sleep(0.5)
            screenshot(browser, f"cross-sell-{path.strip('/')}-{locale}-{width}")
    assert console_errors(browser) == []
