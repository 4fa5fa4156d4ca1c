"""Dashboard periods and the figures derived for the KPI cards."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from views.periods import PRESETS, Span, average_ticket_cents, change, period

SUNDAY = date(2026, 11, 29)


def test_today_is_compared_with_yesterday() -> None:
    p = period("today", SUNDAY)
    assert p.current == Span(SUNDAY, SUNDAY)
    assert p.previous == Span(date(2026, 11, 28), date(2026, 11, 28))


def test_this_week_to_date_against_the_same_days_last_week() -> None:
    p = period("this_week", SUNDAY)
    assert p.current == Span(date(2026, 11, 23), SUNDAY)  # Monday to Sunday
    assert p.previous == Span(date(2026, 11, 16), date(2026, 11, 22))


def test_this_month_to_date_against_the_same_days_of_last_month() -> None:
    p = period("this_month", date(2026, 3, 31))
    assert p.current == Span(date(2026, 3, 1), date(2026, 3, 31))
    assert p.previous == Span(date(2026, 2, 1), date(2026, 2, 28))  # February has no 31st
    p = period("this_month", date(2026, 1, 15))
    assert p.previous == Span(date(2025, 12, 1), date(2025, 12, 15))


def test_trailing_and_custom_periods_are_compared_with_as_many_days_before() -> None:
    p = period("last_7_days", SUNDAY)
    assert p.current == Span(date(2026, 11, 23), SUNDAY)
    assert p.previous == Span(date(2026, 11, 16), date(2026, 11, 22))
    p = period("custom", SUNDAY, Span(date(2026, 11, 10), date(2026, 11, 1)))  # reversed
    assert p.current == Span(date(2026, 11, 1), date(2026, 11, 10))
    assert p.previous == Span(date(2026, 10, 22), date(2026, 10, 31))
    with pytest.raises(ValueError):
        period("custom", SUNDAY)


@given(st.sampled_from([p for p in PRESETS if p != "custom"]), st.dates(date(2000, 1, 1)))
def test_every_preset_ends_today_and_its_previous_period_ends_before_it(
    preset: str, today: date
) -> None:
    p = period(preset, today)  # type: ignore[arg-type]
    assert p.current.last == today
    assert p.current.first <= today
    assert p.previous.last < p.current.first
    assert p.previous.days <= p.current.days


def test_change_against_the_previous_period() -> None:
    assert change(150, 100) == 0.5
    assert change(50, 100) == -0.5
    assert change(10, 0) is None


def test_average_ticket_is_rounded_half_up_in_whole_cents() -> None:
    assert average_ticket_cents(1000, 3) == 333
    assert average_ticket_cents(1001, 2) == 501  # 500.5 -> 501
    assert average_ticket_cents(500, 0) == 0


def test_the_glance_series_covers_every_period_and_its_previous_one() -> None:
    from views.periods import AT_A_GLANCE, glance_span

    span = glance_span(SUNDAY)
    assert span.last == SUNDAY
    for preset in AT_A_GLANCE:
        p = period(preset, SUNDAY)
        assert span.first <= p.previous.first and p.current.last <= span.last


def test_sum_days_adds_the_days_of_a_span_only() -> None:
    from views.periods import sum_days

    points = [
        {"bucket": "2026-11-27", "revenue_cents": 100, "orders": 1},
        {"bucket": "2026-11-28", "revenue_cents": 250, "orders": 2},
        {"bucket": "2026-11-29", "revenue_cents": 50, "orders": 1},
    ]
    span = Span(date(2026, 11, 28), SUNDAY)
    assert sum_days(points, span, ("revenue_cents", "orders")) == {
        "revenue_cents": 300,
        "orders": 3,
    }
    assert sum_days([], span, ("orders",)) == {"orders": 0}


def test_periods_to_date_compare_up_to_the_same_hour() -> None:
    from views.periods import compares_same_time, later_hours, minus

    today = date(2026, 12, 4)
    assert compares_same_time(period("today", today), today)
    assert compares_same_time(period("this_month", today), today)
    assert not compares_same_time(period("last_7_days", today), today)
    assert not compares_same_time(period("custom", today, Span(today, today)), today)
    names = ("revenue_cents", "orders")
    yesterday = [
        {"bucket": "2026-12-03T10", "revenue_cents": 100, "orders": 1},
        {"bucket": "2026-12-03T11", "revenue_cents": 200, "orders": 2},
        {"bucket": "2026-12-03T12", "revenue_cents": 400, "orders": 4},
        {"bucket": "2026-12-02T23", "revenue_cents": 800, "orders": 8},  # another day
    ]
    later = later_hours(yesterday, date(2026, 12, 3), 11, names)
    assert later == {"revenue_cents": 400, "orders": 4}  # 12h only: 11h is the hour now
    whole = {"revenue_cents": 700, "orders": 7, "lines": 9}
    assert minus(whole, later, names) == {"revenue_cents": 300, "orders": 3, "lines": 9}


def test_a_period_to_date_is_projected_to_its_end() -> None:
    from views.periods import projection_span

    today = date(2026, 12, 4)  # a Friday
    assert projection_span(period("today", today), today) == Span(today, today)
    assert projection_span(period("this_week", today), today) == Span(
        date(2026, 11, 30), date(2026, 12, 6)
    )
    assert projection_span(period("this_month", today), today) == Span(
        date(2026, 12, 1), date(2026, 12, 31)
    )
    february = date(2028, 2, 10)
    assert projection_span(period("this_month", february), february) == Span(
        date(2028, 2, 1), date(2028, 2, 29)
    )
    assert projection_span(period("last_7_days", today), today) == Span(date(2026, 11, 28), today)
    past = Span(date(2026, 11, 1), date(2026, 11, 30))
    assert projection_span(period("custom", today, past), today) is None
