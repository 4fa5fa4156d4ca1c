"""Query parameters and date ranges of the lookup API: parsing, checks and planning, pure.

A date range is closed (``from`` and ``to`` both included) and local to the store. Days from
``live_start`` on are answered from the live tables, older days from ClickHouse; within the
live part, whole months are read from the month buckets and the rest from day buckets, so a
year-long request is a few dozen lookups rather than hundreds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from tables.buckets import Grain

Ranking = Literal["revenue", "units", "margin"]
RANKINGS: tuple[Ranking, ...] = ("revenue", "units", "margin")
GRANULARITIES: tuple[Grain, ...] = ("hour", "day", "month")
MAX_HOURLY_DAYS = 93
"""Hourly series are capped at about a quarter (2,232 points): beyond that, ask by day."""

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadParameter(ValueError):
    """A request parameter the API refuses, with a message for the person who sent it."""


@dataclass(frozen=True, slots=True)
class DateRange:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def parse_range(query: Mapping[str, str], today: date, retention_days: int) -> DateRange:
    """``from``/``to`` (``YYYY-MM-DD``); both default to ``today``; ``to`` alone means the
    single day ``to``."""
    last = parse_date(query, "to", today)
    first = parse_date(query, "from", last)
    if first > last:
        raise BadParameter(f"'from' ({first}) is after 'to' ({last})")
    oldest = today - timedelta(days=retention_days)
    if last < oldest:
        raise BadParameter(
            f"'to' ({last}) is older than the retention period ({retention_days} days)"
        )
    return DateRange(max(first, oldest), last)


def parse_date(query: Mapping[str, str], name: str, default: date) -> date:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        # Not just a length check: fromisoformat also takes week dates such as 2024-W09-5.
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter(f"'{name}' must be a date as YYYY-MM-DD, got {text!r}") from None


def parse_choice(
    query: Mapping[str, str], name: str, choices: tuple[str, ...], default: str
) -> str:
    value = query.get(name) or default
    if value not in choices:
        raise BadParameter(f"'{name}' must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_limit(query: Mapping[str, str], default: int = 20, maximum: int = 500) -> int:
    text = query.get("limit")
    if not text:
        return default
    # ASCII digits only: str.isdigit() also accepts '²', which int() refuses, and int()
    # refuses more than 4,300 digits: both would escape as a plain ValueError (a 500).
    digits = text.lstrip("0")
    if (
        not (text.isascii() and text.isdigit())
        or len(digits) > len(str(maximum))
        or not 1 <= int(digits or "0") <= maximum
    ):
        raise BadParameter(f"'limit' must be a whole number from 1 to {maximum}, got {text!r}")
    return int(digits)


def split_live(span: DateRange, live_start: date) -> tuple[DateRange | None, DateRange | None]:
    """``(historical, live)`` parts of a range: days before ``live_start`` and from it on."""
    if span.last < live_start:
        return span, None
    if span.first >= live_start:
        return None, span
    return DateRange(span.first, live_start - timedelta(days=1)), DateRange(live_start, span.last)


def covering_buckets(span: DateRange) -> tuple[list[str], list[str]]:
    """``(months, days)``: labels of the months wholly inside the range, and of the days
    left over, which together cover the range exactly once."""
    months: list[str] = []
    days: list[str] = []
    cursor = span.first
    while cursor <= span.last:
        month_end = _month_end(cursor)
        if cursor.day == 1 and month_end <= span.last:
            months.append(f"{cursor.year:04d}-{cursor.month:02d}")
            stop = month_end
        else:
            stop = min(month_end, span.last)
            days.extend(
                (cursor + timedelta(days=offset)).isoformat()
                for offset in range((stop - cursor).days + 1)
            )
        if stop >= span.last:
            break  # stepping past the range's last day could overflow at 9999-12-31
        cursor = stop + timedelta(days=1)
    return months, days


def _month_end(day: date) -> date:
    if day.month == 12:  # not via January of the next year: 9999-12 has none
        return date(day.year, 12, 31)
    return date(day.year, day.month + 1, 1) - timedelta(days=1)


def bucket_bounds(span: DateRange, granularity: Grain) -> tuple[str, str]:
    """First and last bucket labels of a range at a granularity."""
    if granularity == "hour":
        return f"{span.first.isoformat()}T00", f"{span.last.isoformat()}T23"
    if granularity == "day":
        return span.first.isoformat(), span.last.isoformat()
    return span.first.isoformat()[:7], span.last.isoformat()[:7]
