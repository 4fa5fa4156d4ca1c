"""The dashboards in a real browser (headless Chromium), against a real worker and broker:
sign-in as a manager and as a seller, the figures on screen equal the API's, names instead
of codes, a sale and a return ingested while the page is open show without a reload, a
seller cannot reach the manager's page nor another seller's figures, the language switch,
the help from the header and the tour again, charts in the reader's language, no text
overflowing its card on phones (real mobile emulation at 360, 375 and 414 px) nor on a
desktop, no console errors, and screenshots (``test-output/screenshots``)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from app.kafka.launcher import free_port
from app.records import Seller, Store
from app.reference import publish_reference
from app.topics import topic_set
from tests.browser.browser_tools import (
    DESKTOP,
    PHONE,
    PHONE_WIDTHS,
    console_errors,
    contrast_failures,
    emulate_phone,
    full_page_screenshot,
    is_touch_phone,
    overflowing_text,
    png_size,
    screenshot,
    set_desktop,
    set_phone,
    stop_emulation,
    unlabelled_controls,
    viewport_size,
)
from tests.worker_tools import (
    DATAAPP,
    REPO,
    WorkerProcess,
    sale_line_now,
    worker_environment,
)
from views.i18n import catalogue, money, percent, text
from views.periods import average_ticket_cents

pytestmark = [pytest.mark.browser, pytest.mark.kafka, pytest.mark.slow]

STORE = "loja-teste-01"
OTHER_STORE = "loja-teste-02"
SELLER = "vend-01"
OTHER_SELLER = "vend-02"
STORE_NAME = "Loja Paulista"
SELLER_NAME = "Ana Souza"
OTHER_SELLER_NAME = "Bruno Lima"
MANAGER_NAME = "Carla Mendes"
ZONE = ZoneInfo("America/Sao_Paulo")
PLAN = {
    "plan_id": "padrao",
    "base_pay_cents": 150_000,
    "basis": "revenue",
    "tier_mode": "progressive",
    "tiers": [{"threshold_cents": 0, "rate": "0.05"}, {"threshold_cents": 50_000, "rate": "0.10"}],
}
"""The store's commission plan: R$ 1.500 a month, 5 % of revenue up to R$ 500, 10 % above."""


def expected_pay(revenue_cents: int) -> int:
    """The plan's pay by hand (docs/pay.md): each tier's rate on the part inside it, the
    commission rounded half-even to the cent once."""
    inside = min(max(revenue_cents, 0), 50_000) * 5 + max(revenue_cents - 50_000, 0) * 10
    whole, rest = divmod(inside, 100)
    commission = whole + (1 if rest > 50 or (rest == 50 and whole % 2) else 0)
    return 150_000 + commission


SHOWS_WITHIN_SECONDS = 20.0
"""How long the test waits for a figure (a generous bound on a loaded machine: the delay from
sale to screen is measured by bench/dashboards.py, not here)."""

DEEP_QUERY = """
const selector = arguments[0], found = [];
(function walk(root) {
  root.querySelectorAll(selector).forEach(e => found.push(e));
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
return found.map(e => ({text: e.textContent.trim(), data: Object.assign({}, e.dataset)}));
"""


def deep(driver: WebDriver, selector: str) -> list[dict[str, Any]]:
    """Elements matching ``selector`` anywhere, shadow roots included (Panel renders each
    component in one)."""
    return driver.execute_script(DEEP_QUERY, selector)


CHART_QUERY = """
const found = {money: [], factors: [], legends: [], labels: []};
for (const doc of Bokeh.documents) {
  for (const model of doc._all_models.values()) {
    const kind = model.constructor.__name__;
    if (kind === 'CustomJSTickFormatter') found.money.push(model.doFormat(arguments[0], {loc: 0}));
    if (kind === 'FactorRange') found.factors.push(model.factors);
    if (kind === 'LegendItem') found.legends.push(model.label?.value ?? model.label);
    if (kind === 'ColumnDataSource' && model.data.label) found.labels.push(...model.data.label);
  }
}
return found;
"""


def chart_axes(driver: WebDriver, ticks: list[float]) -> dict[str, list[Any]]:
    """What the page's charts write: each money axis's labels for ``ticks`` (computed by the
    browser, with its own Intl), each chart's x-axis factors, the legends' entries and the
    money labels their hover tooltips show."""
    return driver.execute_script(CHART_QUERY, ticks)


def page_text(driver: WebDriver) -> str:
    return " ".join(item["text"] for item in deep(driver, "p, h1, h2, h3, span, div.kpi"))


def wait_for(condition: Any, what: str, timeout: float = SHOWS_WITHIN_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what}: not seen within {timeout} s")


@dataclass
class Stack:
    worker: WorkerProcess
    dashboard: subprocess.Popen[bytes]
    url: str
    admin: str
    passwords: dict[str, str]
    orders: int = 0

    def sell(
        self,
        seller: str,
        quantity: int,
        price: str,
        store: str = STORE,
        when: datetime | None = None,
    ) -> str:
        """One sale of ``seller`` in ``store`` (a return if ``quantity`` is negative), a
        minute ago or ``when``, through the API."""
        self.orders += 1
        line = sale_line_now(self.orders, store, seller, quantity, price, "4.00", ZONE, when=when)
        answer = self.worker.request("POST", "/api/v1/ingest/sales", self.admin, [line])
        assert answer.status == 200 and answer.body["accepted"] == 1, answer.body
        return str(line["order_id"])

    def api(self, path: str) -> Any:
        return self.worker.get(path, self.admin)

    def today_summary(self, seller: str | None = None) -> dict[str, int]:
        day = datetime.now(ZONE).date().isoformat()
        scope = f"/sellers/{seller}" if seller else ""
        return self.api(f"/api/v1/stores/{STORE}{scope}/summary?from={day}&to={day}")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboards")
    env = worker_environment(kafka_bootstrap, root / "data")
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    dashboard = None
    try:
        worker.wait_ready()
        admin = worker.add_user("admin", "admin")
        publish_names(kafka_bootstrap, env["DATAAPP_TOPIC_PREFIX"])
        passwords = {}
        for username, role, seller, name in (
            ("gerente", "manager", "", MANAGER_NAME),
            ("vendedor", "seller", SELLER, ""),
            ("outro", "seller", OTHER_SELLER, ""),
        ):
            worker.add_user(username, role, STORE, seller, name=name)
            passwords[username] = f"{username}-secret-pw"
        port = free_port()
        log = (root / "dashboard.log").open("ab")
        dashboard = subprocess.Popen(
            [*DATAAPP, "dashboard", "--port", str(port), "--api-url", worker.base_url],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _alive(url + "/liveness"), "the dashboard server", timeout=60)
        stack = Stack(worker, dashboard, url, admin, passwords)
        for seller, quantity, price in (
            (SELLER, 2, "25.50"),
            (SELLER, 1, "99.90"),
            (OTHER_SELLER, 3, "10.00"),
        ):
            stack.sell(seller, quantity, price)
        stack.sell("vend-99", 4, "50.00", store=OTHER_STORE)  # the chain's other store
        # A history, so that the cards compare with something and the charts have bars.
        now = datetime.now(ZONE).replace(minute=0, second=0, microsecond=0)
        # Yesterday at midnight and at 23h: before and after any hour the test runs at.
        for days_back, hour in ((1, 0), (1, 11), (1, 23), (2, 15), (7, 12), (9, 17), (31, 10)):
            when = (now - timedelta(days=days_back)).replace(hour=hour)
            stack.sell(SELLER, 1 + days_back % 3, "30.00", when=when)
            stack.sell(OTHER_SELLER, 1, "45.00", when=when)
        wait_for(lambda: stack.today_summary()["orders"] == 3, "the first sales in the API")
        first_of_month = datetime.now(ZONE).date().replace(day=1).isoformat()
        answer = worker.request(
            "PUT", f"/api/v1/stores/{STORE}/plan", admin, {**PLAN, "effective_from": first_of_month}
        )
        assert answer.status == 200, answer.body
        yield stack
    finally:
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(timeout=30)
        worker.stop()


def publish_names(bootstrap: str, prefix: str) -> None:
    """The stores' and sellers' names on the reference topics, as a chain publishes them."""
    zone = "America/Sao_Paulo"
    stores = [
        Store(STORE, STORE_NAME, "São Paulo", "SP", zone),
        Store(OTHER_STORE, "Loja Centro", "Campinas", "SP", zone),
    ]
    sellers = [
        Seller(SELLER, STORE, SELLER_NAME, "padrao"),
        Seller(OTHER_SELLER, STORE, OTHER_SELLER_NAME, "padrao"),
    ]
    asyncio.run(publish_reference(bootstrap, topic_set(prefix), stores, sellers, []))


def _alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def sign_in(driver: WebDriver, stack: Stack, username: str) -> None:
    driver.get(stack.url + "/")
    wait_for(lambda: driver.find_elements(By.ID, "username"), "the login form")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(stack.passwords[username])
    driver.find_element(By.ID, "login-submit").click()


def kpis(driver: WebDriver, span: str) -> dict[str, int]:
    return {
        item["data"]["kpi"]: int(item["data"]["raw"])
        for item in deep(driver, f".kpi-value[data-span='{span}']")
    }


def expected_kpis(summary: dict[str, int], keys: tuple[str, ...]) -> dict[str, int]:
    every = {
        "revenue": summary["revenue_cents"],
        "margin": summary["margin_cents"],
        "orders": summary["orders"],
        "average_ticket": average_ticket_cents(summary["revenue_cents"], summary["orders"]),
        "units": summary["units"],
    }
    return {key: every[key] for key in keys}


def shots(driver: WebDriver, who: str) -> None:
    """Screenshots at desktop and phone size, checked to be that size."""
    for name, size, resize in (("desktop", DESKTOP, set_desktop), ("phone", PHONE, set_phone)):
        resize(driver)
        time.sleep(1)  # let the layout settle at the new width
        path = screenshot(driver, f"{who}-{name}")
        assert png_size(path) == size


LANGUAGES = ("pt_BR", "en")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONEY_AXIS_1500 = {"pt_BR": "R$ 1.500", "en": "R$1,500"}
"""A money axis's tick at R$ 1.500, as each language writes it (``Intl`` in the browser)."""
OTHER_NUMBERS = {
    "pt_BR": re.compile(r"R\$\d|\d\.\d{1,2}%|\d\.\d\d(?!\d)"),
    "en": re.compile(r"R\$ \d|\d,\d{1,2}%|\d,\d\d(?!\d)"),
}
"""Money, percentages and decimals written the other language's way (``R$1,234.56`` or
``12.3%`` on a Portuguese page, ``R$ 1.234,56`` or ``12,3%`` on an English one)."""


def short_day_text(d: date, locale: str) -> str:
    """A chart's day label, written here apart from the views: ``03/12``, ``Dec 3``."""
    return d.strftime("%d/%m") if locale == "pt_BR" else f"{MONTHS_EN[d.month - 1]} {d.day}"


def this_month() -> tuple[date, date]:
    """The first and last day of the store's current month."""
    first = datetime.now(ZONE).date().replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def page_in(stack: Stack, path: str, locale: str) -> str:
    return f"{stack.url}{path}?lang={locale}"


TABLE_QUERY = """
const rows = [];
(function walk(root) {
  root.querySelectorAll('.tabulator').forEach(table => {
    const titles = {};
    table.querySelectorAll('.tabulator-col[tabulator-field]').forEach(c => {
      titles[c.getAttribute('tabulator-field')] = c.textContent.trim();
    });
    table.querySelectorAll('.tabulator-row').forEach(r => {
      const row = {};
      r.querySelectorAll('.tabulator-cell[tabulator-field]').forEach(c => {
        row[titles[c.getAttribute('tabulator-field')]] = c.textContent.trim();
      });
      rows.push(row);
    });
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
return rows;
"""


def table_rows(driver: WebDriver) -> list[dict[str, str]]:
    """Every table's rows on the page, each as column title -> cell text (a column folded
    into a phone row's details included)."""
    return driver.execute_script(TABLE_QUERY)


def other_language(driver: WebDriver, locale: str, prefixes: tuple[str, ...]) -> list[str]:
    """What the page shows of the other language: the other catalogue's words for the
    messages under ``prefixes`` (those not also in this language's catalogue) and figures
    written the other way; text, tables and the charts' legends and tooltips."""
    axes = chart_axes(driver, [])
    shown = " ".join(
        [
            page_text(driver),
            *(item["text"] for item in deep(driver, ".tabulator-col-title, .tabulator-cell")),
            *axes["legends"],
            *axes["labels"],
        ]
    )
    own = " ".join(catalogue(locale).values())
    other = catalogue("en" if locale == "pt_BR" else "pt_BR")
    words = {
        part.strip(" .,:;()+")
        for key, message in other.items()
        if key.startswith(prefixes)
        for part in re.split(r"\{\w+\}", message)
    }
    found = sorted(w for w in words if len(w) > 3 and w not in own and w in shown)
    return found + OTHER_NUMBERS[locale].findall(shown)


def check_projection(
    driver: WebDriver, stack: Stack, locale: str, who: str, first: date, last: date
) -> None:
    """The projection panel of ``who`` (``store`` or ``seller``) for ``first``..``last``: the
    API's projected end and 80 % band, in a sentence in ``locale``; over several days, the
    cone chart's days run to ``last`` and its legend and money axis are in ``locale``."""
    scope = f"/api/v1/stores/{STORE}" + (f"/sellers/{SELLER}" if who == "seller" else "")

    def shown_as_the_api_answers() -> dict[str, Any] | None:
        shown = deep(driver, f"#projection-{who}")
        answer = stack.api(f"{scope}/projection?from={first}&to={last}")
        end = answer["period_end"]["revenue"]
        figures = [end["mid"], end["low80"], end["high80"]]
        if shown and [int(shown[0]["data"][k]) for k in ("mid", "low", "high")] == figures:
            return shown[0]
        return None

    shown = wait_for(shown_as_the_api_answers, f"the projection of {first}..{last}")
    mid, low, high = (money(int(shown["data"][k]), locale) for k in ("mid", "low", "high"))
    subject = text(f"projection.subject.{who}", locale)
    end = short_day_text(last, locale)
    assert shown["text"] == text(
        "projection.sentence", locale, subject=subject, end=end, mid=mid, low=low, high=high
    )
    assert text("projection.title", locale) in [item["text"] for item in deep(driver, "h2")]
    if last == first:
        return
    wait_for(
        lambda: end in {factors[-1] for factors in chart_axes(driver, [])["factors"] if factors},
        f"the cone chart's days up to {end}",
    )
    axes = chart_axes(driver, [1500])
    legend = {text(f"projection.{k}", locale) for k in ("band", "projected", "so_far")}
    assert legend <= set(axes["legends"])
    assert axes["money"] and all(labels == [MONEY_AXIS_1500[locale]] for labels in axes["money"])


def check_manager_panels(driver: WebDriver, stack: Stack, locale: str) -> None:
    """The manager's page in ``locale`` as it opens (today): where today is heading, the
    team's pay this month and the team table's month columns, each the API's figure (the
    pay also the plan by hand) written in ``locale`` under that language's words; then
    where the month is heading, with its cone, and back to today."""
    day = datetime.now(ZONE).date()
    check_projection(driver, stack, locale, "store", day, day)
    # The team's pay this month: each seller by hand from the plan, and the total.
    first, last = this_month()
    month = {
        seller: stack.api(f"/api/v1/stores/{STORE}/sellers/{seller}/summary?from={first}&to={day}")
        for seller in (SELLER, OTHER_SELLER)
    }
    pay = stack.api(f"/api/v1/stores/{STORE}/pay?period=month")
    team_pay = wait_for(
        lambda: [
            shown
            for shown in deep(driver, "#team-pay[data-raw]")
            if int(shown["data"]["raw"]) == pay["totals"]["total_cents"]
        ],
        "the team's pay as the API answers it",
    )[0]
    assert pay["totals"]["total_cents"] == sum(
        expected_pay(figures["revenue_cents"]) for figures in month.values()
    )
    share = percent(Decimal(pay["totals"]["of_revenue"]), locale)
    total = money(pay["totals"]["total_cents"], locale)
    assert team_pay["text"] == text("pay.team_total", locale, total=total, share=share)
    # The team table's month columns: pay so far, projected sales (the seller's projection)
    # and projected pay (the plan by hand at those sales), under this language's titles.
    col = {
        name: text(f"manager.team.col.{name}", locale)
        for name in ("seller", "pay", "projected_revenue", "projected_pay")
    }
    team = {
        row[col["seller"]]: row
        for row in wait_for(
            lambda: [row for row in table_rows(driver) if col["pay"] in row], "the team table"
        )
    }
    assert set(team) == {SELLER_NAME, OTHER_SELLER_NAME}
    for seller, name in ((SELLER, SELLER_NAME), (OTHER_SELLER, OTHER_SELLER_NAME)):
        heading = stack.api(
            f"/api/v1/stores/{STORE}/sellers/{seller}/projection?from={first}&to={last}"
        )["period_end"]["revenue"]["mid"]
        assert team[name][col["pay"]] == money(expected_pay(month[seller]["revenue_cents"]), locale)
        assert team[name][col["projected_revenue"]] == money(heading, locale), name
        assert team[name][col["projected_pay"]] == money(expected_pay(heading), locale), name
    assert text("manager.team.title", locale) in [item["text"] for item in deep(driver, "h2")]
    assert other_language(driver, locale, ("projection.", "pay.", "manager.team.")) == []
    # Where the month is heading: the API's projection of the month, and its cone.
    driver.execute_script(CHOOSE_OPTION, text("period.this_month", locale))
    check_projection(driver, stack, locale, "store", first, last)
    assert other_language(driver, locale, ("projection.",)) == []
    driver.execute_script(CHOOSE_OPTION, text("period.today", locale))
    wait_for(lambda: kpis(driver, "today"), "today's cards again")


def check_seller_panels(driver: WebDriver, stack: Stack, locale: str) -> None:
    """The seller's page in ``locale``: where my month is heading (with its cone) and my pay
    this month so far, at the month's end and what the next tier is worth, each the API's
    figure and the plan by hand, written in ``locale`` under that language's words."""
    first, last = this_month()
    day = datetime.now(ZONE).date()
    check_projection(driver, stack, locale, "seller", first, last)
    ends = {factors[-1] for factors in chart_axes(driver, [])["factors"] if factors}
    assert short_day_text(day, locale) in ends  # the history's days end today
    mine = stack.api(f"/api/v1/stores/{STORE}/sellers/{SELLER}/summary?from={first}&to={day}")
    month_end = stack.api(
        f"/api/v1/stores/{STORE}/sellers/{SELLER}/projection?from={first}&to={last}"
    )["period_end"]["revenue"]
    answer = stack.api(f"/api/v1/stores/{STORE}/sellers/{SELLER}/pay?period=month")

    def card(value: str, part: str) -> str:
        return deep(driver, f".kpi:has({value}) {part}")[0]["text"]

    # My pay this month, recomputed here from the plan and my month's revenue.
    pay = wait_for(lambda: deep(driver, "#pay-total"), "my pay")[0]
    total = expected_pay(mine["revenue_cents"])
    assert int(pay["data"]["raw"]) == total == answer["total_cents"]
    assert pay["text"] == money(total, locale)
    assert card("#pay-total", ".kpi-label") == text("pay.so_far", locale)
    commission = total - PLAN["base_pay_cents"]
    parts = {"base": PLAN["base_pay_cents"], "commission": commission, "bonus": 0}
    written = {name: money(cents, locale) for name, cents in parts.items()}
    assert card("#pay-total", ".kpi-change") == text("pay.parts", locale, **written)
    # My pay at the month's end: the plan by hand at the projected revenue and its band.
    projected = wait_for(lambda: deep(driver, "#pay-projected"), "my projected pay")[0]
    band = [expected_pay(month_end[k]) for k in ("mid", "low80", "high80")]
    assert [int(projected["data"][k]) for k in ("raw", "low", "high")] == band
    assert projected["text"] == money(band[0], locale)
    assert card("#pay-projected", ".kpi-label") == text("pay.projected", locale)
    low, high = money(band[1], locale), money(band[2], locale)
    assert card("#pay-projected", ".kpi-change") == text(
        "pay.projected_band", locale, low=low, high=high
    )
    # What the next tier is worth, or that I am in the top one already.
    nxt = deep(driver, "#pay-next")[0]
    assert card("#pay-next", ".kpi-label") == text("pay.next_title", locale)
    if mine["revenue_cents"] < 50_000:
        missing = 50_000 - mine["revenue_cents"]
        adds = answer["next_tier"]["adds_cents"]
        assert int(nxt["data"]["missing"]) == missing and int(nxt["data"]["adds"]) == adds
        assert nxt["text"] == text(
            "pay.next_tier", locale, missing=money(missing, locale), adds=money(adds, locale)
        )
    else:
        assert nxt["text"] == text("pay.top_tier", locale)
    assert text("pay.title", locale) in [item["text"] for item in deep(driver, "h2")]
    assert other_language(driver, locale, ("projection.", "pay.")) == []


PANEL_PAGES = {
    "gerente": ("/manager", check_manager_panels),
    "vendedor": ("/seller", check_seller_panels),
}


MANAGER_KPIS = ("revenue", "margin", "orders", "average_ticket", "units")
SELLER_KPIS = ("revenue", "orders", "average_ticket", "units")


def test_a_manager_sees_the_api_figures_and_a_new_sale_without_reload(
    browser: WebDriver, stack: Stack
) -> None:
    sign_in(browser, stack, "gerente")
    wait_for(lambda: browser.current_url.endswith("/manager"), "the manager's page")
    wait_for(lambda: kpis(browser, "today"), "the KPI cards")
    want = expected_kpis(stack.today_summary(), MANAGER_KPIS)
    wait_for(lambda: kpis(browser, "today") == want, f"the API's figures {want}")
    glance = {
        (item["data"]["figure"]): int(item["data"]["raw"])
        for item in deep(browser, "tr[data-glance='today'] td[data-figure]")
    }
    today_api = stack.today_summary()
    assert glance == {"revenue_cents": today_api["revenue_cents"], "orders": today_api["orders"]}
    assert len(deep(browser, "tr[data-glance]")) == 3  # today, this week, this month
    text = page_text(browser)
    assert "Faturamento" in text and "Vendas ao vivo" in text  # pt-BR by default
    assert money(today_api["revenue_cents"], "pt_BR") in text  # R$ 1.234,56
    # Names where a person reads, never the codes.
    team = {cell["text"] for cell in deep(browser, ".tabulator-cell")}
    assert {SELLER_NAME, OTHER_SELLER_NAME} <= team
    assert not {SELLER, OTHER_SELLER} & team
    assert [item["text"] for item in deep(browser, "#store-name")] == [STORE_NAME]
    assert MANAGER_NAME in deep(browser, "#signed-in")[0]["text"]
    assert STORE not in page_text(browser)
    assert deep(browser, "li[data-metric]"), "the comparison with the chain"
    check_manager_panels(browser, stack, "pt_BR")
    # The cards compare with the period before (the history) and draw its trend.
    assert "sem comparação" not in " ".join(i["text"] for i in deep(browser, ".kpi-change"))
    assert len(deep(browser, ".kpi svg.spark polyline")) == len(MANAGER_KPIS)
    # The main chart speaks Portuguese: reais on the axis, hours of today below it.
    axes = wait_for(lambda: chart_axes(browser, [0, 500, 40000])["factors"], "the chart")
    hours = [factors for factors in axes if factors and factors[0] == "0h"]
    assert len(hours) == 1 and len(hours[0]) == 24 and hours[0][:3] == ["0h", "1h", "2h"]
    money_axes = chart_axes(browser, [0, 500, 40000])["money"]
    assert money_axes and all(labels == ["R$ 0", "R$ 500", "R$ 40 mil"] for labels in money_axes)
    assert not deep(browser, ".pn-busy-container"), "a busy spinner that never stops"
    # Today is compared with yesterday up to the same hour, recomputed here from the API's
    # hourly series of yesterday.
    now = datetime.now(ZONE)
    yesterday = (now - timedelta(days=1)).date().isoformat()
    hours = stack.api(
        f"/api/v1/stores/{STORE}/timeseries?granularity=hour&from={yesterday}&to={yesterday}"
    )["points"]
    by_now = sum(p["revenue_cents"] for p in hours if int(p["bucket"][11:13]) <= now.hour)
    previous = {i["data"]["kpi"]: int(i["data"]["previous"]) for i in deep(browser, ".kpi-value")}
    assert previous["revenue"] == by_now
    if now.hour < 23:
        assert by_now < sum(p["revenue_cents"] for p in hours), "no hour of yesterday cut"

    revenue_before = kpis(browser, "today")["revenue"]
    stack.sell(SELLER, 1, "12.34")
    started = time.monotonic()
    wait_for(
        lambda: kpis(browser, "today").get("revenue") == revenue_before + 1234,
        "the new sale in the revenue card",
    )
    print(f"new sale on screen {time.monotonic() - started:.2f} s after its ingestion")
    assert "R$ 12,34" in " ".join(cell["text"] for cell in deep(browser, ".tabulator-cell"))
    # A return says so in words, not only with a minus sign.
    stack.sell(SELLER, -1, "12.34")
    wait_for(
        lambda: "Devolução: 1" in [cell["text"] for cell in deep(browser, ".tabulator-cell")],
        "the return in the live feed",
    )

    shots(browser, "manager")
    assert console_errors(browser) == []
    assert contrast_failures(browser) == []
    assert unlabelled_controls(browser) == []


def test_a_seller_sees_only_their_own_figures(browser: WebDriver, stack: Stack) -> None:
    sign_in(browser, stack, "vendedor")
    wait_for(lambda: browser.current_url.endswith("/seller"), "the seller's page")
    want = expected_kpis(stack.today_summary(SELLER), SELLER_KPIS)
    wait_for(lambda: kpis(browser, "today") == want, f"the seller's figures {want}")
    other = expected_kpis(stack.today_summary(OTHER_SELLER), SELLER_KPIS)
    assert kpis(browser, "today") != other
    rank = wait_for(lambda: deep(browser, "#seller-rank"), "the seller's rank")[0]
    assert rank["data"]["count"] == "2" and rank["data"]["rank"] == "1"
    assert SELLER_NAME in deep(browser, "#signed-in")[0]["text"]
    # The period block starts on this month, so it is not a copy of today's block.
    month = wait_for(lambda: kpis(browser, "this_month"), "this month's cards")
    first = datetime.now(ZONE).date().replace(day=1).isoformat()
    day = datetime.now(ZONE).date().isoformat()
    mine = stack.api(f"/api/v1/stores/{STORE}/sellers/{SELLER}/summary?from={first}&to={day}")
    assert month == expected_kpis(mine, SELLER_KPIS)
    check_seller_panels(browser, stack, "pt_BR")

    shots(browser, "seller")
    assert console_errors(browser) == []
    assert contrast_failures(browser) == []
    assert unlabelled_controls(browser) == []

    # Not the manager's page, whatever the URL; and no way to another seller's figures.
    browser.get(stack.url + "/manager")
    wait_for(lambda: deep(browser, "p.page-message"), "the refusal on the manager's page")
    assert "não tem acesso" in page_text(browser)
    assert not deep(browser, ".kpi-value")
    # The page asks the API with the seller's own token, which reads no one else.
    day = datetime.now(ZONE).date().isoformat()
    token = stack.worker.add_user("vendedor-api", "seller", STORE, SELLER)
    for path in (
        f"/api/v1/stores/{STORE}/sellers/{OTHER_SELLER}/summary?from={day}&to={day}",
        f"/api/v1/stores/{STORE}/summary?from={day}&to={day}",
        f"/api/v1/stores/{STORE}/recent-sales",
    ):
        assert stack.worker.request("GET", path, token).status == 403, path


PANEL_CASES = [
    (locale, size)
    for locale in LANGUAGES
    for size in ("phone", "desktop")
    if (locale, size) != ("pt_BR", "desktop")  # the two tests above
]


@pytest.mark.parametrize("username", list(PANEL_PAGES))
@pytest.mark.parametrize(("locale", "size"), PANEL_CASES)
def test_the_projection_and_pay_panels_in_each_language_and_size(
    browser: WebDriver, stack: Stack, username: str, locale: str, size: str
) -> None:
    """The projection, pay and team-pay panels show the API's figures in each language, in
    that language's words and number format, on a phone (real mobile emulation at 375×812)
    and on a 1440×900 desktop; pt-BR on a desktop is checked by the two tests above."""
    path, check = PANEL_PAGES[username]
    sign_in(browser, stack, username)
    wait_for(lambda: browser.current_url.endswith(path), f"the page {path}")
    if size == "phone":
        emulate_phone(browser, *PHONE)
    browser.get(page_in(stack, path, locale))
    wait_for(lambda: kpis(browser, "today"), f"{path} in {locale}")
    assert viewport_size(browser) == (PHONE if size == "phone" else DESKTOP)
    check(browser, stack, locale)
    assert overflowing_text(browser) == [], f"{path} in {locale} on a {size}"
    screenshot(browser, f"{path.strip('/')}-panels-{locale}-{size}")
    assert console_errors(browser) == []


def test_the_language_switch_and_signing_out(browser: WebDriver, stack: Stack) -> None:
    sign_in(browser, stack, "gerente")
    wait_for(lambda: browser.current_url.endswith("/manager"), "the manager's page")
    browser.get(stack.url + "/manager?lang=en")
    wait_for(lambda: "Revenue" in page_text(browser), "the English page")
    assert "Faturamento" not in page_text(browser)
    browser.get(stack.url + "/logout")
    browser.get(stack.url + "/manager")
    wait_for(lambda: "/login" in browser.current_url, "the login form after signing out")


def test_wrong_credentials_are_explained_in_words(browser: WebDriver, stack: Stack) -> None:
    browser.get(stack.url + "/login")
    browser.find_element(By.ID, "username").send_keys("gerente")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "login-submit").click()
    error = wait_for(lambda: browser.find_elements(By.ID, "login-error"), "the error")[0]
    assert "incorretos" in error.text
    assert console_errors(browser) == []
    assert contrast_failures(browser) == []
    assert unlabelled_controls(browser) == []


PAGES = (("gerente", "/manager", MANAGER_KPIS), ("vendedor", "/seller", SELLER_KPIS))


def test_no_text_overflows_on_phones_and_desktop(browser: WebDriver, stack: Stack) -> None:
    """Each page under real mobile emulation (a mobile viewport honours the page's viewport
    meta tag, a phone's user agent, touch) at three phone widths, then on a desktop."""
    for username, path, keys in PAGES:
        sign_in(browser, stack, username)
        wait_for(lambda path=path: browser.current_url.endswith(path), f"the page {path}")
        who = path.strip("/")
        for width in PHONE_WIDTHS:
            emulate_phone(browser, width)
            browser.get(stack.url + path)
            wait_for(
                lambda keys=keys: len(kpis(browser, "today")) == len(keys), f"{who} at {width} px"
            )
            time.sleep(1)  # the figures' first refresh and the layout settle
            # Laid out at the phone's width, not at a desktop's 980 px shrunk to fit.
            assert viewport_size(browser)[0] == width
            assert is_touch_phone(browser)
            assert overflowing_text(browser) == [], f"{who} at {width} px"
            screenshot(browser, f"{who}-phone-{width}")
        full_page_screenshot(browser, f"{who}-phone-{PHONE_WIDTHS[-1]}", mobile=True)
        browser.get(stack.url + path + "?lang=en")
        wait_for(lambda: "Signed in as" in page_text(browser), "the page in English")
        time.sleep(1)
        assert overflowing_text(browser) == [], f"{who} in English"
        full_page_screenshot(browser, f"{who}-phone-en", mobile=True)
        stop_emulation(browser)
        set_desktop(browser)
        browser.get(stack.url + path)
        wait_for(lambda keys=keys: len(kpis(browser, "today")) == len(keys), f"{who}, desktop")
        time.sleep(1)
        assert overflowing_text(browser) == [], f"{who} at {DESKTOP[0]} px"
        screenshot(browser, f"{who}-desktop-{DESKTOP[0]}")
        full_page_screenshot(browser, f"{who}-desktop")
        assert console_errors(browser) == []
        browser.get(stack.url + "/logout")


def test_the_overflow_check_catches_a_value_too_wide_for_its_card(
    browser: WebDriver, stack: Stack
) -> None:
    """The check above can fail: a card forced narrower than its value is reported."""
    sign_in(browser, stack, "gerente")
    wait_for(lambda: kpis(browser, "today"), "the KPI cards")
    time.sleep(1)
    browser.execute_script(
        DEEP_QUERY.replace(
            "return found.map",
            "found.forEach(e => {e.style.width = '40px';"
            " e.style.containerType = 'normal';}); return found.map",
        ),
        ".kpi",
    )
    assert any("overflows card" in fault for fault in overflowing_text(browser))


def test_help_opens_from_the_header_and_replays_the_tour(browser: WebDriver, stack: Stack) -> None:
    sign_in(browser, stack, "vendedor")
    wait_for(lambda: kpis(browser, "today"), "the seller's page")
    # The first visit's tour, skipped.
    skip = wait_for(lambda: _buttons(browser, "Pular"), "the tour")
    skip[0].click()
    wait_for(lambda: not _visible_tour(browser), "the tour to close")
    help_button = wait_for(lambda: _buttons(browser, "Ajuda"), "the header's help button")
    help_button[0].click()
    wait_for(lambda: _help_shown(browser), "the help dialog")
    replay = wait_for(lambda: _buttons(browser, "Rever o tour"), "the replay button")
    replay[0].click()
    wait_for(lambda: _visible_tour(browser), "the tour again")
    assert "1 de 5" in [item["text"] for item in deep(browser, "span.note")]
    assert console_errors(browser) == []


VISIBLE_QUERY = """
const selector = arguments[0], text = arguments[1], found = [];
(function walk(root) {
  root.querySelectorAll(selector).forEach(e => {
    if (e.checkVisibility() && (text === null || e.textContent.trim() === text)) found.push(e);
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
return found;
"""


def _buttons(driver: WebDriver, name: str) -> list[Any]:
    """Visible buttons whose text is ``name``, shadow roots included."""
    return driver.execute_script(VISIBLE_QUERY, "button", name)


def _visible_tour(driver: WebDriver) -> bool:
    return bool(driver.execute_script(VISIBLE_QUERY, ".tour", None))


def _help_shown(driver: WebDriver) -> bool:
    return bool(driver.execute_script(VISIBLE_QUERY, "#help dl dt", None))


CHOOSE_OPTION = """
const text = arguments[0];
(function walk(root) {
  root.querySelectorAll('select').forEach(s => {
    const option = [...s.options].find(o => o.textContent.trim() === text);
    if (option) { s.value = option.value; s.dispatchEvent(new Event('change')); }
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
"""
SET_DATE = """
const [name, value] = arguments;
(function walk(root) {
  root.querySelectorAll(`input[type=date][name=${name}]`).forEach(i => {
    i.value = value; i.dispatchEvent(new Event('change'));
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
"""


def test_a_custom_range_uses_the_phones_own_date_inputs(browser: WebDriver, stack: Stack) -> None:
    """The choice "Escolher datas" shows native date inputs (the browser writes 31/12/2026 and month
    names in its owner's language), and the cards follow the days picked."""
    sign_in(browser, stack, "gerente")
    wait_for(lambda: kpis(browser, "today"), "the manager's page")
    assert not browser.execute_script(VISIBLE_QUERY, "input[type=date]", None)
    browser.execute_script(CHOOSE_OPTION, "Escolher datas")
    inputs = wait_for(
        lambda: browser.execute_script(VISIBLE_QUERY, "input[type=date]", None), "date inputs"
    )
    assert len(inputs) == 2
    today = datetime.now(ZONE).date()
    first = (today - timedelta(days=9)).isoformat()
    last = (today - timedelta(days=1)).isoformat()
    browser.execute_script(SET_DATE, "first", first)
    browser.execute_script(SET_DATE, "last", last)
    summary = stack.api(f"/api/v1/stores/{STORE}/summary?from={first}&to={last}")
    assert summary["orders"] > 0  # the history the fixture put there
    want = expected_kpis(summary, MANAGER_KPIS)
    wait_for(lambda: kpis(browser, "custom") == want, f"the custom range's figures {want}")
    screenshot(browser, "manager-custom-range")
    assert console_errors(browser) == []


SET_INPUT = """
const [label, value] = arguments;
(function walk(root) {
  root.querySelectorAll('label').forEach(l => {
    if (l.textContent.trim() !== label) return;
    const input = l.parentElement.querySelector('input');
    if (input) { input.value = value; input.dispatchEvent(new Event('change')); }
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
"""
READ_INPUT = """
const label = arguments[0]; let found = null;
(function walk(root) {
  root.querySelectorAll('label').forEach(l => {
    if (l.textContent.trim() === label) {
      const input = l.parentElement.querySelector('input');
      if (input) found = input.value;
    }
  });
  root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
})(document);
return found;
"""


def test_the_plan_editor_simulates_a_draft_and_refuses_what_it_cannot_read(
    browser: WebDriver, stack: Stack
) -> None:
    """The manager's plan editor: the plan in force in the form, a draft's what-if against
    the plan by hand at each seller's projected month, a field it cannot read named in
    words, and saving the same terms again (which creates no version)."""
    sign_in(browser, stack, "gerente")
    wait_for(lambda: kpis(browser, "today"), "the manager's page")
    press = "arguments[0].scrollIntoView(); arguments[0].click();"
    opener = wait_for(lambda: _buttons(browser, "Plano de comissão"), "the plan editor's button")
    browser.execute_script(press, opener[0])
    base = "Salário fixo (R$)"
    wait_for(lambda: browser.execute_script(READ_INPUT, base) == "1.500,00", "the plan in force")
    browser.execute_script(SET_INPUT, base, "2.000,00")
    simulate = wait_for(lambda: _buttons(browser, "Simular"), "the simulate button")[0]
    browser.execute_script(press, simulate)
    rows = wait_for(lambda: deep(browser, "#what-if tr[data-seller]"), "the what-if")
    first = datetime.now(ZONE).date().replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    for row in rows:
        seller = row["data"]["seller"]
        mid = stack.api(
            f"/api/v1/stores/{STORE}/sellers/{seller}/projection?from={first}&to={last}"
        )["period_end"]["revenue"]["mid"]
        assert int(row["data"]["draft"]) == expected_pay(mid) + 50_000, seller
    assert "com o rascunho" in deep(browser, "#what-if-cost")[0]["text"]
    full_page_screenshot(browser, "manager-plan-editor")
    assert len(stack.api(f"/api/v1/stores/{STORE}/plan")["versions"]) == 1  # nothing saved

    browser.execute_script(SET_INPUT, base, "dois mil")
    browser.execute_script(press, _buttons(browser, "Simular")[0])
    refused = wait_for(lambda: deep(browser, "#plan-refused"), "the refusal")
    assert "salário fixo" in refused[0]["text"]

    browser.execute_script(SET_INPUT, base, "1.500,00")
    browser.execute_script(press, _buttons(browser, "Salvar")[0])
    saved = wait_for(lambda: deep(browser, "#plan-saved"), "the save")
    assert saved[0]["data"]["version"] == "1"  # the same terms: no new version
    assert len(stack.api(f"/api/v1/stores/{STORE}/plan")["versions"]) == 1
    assert console_errors(browser) == []
    assert unlabelled_controls(browser) == []
