"""The seller's page: my sales today and in the chosen period, my history as a chart by day,
week or month, and my rank in the store."""

from __future__ import annotations

import asyncio
import html
from datetime import date, timedelta
from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, NumeralTickFormatter
from bokeh.plotting import figure

from views import i18n
from views.api import segment
from views.dashboard import (
    LiveLoop,
    PeriodFilter,
    Session,
    Shell,
    help_card,
    html_pane,
    kpi_cards,
    kpis,
    message,
    open_session,
    section,
    shell,
    signed_in_line,
    today,
    tour,
    versus_key,
)
from views.periods import period

KPIS = ("revenue", "orders", "average_ticket", "units")
GRAINS = ("day", "week", "month")


def by_week(points: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Daily revenue summed by ISO week, labelled by the week's Monday."""
    weeks: dict[date, int] = {}
    for point in points:
        day = date.fromisoformat(point["bucket"])
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + point["revenue_cents"]
    return [(monday.isoformat(), weeks[monday]) for monday in sorted(weeks)]


class SellerPage:
    def __init__(self, session: Session, store_id: str, seller_id: str) -> None:
        self.session = session
        self.store_id = store_id
        self.seller_id = seller_id
        t = session.t
        self.base = f"/api/v1/stores/{segment(store_id)}/sellers/{segment(seller_id)}"
        self.document = pn.state.curdoc
        self.loop: LiveLoop | None = None
        self.filter = PeriodFilter(session, self.invalidate)
        self.today_kpis = html_pane(t("common.loading"))
        self.period_kpis = html_pane("")
        self.rank = html_pane("")
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
        self.source = ColumnDataSource({"bucket": [], "revenue": [], "label": []})
        chart = figure(
            x_range=[],
            height=280,
            sizing_mode="stretch_width",
            toolbar_location=None,
            title=t("seller.history.title"),
            tools="hover",
            tooltips=[(t("seller.kpi.revenue"), "@label")],
        )
        chart.vbar(x="bucket", top="revenue", width=0.8, source=self.source, color="#1f5fbf")
        # Thousands grouped as the user reads them ("1.500" in Brazil is not one and a half).
        chart.yaxis.formatter = NumeralTickFormatter(
            format="0,0", language="pt-br" if session.locale == "pt_BR" else "en"
        )
        chart.xaxis.major_label_orientation = 0.8
        self.chart = chart
        self.empty = html_pane(
            f'<p class="note">{html.escape(t("empty.no_sales_period"))}</p>', visible=False
        )

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
        day = period("today", today())
        grain = self._grains[self.grain.value]
        api = self.session.api
        now, yesterday, current, previous, rank, series = await asyncio.gather(
            api.get(f"{self.base}/summary", **day.current.query()),
            api.get(f"{self.base}/summary", **day.previous.query()),
            api.get(f"{self.base}/summary", **chosen.current.query()),
            api.get(f"{self.base}/summary", **chosen.previous.query()),
            api.get(f"{self.base}/rank", **chosen.current.query()),
            api.get(
                f"{self.base}/timeseries",
                granularity="month" if grain == "month" else "day",
                **chosen.current.query(),
            ),
        )
        self.today_kpis.object = kpi_cards(
            self.session, "seller", kpis(now, yesterday, KPIS), "period.vs.yesterday", "today"
        )
        self.period_kpis.object = kpi_cards(
            self.session,
            "seller",
            kpis(current, previous, KPIS),
            versus_key(chosen.preset),
            chosen.preset,
        )
        t = self.session.t
        if rank["rank"]:
            value = t("seller.rank.value", rank=rank["rank"], count=rank["sellers"])
        else:
            value = t("empty.no_sales_period")
        self.rank.object = (
            f'<p id="seller-rank" data-rank="{rank["rank"]}" data-count="{rank["sellers"]}" '
            f'style="font-size:1.3rem;font-weight:700">{html.escape(value)}</p>'
        )
        points = series["points"]
        if grain == "week":
            bars = by_week(points)
        else:
            bars = [(p["bucket"], p["revenue_cents"]) for p in points]
        locale = self.session.locale
        data = {
            "bucket": [bucket for bucket, _ in bars],
            "revenue": [cents / 100 for _, cents in bars],
            "label": [i18n.money(cents, locale) for _, cents in bars],
        }

        def redraw() -> None:
            self.chart.x_range.factors = data["bucket"]
            self.source.data = data

        # The chart is a Bokeh model of the session's document: changed under its lock.
        if self.document is not None:
            self.document.add_next_tick_callback(redraw)
        else:
            redraw()
        self.empty.visible = not bars

    def fill(self, page: Shell) -> None:
        t = self.session.t

        entries = [(t(f"seller.kpi.{k}"), t(f"seller.kpi_help.{k}")) for k in KPIS]
        entries += [
            (t("seller.history.title"), t("seller.history.help")),
            (t("seller.rank.title"), t("seller.rank.help")),
        ]
        page.main[:] = [
            tour(self.session, "seller"),
            pn.Column(signed_in_line(self.session), self.status, sizing_mode="stretch_width"),
            section(self.session, "seller.today", "seller.today_help", self.today_kpis),
            section(self.session, "seller.period", "seller.period_help", self.period_kpis),
            section(
                self.session,
                "seller.history.title",
                "seller.history.help",
                self.grain,
                self.empty,
                pn.pane.Bokeh(self.chart, sizing_mode="stretch_width"),
            ),
            section(self.session, "seller.rank.title", "seller.rank.help", self.rank),
            help_card(self.session, entries),
        ]
        page.toolbar[:] = [self.filter.panel()]


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
