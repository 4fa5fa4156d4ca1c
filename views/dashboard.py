"""What the manager's and the seller's pages share: the session's user, language and API
client, the page template, KPI cards, help, the first-visit tour, and the live loop.

Pages are thin: they ask the API (``views/api.py``), compute nothing but presentation
(``views/periods.py`` and ``views/i18n.py`` hold the logic), and update their panes in place
when a sale arrives, never redrawing the page.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import panel as pn

from views import i18n
from views.api import ApiClient, ApiProblem
from views.auth import LANGUAGE_COOKIE, session_token
from views.periods import PRESETS, Period, Preset, Span, average_ticket_cents, change, period

log = logging.getLogger(__name__)

POLL_MILLISECONDS = 500
"""How often an open page asks for new sales (an in-memory read on the worker): a sale
shows about half a second after its batch is committed, plus the refresh."""
FULL_REFRESH_SECONDS = 30.0
"""Every figure is fetched again at least this often, sales or not (midnight, late events)."""
TIME_ZONE = ZoneInfo(os.environ.get("DATAAPP_DASHBOARD_TIME_ZONE", "America/Sao_Paulo"))

CSS = (Path(__file__).parent / "templates" / "dashboard.css").read_text(encoding="utf-8")


@dataclass(slots=True)
class Session:
    """The signed-in user of one browser session."""

    api: ApiClient
    locale: str
    me: dict[str, Any]

    def t(self, key: str, **params: object) -> str:
        return i18n.text(key, self.locale, **params)


def api_url() -> str:
    return os.environ.get("DATAAPP_API_URL", "http://127.0.0.1:6066")


def session_locale() -> str:
    query = pn.state.session_args.get("lang") if pn.state.session_args else None
    if query:
        return i18n.resolve_locale(query[0].decode())
    cookie = pn.state.cookies.get(LANGUAGE_COOKIE) if pn.state.cookies else None
    return i18n.resolve_locale(cookie)


def today() -> date:
    return datetime.now(TIME_ZONE).date()


async def open_session() -> Session | str:
    """The session's user, or the catalogue key of why there is none."""
    token = session_token()
    if not token:
        return "auth.session_expired"
    client = ApiClient(api_url(), token)
    try:
        me = await client.get("/api/v1/me")
    except ApiProblem as problem:
        return _problem_key(problem)
    return Session(client, session_locale(), me)


def _problem_key(problem: ApiProblem) -> str:
    if problem.status == 401:
        return "auth.session_expired"
    if problem.status == 403:
        return "error.forbidden"
    if problem.unavailable:
        return "error.service_unavailable"
    return "error.generic"


def html_pane(markup: str = "", **options: Any) -> pn.pane.HTML:
    """An HTML pane with the dashboards' stylesheet: each pane is its own shadow root, which
    the page's CSS does not reach."""
    return pn.pane.HTML(markup, stylesheets=[CSS], sizing_mode="stretch_width", **options)


def message(key: str, locale: str) -> pn.pane.HTML:
    """Why there is nothing to show, in words."""
    text = i18n.text(key, locale)
    link = ""
    if key in ("auth.session_expired", "error.forbidden"):
        link = f' <a href="/">{html.escape(i18n.text("common.retry", locale))}</a>'
    return html_pane(f'<p role="alert" class="page-message">{html.escape(text)}{link}</p>')


@dataclass(slots=True)
class Shell:
    """A page served at once, filled when the session's user is known (``pn.state.onload``):
    Panel serves synchronous page functions, and the user comes from the API."""

    page: pn.template.BootstrapTemplate
    main: pn.Column
    toolbar: pn.Column
    """Above the page's content: the period filter (no sidebar, which a phone would show
    before everything else)."""
    locale: str


def shell(title_key: str) -> Shell:
    locale = session_locale()
    main = pn.Column(
        html_pane(f'<p class="note">{html.escape(i18n.text("common.loading", locale))}</p>'),
        sizing_mode="stretch_width",
    )
    toolbar = pn.Column(sizing_mode="stretch_width")
    # Bootstrap rather than Fast or Material: those load fonts from Google, which a store
    # network may block (and the browser console then shows errors).
    page = pn.template.BootstrapTemplate(
        title=i18n.text(title_key, locale),
        main=[toolbar, main],
        header=[html_pane(_header_links(locale))],
        header_background="#1f5fbf",
        raw_css=[CSS],
    )
    return Shell(page, main, toolbar, locale)


def _header_links(locale: str) -> str:
    languages = " · ".join(
        f'<a href="?lang={code}" lang="{code.replace("_", "-")}" style="color:#fff">'
        f"{html.escape(i18n.text(f'language.{code}', locale))}</a>"
        for code in i18n.LOCALES
        if code != locale
    )
    sign_out = (
        f'<a href="/logout" id="sign-out" style="color:#fff">'
        f"{html.escape(i18n.text('auth.sign_out', locale))}</a>"
    )
    style = "color:#fff;text-align:right;padding-right:12px"
    return f'<div style="{style}">{languages} · {sign_out}</div>'


def signed_in_line(session: Session, extra: str = "") -> pn.pane.HTML:
    who = session.t("auth.signed_in_as", name=session.me.get("username", ""))
    return html_pane(f'<p class="note" id="signed-in">{html.escape(who)}{extra}</p>')


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    """The figure's name in the catalogue (``manager.kpi.<key>`` or ``seller.kpi.<key>``)."""
    value: int
    previous: int
    money: bool


MONEY_KPIS = frozenset({"revenue", "margin", "average_ticket"})


def kpis(current: dict[str, int], previous: dict[str, int], keys: Sequence[str]) -> list[Kpi]:
    """The KPI cards ``keys`` of the API's figures for a period and the period before."""

    def figures(f: dict[str, int]) -> dict[str, int]:
        return {
            "revenue": f["revenue_cents"],
            "margin": f["margin_cents"],
            "orders": f["orders"],
            "average_ticket": average_ticket_cents(f["revenue_cents"], f["orders"]),
            "units": f["units"],
        }

    now, before = figures(current), figures(previous)
    return [Kpi(k, now[k], before[k], k in MONEY_KPIS) for k in keys]


def section(session: Session, title_key: str, help_key: str | None, *objects: Any) -> pn.Column:
    """A titled part of a page, with its one-line help under the title."""
    heading = f"<h2 style='font-size:1.15rem;margin:8px 0'>{html.escape(session.t(title_key))}</h2>"
    if help_key:
        heading += f'<p class="note">{html.escape(session.t(help_key))}</p>'
    return pn.Column(html_pane(heading), *objects, sizing_mode="stretch_width")


def kpi_cards(session: Session, scope: str, kpis: Sequence[Kpi], versus: str, tag: str) -> str:
    """The KPI cards as HTML; each value carries ``data-kpi`` for tests and screen readers."""
    cards = []
    for kpi in kpis:
        label = session.t(f"{scope}.kpi.{kpi.key}")
        help_text = session.t(f"{scope}.kpi_help.{kpi.key}")
        value = (
            i18n.money(kpi.value, session.locale)
            if kpi.money
            else i18n.number(kpi.value, session.locale)
        )
        relative = change(kpi.value, kpi.previous)
        direction = "" if relative is None else ("up" if relative > 0 else "down")
        against = "" if relative is None else f" {html.escape(session.t(versus))}"
        cards.append(
            f'<div class="kpi" role="group" aria-label="{html.escape(label)}">'
            f'<span class="kpi-label" title="{html.escape(help_text)}">{html.escape(label)} '
            f'<span class="help-mark" aria-hidden="true">?</span></span>'
            f'<span class="kpi-value" data-kpi="{kpi.key}" data-span="{tag}" '
            f'data-raw="{kpi.value}">{html.escape(value)}</span>'
            f'<span class="kpi-change {direction}">'
            f"{html.escape(i18n.signed_change(relative, session.locale))}{against}</span></div>"
        )
    return f'<div class="kpi-grid">{"".join(cards)}</div>'


def versus_key(preset: Preset) -> str:
    return {
        "today": "period.vs.yesterday",
        "this_week": "period.vs.last_week",
        "this_month": "period.vs.last_month",
    }.get(preset, "period.vs.previous")


class PeriodFilter:
    """Preset buttons and a custom date range; ``current()`` is the chosen period."""

    def __init__(self, session: Session, on_change: Callable[[], None]) -> None:
        self.session = session
        labels = {session.t(f"period.{preset}"): preset for preset in PRESETS}
        self._presets = labels
        # A select rather than buttons: it stays one line on a phone.
        self.preset_select = pn.widgets.Select(
            name=session.t("period.label"),
            options=list(labels),
            value=session.t("period.today"),
            width=220,
        )
        start = today()
        self.range = pn.widgets.DateRangePicker(
            name=f"{session.t('period.from')} – {session.t('period.to')}",
            value=(start, start),
            visible=False,
            width=260,
        )

        def changed(*_: Any) -> None:
            self.range.visible = self.preset() == "custom"
            on_change()

        self.preset_select.param.watch(changed, "value")
        self.range.param.watch(changed, "value")

    def preset(self) -> Preset:
        return self._presets[self.preset_select.value]

    def current(self) -> Period:
        custom = None
        if self.preset() == "custom" and self.range.value:
            first, last = self.range.value
            custom = Span(first, last)
        return period(self.preset(), today(), custom or Span(today(), today()))

    def panel(self) -> pn.FlexBox:
        return pn.FlexBox(self.preset_select, self.range, gap="12px", sizing_mode="stretch_width")


def help_card(session: Session, entries: Sequence[tuple[str, str]]) -> pn.pane.HTML:
    """Built-in help: what every figure means, in the user's language (a native
    ``<details>``: keyboard and screen-reader friendly, no script)."""
    items = "".join(
        f"<dt><strong>{html.escape(term)}</strong></dt><dd>{html.escape(text)}</dd>"
        for term, text in entries
    )
    return html_pane(
        f'<details class="help"><summary>{html.escape(session.t("help.title"))}</summary>'
        f"<p>{html.escape(session.t('help.intro'))}</p><dl>{items}</dl></details>"
    )


def tour(session: Session, role: str) -> pn.Column:
    """The first-visit tour: a few steps over the page, remembered in a cookie once done."""
    steps = i18n.tour_steps(role, session.locale)  # type: ignore[arg-type]
    cookie = f"dataapp_tour_{role}"
    seen = bool(pn.state.cookies and pn.state.cookies.get(cookie))
    position = {"step": 0}
    body = html_pane()
    back = pn.widgets.Button(name=session.t("tour.back"), button_type="light")
    forward = pn.widgets.Button(name=session.t("tour.next"), button_type="primary")
    skip = pn.widgets.Button(name=session.t("tour.skip"), button_type="light")
    box = pn.Column(
        body,
        pn.Row(back, forward, skip),
        visible=not seen and bool(steps),
        sizing_mode="stretch_width",
        styles={"border": "2px solid #1f5fbf", "border-radius": "10px", "padding": "8px"},
        css_classes=["tour"],
    )
    remember = f"document.cookie = '{cookie}=done; path=/; max-age=31536000; SameSite=Lax'"

    def show() -> None:
        step = position["step"]
        title, text = steps[step]
        progress = session.t("tour.progress", step=step + 1, count=len(steps))
        body.object = (
            f'<div role="dialog" aria-label="{html.escape(title)}">'
            f'<span class="note">{html.escape(progress)}</span>'
            f"<h3 style='margin:4px 0'>{html.escape(title)}</h3><p>{html.escape(text)}</p></div>"
        )
        back.disabled = step == 0
        forward.name = session.t("tour.done" if step == len(steps) - 1 else "tour.next")

    def move(delta: int) -> None:
        step = position["step"] + delta
        if step >= len(steps):
            box.visible = False
            return
        position["step"] = max(step, 0)
        show()

    back.on_click(lambda _: move(-1))
    forward.on_click(lambda _: move(1))
    skip.on_click(lambda _: setattr(box, "visible", False))
    skip.js_on_click(code=remember)
    forward.js_on_click(code=remember)  # the cookie is set once the tour is opened past step 1
    if steps:
        show()
    return box


class LiveLoop:
    """Polls cheaply for new sales and refreshes the figures when one arrives."""

    def __init__(
        self,
        newest: Callable[[], Awaitable[tuple[str, ...] | None]],
        refresh: Callable[[], Awaitable[None]],
        status: pn.pane.HTML,
        session: Session,
    ) -> None:
        self.newest = newest
        self.refresh = refresh
        self.status = status
        self.session = session
        self.last_seen: tuple[str, ...] | None = None
        self.last_refresh = 0.0
        self._busy = False
        self._again = False
        self._invalidated = False

    def invalidate(self) -> None:
        """The figures asked for changed (a filter): fetch them again now, after any refresh
        under way, whose answers are for what was asked before."""
        self._invalidated = True
        pn.state.execute(self.tick)

    async def tick(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        try:
            while True:
                self._again = False
                seen = await self.newest()
                loop_time = asyncio.get_running_loop().time()
                if (
                    seen != self.last_seen
                    or self._invalidated
                    or loop_time - self.last_refresh > FULL_REFRESH_SECONDS
                ):
                    self.last_seen, self.last_refresh = seen, loop_time
                    self._invalidated = False
                    await self.refresh()
                if not self._again:
                    break
            self.status.object = self._status("common.live")
        except ApiProblem as problem:
            self.status.object = self._status(_problem_key(problem), alert=True)
        except Exception:
            log.exception("dashboard refresh failed")
            self.status.object = self._status("error.generic", alert=True)
        finally:
            self._busy = False

    def _status(self, key: str, alert: bool = False) -> str:
        now = datetime.now(TIME_ZONE).strftime("%H:%M:%S")
        updated = self.session.t("common.updated_at", time=now)
        text = html.escape(self.session.t(key))
        if alert:
            return f'<p role="alert" class="weak">{text}</p>'
        live = f'<span class="live-dot">● {text}</span>'
        return f'<p class="note">{live} · {html.escape(updated)}</p>'

    def start(self) -> None:
        pn.state.add_periodic_callback(self.tick, period=POLL_MILLISECONDS)
        pn.state.execute(self.tick)
