"""Today's projection from the hour-of-day profile, the period-end projection, and the River
candidates the benchmark compares (they must keep running)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.forecast import (
    ForecastPoint,
    HourProfile,
    TotalForecast,
    project_period_end,
    project_today,
    share_done,
)
from app.forecast.candidates import RiverCalendarRegression, RiverHoltWinters, RiverSnarimax

MONDAY = date(2025, 1, 6)

# A hand-made profile: a shop open 10h-14h, a quarter of the day's sales in each hour.
QUARTERS = [0.0] * 10 + [0.25] * 4 + [0.0] * 10


def test_share_done_by_hand() -> None:
    assert share_done(QUARTERS, 0) == 0.0
    assert share_done(QUARTERS, 10) == 0.0
    assert share_done(QUARTERS, 11) == 0.25
    assert share_done(QUARTERS, 12.5) == pytest.approx(0.625)  # two hours and a half
    assert share_done(QUARTERS, 14) == 1.0
    assert share_done(QUARTERS, 24) == 1.0
    # Weights need not sum to 1.
    assert share_done([2 * v for v in QUARTERS], 11) == 0.25
    with pytest.raises(ValueError):
        share_done(QUARTERS, 25)
    with pytest.raises(ValueError):
        share_done([0.0] * 24, 12)


def test_project_today_with_the_days_forecast() -> None:
    # 12:00: half the day's sales are usually done. Sold 30,000; today's forecast 100,000.
    today = ForecastPoint(MONDAY, 100_000, 80_000, 120_000, 70_000, 130_001)
    projection = project_today(30_000, QUARTERS, 12, today)
    assert projection.share_done == 0.5
    assert projection.mid == 30_000 + 50_000
    assert (projection.low80, projection.high80) == (30_000 + 40_000, 30_000 + 60_000)
    assert projection.low95 == 30_000 + 35_000
    assert projection.high95 == 30_000 + 65_000  # 65,000.5 rounds half-even to 65,000


def test_project_today_from_the_pace_alone() -> None:
    # A quarter of the day done and 25,000 sold: the pace says 100,000 for the day.
    projection = project_today(25_000, QUARTERS, 11)
    assert projection.mid == 100_000
    assert projection.low95 == projection.high95 == 100_000
    # Before any sales are due there is no pace: nothing more is projected.
    assert project_today(0, QUARTERS, 9).mid == 0
    # After the last hour the day is what was sold.
    assert project_today(77_777, QUARTERS, 20).mid == 77_777


def test_hour_profile_learns_each_weekday_with_forgetting() -> None:
    profile = HourProfile(forget=0.5, min_days=1)
    weekday_hours = [0] * 10 + [100, 100, 100, 100] + [0] * 10
    sunday_hours = [0] * 14 + [300, 100] + [0] * 8
    for week in range(3):
        monday = MONDAY + timedelta(weeks=week)
        for n in range(6):
            profile.learn_day(monday + timedelta(days=n), weekday_hours)
        profile.learn_day(monday + timedelta(days=6), sunday_hours)
    assert profile.fractions(0) == pytest.approx(QUARTERS)
    sunday = profile.fractions(6)
    assert sunday[14] == pytest.approx(0.75) and sunday[15] == pytest.approx(0.25)
    # Forgetting (0.5 a Monday): the three old Mondays now weigh 0.5 + 0.25 + 0.125.
    monday = MONDAY + timedelta(weeks=3)
    profile.learn_day(monday, [0] * 20 + [400, 0, 0, 0])
    assert profile.fractions(0)[20] == pytest.approx(400 / (400 + 400 * (0.5 + 0.25 + 0.125)))
    with pytest.raises(ValueError):
        profile.learn_day(monday, weekday_hours)  # not after the last day
    with pytest.raises(ValueError):
        profile.learn_day(monday + timedelta(days=1), [1] * 23)


def test_hour_profile_falls_back_to_all_days_then_even() -> None:
    profile = HourProfile(min_days=3)
    assert profile.fractions(2) == [1 / 24] * 24
    profile.learn_day(MONDAY, [0] * 10 + [100, 100, 100, 100] + [0] * 10)
    # Wednesday has no day of its own yet: the all-days profile.
    assert profile.fractions(2) == pytest.approx(QUARTERS)
    # Net returns in an hour count as nothing sold, not as negative shares.
    profile.learn_day(MONDAY + timedelta(days=1), [0] * 10 + [-50, 100, 100, 100] + [0] * 10)
    assert min(profile.fractions(1)) >= 0.0


def test_hour_profile_state_round_trip() -> None:
    profile = HourProfile()
    for n in range(10):
        profile.learn_day(MONDAY + timedelta(days=n), [n + h for h in range(24)])
    restored = HourProfile.from_state(profile.to_state())
    assert restored == profile
    assert [restored.fractions(w) for w in range(7)] == [profile.fractions(w) for w in range(7)]


def test_project_period_end_arithmetic() -> None:
    rest = TotalForecast(
        MONDAY, MONDAY + timedelta(days=9), 500_000, 450_000, 560_000, 420_000, 600_000
    )
    # Sold 1,200,000 so far this period (today included); today's forecast 60,000, a
    # third of it usually done by now: 20,000 of the rest's sum is already in the actual.
    projection = project_period_end(
        1_200_000, rest, today_share_done=1 / 3, today_forecast_mid=60_000
    )
    assert projection.mid == 1_200_000 + 500_000 - 20_000
    assert projection.low80 == 1_200_000 + 450_000 - 20_000
    assert projection.high95 == 1_200_000 + 600_000 - 20_000
    # A period that is over is its actual.
    assert project_period_end(1_234, None) == (1_234,) * 5
    with pytest.raises(ValueError):
        project_period_end(0, rest, today_share_done=1.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: RiverHoltWinters(0.1, 0.01, 0.1),
        lambda: RiverHoltWinters(0.1, 0.01, 0.1, multiplicative=True),
        lambda: RiverSnarimax(),
        lambda: RiverCalendarRegression(lr=0.03),
    ],
    ids=["holt-winters-add", "holt-winters-mul", "snarimax", "calendar-regression"],
)
def test_river_candidates_learn_and_forecast(make) -> None:  # type: ignore[no-untyped-def]
    model = make()
    factors = (0.85, 0.85, 0.9, 0.95, 1.15, 1.5, 0.0)  # closed on Sundays
    for n in range(42):
        day = MONDAY + timedelta(days=n)
        model.learn_one(day, 100_000 * factors[day.weekday()])
    path = model.forecast(14)
    assert len(path) == 14
    assert all(isinstance(v, float) for v in path)
    # A clean weekly pattern: each one has found Saturday to be the biggest day.
    saturday = path[5]
    assert saturday == max(path[:7])


def test_no_bound_of_the_period_end_falls_under_what_is_already_sold() -> None:
    from datetime import date

    from app.forecast import TotalForecast
    from app.forecast.intraday import project_period_end

    # A sparse series: the 80 % and 95 % lows of the days to come are below zero.
    ahead = TotalForecast(
        date(2026, 12, 5), date(2026, 12, 31), 80_000, -11_000, 160_000, -40_000, 200_000
    )
    end = project_period_end(43_000, ahead, today_share_done=0.5, today_forecast_mid=2_000)
    assert end == (43_000 + 79_000, 43_000, 43_000 + 159_000, 43_000, 43_000 + 199_000)
