"""The manager's page: the store's KPIs (with sparklines) for the chosen period against the
period before, the period's revenue chart, the live feed of sales, the team table, today /
this week / this month at a glance, the store against the chain's other stores, the
products bought together, and the best sellers that are falling."""

from __future__ import annotations

import asyncio
import html
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import panel as pn

from views import cross_sell, i18n, trends
from views.api import ApiProblem, segment
from views.charts import api_grain, dense_series, grain_for, period_dates_label
from views.dashboard import (
    LiveLoop,
    PeriodFilter,
    ProjectionPanel,
    RevenueChart,
    Session,
    Shell,
    Tour,
    help_content,
    html_pane,
    kpi_cards,
    kpis,
    later_today,
    message,
    open_session,
    projection_of,
    section,
    shell,
    signed_in_line,
    today,
    unless_missing,
    versus_key,
)
from views.panels import Throttled
from views.periods import (
    AT_A_GLANCE,
    Period,
    change,
    compares_same_time,
    glance_span,
    minus,
    period,
    projection_span,
    sum_days,
)
from views.plan_editor import PlanEditor

KPIS = ("revenue", "margin", "orders", "average_ticket", "units")
FEED_ROWS = 20
COMPARISON_SECONDS = 30.0
TABLE_LAYOUT: dict[str, Any] = {
    "layout": "fit_columns",
    # On a phone the columns that do not fit fold into a row's details (the first column,
    # who or when, always shows) instead of a table wider than the screen.
    "configuration": {"responsiveLayout": "collapse", "columnDefaults": {"minWidth": 100}},
}
METRIC_KEYS = {
    "revenue_cents": "revenue",
    "margin_cents": "margin",
    "orders": "orders",
    "average_ticket_cents": "average_ticket",
    "margin_rate": "margin_rate",
    "units": "units",
}


class ManagerPage:
    def __init__(self, session: Session, store_id: str, store_name: str) -> None:
        self.session = session
        self.store_id = store_id
        self.store_name = store_name
        t = session.t
        self.loop: LiveLoop | None = None
        self.filter = PeriodFilter(session, self.invalidate)
        self.kpis = html_pane(t("common.loading"))
        self.status = html_pane("")
        self.feed = pn.widgets.Tabulator(
            self._feed_frame([]),
            disabled=True,
            show_index=False,
            sizing_mode="stretch_width",
            height=320,
            name=t("manager.feed.title"),
            **TABLE_LAYOUT,
        )
        self.feed_empty = html_pane(
            f'<p class="note">{html.escape(t("manager.feed.empty"))}</p>', visible=False
        )
        self.team = pn.widgets.Tabulator(
            self._team_frame([], 0),
            disabled=True,
            show_index=False,
            sizing_mode="stretch_width",
            name=t("manager.team.title"),
            **TABLE_LAYOUT,
        )
        self.pay_note = html_pane("")
        self.team_empty = html_pane(
            f'<p class="note">{html.escape(t("manager.team.empty"))}</p>', visible=False
        )
        self.comparison = html_pane("")
        self.glance = html_pane("")
        self.pairs = html_pane("")
        self.falling = html_pane("")
        # Moves only when one of the store's days closes: asked at most once a minute.
        self.falling_answer = Throttled(
            lambda: trends.fetch(session.api, store_id, "down", trends.FALLING_SHOWN)
        )
        self.chart = RevenueChart(session)
        self.projection = ProjectionPanel(session, "projection.subject.store")
        self.plan = PlanEditor(session, f"/api/v1/stores/{segment(store_id)}")
        self.chart_dates = html_pane("")
        self._feed_shown: list[dict[str, Any]] | None = None
        self._compared: Period | None = None
        self._compared_at = 0.0

    # -- data --------------------------------------------------------------------------

    def invalidate(self) -> None:
        if self.loop is not None:
            self.loop.invalidate()

    async def newest_sale(self) -> tuple[str, ...] | None:
        answer = await self.session.api.get(
            f"/api/v1/stores/{segment(self.store_id)}/recent-sales", limit=FEED_ROWS
        )
        sales = answer["sales"]
        self._show_feed(sales)
        return (sales[0]["order_id"], sales[0]["event_time"]) if sales else None

    async def refresh(self) -> None:
        chosen = self.filter.current()
        store = f"/api/v1/stores/{segment(self.store_id)}"
        day = today(self.session.zone)
        glance = glance_span(day)
        grain = grain_for(chosen.current)
        api = self.session.api
        glance_ends = [period(preset, day).previous.last for preset in AT_A_GLANCE]
        (
            current,
            previous,
            team,
            days,
            now_points,
            before_points,
            later,
            projection,
            pairs,
            falling,
        ) = await asyncio.gather(
            api.get(f"{store}/summary", **chosen.current.query()),
            api.get(f"{store}/summary", **chosen.previous.query()),
            api.get(f"{store}/sellers", **chosen.current.query()),
            api.get(f"{store}/timeseries", granularity="day", **glance.query()),
            api.get(f"{store}/timeseries", granularity=api_grain(grain), **chosen.current.query()),
            api.get(f"{store}/timeseries", granularity=api_grain(grain), **chosen.previous.query()),
            later_today(api, store, glance_ends, self.session.zone),
            projection_of(api, store, projection_span(chosen, day)),
            # Over the kept window of days, not the period: cached by the API per batch.
            cross_sell.fetch(api, self.store_id, limit=cross_sell.PAIRS_SHOWN),
            self.falling_answer.get(),
        )
        team_pay = await unless_missing(api.get(f"{store}/pay", period="month"))
        if compares_same_time(chosen, day):
            previous = minus(previous, later[chosen.previous.last])
        series = dense_series(now_points["points"], chosen.current, grain)
        series_before = dense_series(before_points["points"], chosen.previous, grain)
        self.glance.object = self._glance_html(days["points"], later, day)
        self.kpis.object = kpi_cards(
            self.session,
            "manager",
            kpis(current, previous, KPIS, series),
            versus_key(chosen.preset),
            chosen.preset,
        )
        self.chart.show(series, series_before)
        self.projection.show(projection, projection_span(chosen, day), series)
        dates = period_dates_label(chosen.current, self.session.locale)
        versus = self.session.t(versus_key(chosen.preset))
        self.chart_dates.object = (
            f'<p class="note">{html.escape(dates)} · {html.escape(versus)}</p>'
        )
        sellers = [row for row in team["sellers"] if row["lines"]]
        self.team.value = self._team_frame(sellers, current["revenue_cents"], team_pay)
        self.pay_note.object = self._pay_note(team_pay)
        self.team_empty.visible = not sellers
        shown = cross_sell.pairs_html(pairs, self.session.t, self.session.locale)
        if shown != self.pairs.object:  # a details box opened stays open between sales
            self.pairs.object = shown
        shown = trends.falling_html(falling, self.session.t, self.session.locale)
        if shown != self.falling.object:
            self.falling.object = shown
        # The chain comparison asks every store's owner: it follows the filter at once, but
        # a single sale barely moves a rank, so it is fetched again only now and then.
        now = asyncio.get_running_loop().time()
        if chosen != self._compared or now - self._compared_at > COMPARISON_SECONDS:
            comparison = await self.session.api.get(f"{store}/comparison", **chosen.current.query())
            self.comparison.object = self._comparison_html(comparison)
            self._compared, self._compared_at = chosen, now

    # -- presentation ------------------------------------------------------------------

    def _glance_html(
        self, points: list[dict[str, Any]], later: dict[date, dict[str, int]], day: date
    ) -> str:
        """Today, this week and this month side by side, each against the period before up
        to the same time of day."""
        t, locale = self.session.t, self.session.locale
        names = ("revenue_cents", "orders")
        rows = []
        for preset in AT_A_GLANCE:
            chosen = period(preset, day)
            now = sum_days(points, chosen.current, names)
            before = minus(
                sum_days(points, chosen.previous, names), later[chosen.previous.last], names
            )
            cells = []
            for name in names:
                shown = (
                    i18n.money(now[name], locale)
                    if name == "revenue_cents"
                    else i18n.number(now[name], locale)
                )
                moved = i18n.signed_change(change(now[name], before[name]), locale)
                cells.append(
                    f'<td data-figure="{name}" data-raw="{now[name]}"><strong>'
                    f"{html.escape(shown)}</strong> <span class='note'>{html.escape(moved)}"
                    "</span></td>"
                )
            rows.append(
                f'<tr data-glance="{preset}"><th scope="row">'
                f"{html.escape(t(f'period.{preset}'))}</th>{''.join(cells)}</tr>"
            )
        head = "".join(
            f'<th scope="col">{html.escape(t(key))}</th>'
            for key in ("period.label", "manager.kpi.revenue", "manager.kpi.orders")
        )
        body = "".join(rows)
        return f'<table class="glance"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _show_feed(self, sales: list[dict[str, Any]]) -> None:
        # Polled twice a second: the table is sent to the browser only when it changed.
        if sales == self._feed_shown:
            return
        self._feed_shown = sales
        self.feed.value = self._feed_frame(sales)
        self.feed_empty.visible = not sales

    def _feed_frame(self, sales: list[dict[str, Any]]) -> pd.DataFrame:
        t, locale = self.session.t, self.session.locale
        # Most important first: on a phone the last columns fold into each row's details.
        columns = [t(f"manager.feed.col.{c}") for c in ("time", "amount", "seller", "items")]
        rows = [
            (
                feed_time(datetime.fromisoformat(sale["event_time"]), locale, self.session.zone),
                i18n.money(sale["amount_cents"], locale),
                sale.get("seller_name") or sale["seller_id"],
                items_text(sale["items"], sale["amount_cents"], t, locale),
            )
            for sale in sales
        ]
        return pd.DataFrame(rows, columns=columns)

    def _team_frame(
        self,
        sellers: list[dict[str, Any]],
        store_revenue: int,
        team_pay: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        t, locale = self.session.t, self.session.locale
        names = (
            "seller",
            "revenue",
            "share",
            "projected_revenue",
            "pay",
            "projected_pay",
            "margin",
            "orders",
        )
        columns = [t(f"manager.team.col.{c}") for c in names]
        rows_paid = (team_pay or {}).get("sellers", [])
        paid = {row["seller_id"]: row["total_cents"] for row in rows_paid}
        projected = {
            row["seller_id"]: row["projected"]["total_cents"]["mid"]
            for row in rows_paid
            if row.get("projected")
        }
        heading = {
            row["seller_id"]: row["projected"]["revenue_cents"]["mid"]
            for row in rows_paid
            if row.get("projected")
        }
        rows = [
            (
                row.get("display_name") or row["seller_id"],
                i18n.money(row["revenue_cents"], locale),
                i18n.percent(row["revenue_cents"] / store_revenue, locale)
                if store_revenue
                else i18n.percent(0, locale),
                i18n.money(heading[row["seller_id"]], locale)
                if row["seller_id"] in heading
                else "—",
                i18n.money(paid[row["seller_id"]], locale) if row["seller_id"] in paid else "—",
                i18n.money(projected[row["seller_id"]], locale)
                if row["seller_id"] in projected
                else "—",
                i18n.money(row["margin_cents"], locale),
                i18n.number(row["orders"], locale),
            )
            for row in sellers
        ]
        return pd.DataFrame(rows, columns=columns)

    def _pay_note(self, team_pay: dict[str, Any] | None) -> str:
        """The team's pay this month in one line: what it costs and against what."""
        t, locale = self.session.t, self.session.locale
        if team_pay is None:
            return f'<p class="note" id="team-pay">{html.escape(t("pay.no_plan_store"))}</p>'
        totals = team_pay["totals"]
        share = totals["of_revenue"]
        words = t(
            "pay.team_total",
            total=i18n.money(totals["total_cents"], locale),
            share=i18n.percent(Decimal(share), locale) if share is not None else "—",
        )
        return (
            f'<p class="note" id="team-pay" data-raw="{totals["total_cents"]}">'
            f"{html.escape(words)}</p>"
        )

    def _comparison_html(self, answer: dict[str, Any]) -> str:
        t, locale = self.session.t, self.session.locale
        if answer["stores"] < 2:
            return f'<p class="note">{html.escape(t("common.no_comparison"))}</p>'
        lines = []
        for metric in answer["metrics"]:
            name = t(f"manager.compare.metric.{METRIC_KEYS[metric['metric']]}")
            sentence = t(
                "manager.compare.rank", rank=metric["rank"], count=metric["count"], metric=name
            )
            ahead = t(
                "manager.compare.percentile_value",
                percent=i18n.percent(metric["percentile"], locale, decimals=0),
            )
            lines.append(
                f'<li data-metric="{metric["metric"]}" data-rank="{metric["rank"]}">'
                f"{html.escape(sentence)} <span class='note'>({html.escape(ahead)})</span></li>"
            )
        parts = [f"<ul>{''.join(lines)}</ul>"]
        if answer["weakest"]:
            key = METRIC_KEYS[answer["weakest"]]
            parts.append(
                f'<div class="weak" id="weakest" data-metric="{answer["weakest"]}">'
                f"<strong>{html.escape(t('manager.compare.weakest'))}:</strong> "
                f"{html.escape(t(f'manager.compare.metric.{key}'))}. "
                f"{html.escape(t(f'manager.compare.suggestion.{key}'))}</div>"
            )
        if answer["strongest"]:
            key = METRIC_KEYS[answer["strongest"]]
            parts.append(
                f'<div class="strong" style="margin-top:8px">'
                f"<strong>{html.escape(t('manager.compare.strongest'))}:</strong> "
                f"{html.escape(t(f'manager.compare.metric.{key}'))}.</div>"
            )
        return "".join(parts)

    def fill(self, screen: Shell) -> None:
        t = self.session.t
        entries = [(t(f"manager.kpi.{k}"), t(f"manager.kpi_help.{k}")) for k in KPIS]
        entries += [
            (t("manager.chart.title"), t("manager.chart.help")),
            (t("projection.title"), t("projection.help")),
            (t("plan.title"), t("plan.help")),
            (t("manager.feed.title"), t("manager.feed.help")),
            (t("manager.team.title"), t("manager.team.help")),
            (t("manager.glance.title"), t("manager.glance.help")),
            (t("manager.compare.title"), t("manager.compare.help")),
            (t("cross_sell.pairs_title"), t("cross_sell.pairs_help")),
            (t("cross_sell.baskets_label"), t("cross_sell.baskets_help")),
            (t("cross_sell.lift_label"), t("cross_sell.lift_help")),
            (t("cross_sell.confidence_label"), t("cross_sell.confidence_help")),
            (t("trends.down_title"), t("trends.down_help")),
            (t("trends.lost_label"), t("trends.lost_help")),
            (t("trends.units_label"), t("trends.units_help")),
            (t("trends.rank_label"), t("trends.rank_help")),
        ]
        store = (
            f" · {html.escape(t('common.store'))}: "
            f"<strong id='store-name' data-store='{html.escape(self.store_id)}'>"
            f"{html.escape(self.store_name)}</strong>"
        )
        guide = Tour(self.session, "manager")
        screen.main[:] = [
            guide.box,
            pn.Column(
                signed_in_line(self.session, store),
                self.status,
                self.kpis,
                sizing_mode="stretch_width",
            ),
            section(
                self.session,
                "manager.chart.title",
                None,
                self.chart_dates,
                self.chart.pane,
            ),
            section(self.session, "projection.title", "projection.help", self.projection.panel),
            side_by_side(
                section(self.session, "manager.feed.title", None, self.feed_empty, self.feed),
                section(
                    self.session,
                    "manager.team.title",
                    "manager.team.help",
                    self.team_empty,
                    self.team,
                    self.pay_note,
                ),
            ),
            side_by_side(
                section(self.session, "manager.glance.title", "manager.glance.help", self.glance),
                section(
                    self.session,
                    "manager.compare.title",
                    "manager.compare.help",
                    self.comparison,
                ),
            ),
            section(self.session, "cross_sell.pairs_title", "cross_sell.pairs_help", self.pairs),
            section(self.session, "trends.down_title", "trends.down_help", self.falling),
        ]
        # Closed until asked for: most visits read the figures, few edit the plan.
        self.plan.panel.visible = False
        opener = pn.widgets.Button(name=t("plan.title"), button_type="light", width=220)
        opener.on_click(lambda _: setattr(self.plan.panel, "visible", not self.plan.panel.visible))
        screen.main.append(pn.Column(opener, self.plan.panel, sizing_mode="stretch_width"))
        screen.help[:] = help_content(self.session, screen, entries, guide)
        screen.toolbar[:] = [self.filter.panel()]


def feed_time(moment: datetime, locale: str, zone: ZoneInfo) -> str:
    """A feed line's moment in the store's zone, short enough for a phone: the time alone
    today, else with the day (``14:05``, ``03/12 14:05``)."""
    moment = moment.astimezone(zone)
    if moment.date() == today(zone):
        return i18n.clock(moment, locale)
    return f"{i18n.short_day(moment.date(), locale)} {i18n.clock(moment, locale)}"


def items_text(items: int, amount_cents: int, t: Any, locale: str) -> str:
    """A feed line's items in words; a return says so ("Devolução: 1 item")."""
    if amount_cents < 0 or items < 0:
        return t("manager.feed.returned", count=i18n.number(abs(items), locale))
    return i18n.number(items, locale)


def side_by_side(*sections: pn.Column) -> pn.FlexBox:
    """Sections next to each other on a wide screen, one under the other on a phone."""
    for part in sections:
        part.styles = {"flex": "1 1 420px", "min-width": "0"}
        part.sizing_mode = None
    return pn.FlexBox(*sections, gap="24px", flex_wrap="wrap", sizing_mode="stretch_width")


def page() -> pn.template.BootstrapTemplate:
    """The Panel app at ``/manager``: for a manager (their store) or an admin (any store)."""
    screen = shell("manager.title")

    async def start() -> None:
        session = await open_session()
        if isinstance(session, str):
            screen.main[:] = [message(session, screen.locale)]
            return
        role = session.me.get("role")
        store_id = session.me.get("store_id")
        store_name: str | None = None
        if role == "admin" and not store_id:
            try:
                listing = await session.api.get("/api/v1/stores")
            except ApiProblem:
                listing = {"stores": []}
            stores = listing["stores"]
            requested = (pn.state.session_args.get("store") or [b""])[0].decode()
            store_id = requested if requested in stores else (stores[0] if stores else None)
            store_name = listing.get("names", {}).get(store_id)
        if role not in ("admin", "manager") or not store_id:
            screen.main[:] = [message("error.forbidden", session.locale)]
            return
        if role == "manager":
            store_name = session.me.get("store_name") or store_id
        manager = ManagerPage(session, store_id, store_name or store_id)
        manager.fill(screen)
        if role == "manager" or role == "admin":
            pn.state.execute(manager.plan.load)
        manager.loop = LiveLoop(manager.newest_sale, manager.refresh, manager.status, session)
        manager.loop.start()

    pn.state.onload(start)
    return screen.page
