"""What every evaluator returns, and the store's event clock in the form the evaluators use.

**An evaluation** is a rule's verdict on one subject (a product, a seller, the store, a
return) of one store at one moment of the store's event time: firing or not, with the figures
that decided it. An evaluator returns every subject it judged; the lifecycle
(``app.alerts.lifecycle``) turns the verdicts into opened and resolved alerts.

``as_of`` is the event time the verdict is established at, computed from the data, not from
when the evaluator happened to run: the end of the window (an hour boundary) for the product
rule, the moment a seller's idle time reached the limit, the time of a return. A replay that
evaluates at other moments (other batch boundaries) still establishes the same ``as_of``, and
the lifecycle's alert ids derive from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.alerts.rules import Kind
from app.forecast.projection import EventClock
from tables.buckets import zone

Severity = Literal["info", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "medium", "high", "critical")
STORE_SUBJECT = ""
"""The subject of a store-level rule (revenue by hour, margin of the day, silence)."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested action: ``action`` and ``reason`` are codes (pt-BR and English texts are the
    dashboard's and the notifier's), ``params`` the figures the text quotes."""

    action: str
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "reason": self.reason, "params": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Evaluation:
    rule_id: str
    kind: Kind
    store_id: str
    subject: str
    firing: bool
    as_of: datetime
    """Aware; the event time this verdict is established at (module docstring)."""
    severity: Severity = "info"
    facts: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready figures (observed, expected, ratio, p-value, window, ...)."""
    suggestions: tuple[Suggestion, ...] = ()

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be an aware datetime")


@dataclass(frozen=True, slots=True)
class StoreClock:
    """A store's event clock: the time of its latest sale, and its zone.

    ``app.forecast.projection.EventClock`` is the same clock at the hour's resolution (what
    the live tables know); the rules that count minutes (an idle seller, a silent store)
    need the time itself, which the worker has for the sales it processes.
    """

    latest_event: datetime
    time_zone: str

    def __post_init__(self) -> None:
        if self.latest_event.tzinfo is None:
            raise ValueError("latest_event must be an aware datetime")
        zone(self.time_zone)  # an unknown zone fails here, not in an evaluator

    @property
    def local(self) -> datetime:
        return self.latest_event.astimezone(zone(self.time_zone))

    @property
    def hour_start(self) -> datetime:
        """Naive local wall-clock start of the clock's hour: the end of the closed hours."""
        local = self.local
        return datetime(local.year, local.month, local.day, local.hour)

    @property
    def event_clock(self) -> EventClock:
        local = self.local
        return EventClock(local.date(), local.hour)

    @classmethod
    def at_hour(cls, label: str, time_zone: str) -> StoreClock:
        """The clock at the start of an hour bucket (``2026-12-04T14``, local)."""
        return cls(to_utc(parse_hour(label), time_zone), time_zone)


def hour_label(wall: datetime) -> str:
    """The live tables' hour bucket label of a naive local wall-clock time."""
    return f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}T{wall.hour:02d}"


def day_label(wall: datetime) -> str:
    return f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}"


def parse_hour(label: str) -> datetime:
    """The naive local start of an hour bucket label."""
    clock = EventClock.from_hour_bucket(label)
    return datetime(clock.day.year, clock.day.month, clock.day.day, clock.hour)


def to_utc(wall: datetime, time_zone: str) -> datetime:
    """A naive local wall-clock time in ``time_zone`` as an aware UTC time."""
    return wall.replace(tzinfo=zone(time_zone)).astimezone(UTC)


def hour_ticks(previous: StoreClock | None, current: StoreClock) -> list[str]:
    """The hour labels a store's clock entered between two evaluations, oldest first.

    The hour rules are evaluated at each hour the clock enters, in order, not only at the
    batch's end: a batch of history spans days, and evaluating only its last hour would open
    other alerts than live traffic did. Empty when the clock stayed in its hour.
    """
    end = current.hour_start
    if previous is None:
        return [hour_label(end)]
    tick = previous.hour_start + timedelta(hours=1)
    labels: list[str] = []
    while tick <= end:
        labels.append(hour_label(tick))
        tick += timedelta(hours=1)
    return labels
