"""The seller's page: my sales today and in the chosen period (with sparklines), my history
as a chart by day, week or month against the period before, my rank in the store, what to
offer with the store's most bought products, the store's highest-margin products with my
opportunities among them, and the store's products trending up with a good margin."""

from __future__ import annotations

import asyncio
import html

import panel as pn

from views import cross_sell, margins, trends
from views.api import segment
from views.charts import Grain, api_grain, dense_series
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
    pay_html,
    projection_of,
    section,
    shell,
    signed_in_line,
    today,
    unless_missing,
    versus_key,
)
from views.panels import Throttled
from views.periods import compares_same_time, minus, period, projection_span

KPIS = ("revenue", "orders", "average_ticket", "units")
GRAINS: tuple[Grain, ...] = ("day", "week", "month")


class SellerPage:
    def __init__(self, session: Session, store_id: str, seller_id: str) -> None:
        self.session = session
        self.store_id = store_id
        self.seller_id = seller_id
        t = session.t
        self.base = f"/api/v1/stores/{segment(store_id)}/sellers/{segment(seller_id)}"
        self.loop: LiveLoop | None = None
        # Today has its own block: the period starts on the month, so the two differ.
        self.filter = PeriodFilter(session, self.invalidate, initial="this_month")
        self.today_kpis = html_pane(t("common.loading"))
        self.period_kpis = html_pane("")
        self.rank = html_pane("")
        self.pay = html_pane("")
        self.offers = html_pane("")
        self.margins = html_pane("")
        # A history query on the worker: asked at most once a minute, kept in between.
        self.margin_answer = Throttled(lambda: margins.fetch(session.api, store_id, seller_id))
        self.rising = html_pane("")
        # Moves only when one of the store's days closes: asked at most once a minute too.
        self.rising_answer = Throttled(
            lambda: trends.fetch(session.api, store_id, "up", trends.RISING_ASKED)
        )
        self.status = html_pane("")
        grain_labels = {t(f"granularity.{g}"): g for g in GRAINS}
        self._grains = grain_labels
        self.grain = pn.widgets.RadioButtonGroup(
            name=t("granularity.label"),
            options=list(grain_labels),
            value=t("granularity.day"),
            button_type="primary",
            button_style="outline",
        )
        self.chart = RevenueChart(session, height=280)
        self.projection = ProjectionPanel(session, "projection.subject.seller")
        self.empty = html_pane(
            f'<p class="note">{html.escape(t("empty.no_sales_period"))}</p>', visible=False
        )
        self.period_section: pn.Column | None = None
        self.grain.param.watch(lambda *_: self.invalidate(), "value")

    def invalidate(self) -> None:
        if self.loop is not None:
            self.loop.invalidate()

    async def newest_sale(self) -> tuple[str, ...] | None:
        answer = await self.session.api.get(f"{self.base}/recent-sales", limit=1)
        sales = answer["sales"]
        return (sales[0]["order_id"], sales[0]["event_time"]) if sales else None

    async def refresh(self) -> None:
        chosen = self.filter.current()
        now = today(self.session.zone)
        day = period("today", now)
        grain = self._grains[self.grain.value]
        api = self.session.api
        series_query = {"granularity": api_grain(grain)}
        (
            now,
            yesterday,
            current,
            previous,
            rank,
            points,
            points_before,
            later,
            projection,
            pairs,
            margin,
            rising,
        ) = await asyncio.gather(
            api.get(f"{self.base}/summary", **day.current.query()),
            api.get(f"{self.base}/summary", **day.previous.query()),
            api.get(f"{self.base}/summary", **chosen.current.query()),
            api.get(f"{self.base}/summary", **chosen.previous.query()),
            api.get(f"{self.base}/rank", **chosen.current.query()),
            api.get(f"{self.base}/timeseries", **series_query, **chosen.current.query()),
            api.get(f"{self.base}/timeseries", **series_query, **chosen.previous.query()),
            later_today(
                api, self.base, {day.previous.last, chosen.previous.last}, self.session.zone
            ),
            projection_of(api, self.base, projection_span(chosen, now)),
            # The API has no product ranking a seller may read (a store's is the team's
            # figures): the store's most bought products come from its pairs by support.
            cross_sell.fetch(api, self.store_id, sort="support", limit=cross_sell.PAIRS_SCANNED),
            self.margin_answer.get(),
            self.rising_answer.get(),
        )
        pay = await unless_missing(api.get(f"{self.base}/pay", period="month"))
        self.pay.object = pay_html(self.session, pay)
        # Today and a period to date against the period before up to the same time of day.
        yesterday = minus(yesterday, later[day.previous.last])
        if compares_same_time(chosen, now):
            previous = minus(previous, later[chosen.previous.last])
        series = dense_series(points["points"], chosen.current, grain)
        series_before = dense_series(points_before["points"], chosen.previous, grain)
        self.today_kpis.object = kpi_cards(
            self.session, "seller", kpis(now, yesterday, KPIS), "period.vs.yesterday", "today"
        )
        self.period_kpis.object = kpi_cards(
            self.session,
            "seller",
            kpis(current, previous, KPIS, series),
            versus_key(chosen.preset),
            chosen.preset,
        )
        if self.period_section is not None:
            # With "today" chosen the period block would repeat the block above it.
            self.period_section.visible = chosen.preset != "today"
        t = self.session.t
        if rank["rank"]:
            value = t("seller.rank.value", rank=rank["rank"], count=rank["sellers"])
        else:
            value = t("empty.no_sales_period")
        self.rank.object = (
            f'<p id="seller-rank" data-rank="{rank["rank"]}" data-count="{rank["sellers"]}" '
            f'style="font-size:1.3rem;font-weight:700">{html.escape(value)}</p>'
        )
        self.chart.show(series, series_before)
        self.projection.show(projection, projection_span(chosen, now), series)
        self.empty.visible = not points["points"]
        shown = cross_sell.offers_html(
            pairs, cross_sell.offers(pairs or {}), t, self.session.locale
        )
        if shown != self.offers.object:
            self.offers.object = shown
        shown = margins.margins_html(margin, t, self.session.locale)
        if shown != self.margins.object:
            self.margins.object = shown
        shown = trends.rising_html(rising, t, self.session.locale)
        if shown != self.rising.object:
            self.rising.object = shown

    def fill(self, screen: Shell) -> None:
        t = self.session.t
        entries = [(t(f"seller.kpi.{k}"), t(f"seller.kpi_help.{k}")) for k in KPIS]
        entries += [
            (t("seller.history.title"), t("seller.history.help")),
            (t("seller.rank.title"), t("seller.rank.help")),
            (t("projection.title"), t("projection.help")),
            (t("pay.title"), t("pay.help")),
            (t("pay.projected"), t("pay.projected_help")),
            (t("pay.next_title"), t("pay.next_help")),
            (t("cross_sell.offers_title"), t("cross_sell.offers_help")),
            (t("cross_sell.offer_label"), t("cross_sell.offer_help")),
            (t("margins.title"), t("margins.help")),
            (t("margins.opportunity_label"), t("margins.opportunity_help")),
            (t("margins.unit_margin_label"), t("margins.unit_margin_help")),
            (t("margins.rate_label"), t("margins.rate_help")),
            (t("margins.without_cost_label"), t("margins.without_cost_help")),
            (t("trends.up_title"), t("trends.up_help")),
            (t("trends.units_label"), t("trends.units_help")),
            (t("trends.rank_label"), t("trends.rank_help")),
            (t("trends.margin_label"), t("trends.margin_help")),
        ]
        guide = Tour(self.session, "seller")
        self.period_section = section(
            self.session, "seller.period", "seller.period_help", self.period_kpis
        )
        screen.main[:] = [
            guide.box,
            pn.Column(signed_in_line(self.session), self.status, sizing_mode="stretch_width"),
            section(self.session, "seller.today", "seller.today_help", self.today_kpis),
            self.period_section,
            section(
                self.session,
                "seller.history.title",
                "seller.history.help",
                self.grain,
                self.empty,
                self.chart.pane,
            ),
            section(self.session, "projection.title", "projection.help", self.projection.panel),
            section(self.session, "pay.title", "pay.help", self.pay),
            section(self.session, "seller.rank.title", "seller.rank.help", self.rank),
            section(self.session, "cross_sell.offers_title", "cross_sell.offers_help", self.offers),
            section(self.session, "margins.title", "margins.help", self.margins),
            section(self.session, "trends.up_title", "trends.up_help", self.rising),
        ]
        screen.help[:] = help_content(self.session, screen, entries, guide)
        screen.toolbar[:] = [self.filter.panel()]


def page() -> pn.template.BootstrapTemplate:
    """The Panel app at ``/seller``: only for a seller, about themselves."""
    screen = shell("seller.title")

    async def start() -> None:
        session = await open_session()
        if isinstance(session, str):
            screen.main[:] = [message(session, screen.locale)]
            return
        me = session.me
        if me.get("role") != "seller" or not me.get("store_id") or not me.get("seller_id"):
            screen.main[:] = [message("error.forbidden", session.locale)]
            return
        seller = SellerPage(session, me["store_id"], me["seller_id"])
        seller.fill(screen)
        seller.loop = LiveLoop(seller.newest_sale, seller.refresh, seller.status, session)
        seller.loop.start()

    pn.state.onload(start)
    return screen.page
