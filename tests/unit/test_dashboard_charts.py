"""The charts' pure parts: every bucket of a period (zeros included), labels in the reader's
language, sparklines and the money axis."""

from __future__ import annotations

from datetime import date

import pytest

from views.charts import (
    api_grain,
    axis_labels,
    bucket_label,
    buckets,
    dense_series,
    grain_for,
    money_axis_code,
    period_dates_label,
    sparkline_svg,
)
from views.periods import Span, average_ticket_cents


def point(bucket: str, revenue: int, orders: int = 1, units: int = 1) -> dict[str, object]:
    return {
        "bucket": bucket,
        "revenue_cents": revenue,
        "margin_cents": revenue // 2,
        "orders": orders,
        "units": units,
    }


def test_the_grain_follows_the_length_of_the_period() -> None:
    assert grain_for(Span(date(2026, 12, 4), date(2026, 12, 4))) == "hour"
    assert grain_for(Span(date(2026, 12, 1), date(2026, 12, 4))) == "day"
    assert grain_for(Span(date(2026, 9, 3), date(2026, 12, 3))) == "day"  # 92 days
    assert grain_for(Span(date(2026, 1, 1), date(2026, 12, 4))) == "month"
    assert [api_grain(g) for g in ("hour", "day", "week", "month")] == [
        "hour",
        "day",
        "day",
        "month",
    ]


def test_buckets_cover_every_hour_day_week_and_month_of_a_period() -> None:
    day = Span(date(2026, 12, 4), date(2026, 12, 4))
    assert (
        buckets(day, "hour")[0] == "2026-12-04T00" and buckets(day, "hour")[-1] == "2026-12-04T23"
    )
    assert len(buckets(day, "hour")) == 24
    span = Span(date(2026, 11, 29), date(2026, 12, 2))  # Sunday to Wednesday
    assert buckets(span, "day") == ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
    assert buckets(span, "week") == ["2026-11-23", "2026-11-30"]  # their Mondays
    assert buckets(span, "month") == ["2026-11", "2026-12"]


def test_a_dense_series_has_zeros_for_quiet_buckets_and_sums_days_into_weeks() -> None:
    span = Span(date(2026, 11, 29), date(2026, 12, 2))
    points = [point("2026-11-30", 1000, 2, 3), point("2026-12-02", 500, 1, 1)]
    daily = dense_series(points, span, "day")
    assert daily.values("revenue_cents") == (0, 1000, 0, 500)
    assert daily.values("orders") == (0, 2, 0, 1)
    assert daily.values("average_ticket") == (0, 500, 0, 500)
    weekly = dense_series(points, span, "week")
    assert weekly.buckets == ("2026-11-23", "2026-11-30")
    assert weekly.values("revenue_cents") == (0, 1500)
    assert weekly.values("units") == (0, 4)
    assert weekly.values("average_ticket") == (0, average_ticket_cents(1500, 3))


def test_points_outside_the_period_are_left_out() -> None:
    span = Span(date(2026, 12, 1), date(2026, 12, 2))
    series = dense_series([point("2026-11-30", 999), point("2026-12-02", 7)], span, "day")
    assert series.values("revenue_cents") == (0, 7)


@pytest.mark.parametrize(
    ("bucket", "grain", "pt", "en"),
    [
        ("2026-12-04T00", "hour", "0h", "12 AM"),
        ("2026-12-04T14", "hour", "14h", "2 PM"),
        ("2026-12-04", "day", "04/12", "Dec 4"),
        ("2026-11-30", "week", "sem. 30/11", "wk Nov 30"),
        ("2026-12", "month", "dez. de 2026", "Dec 2026"),
    ],
)
def test_bucket_labels_are_written_as_each_language_reads_them(
    bucket: str, grain: str, pt: str, en: str
) -> None:
    assert bucket_label(bucket, grain, "pt_BR") == pt  # type: ignore[arg-type]
    assert bucket_label(bucket, grain, "en") == en  # type: ignore[arg-type]


def test_axis_labels_show_the_year_when_a_series_crosses_one() -> None:
    span = Span(date(2025, 12, 31), date(2026, 1, 1))
    labels = axis_labels(dense_series([], span, "day"), "pt_BR")
    assert labels == ["31/12/2025", "01/01/2026"]
    same_year = axis_labels(dense_series([], Span(date(2026, 1, 1), date(2026, 1, 2)), "day"), "en")
    assert same_year == ["Jan 1", "Jan 2"]


def test_period_dates_in_words() -> None:
    assert period_dates_label(Span(date(2026, 12, 1), date(2026, 12, 4)), "pt_BR") == (
        "01/12/2026 – 04/12/2026"
    )
    assert period_dates_label(Span(date(2026, 12, 4), date(2026, 12, 4)), "en") == "Dec 4, 2026"


def test_a_sparkline_spans_its_box_from_lowest_to_highest() -> None:
    svg = sparkline_svg([10, 30, 20], "trend", width=100, height=28)
    assert 'points="0.0,26.0 50.0,2.0 100.0,14.0"' in svg
    assert 'aria-label="trend"' in svg
    assert sparkline_svg([5], "one point is not a trend") == ""
    flat = sparkline_svg([0, 0, 0], "flat")
    assert 'points="0.0,26.0 60.0,26.0 120.0,26.0"' in flat


def test_the_money_axis_formats_reais_in_the_readers_locale() -> None:
    assert "'pt-BR'" in money_axis_code("pt_BR") and "currency: 'BRL'" in money_axis_code("pt_BR")
    assert "'en-US'" in money_axis_code("en")


def test_feed_lines_say_return_in_words_and_keep_times_short() -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from views import i18n
    from views.dashboard import today
    from views.manager import feed_time, items_text

    def t(key: str, **params: object) -> str:
        return i18n.text(key, "pt_BR", **params)

    assert items_text(3, 9000, t, "pt_BR") == "3"
    assert items_text(-1, -990, t, "pt_BR") == "Devolução: 1"
    assert i18n.text("manager.feed.returned", "en", count="2") == "Return: 2"
    zone = ZoneInfo("America/Rio_Branco")  # two hours behind São Paulo
    now = datetime.combine(today(zone), datetime.min.time(), zone).replace(hour=14, minute=5)
    assert feed_time(now, "pt_BR", zone) == "14:05"
    assert feed_time(now - timedelta(days=1), "pt_BR", zone) == (
        f"{(now - timedelta(days=1)):%d/%m} 14:05"
    )
    assert feed_time(now, "en", zone) == "2:05 PM"
    # The same moment read in the store's zone, not the dashboard's.
    assert feed_time(now.astimezone(ZoneInfo("America/Sao_Paulo")), "pt_BR", zone) == "14:05"


def test_native_date_range_reads_only_whole_dates() -> None:
    from views.widgets import DateRange

    picked = DateRange(first="2026-11-01", last="2026-11-30")
    assert picked.span() == (date(2026, 11, 1), date(2026, 11, 30))
    assert DateRange(first="2026-11-01", last="").span() is None
