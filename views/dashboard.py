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
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import panel as pn
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, FactorRange, HoverTool
from bokeh.plotting import figure

from views import i18n
from views.api import ApiClient, ApiProblem
from views.auth import LANGUAGE_COOKIE, session_token
from views.charts import Series, axis_labels, money_axis_code, sparkline_svg
from views.periods import (
    COMPARED_FIGURES,
    PRESETS,
    Period,
    Preset,
    Span,
    average_ticket_cents,
    change,
    later_hours,
    period,
)
from views.widgets import DateRange

log = logging.getLogger(__name__)

POLL_MILLISECONDS = 500
"""How often an open page asks for new sales (an in-memory read on the worker): a sale
shows about half a second after its batch is committed, plus the refresh."""
FULL_REFRESH_SECONDS = 30.0
"""Every figure is fetched again at least this often, sales or not (midnight, late events)."""
TIME_ZONE = ZoneInfo(os.environ.get("DATAAPP_DASHBOARD_TIME_ZONE", "America/Sao_Paulo"))
"""The zone of a page whose store's is not known (an admin's, a store not yet in ref.stores)."""

CSS = (Path(__file__).parent / "templates" / "dashboard.css").read_text(encoding="utf-8")


Figures = dict[str, int]


@dataclass(slots=True)
class Session:
    """The signed-in user of one browser session."""

    api: ApiClient
    locale: str
    me: dict[str, Any]
    zone: ZoneInfo = TIME_ZONE
    """The store's time zone: its "today" and "this hour", as the API's buckets are."""

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


def today(zone: ZoneInfo = TIME_ZONE) -> date:
    return datetime.now(zone).date()


async def unless_missing(answer: Awaitable[Any]) -> Any | None:
    """The API's answer, or None where it says there is nothing (a 404: a store without a
    commission plan has no pay to show); any other problem is raised as usual."""
    try:
        return await answer
    except ApiProblem as problem:
        if problem.status == 404:
            return None
        raise


def pay_html(session: Session, pay: dict[str, Any] | None) -> str:
    """A seller's pay this month so far, its parts, and what the next tier is worth."""
    t, locale = session.t, session.locale
    if pay is None:
        return f'<p class="note" id="pay-none">{html.escape(t("pay.no_plan"))}</p>'
    parts = t(
        "pay.parts",
        base=i18n.money(pay["base_cents"], locale),
        commission=i18n.money(pay["commission_cents"], locale),
        bonus=i18n.money(pay["bonus_cents"], locale),
    )
    card = (
        f'<div class="kpi" role="group" aria-label="{html.escape(t("pay.so_far"))}">'
        f'<span class="kpi-label">{html.escape(t("pay.so_far"))}</span>'
        f'<span class="kpi-value" id="pay-total" data-raw="{pay["total_cents"]}">'
        f"{html.escape(i18n.money(pay['total_cents'], locale))}</span>"
        f'<span class="kpi-change">{html.escape(parts)}</span></div>'
    )
    tier = pay.get("next_tier")
    if pay.get("capped"):
        words = t("pay.capped")
    elif tier:
        words = t(
            "pay.next_tier_margin" if pay.get("basis") == "margin" else "pay.next_tier",
            missing=i18n.money(tier["missing_cents"], locale),
            adds=i18n.money(tier["adds_cents"], locale),
        )
    else:
        words = t("pay.top_tier")
    data = (
        f'data-missing="{tier["missing_cents"]}" data-adds="{tier["adds_cents"]}"' if tier else ""
    )
    projected = pay.get("projected")
    if projected and projected.get("method") == "forecast":
        total = projected["total_cents"]
        words_end = t(
            "pay.projected_band",
            low=i18n.money(total["low"], locale),
            high=i18n.money(total["high"], locale),
        )
        card += (
            f'<div class="kpi" role="group" aria-label="{html.escape(t("pay.projected"))}">'
            f'<span class="kpi-label">{html.escape(t("pay.projected"))}</span>'
            f'<span class="kpi-value" id="pay-projected" data-raw="{total["mid"]}" '
            f'data-low="{total["low"]}" data-high="{total["high"]}">'
            f"{html.escape(i18n.money(total['mid'], locale))}</span>"
            f'<span class="kpi-change">{html.escape(words_end)}</span></div>'
        )
    card += (
        f'<div class="kpi" role="group" aria-label="{html.escape(t("pay.next_title"))}">'
        f'<span class="kpi-label">{html.escape(t("pay.next_title"))}</span>'
        f'<span class="pay-next" id="pay-next" {data}>{html.escape(words)}</span></div>'
    )
    return f'<div class="kpi-grid">{card}</div>'


async def projection_of(api: ApiClient, scope: str, span: Span | None) -> dict[str, Any] | None:
    """The API's projection of ``span`` for a store's or a seller's path, or None without a
    span (a range that is over)."""
    if span is None:
        return None
    return await api.get(f"{scope}/projection", **span.query())


async def later_today(
    api: ApiClient, scope: str, days: Collection[date], zone: ZoneInfo
) -> dict[date, Figures]:
    """For each of ``days``, the figures of its hours after the current hour of the day
    (``scope`` is a store's or a seller's API path): subtracted from a previous period that
    ends on that day, it is compared with the current one up to the same time."""
    hour = datetime.now(zone).hour
    ordered = sorted(set(days))
    answers = await asyncio.gather(
        *(
            api.get(f"{scope}/timeseries", granularity="hour", **Span(day, day).query())
            for day in ordered
        )
    )
    return {
        day: later_hours(answer["points"], day, hour, COMPARED_FIGURES)
        for day, answer in zip(ordered, answers, strict=True)
    }


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
    return Session(client, session_locale(), me, zone_of(me.get("store_time_zone")))


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else TIME_ZONE
    except (ValueError, KeyError):  # an unknown zone name: the default, not a broken page
        return TIME_ZONE


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
    help: pn.Column
    """The help dialog's content, opened from the header's Ajuda button."""
    locale: str

    def open_help(self) -> None:
        self.page.open_modal()

    def close_help(self) -> None:
        self.page.close_modal()


VIEWPORT = "width=device-width, initial-scale=1"
"""Without it a phone lays the page out 980 px wide and shrinks it to a third."""


def shell(title_key: str) -> Shell:
    locale = session_locale()
    main = pn.Column(
        html_pane(f'<p class="note">{html.escape(i18n.text("common.loading", locale))}</p>'),
        sizing_mode="stretch_width",
    )
    toolbar = pn.Column(sizing_mode="stretch_width")
    help_content = pn.Column(sizing_mode="stretch_width")
    help_button = pn.widgets.Button(
        name=i18n.text("help.title", locale),
        button_type="light",
        css_classes=["help-button"],
        width=100,
        align="center",
    )
    # Bootstrap rather than Fast or Material: those load fonts from Google, which a store
    # network may block (and the browser console then shows errors).
    page = pn.template.BootstrapTemplate(
        title=i18n.text(title_key, locale),
        main=[toolbar, main],
        header=[pn.Row(help_button, html_pane(_header_links(locale)), align="center")],
        header_background="#1f5fbf",
        raw_css=[CSS],
        meta_viewport=VIEWPORT,
        # The page polls twice a second: a busy spinner in the header would never stop.
        busy_indicator=None,
        modal=[help_content],
    )
    screen = Shell(page, main, toolbar, help_content, locale)
    help_button.on_click(lambda _: screen.open_help())
    return screen


def _header_links(locale: str) -> str:
    languages = " · ".join(
        f'<a href="?lang={code}" lang="{code.replace("_", "-")}" class="header-link">'
        f"{html.escape(i18n.text(f'language.{code}', locale))}</a>"
        for code in i18n.LOCALES
        if code != locale
    )
    sign_out = (
        f'<a href="/logout" id="sign-out" class="header-link">'
        f"{html.escape(i18n.text('auth.sign_out', locale))}</a>"
    )
    return f'<div class="header-links">{languages} · {sign_out}</div>'


def display_name(session: Session) -> str:
    """The user's own name (the API falls back to the seller's or the login name)."""
    return str(session.me.get("display_name") or session.me.get("username", ""))


def signed_in_line(session: Session, extra: str = "") -> pn.pane.HTML:
    who = session.t("auth.signed_in_as", name=display_name(session))
    return html_pane(f'<p class="note" id="signed-in">{html.escape(who)}{extra}</p>')


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    """The figure's name in the catalogue (``manager.kpi.<key>`` or ``seller.kpi.<key>``)."""
    value: int
    previous: int
    money: bool
    trend: tuple[int, ...] = ()
    """The figure bucket by bucket over the period, for the card's sparkline."""


MONEY_KPIS = frozenset({"revenue", "margin", "average_ticket"})


def kpis(
    current: dict[str, int],
    previous: dict[str, int],
    keys: Sequence[str],
    series: Series | None = None,
) -> list[Kpi]:
    """The KPI cards ``keys`` of the API's figures for a period and the period before, with
    their sparklines from the period's ``series``."""

    def figures(f: dict[str, int]) -> dict[str, int]:
        return {
            "revenue": f["revenue_cents"],
            "margin": f["margin_cents"],
            "orders": f["orders"],
            "average_ticket": average_ticket_cents(f["revenue_cents"], f["orders"]),
            "units": f["units"],
        }

    now, before = figures(current), figures(previous)
    return [
        Kpi(k, now[k], before[k], k in MONEY_KPIS, series.values(SERIES_NAMES[k]) if series else ())
        for k in keys
    ]


SERIES_NAMES = {
    "revenue": "revenue_cents",
    "margin": "margin_cents",
    "orders": "orders",
    "average_ticket": "average_ticket",
    "units": "units",
}


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
        spark = sparkline_svg(kpi.trend, html.escape(session.t("common.trend", figure=label)))
        cards.append(
            f'<div class="kpi" role="group" aria-label="{html.escape(label)}">'
            f'<span class="kpi-label" title="{html.escape(help_text)}">{html.escape(label)} '
            f'<span class="help-mark" aria-hidden="true">?</span></span>'
            f'<span class="kpi-value" data-kpi="{kpi.key}" data-span="{tag}" '
            f'data-raw="{kpi.value}" data-previous="{kpi.previous}">{html.escape(value)}</span>'
            f'<span class="kpi-change {direction}">'
            f"{html.escape(i18n.signed_change(relative, session.locale))}{against}</span>"
            f"{spark}</div>"
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

    def __init__(
        self, session: Session, on_change: Callable[[], None], initial: Preset = "today"
    ) -> None:
        self.session = session
        labels = {session.t(f"period.{preset}"): preset for preset in PRESETS}
        self._presets = labels
        # A select rather than buttons: it stays one line on a phone.
        self.preset_select = pn.widgets.Select(
            name=session.t("period.label"),
            options=list(labels),
            value=session.t(f"period.{initial}"),
            width=220,
        )
        start = today(session.zone)
        self.range = DateRange(
            first=start.isoformat(),
            last=start.isoformat(),
            first_label=session.t("period.from"),
            last_label=session.t("period.to"),
            visible=False,
        )

        def changed(*_: Any) -> None:
            self.range.visible = self.preset() == "custom"
            on_change()

        self.preset_select.param.watch(changed, "value")
        self.range.param.watch(changed, ["first", "last"])

    def preset(self) -> Preset:
        return self._presets[self.preset_select.value]

    def current(self) -> Period:
        custom = None
        chosen = self.range.span()
        if self.preset() == "custom" and chosen:
            custom = Span(*chosen)
        now = today(self.session.zone)
        return period(self.preset(), now, custom or Span(now, now))

    def panel(self) -> pn.FlexBox:
        return pn.FlexBox(self.preset_select, self.range, gap="12px", sizing_mode="stretch_width")


def help_content(
    session: Session, screen: Shell, entries: Sequence[tuple[str, str]], guide: Tour
) -> list[Any]:
    """Built-in help, in the dialog the header's Ajuda button opens: what the page is, what
    every figure means, and the tour again."""
    items = "".join(
        f"<dt><strong>{html.escape(term)}</strong></dt><dd>{html.escape(text)}</dd>"
        for term, text in entries
    )
    replay = pn.widgets.Button(
        name=session.t("help.replay_tour"), button_type="primary", css_classes=["replay-tour"]
    )

    def replay_tour(_: Any) -> None:
        screen.close_help()
        guide.restart()

    replay.on_click(replay_tour)
    return [
        html_pane(
            f'<div class="help" id="help"><h2 style="font-size:1.2rem">'
            f"{html.escape(session.t('help.title'))}</h2>"
            f"<p>{html.escape(session.t('help.intro'))}</p><dl>{items}</dl></div>"
        ),
        replay,
    ]


class Tour:
    """The first-visit tour: a few steps over the page, remembered in a cookie once done or
    skipped, and replayable from the help."""

    def __init__(self, session: Session, role: str) -> None:
        self.session = session
        self.steps = i18n.tour_steps(role, session.locale)  # type: ignore[arg-type]
        cookie = f"dataapp_tour_{role}"
        seen = bool(pn.state.cookies and pn.state.cookies.get(cookie))
        self.step = 0
        self.body = html_pane()
        self.back = pn.widgets.Button(name=session.t("tour.back"), button_type="light")
        self.forward = pn.widgets.Button(name=session.t("tour.next"), button_type="primary")
        skip = pn.widgets.Button(name=session.t("tour.skip"), button_type="light")
        self.box = pn.Column(
            self.body,
            pn.Row(self.back, self.forward, skip),
            visible=not seen and bool(self.steps),
            sizing_mode="stretch_width",
            styles={"border": "2px solid #1f5fbf", "border-radius": "10px", "padding": "8px"},
            css_classes=["tour"],
        )
        remember = f"document.cookie = '{cookie}=done; path=/; max-age=31536000; SameSite=Lax'"
        self.back.on_click(lambda _: self.move(-1))
        self.forward.on_click(lambda _: self.move(1))
        skip.on_click(lambda _: setattr(self.box, "visible", False))
        skip.js_on_click(code=remember)
        # The cookie is set once the tour is moved past its first step.
        self.forward.js_on_click(code=remember)
        if self.steps:
            self.show()

    def show(self) -> None:
        title, text = self.steps[self.step]
        progress = self.session.t("tour.progress", step=self.step + 1, count=len(self.steps))
        self.body.object = (
            f'<div role="dialog" aria-label="{html.escape(title)}">'
            f'<span class="note">{html.escape(progress)}</span>'
            f"<h3 style='margin:4px 0'>{html.escape(title)}</h3><p>{html.escape(text)}</p></div>"
        )
        self.back.disabled = self.step == 0
        last = self.step == len(self.steps) - 1
        self.forward.name = self.session.t("tour.done" if last else "tour.next")

    def move(self, delta: int) -> None:
        step = self.step + delta
        if step >= len(self.steps):
            self.box.visible = False
            return
        self.step = max(step, 0)
        self.show()

    def restart(self) -> None:
        if not self.steps:
            return
        self.step = 0
        self.show()
        self.box.visible = True


def style_money_chart(chart: Any, locale: str) -> None:
    """The dashboards' look of a chart of reais over labelled buckets: the axis in the
    reader's money, from zero, slanted bucket labels, a small legend top left."""
    chart.yaxis.formatter = CustomJSTickFormatter(code=money_axis_code(locale))
    chart.y_range.start = 0
    chart.xaxis.major_label_orientation = 0.9
    chart.xgrid.grid_line_color = None
    chart.legend.location = "top_left"
    chart.legend.label_text_font_size = "11px"
    chart.legend.background_fill_alpha = 0.7


def set_axis(chart: Any, labels: list[str]) -> None:
    """The chart's buckets, with at most about twelve labels written under them so a phone
    can read them (the hover still names every bucket)."""
    step = -(-len(labels) // 12) or 1
    chart.x_range.factors = labels
    chart.xaxis.major_label_overrides = {label: " " for n, label in enumerate(labels) if n % step}


def in_document(document: Any, change: Callable[[], None]) -> None:
    """Bokeh models of a session's document are changed under the document's lock."""
    if document is not None:
        document.add_next_tick_callback(change)
    else:
        change()


class RevenueChart:
    """The period's revenue bucket by bucket (bars), the period before as a line over the
    same positions, reais on the axis and labels in the reader's language."""

    def __init__(self, session: Session, height: int = 300) -> None:
        t = session.t
        self.session = session
        self.document = pn.state.curdoc
        self.source = ColumnDataSource(
            {"x": [], "revenue": [], "label": [], "previous": [], "previous_label": []}
        )
        chart = figure(
            x_range=FactorRange(),
            height=height,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
        )
        bars = chart.vbar(
            x="x",
            top="revenue",
            width=0.8,
            source=self.source,
            color="#1f5fbf",
            legend_label=t("chart.this_period"),
        )
        chart.line(
            x="x",
            y="previous",
            source=self.source,
            color="#b35c00",
            line_width=2,
            line_dash="dashed",
            legend_label=t("chart.previous_period"),
        )
        chart.add_tools(
            HoverTool(
                renderers=[bars],
                tooltips=[
                    ("", "@x"),
                    (t("chart.this_period"), "@label"),
                    (t("chart.previous_period"), "@previous_label"),
                ],
            )
        )
        style_money_chart(chart, session.locale)
        self.figure = chart
        self.pane = pn.pane.Bokeh(chart, sizing_mode="stretch_width")

    def show(self, series: Series, previous: Series) -> None:
        """Draw ``series``; ``previous`` is laid over it position by position (the period
        before has as many buckets, but for a month against a shorter one)."""
        locale = self.session.locale
        labels = axis_labels(series, locale)
        revenue = series.values("revenue_cents")
        before = (*previous.values("revenue_cents"), *[0] * len(revenue))[: len(revenue)]
        data = {
            "x": labels,
            # Reais as floats for drawing only; every figure a person reads is formatted
            # from the integer cents.
            "revenue": [cents / 100 for cents in revenue],
            "label": [i18n.money(cents, locale) for cents in revenue],
            "previous": [cents / 100 for cents in before],
            "previous_label": [i18n.money(cents, locale) for cents in before],
        }

        def redraw() -> None:
            set_axis(self.figure, labels)
            self.source.data = data

        in_document(self.document, redraw)


class ProjectionPanel:
    """Where the period is heading: its projected end with the 80 % band in words, and, for
    a range of days, the running total so far and a cone from today to the end."""

    def __init__(self, session: Session, subject_key: str) -> None:
        self.session = session
        self.subject_key = subject_key
        self.document = pn.state.curdoc
        self.words = html_pane("")
        self.actual = ColumnDataSource({"x": [], "y": [], "label": []})
        self.cone = ColumnDataSource({"x": [], "mid": [], "low": [], "high": []})
        chart = figure(
            x_range=FactorRange(),
            height=240,
            sizing_mode="stretch_width",
            toolbar_location=None,
            tools="",
        )
        chart.varea(
            x="x",
            y1="low",
            y2="high",
            source=self.cone,
            fill_color="#1f5fbf",
            fill_alpha=0.15,
            legend_label=session.t("projection.band"),
        )
        chart.line(
            x="x",
            y="mid",
            source=self.cone,
            color="#1f5fbf",
            line_dash="dashed",
            line_width=2,
            legend_label=session.t("projection.projected"),
        )
        sold = chart.line(
            x="x",
            y="y",
            source=self.actual,
            color="#0b6b2f",
            line_width=3,
            legend_label=session.t("projection.so_far"),
        )
        chart.add_tools(HoverTool(renderers=[sold], tooltips=[("", "@x"), ("", "@label")]))
        style_money_chart(chart, session.locale)
        self.figure = chart
        self.chart = pn.pane.Bokeh(chart, sizing_mode="stretch_width", visible=False)
        self.panel = pn.Column(self.words, self.chart, sizing_mode="stretch_width")

    def show(self, answer: dict[str, Any] | None, span: Span | None, daily: Series | None) -> None:
        """``answer``: the API's projection of ``span``; ``daily``: the span's days so far."""
        t, locale = self.session.t, self.session.locale
        end = (answer or {}).get("period_end")
        if answer is None or span is None or end is None:
            self.words.object = f'<p class="note">{html.escape(t("projection.none"))}</p>'
            self.chart.visible = False
            return
        revenue = end["revenue"]
        sentence = t(
            "projection.sentence",
            subject=t(self.subject_key),
            end=i18n.short_day(span.last, locale),
            mid=i18n.money(revenue["mid"], locale),
            low=i18n.money(revenue["low80"], locale),
            high=i18n.money(revenue["high80"], locale),
        )
        self.words.object = (
            f'<p class="projection" id="projection-{self.subject_key.split(".")[-1]}" '
            f'data-mid="{revenue["mid"]}" data-low="{revenue["low80"]}" '
            f'data-high="{revenue["high80"]}">{html.escape(sentence)}</p>'
        )
        if daily is None or span.days < 2 or daily.grain != "day":
            self.chart.visible = False
            return
        labels = [i18n.short_day(span.first + timedelta(days=n), locale) for n in range(span.days)]
        running, total = [], 0
        for cents in daily.values("revenue_cents"):
            total += cents
            running.append(total)
        done = len(running)
        remaining = span.days - done
        cone_x = labels[done - 1 :] if done else labels
        start = running[-1] if running else 0
        steps = max(remaining, 1)

        def towards(target: int) -> list[float]:
            return [(start + (target - start) * n / steps) / 100 for n in range(remaining + 1)]

        actual = {
            "x": labels[:done],
            "y": [cents / 100 for cents in running],
            "label": [i18n.money(cents, locale) for cents in running],
        }
        cone = {
            "x": cone_x[: remaining + 1],
            "mid": towards(revenue["mid"]),
            "low": towards(revenue["low80"]),
            "high": towards(revenue["high80"]),
        }

        def redraw() -> None:
            set_axis(self.figure, labels)
            self.actual.data = actual
            self.cone.data = cone

        in_document(self.document, redraw)
        self.chart.visible = True


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
        now = i18n.clock(datetime.now(self.session.zone), self.session.locale, seconds=True)
        updated = self.session.t("common.updated_at", time=now)
        text = html.escape(self.session.t(key))
        if alert:
            return f'<p role="alert" class="weak">{text}</p>'
        live = f'<span class="live-dot">● {text}</span>'
        return f'<p class="note">{live} · {html.escape(updated)}</p>'

    def start(self) -> None:
        pn.state.add_periodic_callback(self.tick, period=POLL_MILLISECONDS)
        pn.state.execute(self.tick)
