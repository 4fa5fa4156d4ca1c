"""The seller's "Maior margem" in a real browser against a real worker and broker: the store's
products by unit margin (name, unit margin in reais, margin rate) and, highlighted, the
seller's opportunities with their reason in words, the products without a cost in a line
apart, each as the API answers them, in pt-BR and English, on a phone (real mobile emulation,
360 to 414 px) and a 1440 px desktop, with no text leaving its card nor the page wider than
the screen, no text of the other language, the answer kept between refreshes and asked again
after a minute, and screenshots (``test-output/screenshots``).

Sales with costs are planted through the API as an admin for two sellers of the store, on
top of the single-line sales of ``test_dashboards``'s stack (whose fixture this module reuses:
its own worker): among them a product with a high margin that the store sells a lot and the
signed-in seller rarely (the perfume), and one they never sold (the pans)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.browser_tools import (
    console_errors,
    contrast_failures,
    emulate_phone,
    full_page_screenshot,
    overflowing_text,
    screenshot,
    viewport_size,
)
from tests.browser.test_cross_sell_panels import (
    SCROLL_TO,
    TITLES,
    open_page,
    shot,
    without_mark,
)
from tests.browser.test_dashboards import (  # noqa: F401  (stack: the fixture, reused)
    LANGUAGES,
    OTHER_SELLER,
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
from views.i18n import text

pytestmark = [pytest.mark.browser, pytest.mark.kafka, pytest.mark.slow]

NAMES = {
    "PERFUME-100": "Perfume floral 100 ml",
    # Long on purpose: it must wrap inside its card on a 360 px phone.
    "PANELAS-5": "Jogo de panelas antiaderentes com tampa de vidro temperado, 5 peças",
    "BOLSA-COURO": "Bolsa de couro",
    "RELOGIO-01": "Relógio de pulso",
    "FONE-BT": "Fone de ouvido Bluetooth",
    "CABO-USB": "Cabo USB-C",
    "PILHA-AA": "Pilha AA",
    "CAPA-CEL": "Capa de celular",
    "LIVRO-REC": "Livro de receitas",
    "CHAVEIRO": "Chaveiro de metal",
}
PLANTED: list[tuple[str, str, str | None, int, int]] = [
    # sku, price, cost (None: no cost on record), the signed-in seller's units, the other's
    ("PERFUME-100", "200.00", "56.00", 1, 40),  # 72 %, R$ 144/unit: sells a lot, not by me
    ("PANELAS-5", "450.00", "112.50", 0, 24),  # 75 %, R$ 337,50/unit: never sold by me
    ("BOLSA-COURO", "380.00", "190.00", 12, 6),  # 50 %
    ("RELOGIO-01", "500.00", "350.00", 20, 2),  # 30 %
    ("FONE-BT", "150.00", "75.00", 15, 15),  # 50 %
    ("CABO-USB", "20.00", "15.00", 30, 10),  # 25 %
    ("PILHA-AA", "12.00", "9.00", 10, 10),  # 25 %
    ("CAPA-CEL", "40.00", "28.00", 5, 5),  # 30 %
    ("LIVRO-REC", "60.00", None, 3, 2),
    ("CHAVEIRO", "15.00", None, 3, 2),
]
"""With the stack's three test products (8 units each at 85-91 %), the store's costed
products have a median margin rate of 50 % and a median of 20 units; the signed-in seller
makes about 48 % of the store's units. The perfume (72 %, 41 units, 1 mine) and the pans
(75 %, 24 units, none mine) are my opportunities; the other seller has none."""
OPPORTUNITIES = ["PANELAS-5", "PERFUME-100"]
"""By the store's margin on them: the pans R$ 8.100, the perfume R$ 5.904."""
TOP = ["PANELAS-5", "BOLSA-COURO", "RELOGIO-01", "PERFUME-100", "FONE-BT"]
"""By unit margin: R$ 337,50, 190, 150, 144, 75."""
WITHOUT_COST = ["LIVRO-REC", "CHAVEIRO"]
"""By revenue: R$ 300, R$ 75."""
QUERY = "days=30&limit=5"
"""What the page asks for."""
SIZES = ("phone", "desktop")


def plant(planted: Stack, seller: str, sku: str, price: str, cost: str | None, units: int) -> None:
    """One order of ``seller`` of ``units`` of ``sku``, a minute ago, through the API as an
    admin; without ``cost``, the line has no unit cost."""
    planted.orders += 1
    line = sale_line_now(planted.orders, STORE, seller, units, price, cost or "0", ZONE)
    line = {**line, "order_id": f"margem-{uuid.uuid4().hex[:10]}", "sku": sku}
    line["product_name"] = NAMES[sku]
    if cost is None:
        del line["unit_cost"]
    answer = planted.worker.request("POST", "/api/v1/ingest/sales", planted.admin, [line])
    assert answer.status == 200 and answer.body["accepted"] == 1, answer.body


def margins_of(planted: Stack, seller: str, query: str = QUERY) -> dict[str, Any]:
    return planted.api(f"/api/v1/stores/{STORE}/sellers/{seller}/margin-products?{query}")


@pytest.fixture(scope="module")
def planted(stack: Stack) -> Iterator[Stack]:  # noqa: F811
    for sku, price, cost, mine, theirs in PLANTED:
        for seller, units in ((SELLER, mine), (OTHER_SELLER, theirs)):
            # Two orders when there are units enough: a product is sold more than once.
            for part in (units // 2, units - units // 2) if units > 1 else (units,):
                if part:
                    plant(stack, seller, sku, price, cost, part)

    def written() -> dict[str, Any] | None:
        # The history sink is a moment behind the live figures: wait for every product.
        answer = margins_of(stack, SELLER, "days=30&limit=50")
        units = {p["sku"]: p["store_units"] for p in answer["by_unit_margin"]}
        units |= {p["sku"]: p["store_units"] for p in answer["without_cost"]}
        wanted = {sku: mine + theirs for sku, _, _, mine, theirs in PLANTED}
        return answer if all(units.get(sku) == n for sku, n in wanted.items()) else None

    answer = wait_for(written, "the planted sales in the margin answer", timeout=60)
    # The API's answer is the planted one, by hand.
    perfume = next(p for p in answer["by_unit_margin"] if p["sku"] == "PERFUME-100")
    assert (perfume["unit_margin_cents"], perfume["margin_rate"]) == (14_400, 0.72)
    assert (perfume["store_units"], perfume["seller_units"]) == (41, 1)
    mine = margins_of(stack, SELLER)
    assert [p["sku"] for p in mine["opportunities"]] == OPPORTUNITIES
    assert [p["sku"] for p in mine["by_unit_margin"]] == TOP
    assert [p["sku"] for p in mine["without_cost"]] == WITHOUT_COST
    assert margins_of(stack, OTHER_SELLER)["opportunities"] == []
    yield stack


# -- what the page should say, written here apart from the views ----------------------------


def grouped(whole: int, locale: str) -> str:
    return f"{whole:,}".replace(",", "." if locale == "pt_BR" else ",")


def reais(cents: int, locale: str) -> str:
    """``R$ 1.337,50`` in pt-BR, ``R$1,337.50`` in English (positive amounts)."""
    whole, rest = divmod(cents, 100)
    if locale == "pt_BR":
        return f"R$ {grouped(whole, locale)},{rest:02}"
    return f"R${grouped(whole, locale)}.{rest:02}"


def whole_percent(rate: float) -> str:
    return f"{Decimal(str(rate)).scaleb(2).quantize(Decimal(1), ROUND_HALF_EVEN)}%"


def units_words(count: int, locale: str) -> str:
    if locale == "pt_BR":
        return f"{grouped(count, locale)} un."
    return f"{grouped(count, locale)} unit" + ("" if count == 1 else "s")


def reason(product: dict[str, Any], days: int, locale: str) -> str:
    rate = whole_percent(product["margin_rate"])
    store = units_words(product["store_units"], locale)
    mine = product["seller_units"]
    if locale == "pt_BR":
        start = f"Margem de {rate}, a loja vendeu {store} em {days} dias"
        return f"{start}, você vendeu {mine}" if mine > 0 else f"{start} e você ainda não vendeu"
    start = f"{rate} margin, the store sold {store} in {days} days"
    return f"{start}, you sold {mine}" if mine > 0 else f"{start} and you have not sold it yet"


def unit_margin(product: dict[str, Any], locale: str) -> str:
    amount = reais(product["unit_margin_cents"], locale)
    return f"{amount} por unidade" if locale == "pt_BR" else f"{amount} per unit"


def rate_words(product: dict[str, Any], locale: str) -> str:
    rate = whole_percent(product["margin_rate"])
    return f"{rate} de margem" if locale == "pt_BR" else f"{rate} margin"


def without_cost_line(names: list[str], locale: str) -> str:
    start = "Sem custo cadastrado" if locale == "pt_BR" else "No cost on record"
    return f"{start}: {', '.join(names)}"


# -- checks ---------------------------------------------------------------------------------


def shown_cards(
    driver: WebDriver, planted: Stack, seller: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """The opportunity and top cards once they are the API's products (same products and
    units), and the API's answer."""

    def same() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]] | None:
        answer = margins_of(planted, seller)
        opportunities = deep(driver, "#margin-opportunities .margin-card")
        top = deep(driver, "#margin-top .margin-card")

        def key(card: dict[str, Any]) -> tuple[str, str, str]:
            data = card["data"]
            return data["sku"], data["storeUnits"], data["sellerUnits"]

        def wanted(products: list[dict[str, Any]], count: int) -> list[tuple[str, str, str]]:
            return [
                (p["sku"], str(p["store_units"]), str(p["seller_units"])) for p in products[:count]
            ]

        if [key(c) for c in opportunities] == wanted(answer["opportunities"], 3) and [
            key(c) for c in top
        ] == wanted(answer["by_unit_margin"], 5):
            return opportunities, top, answer
        return None

    return wait_for(same, "the API's margin products on the seller's page")


def check_margins(driver: WebDriver, planted: Stack, locale: str, seller: str = SELLER) -> None:
    """Each opportunity with its reason and each top product with its unit margin and rate,
    as the API answers them, in ``locale``; the products without cost apart; help for every
    measure; no code instead of a name and no other-language text."""
    opportunities, top, answer = shown_cards(driver, planted, seller)
    days = (date.fromisoformat(answer["to"]) - date.fromisoformat(answer["from"])).days + 1
    assert days == 30
    if seller == SELLER:
        assert [c["data"]["sku"] for c in opportunities] == OPPORTUNITIES
        assert [c["data"]["sku"] for c in top] == TOP
    else:
        assert opportunities == []
        assert deep(driver, "#margins-no-opportunities")[0]["text"] == text(
            "margins.no_opportunities", locale
        )
    names = [item["text"] for item in deep(driver, "#margin-opportunities .margin-name")]
    reasons = [
        without_mark(item["text"]) for item in deep(driver, "#margin-opportunities .margin-reason")
    ]
    for n, product in enumerate(answer["opportunities"][:3]):
        assert names[n] == product["product_name"] == NAMES[product["sku"]]
        assert reasons[n] == reason(product, days, locale)
        assert float(opportunities[n]["data"]["rate"]) == product["margin_rate"]
    names = [item["text"] for item in deep(driver, "#margin-top .margin-name")]
    units = [without_mark(item["text"]) for item in deep(driver, "#margin-top .margin-unit")]
    rates = [without_mark(item["text"]) for item in deep(driver, "#margin-top .margin-rate")]
    for n, product in enumerate(answer["by_unit_margin"][:5]):
        assert names[n] == product["product_name"] == NAMES[product["sku"]]
        assert int(top[n]["data"]["unitMargin"]) == product["unit_margin_cents"]
        assert units[n] == unit_margin(product, locale)
        assert rates[n] == rate_words(product, locale)
    if seller == SELLER:
        # The pans by hand: R$ 450 - R$ 112,50 a unit, 75 %, 24 units, none mine.
        assert units[0] == unit_margin({"unit_margin_cents": 33_750}, locale)
        assert reasons[0] == reason(
            {"margin_rate": 0.75, "store_units": 24, "seller_units": 0}, 30, locale
        )
    # The products without cost: named in a line apart, never with a margin.
    line = without_mark(deep(driver, "#margins-without-cost")[0]["text"])
    assert line == without_cost_line([p["product_name"] for p in answer["without_cost"]], locale)
    assert line == without_cost_line([NAMES[sku] for sku in WITHOUT_COST], locale)
    cards = " ".join(c["text"] for c in opportunities + top)
    assert not [NAMES[sku] for sku in WITHOUT_COST if NAMES[sku] in cards]
    # Help: under the title, on each heading and measure (hover or long-press).
    assert text("margins.title", locale) in [item["text"] for item in deep(driver, "h2")]
    assert text("margins.help", locale) in [item["text"] for item in deep(driver, "p")]
    titles = set(driver.execute_script(TITLES, "#margins [title]"))
    # The opportunity's on its heading too, so also where there is none.
    help_keys = ("opportunity", "unit_margin", "rate", "without_cost")
    assert {text(f"margins.{key}_help", locale) for key in help_keys} <= titles
    shown = " ".join(item["text"] for item in deep(driver, "#margins p, #margins span, h3"))
    assert not [sku for sku in NAMES if sku in shown], "codes instead of names"
    assert other_language(driver, locale, ("margins.",)) == []


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_seller_sees_the_highest_margins_and_their_opportunities(
    browser: WebDriver, planted: Stack, locale: str, size: str
) -> None:
    refused = planted.worker.request(
        "GET",
        f"/api/v1/stores/{STORE}/sellers/{SELLER}/margin-products?{QUERY}",
        planted.worker.tokens["vendedor"],
    )
    assert refused.status == 200, (refused.status, refused.body)  # the seller's own token
    open_page(browser, planted, "vendedor", "/seller", locale, size)
    check_margins(browser, planted, locale)
    assert overflowing_text(browser) == [], f"seller in {locale} on a {size}"
    assert contrast_failures(browser) == []
    shot(browser, "#margins", f"margins-seller-{locale}-{size}", size)
    full_page_screenshot(browser, f"margins-seller-{locale}-{size}", mobile=size == "phone")
    assert console_errors(browser) == []


def test_another_seller_sees_the_same_products_and_no_opportunity(
    browser: WebDriver, planted: Stack
) -> None:
    """The other seller sells the perfume and the pans: the store's products are the same,
    but nothing is an opportunity for them, which the panel says in words."""
    open_page(browser, planted, "outro", "/seller", "pt_BR", "desktop")
    check_margins(browser, planted, "pt_BR", OTHER_SELLER)
    shot(browser, "#margins", "margins-other-seller-pt_BR-desktop", "desktop")
    assert console_errors(browser) == []


def test_no_horizontal_overflow_at_phone_widths(browser: WebDriver, planted: Stack) -> None:
    """The panel at the narrowest and widest common phones, in both languages: the long
    product name wraps inside its card and the page is never wider than the screen."""
    sign_in(browser, planted, "vendedor")
    wait_for(lambda: browser.current_url.endswith("/seller"), "the seller's page")
    for width in (360, 414):
        emulate_phone(browser, width)
        for locale in LANGUAGES:
            browser.get(page_in(planted, "/seller", locale))
            wait_for(lambda: kpis(browser, "today"), f"the seller's page at {width} px")
            wait_for(lambda: deep(browser, "#margin-top .margin-card"), f"the panel at {width}")
            time.sleep(1)
            assert viewport_size(browser)[0] == width
            assert overflowing_text(browser) == [], f"seller in {locale} at {width} px"
            assert browser.execute_script(SCROLL_TO, "#margin-opportunities")
            time.sleep(0.5)
            screenshot(browser, f"margins-seller-{locale}-{width}")
    assert console_errors(browser) == []


def test_the_answer_is_kept_between_refreshes_and_asked_again_after_a_minute(
    browser: WebDriver, planted: Stack
) -> None:
    """A new sale refreshes the page's figures at once, but the margin panel, a history
    query, keeps its answer until a minute has passed since it was asked; then it shows the
    sale too."""
    open_page(browser, planted, "vendedor", "/seller", "pt_BR", "desktop")
    check_margins(browser, planted, "pt_BR")
    asked = time.monotonic()  # the page asked a moment ago, at its first refresh

    def perfume_units() -> str:
        card = deep(browser, "#margin-opportunities .margin-card[data-sku='PERFUME-100']")
        return card[0]["data"]["sellerUnits"] if card else ""

    before = perfume_units()
    orders = kpis(browser, "today")["orders"]
    plant(planted, SELLER, "PERFUME-100", "200.00", "56.00", 1)
    wait_for(lambda: kpis(browser, "today").get("orders") == orders + 1, "the new sale's order")

    def perfume_in_the_api() -> int:
        answer = margins_of(planted, SELLER)
        return next(p for p in answer["opportunities"] if p["sku"] == "PERFUME-100")["seller_units"]

    wait_for(lambda: perfume_in_the_api() == int(before) + 1, "the new sale in the API's answer")
    assert perfume_units() == before, "the margin panel was asked again before a minute"
    time.sleep(max(0.0, asked + 45 - time.monotonic()))
    assert perfume_units() == before, "the margin panel was asked again before a minute"
    wait_for(lambda: perfume_units() == str(int(before) + 1), "the new sale in the panel", 100)
    assert time.monotonic() - asked >= 50
    check_margins(browser, planted, "pt_BR")
    assert console_errors(browser) == []
