"""The alerts' lifecycle: one open alert per (rule, store, subject), resolution, cool-down and
deterministic ids, as a pure state transition.

``step(state, rule, evaluations, clock) -> (state, events)`` takes one rule's complete verdict
on one store at the store's clock (every subject it judged, ``app.alerts.core.Evaluation``):

- a firing subject without an open alert **opens** one (event ``open``), unless its key is in
  its cool-down: no new alert for a key until ``rule.cooldown_minutes`` after its last alert
  resolved. An alert held back by the cool-down opens at the first step after it ends if the
  subject still fires, with ``opened_at`` the end of the cool-down (or its ``as_of``, if
  later);
- a firing subject with an open alert changes nothing but the alert's latest figures (no
  event: one alert per episode, not one per evaluation);
- a subject judged not firing **resolves** its open alert (event ``resolved``, resolution
  ``cleared``) at its ``as_of``;
- an open alert of the rule and store whose subject is no longer judged resolves at ``clock``
  (resolution ``not_evaluated``: its day is over, the product is no longer tested, the rule
  was paused or deleted: pass an empty verdict).

**Ids.** ``alert_id`` hashes the rule id, the store, the subject and ``opened_at``, and
``opened_at`` comes from the data (the evaluation's ``as_of``, or a cool-down's end, itself
``as_of``-derived), not from the moment the step ran: a replay of the same verdicts gives the
same ids, and the alert topic's consumers can deduplicate by id. The ``resolved`` event of an
alert carries the id it opened with.

The state is plain data with a JSON form (``state_to_json``/``state_from_json``) for the
worker to keep in a table; ``step`` never changes the state it is given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.alerts.core import SEVERITIES, Evaluation, Severity, Suggestion
from app.alerts.rules import KINDS, AlertRule, Kind

SCHEMA_VERSION = 1
ID_LENGTH = 32
"""Hex digits of the SHA-256 kept in an alert id: 128 bits, no collision in practice."""
PRUNE_AFTER = timedelta(days=1)
"""A cool-down entry is forgotten this long after it ended (the state stays bounded)."""

AlertKey = tuple[str, str, str]
"""(rule id, store id, subject)."""
EventState = Literal["open", "resolved"]
Resolution = Literal["cleared", "not_evaluated"]


@dataclass(frozen=True, slots=True)
class OpenAlert:
    alert_id: str
    rule_id: str
    kind: Kind
    store_id: str
    subject: str
    opened_at: datetime
    severity: Severity
    facts: Mapping[str, Any]
    """The latest evaluation's figures."""
    suggestions: tuple[Suggestion, ...] = ()

    @property
    def key(self) -> AlertKey:
        return (self.rule_id, self.store_id, self.subject)


@dataclass(frozen=True, slots=True)
class AlertState:
    open: Mapping[AlertKey, OpenAlert] = field(default_factory=dict)
    cooldown_until: Mapping[AlertKey, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """What goes on the alert topic: an alert opened or resolved."""

    alert_id: str
    state: EventState
    rule_id: str
    kind: Kind
    store_id: str
    subject: str
    severity: Severity
    opened_at: datetime
    event_time: datetime
    """``opened_at`` for ``open``; the resolution's time for ``resolved``."""
    facts: Mapping[str, Any]
    suggestions: tuple[Suggestion, ...] = ()
    resolution: Resolution | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "state": self.state,
            "rule_id": self.rule_id,
            "kind": self.kind,
            "store_id": self.store_id,
            "subject": self.subject,
            "severity": self.severity,
            "opened_at": self.opened_at.isoformat(),
            "event_time": self.event_time.isoformat(),
            "facts": dict(self.facts),
            "suggestions": [s.to_json() for s in self.suggestions],
            "resolution": self.resolution,
        }


def alert_id(rule_id: str, store_id: str, subject: str, opened_at: datetime) -> str:
    """The deterministic id of the alert of a key opened at ``opened_at`` (aware)."""
    if opened_at.tzinfo is None:
        raise ValueError("opened_at must be aware")
    stamp = opened_at.astimezone(UTC).isoformat()
    text = "\x1f".join((rule_id, store_id, subject, stamp))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:ID_LENGTH]


def step(
    state: AlertState,
    rule: AlertRule,
    evaluations: Sequence[Evaluation],
    clock: datetime,
) -> tuple[AlertState, list[AlertEvent]]:
    """One rule's complete verdict on ``rule.store_id`` at ``clock`` (module docstring)."""
    if clock.tzinfo is None:
        raise ValueError("clock must be aware")
    judged: dict[str, Evaluation] = {}
    for evaluation in evaluations:
        if evaluation.rule_id != rule.rule_id or evaluation.store_id != rule.store_id:
            raise ValueError(
                f"evaluation of {evaluation.rule_id!r}/{evaluation.store_id!r} given to the "
                f"step of {rule.rule_id!r}/{rule.store_id!r}"
            )
        if evaluation.subject in judged:
            raise ValueError(f"subject {evaluation.subject!r} judged twice")
        judged[evaluation.subject] = evaluation

    open_alerts = dict(state.open)
    cooldowns = dict(state.cooldown_until)
    cooldown = timedelta(minutes=rule.cooldown_minutes)
    events: list[AlertEvent] = []

    def resolve(alert: OpenAlert, at: datetime, resolution: Resolution) -> None:
        at = max(at, alert.opened_at)
        del open_alerts[alert.key]
        cooldowns[alert.key] = at + cooldown
        events.append(
            AlertEvent(
                alert_id=alert.alert_id,
                state="resolved",
                rule_id=alert.rule_id,
                kind=alert.kind,
                store_id=alert.store_id,
                subject=alert.subject,
                severity=alert.severity,
                opened_at=alert.opened_at,
                event_time=at,
                facts=alert.facts,
                suggestions=alert.suggestions,
                resolution=resolution,
            )
        )

    # Alerts of this rule and store no longer judged: resolved at the clock.
    for key, alert in sorted(state.open.items()):
        if key[0] == rule.rule_id and key[1] == rule.store_id and key[2] not in judged:
            resolve(alert, clock, "not_evaluated")

    for subject in sorted(judged):
        evaluation = judged[subject]
        key: AlertKey = (rule.rule_id, rule.store_id, subject)
        current = open_alerts.get(key)
        if not evaluation.firing:
            if current is not None:
                resolve(current, evaluation.as_of, "cleared")
            continue
        if current is not None:
            open_alerts[key] = replace(
                current,
                severity=evaluation.severity,
                facts=evaluation.facts,
                suggestions=evaluation.suggestions,
            )
            continue
        until = cooldowns.get(key)
        if until is not None and clock < until:
            continue  # in its cool-down: held back
        opened_at = evaluation.as_of if until is None else max(evaluation.as_of, until)
        alert = OpenAlert(
            alert_id=alert_id(rule.rule_id, rule.store_id, subject, opened_at),
            rule_id=rule.rule_id,
            kind=evaluation.kind,
            store_id=rule.store_id,
            subject=subject,
            opened_at=opened_at,
            severity=evaluation.severity,
            facts=evaluation.facts,
            suggestions=evaluation.suggestions,
        )
        open_alerts[key] = alert
        cooldowns.pop(key, None)
        events.append(
            AlertEvent(
                alert_id=alert.alert_id,
                state="open",
                rule_id=alert.rule_id,
                kind=alert.kind,
                store_id=alert.store_id,
                subject=subject,
                severity=alert.severity,
                opened_at=opened_at,
                event_time=opened_at,
                facts=alert.facts,
                suggestions=alert.suggestions,
            )
        )

    for key, until in list(cooldowns.items()):
        if key[:2] == (rule.rule_id, rule.store_id) and clock - until >= PRUNE_AFTER:
            del cooldowns[key]
    return AlertState(open_alerts, cooldowns), events


def open_alerts_of(state: AlertState, store_id: str) -> list[OpenAlert]:
    """The store's open alerts, oldest first (the alert centre's list)."""
    alerts = [a for a in state.open.values() if a.store_id == store_id]
    return sorted(alerts, key=lambda a: (a.opened_at, a.alert_id))


# ---------------------------------------------------------------------------------------------
# JSON of the state (for the worker's table).


def state_to_json(state: AlertState) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "open": [
            {
                "alert_id": a.alert_id,
                "rule_id": a.rule_id,
                "kind": a.kind,
                "store_id": a.store_id,
                "subject": a.subject,
                "opened_at": a.opened_at.isoformat(),
                "severity": a.severity,
                "facts": dict(a.facts),
                "suggestions": [s.to_json() for s in a.suggestions],
            }
            for _, a in sorted(state.open.items())
        ],
        "cooldown_until": [
            {"rule_id": k[0], "store_id": k[1], "subject": k[2], "until": until.isoformat()}
            for k, until in sorted(state.cooldown_until.items())
        ],
    }


def state_from_json(data: Mapping[str, Any]) -> AlertState:
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"unknown alert state schema {data.get('schema_version')!r}")
    open_alerts: dict[AlertKey, OpenAlert] = {}
    for item in data["open"]:
        if item["kind"] not in KINDS or item["severity"] not in SEVERITIES:
            raise ValueError(f"not an alert: {item!r}")
        alert = OpenAlert(
            alert_id=item["alert_id"],
            rule_id=item["rule_id"],
            kind=item["kind"],
            store_id=item["store_id"],
            subject=item["subject"],
            opened_at=datetime.fromisoformat(item["opened_at"]),
            severity=item["severity"],
            facts=dict(item["facts"]),
            suggestions=tuple(
                Suggestion(s["action"], s["reason"], dict(s["params"])) for s in item["suggestions"]
            ),
        )
        open_alerts[alert.key] = alert
    cooldowns = {
        (c["rule_id"], c["store_id"], c["subject"]): datetime.fromisoformat(c["until"])
        for c in data["cooldown_until"]
    }
    return AlertState(open_alerts, cooldowns)
