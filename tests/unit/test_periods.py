"""Query parameters and date-range planning of the lookup API (``app/api/periods.py``)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.periods import (
    GRANULARITIES,
    RANKINGS,
    BadParameter,
    DateRange,
    bucket_bounds,
    covering_buckets,
    parse_choice,
    parse_limit,
    parse_range,
    split_live,
)
from tables.buckets import Grain

SETTINGS = settings(max_examples=150, deadline=None, database=None)
TODAY = date(2024, 3, 15)
RETENTION = 400


def d(text: str) -> date:
    return date.fromisoformat(text)


# --------------------------------------------------------------------------- parse_range


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ({}, "2024-03-15", "2024-03-15"),
        ({"from": "", "to": ""}, "2024-03-15", "2024-03-15"),
        ({"to": "2024-03-01"}, "2024-03-01", "2024-03-01"),
        ({"from": "2024-03-01"}, "2024-03-01", "2024-03-15"),
        ({"from": "2024-02-01", "to": "2024-02-29"}, "2024-02-01", "2024-02-29"),
        ({"from": "2024-03-15", "to": "2024-03-15"}, "2024-03-15", "2024-03-15"),
        # The future is not refused (it is simply empty).
        ({"from": "2024-03-10", "to": "2024-04-10"}, "2024-03-10", "2024-04-10"),
        # 'from' older than the retention period is clamped to its first day...
        ({"from": "2020-01-01", "to": "2024-01-01"}, "2023-02-09", "2024-01-01"),
        # ...and 'to' on that very day is still inside it.
        ({"from": "2020-01-01", "to": "2023-02-09"}, "2023-02-09", "2023-02-09"),
        ({"from": "2023-02-09", "other": "x"}, "2023-02-09", "2024-03-15"),
    ],
)
def test_parse_range_good(query: dict[str, str], first: str, last: str) -> None:
    span = parse_range(query, TODAY, RETENTION)
    assert span == DateRange(d(first), d(last))
    assert span.days == (d(last) - d(first)).days + 1


def test_retention_start_is_today_minus_retention_days() -> None:
    assert TODAY - timedelta(days=RETENTION) == d("2023-02-09")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"from": "2024-03-02", "to": "2024-03-01"}, "'from'"),
        ({"from": "2024-03-16"}, "'from'"),  # after the default 'to', today
        ({"to": "2023-02-08"}, "'to'"),  # older than the retention period
        ({"from": "2020-01-01", "to": "2023-02-08"}, "'to'"),
        ({"to": "2024-1-1"}, "'to'"),
        ({"to": "20240101"}, "'to'"),
        ({"to": "2024-13-01"}, "'to'"),
        ({"to": "2024-02-30"}, "'to'"),
        ({"to": "2023-02-29"}, "'to'"),
        ({"to": "yesterday"}, "'to'"),
        ({"to": "2024-03-01T00:00"}, "'to'"),
        ({"to": " 2024-03-01"}, "'to'"),
        ({"to": "2024-03-01 "}, "'to'"),
        ({"to": "2024-W09-5"}, "'to'"),  # an ISO week date, 10 characters too
        ({"to": "2024-03-0١"}, "'to'"),  # a non-ASCII digit
        ({"from": "2024/03/01"}, "'from'"),
        ({"from": "01-03-2024"}, "'from'"),
        ({"from": "2024-00-10"}, "'from'"),
        ({"from": "+2024-03-01"}, "'from'"),
        ({"from": "x" * 10_000}, "'from'"),
    ],
)
def test_parse_range_bad(query: dict[str, str], parameter: str) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_range(query, TODAY, RETENTION)
    assert parameter in str(raised.value)


def test_bad_date_message_shows_the_value() -> None:
    with pytest.raises(BadParameter, match=r"'from' must be a date as YYYY-MM-DD, got 'soon'"):
        parse_range({"from": "soon"}, TODAY, RETENTION)


@SETTINGS
@given(
    first=st.dates(min_value=date(2022, 1, 1), max_value=date(2024, 6, 30)),
    length=st.integers(0, 900),
)
def test_parse_range_accepts_its_own_output(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    query = {"from": first.isoformat(), "to": last.isoformat()}
    oldest = TODAY - timedelta(days=RETENTION)
    if last < oldest:
        with pytest.raises(BadParameter, match="'to'"):
            parse_range(query, TODAY, RETENTION)
        return
    span = parse_range(query, TODAY, RETENTION)
    assert span == DateRange(max(first, oldest), last)


# --------------------------------------------------------------------------- parse_choice


@pytest.mark.parametrize(
    ("query", "name", "choices", "default", "expected"),
    [
        ({}, "by", RANKINGS, "revenue", "revenue"),
        ({"by": ""}, "by", RANKINGS, "revenue", "revenue"),
        ({"by": "units"}, "by", RANKINGS, "revenue", "units"),
        ({"by": "margin"}, "by", RANKINGS, "revenue", "margin"),
        ({"granularity": "hour"}, "granularity", GRANULARITIES, "day", "hour"),
        ({"granularity": "month"}, "granularity", GRANULARITIES, "day", "month"),
        ({"by": "units"}, "granularity", GRANULARITIES, "day", "day"),
    ],
)
def test_parse_choice_good(
    query: dict[str, str], name: str, choices: tuple[str, ...], default: str, expected: str
) -> None:
    assert parse_choice(query, name, choices, default) == expected


@pytest.mark.parametrize(
    ("query", "name", "choices"),
    [
        ({"by": "profit"}, "by", RANKINGS),
        ({"by": "Revenue"}, "by", RANKINGS),
        ({"by": " revenue"}, "by", RANKINGS),
        ({"granularity": "week"}, "granularity", GRANULARITIES),
        ({"granularity": "days"}, "granularity", GRANULARITIES),
    ],
)
def test_parse_choice_bad(query: dict[str, str], name: str, choices: tuple[str, ...]) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_choice(query, name, choices, choices[0])
    message = str(raised.value)
    assert f"'{name}'" in message
    assert repr(query[name]) in message
    assert all(choice in message for choice in choices)


# --------------------------------------------------------------------------- parse_limit


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, 20),
        ({"limit": ""}, 20),
        ({"limit": "1"}, 1),
        ({"limit": "20"}, 20),
        ({"limit": "500"}, 500),
        ({"limit": "007"}, 7),
        ({"limit": "0" * 50 + "3"}, 3),
        ({"limit": "0" * 5_000 + "7"}, 7),
    ],
)
def test_parse_limit_good(query: dict[str, str], expected: int) -> None:
    assert parse_limit(query) == expected


def test_parse_limit_custom_default_and_maximum() -> None:
    assert parse_limit({}, default=5, maximum=10) == 5
    assert parse_limit({"limit": "10"}, default=5, maximum=10) == 10
    with pytest.raises(BadParameter, match="from 1 to 10"):
        parse_limit({"limit": "11"}, default=5, maximum=10)


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "501",
        "-1",
        "+5",
        "1.5",
        "1e2",
        "abc",
        " 5",
        "5 ",
        "0x10",
        "1_0",
        "²",  # str.isdigit() says yes, int() says no
        "٣",  # an Arabic-Indic three: a digit, but not the ASCII the message asks for
        "9" * 5_000,  # more digits than int() converts
        "0" * 5_000,
    ],
)
def test_parse_limit_bad(text: str) -> None:
    with pytest.raises(BadParameter) as raised:
        parse_limit({"limit": text})
    assert "'limit'" in str(raised.value)
    assert "1 to 500" in str(raised.value)


# --------------------------------------------------------------------------- split_live

LIVE_START = d("2024-03-01")


@pytest.mark.parametrize(
    ("first", "last", "historical", "live"),
    [
        ("2024-01-01", "2024-01-31", ("2024-01-01", "2024-01-31"), None),
        ("2024-02-01", "2024-02-29", ("2024-02-01", "2024-02-29"), None),
        ("2024-03-01", "2024-03-01", None, ("2024-03-01", "2024-03-01")),
        ("2024-03-01", "2024-03-15", None, ("2024-03-01", "2024-03-15")),
        ("2024-03-05", "2024-03-10", None, ("2024-03-05", "2024-03-10")),
        ("2024-02-29", "2024-03-01", ("2024-02-29", "2024-02-29"), ("2024-03-01", "2024-03-01")),
        ("2024-02-15", "2024-03-15", ("2024-02-15", "2024-02-29"), ("2024-03-01", "2024-03-15")),
        ("2023-03-01", "2024-12-31", ("2023-03-01", "2024-02-29"), ("2024-03-01", "2024-12-31")),
    ],
)
def test_split_live(
    first: str,
    last: str,
    historical: tuple[str, str] | None,
    live: tuple[str, str] | None,
) -> None:
    def span_of(pair: tuple[str, str] | None) -> DateRange | None:
        return None if pair is None else DateRange(d(pair[0]), d(pair[1]))

    assert split_live(DateRange(d(first), d(last)), LIVE_START) == (
        span_of(historical),
        span_of(live),
    )


@SETTINGS
@given(
    first=st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 1, 1)),
    length=st.integers(0, 400),
    live_start=st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 6, 1)),
)
def test_split_live_parts_are_the_range(first: date, length: int, live_start: date) -> None:
    span = DateRange(first, first + timedelta(days=length))
    old, live = split_live(span, live_start)
    assert old is not None or live is not None
    parts = [part for part in (old, live) if part is not None]
    assert all(part.first <= part.last for part in parts)
    assert parts[0].first == span.first and parts[-1].last == span.last
    assert sum(part.days for part in parts) == span.days
    if old is not None:
        assert old.last < live_start
    if live is not None:
        assert live.first >= live_start
    if old is not None and live is not None:
        assert old.last + timedelta(days=1) == live.first == live_start


# --------------------------------------------------------------------------- covering_buckets


@pytest.mark.parametrize(
    ("first", "last", "months", "days"),
    [
        ("2024-03-15", "2024-03-15", [], ["2024-03-15"]),
        ("2024-03-01", "2024-03-31", ["2024-03"], []),
        ("2024-02-01", "2024-02-29", ["2024-02"], []),
        ("2024-02-01", "2024-02-28", [], [f"2024-02-{day:02d}" for day in range(1, 29)]),
        ("2024-03-02", "2024-03-31", [], [f"2024-03-{day:02d}" for day in range(2, 32)]),
        (
            "2024-01-30",
            "2024-03-02",
            ["2024-02"],
            ["2024-01-30", "2024-01-31", "2024-03-01", "2024-03-02"],
        ),
        ("2023-12-31", "2024-01-01", [], ["2023-12-31", "2024-01-01"]),
        ("2023-11-01", "2024-02-29", ["2023-11", "2023-12", "2024-01", "2024-02"], []),
        ("2023-12-01", "2024-01-31", ["2023-12", "2024-01"], []),
    ],
)
def test_covering_buckets_examples(
    first: str, last: str, months: list[str], days: list[str]
) -> None:
    assert covering_buckets(DateRange(d(first), d(last))) == (months, days)


def month_dates(label: str) -> list[date]:
    start = d(label + "-01")
    dates = []
    cursor = start
    while cursor.month == start.month:
        dates.append(cursor)
        cursor += timedelta(days=1)
    return dates


@SETTINGS
@given(
    first=st.dates(min_value=date(2019, 1, 1), max_value=date(2026, 12, 31)),
    length=st.integers(0, 800),
)
def test_covering_buckets_cover_each_day_once(first: date, length: int) -> None:
    span = DateRange(first, first + timedelta(days=length))
    months, days = covering_buckets(span)

    covered = Counter(day for label in months for day in month_dates(label))
    covered.update(d(label) for label in days)
    wanted = [span.first + timedelta(days=offset) for offset in range(span.days)]
    assert covered == Counter(wanted)  # every date of the range, each exactly once

    for label in months:  # whole months, inside the range
        inside = month_dates(label)
        assert span.first <= inside[0] and inside[-1] <= span.last
    # Every whole month inside the range is read as a month (that is the point).
    whole = {day.isoformat()[:7] for day in wanted if day.day == 1}
    whole = {label for label in whole if month_dates(label)[-1] <= span.last}
    assert set(months) == whole
    # Labels are well-formed, sorted and unique.
    assert months == sorted(set(months)) and days == sorted(set(days))
    assert all(len(label) == 7 for label in months) and all(len(label) == 10 for label in days)


# --------------------------------------------------------------------------- bucket_bounds


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [
        ("hour", ("2023-12-30T00", "2024-02-01T23")),
        ("day", ("2023-12-30", "2024-02-01")),
        ("month", ("2023-12", "2024-02")),
    ],
)
def test_bucket_bounds(granularity: Grain, expected: tuple[str, str]) -> None:
    span = DateRange(d("2023-12-30"), d("2024-02-01"))
    assert bucket_bounds(span, granularity) == expected


def test_bucket_bounds_single_day() -> None:
    span = DateRange(d("2024-03-15"), d("2024-03-15"))
    assert bucket_bounds(span, "hour") == ("2024-03-15T00", "2024-03-15T23")
    assert bucket_bounds(span, "day") == ("2024-03-15", "2024-03-15")
    assert bucket_bounds(span, "month") == ("2024-03", "2024-03")
