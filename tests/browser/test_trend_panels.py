"""Products trending on the dashboards, in a real browser against a real worker and broker:
the manager's "Em queda" (best sellers falling, the revenue lost, units of the last 28 and 7
days against the periods before, the rank before and now) and the seller's "Em alta" (rising
products with a known, positive margin, the same evidence and the margin), each as the API's
``/trending`` answers it, in pt-BR and English, on a phone (real mobile emulation, 360 to 414
px) and a 1440 px desktop, with no text leaving its card nor the page wider than the screen,
no text of the other language, and screenshots (``test-output/screenshots``).

Eight weeks of daily sales are planted through the API as an admin, on top of the sales of
``test_dashboards``'s stack (whose fixture this module reuses: its own worker): products flat
for four weeks then rising or falling for four, one rising without a cost on record, one flat.
The trends are as of the store's last closed day (yesterday: the stack sells today)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
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
from tests.browser.test_cross_sell_panels import SCROLL_TO, TITLES, open_page, shot, without_mark
from tests.browser.test_dashboards import (  # noqa: F401  (stack: the fixture, reused)
    LANGUAGES,
    MONTHS_EN,
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
    "GARRAFA-TERM": "Garrafa térmica 1 L",
    "FILTRO-SOLAR": "Protetor solar FPS 50",
    "AGENDA-2027": "Agenda 2027",
    # Long on purpose: it must wrap inside its card on a 360 px phone.
    "GUARDA-CHUVA": "Guarda-chuva automático reforçado com cabo emborrachado e capa",
    "CADERNO-A4": "Caderno A4",
    "CANETA-AZUL": "Caneta azul",
}
UP = [1 + n * 5 // 27 for n in range(28)]
UP_SLOWER = [1 + n * 4 // 27 for n in range(28)]
DOWN = [max(0, 6 - n * 6 // 27) for n in range(28)]
DOWN_FAST = [max(0, 4 - n * 4 // 20) for n in range(28)]
PLANTED: dict[str, tuple[str, str | None, list[int]]] = {
    # sku: price, cost (None: no cost on record), units a day over the 56 closed days
    "GARRAFA-TERM": ("80.00", "32.00", [1] * 28 + UP),  # 60 % margin
    "FILTRO-SOLAR": ("60.00", "48.00", [1] * 28 + UP_SLOWER),  # 20 %
    "AGENDA-2027": ("45.00", None, [1] * 28 + UP_SLOWER),  # unknown margin
    "GUARDA-CHUVA": ("50.00", "20.00", [6] * 28 + DOWN),  # the best seller before
    "CADERNO-A4": ("30.00", "12.00", [4] * 28 + DOWN_FAST),
    "CANETA-AZUL": ("5.00", "2.00", [5] * 56),  # flat
}
RISING = ["GARRAFA-TERM", "FILTRO-SOLAR", "AGENDA-2027"]
"""The API's rising list: a good margin first, the unknown margin last."""
PROMOTED = ["GARRAFA-TERM", "FILTRO-SOLAR"]
"""What the seller is shown: the agenda's margin is unknown."""
FALLING = ["GUARDA-CHUVA", "CADERNO-A4"]
"""The most revenue lost first: R$ 3.600 (72 units of R$ 50), R$ 1.860 (62 of R$ 30)."""
SIZES = ("phone", "desktop")


def closed_days() -> list[date]:
    """The 56 days up to yesterday, the store's last closed day, oldest first."""
    yesterday = datetime.now(ZONE).date() - timedelta(days=1)
    return [yesterday - timedelta(days=55 - n) for n in range(56)]


@pytest.fixture(scope="module")
def planted(stack: Stack) -> Iterator[Stack]:  # noqa: F811
    days = closed_days()
    lines = []
    for sku, (price, cost, units) in PLANTED.items():
        for n, (day, count) in enumerate(zip(days, units, strict=True)):
            if not count:
                continue
            stack.orders += 1
            when = datetime(day.year, day.month, day.day, 12, 0, tzinfo=ZONE)
            seller = SELLER if n % 2 else OTHER_SELLER
            line = sale_line_now(
                stack.orders, STORE, seller, count, price, cost or "0", ZONE, when=when
            )
            line = {**line, "order_id": f"tend-{uuid.uuid4().hex[:10]}", "sku": sku}
            line["product_name"] = NAMES[sku]
            if cost is None:
                del line["unit_cost"]
            lines.append(line)
    answer = stack.worker.request("POST", "/api/v1/ingest/sales", stack.admin, lines)
    assert answer.status == 200 and answer.body["accepted"] == len(lines), answer.body

    def counted() -> bool:
        # Every planted unit aggregated before the first trending call: the API keeps a
        # store's trends per closed day once computed.
        ranking = stack.api(
            f"/api/v1/stores/{STORE}/products?from={days[0]}&to={days[-1]}&by=units&limit=500"
        )
        units = {p["sku"]: p["units"] for p in ranking["products"]}
        return all(units.get(sku) == sum(u) for sku, (_, _, u) in PLANTED.items())

    wait_for(counted, "the planted days in the API", timeout=90)
    up = stack.api(f"/api/v1/stores/{STORE}/trending?direction=up&limit=10")
    down = stack.api(f"/api/v1/stores/{STORE}/trending?direction=down&limit=5")
    assert up["last_closed_day"] == days[-1].isoformat()
    assert [p["sku"] for p in up["products"]] == RISING
    assert [p["sku"] for p in down["products"]] == FALLING
    # The API's evidence is the planted one, by hand.
    guarda = down["products"][0]
    assert (guarda["previous_28"]["units"], guarda["last_28"]["units"]) == (168, sum(DOWN))
    assert guarda["revenue_lost_cents"] == (168 - sum(DOWN)) * 5_000
    assert up["products"][0]["margin_rate"] == "0.600000"
    assert up["products"][2]["margin_rate"] is None
    yield stack


# -- what the page should say, written here apart from the views ----------------------------


def grouped(whole: int, locale: str) -> str:
    return f"{whole:,}".replace(",", "." if locale == "pt_BR" else ",")


def reais(cents: int, locale: str) -> str:
    whole, rest = divmod(cents, 100)
    if locale == "pt_BR":
        return f"R$ {grouped(whole, locale)},{rest:02}"
    return f"R${grouped(whole, locale)}.{rest:02}"


def signed(growth: str) -> str:
    """``+49%``, ``−56%`` (U+2212), ``0%``."""
    whole = Decimal(growth).scaleb(2).quantize(Decimal(1), ROUND_HALF_EVEN)
    if whole > 0:
        return f"+{whole}%"
    if whole < 0:
        return f"\u2212{-whole}%"
    return "0%"


def units(count: int, locale: str) -> str:
    if locale == "pt_BR":
        return f"{grouped(count, locale)} un."
    return f"{grouped(count, locale)} unit" + ("" if count == 1 else "s")


def change(product: dict[str, Any], days: int, locale: str) -> str:
    last = product[f"last_{days}"]["units"]
    before = product[f"previous_{days}"]["units"]
    growth = product[f"growth_{days}d"]["units"]
    if locale == "pt_BR":
        words = (
            f"{units(last, locale)} nos últimos {days} dias, "
            f"contra {units(before, locale)} nos {days} anteriores"
        )
    else:
        words = (
            f"{units(last, locale)} in the last {days} days, "
            f"against {units(before, locale)} in the {days} before"
        )
    return words if growth is None else f"{words} ({signed(growth)})"


def rank(product: dict[str, Any], locale: str) -> str:
    now, before = product["rank_28"], product["rank_previous_28"]
    if locale == "pt_BR":
        if before is None:
            return f"{now}º da loja em faturamento (não vendia antes)"
        return f"{now}º da loja em faturamento (era o {before}º)"
    if before is None:
        return f"#{now} in the store by revenue (no sales before)"
    return f"#{now} in the store by revenue (was #{before})"


def lost(product: dict[str, Any], locale: str) -> str:
    amount = reais(product["revenue_lost_cents"], locale)
    if locale == "pt_BR":
        return f"{amount} a menos em faturamento nos últimos 28 dias"
    return f"{amount} less revenue over the last 28 days"


def margin(product: dict[str, Any], locale: str) -> str:
    rate = f"{Decimal(product['margin_rate']).scaleb(2).quantize(Decimal(1), ROUND_HALF_EVEN)}%"
    if locale == "pt_BR":
        return f"{rate} de margem nos últimos 28 dias"
    return f"{rate} margin over the last 28 days"


def window(answer: dict[str, Any], locale: str) -> str:
    day = date.fromisoformat(answer["last_closed_day"])
    if locale == "pt_BR":
        return f"Vendas até {day:%d/%m/%Y}, o último dia completo da loja."
    return (
        f"Sales up to {MONTHS_EN[day.month - 1]} {day.day}, {day.year}, the store's last full day."
    )


# -- checks ---------------------------------------------------------------------------------


def check_panel(
    driver: WebDriver, planted: Stack, locale: str, direction: str, wanted: list[str]
) -> None:
    """The cards of ``direction``'s panel, as the API answers them, in ``locale``."""
    prefix = f"trends-{direction}"
    limit = 10 if direction == "up" else 5
    answer = planted.api(f"/api/v1/stores/{STORE}/trending?direction={direction}&limit={limit}")
    products = {p["sku"]: p for p in answer["products"]}

    def same() -> list[dict[str, Any]] | None:
        cards = deep(driver, f"#{prefix} .trend-card")
        return cards if [c["data"]["sku"] for c in cards] == wanted else None

    cards = wait_for(same, f"the API's {direction} trends on the page")
    names = [item["text"] for item in deep(driver, f"#{prefix} .margin-name")]
    long = [without_mark(i["text"]) for i in deep(driver, f"#{prefix} .trend-units-28")]
    short = [without_mark(i["text"]) for i in deep(driver, f"#{prefix} .trend-units-7")]
    ranks = [without_mark(i["text"]) for i in deep(driver, f"#{prefix} .trend-rank")]
    for n, sku in enumerate(wanted):
        product = products[sku]
        assert names[n] == product["product_name"] == NAMES[sku]
        data = cards[n]["data"]
        assert int(data["units-28"]) == product["last_28"]["units"]
        assert int(data["units-7"]) == product["last_7"]["units"]
        assert long[n] == change(product, 28, locale)
        assert short[n] == change(product, 7, locale)
        assert ranks[n] == rank(product, locale)
    if direction == "down":
        shown = [without_mark(i["text"]) for i in deep(driver, f"#{prefix} .trend-lost")]
        assert shown == [lost(products[sku], locale) for sku in wanted]
        assert shown[0] == lost({"revenue_lost_cents": 360_000}, locale)  # by hand
        help_keys = ("lost", "units", "rank")
    else:
        shown = [without_mark(i["text"]) for i in deep(driver, f"#{prefix} .trend-margin")]
        assert shown == [margin(products[sku], locale) for sku in wanted]
        assert shown[0] == margin({"margin_rate": "0.6"}, locale)  # by hand
        assert NAMES["AGENDA-2027"] not in " ".join(c["text"] for c in cards)
        help_keys = ("margin", "units", "rank")
    assert deep(driver, f"#{prefix}-window")[0]["text"] == window(answer, locale)
    assert text(f"trends.{direction}_title", locale) in [i["text"] for i in deep(driver, "h2")]
    assert text(f"trends.{direction}_help", locale) in [i["text"] for i in deep(driver, "p")]
    titles = set(driver.execute_script(TITLES, f"#{prefix} [title]"))
    assert {text(f"trends.{key}_help", locale) for key in help_keys} <= titles
    page = " ".join(item["text"] for item in deep(driver, "p, h2, span"))
    assert not [sku for sku in NAMES if sku in page], "codes instead of names"
    assert other_language(driver, locale, ("trends.",)) == []


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_manager_sees_the_best_sellers_falling_with_their_evidence(
    browser: WebDriver, planted: Stack, locale: str, size: str
) -> None:
    open_page(browser, planted, "gerente", "/manager", locale, size)
    check_panel(browser, planted, locale, "down", FALLING)
    assert overflowing_text(browser) == [], f"manager in {locale} on a {size}"
    assert contrast_failures(browser) == []
    shot(browser, "#trends-down", f"trends-manager-{locale}-{size}", size)
    assert console_errors(browser) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("locale", LANGUAGES)
def test_the_seller_sees_rising_products_with_a_good_margin(
    browser: WebDriver, planted: Stack, locale: str, size: str
) -> None:
    open_page(browser, planted, "vendedor", "/seller", locale, size)
    check_panel(browser, planted, locale, "up", PROMOTED)
    assert overflowing_text(browser) == [], f"seller in {locale} on a {size}"
    assert contrast_failures(browser) == []
    shot(browser, "#trends-up", f"trends-seller-{locale}-{size}", size)
    if size == "desktop":
        full_page_screenshot(browser, f"trends-seller-{locale}")
    assert console_errors(browser) == []


@pytest.mark.parametrize("path", ["/manager", "/seller"])
def test_no_horizontal_overflow_at_phone_widths(
    browser: WebDriver, planted: Stack, path: str
) -> None:
    username = "gerente" if path == "/manager" else "vendedor"
    selector = "#trends-down" if path == "/manager" else "#trends-up"
    sign_in(browser, planted, username)
    wait_for(lambda: browser.current_url.endswith(path), f"the page {path}")
    for width in (360, 414):
        emulate_phone(browser, width)
        for locale in LANGUAGES:
            browser.get(page_in(planted, path, locale))
            wait_for(lambda: kpis(browser, "today"), f"{path} at {width} px")
            wait_for(lambda: deep(browser, f"{selector} .trend-card"), f"the panel at {width} px")
            time.sleep(1)
            assert viewport_size(browser)[0] == width
            assert overflowing_text(browser) == [], f"{path} in {locale} at {width} px"
            assert browser.execute_script(SCROLL_TO, selector)
            time.sleep(0.5)
            screenshot(browser, f"trends-{path.strip('/')}-{locale}-{width}")
    assert console_errors(browser) == []
