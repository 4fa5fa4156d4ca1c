"""The alerts' lifecycle (``app.alerts.lifecycle``): worked sequences and properties (one open
alert per key, the cool-down, replay determinism, the state's JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.alerts.core import Evaluation, Suggestion
from app.alerts.lifecycle import (
    AlertEvent,
    AlertState,
    alert_id,
    open_alerts_of,
    state_from_json,
    state_to_json,
    step,
)
from app.alerts.rules import UnderperformingProductRule

RULE = UnderperformingProductRule("r1", "S01", cooldown_minutes=60)
T0 = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=200, deadline=None, database=None)


def verdict(subject: str, firing: bool, as_of: datetime, observed: int = 0) -> Evaluation:
    return Evaluation(
        rule_id=RULE.rule_id,
        kind=RULE.kind,
        store_id=RULE.store_id,
        subject=subject,
        firing=firing,
        as_of=as_of,
        severity="high" if firing else "info",
        facts={"observed_units": observed},
        suggestions=(Suggestion("promote", "below_expected", {"means": ["display"]}),)
        if firing
        else (),
    )


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_open_stay_resolve() -> None:
    state, events = step(AlertState(), RULE, [verdict("A", True, at(0), 1)], at(0))
    (opened,) = events
    assert opened.state == "open"
    assert opened.alert_id == alert_id("r1", "S01", "A", at(0))
    assert opened.opened_at == opened.event_time == at(0)
    assert opened.to_json()["suggestions"] == [
        {"action": "promote", "reason": "below_expected", "params": {"means": ["display"]}}
    ]
    # Still firing: no event, the figures follow.
    state, events = step(state, RULE, [verdict("A", True, at(1), 0)], at(1))
    assert events == []
    assert state.open[("r1", "S01", "A")].facts == {"observed_units": 0}
    assert [a.subject for a in open_alerts_of(state, "S01")] == ["A"]
    # Cleared: resolved at the verdict's as_of, with the id it opened with.
    state, events = step(state, RULE, [verdict("A", False, at(2))], at(2))
    (resolved,) = events
    assert (resolved.state, resolved.resolution) == ("resolved", "cleared")
    assert resolved.alert_id == opened.alert_id
    assert resolved.event_time == at(2)
    assert state.open == {}
    assert state.cooldown_until == {("r1", "S01", "A"): at(3)}


def test_cool_down_holds_back_then_opens_at_its_end() -> None:
    state, _ = step(AlertState(), RULE, [verdict("A", True, at(0))], at(0))
    state, _ = step(state, RULE, [verdict("A", False, at(1))], at(1))
    # Firing again 30 minutes later: held back (cool-down until 2h).
    state, events = step(state, RULE, [verdict("A", True, at(1.5))], at(1.5))
    assert events == []
    # Still firing at 2h30: opens, dated at the cool-down's end (data-derived, not 2h30).
    state, events = step(state, RULE, [verdict("A", True, at(1.5))], at(2.5))
    (opened,) = events
    assert opened.opened_at == at(2)
    assert opened.alert_id == alert_id("r1", "S01", "A", at(2))
    assert ("r1", "S01", "A") not in state.cooldown_until


def test_subjects_no_longer_judged_resolve_at_the_clock() -> None:
    state, events = step(
        AlertState(), RULE, [verdict("A", True, at(0)), verdict("B", True, at(0))], at(0)
    )
    assert [e.subject for e in events] == ["A", "B"]
    state, events = step(state, RULE, [verdict("A", True, at(1))], at(1))
    (resolved,) = events
    assert (resolved.subject, resolved.resolution, resolved.event_time) == (
        "B",
        "not_evaluated",
        at(1),
    )
    # A paused rule: an empty verdict resolves everything it had open.
    state, events = step(state, RULE, [], at(2))
    assert [(e.subject, e.resolution) for e in events] == [("A", "not_evaluated")]
    assert state.open == {}


def test_other_rules_and_stores_are_left_alone() -> None:
    other = UnderperformingProductRule("r2", "S01")
    state, _ = step(AlertState(), RULE, [verdict("A", True, at(0))], at(0))
    state, events = step(state, other, [], at(1))
    assert events == []
    assert len(state.open) == 1
    with pytest.raises(ValueError, match="given to the step"):
        step(state, other, [verdict("A", True, at(1))], at(1))
    with pytest.raises(ValueError, match="judged twice"):
        step(state, RULE, [verdict("A", True, at(1)), verdict("A", False, at(1))], at(1))


def test_cooldowns_are_pruned() -> None:
    state, _ = step(AlertState(), RULE, [verdict("A", True, at(0))], at(0))
    state, _ = step(state, RULE, [verdict("A", False, at(1))], at(1))
    state, _ = step(state, RULE, [], at(1 + 1 + 24))
    assert state.cooldown_until == {}


# -- properties --------------------------------------------------------------------------------

StepSpec = tuple[int, tuple[str, str, str], int]
Choice = st.sampled_from(["absent", "firing", "clear"])
Steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=180),  # minutes the clock moves on
        st.tuples(Choice, Choice, Choice),  # subjects A, B, C
        st.integers(min_value=0, max_value=30),  # as_of: minutes before the clock
    ),
    max_size=40,
)


def run(steps: list[StepSpec], through_json: bool) -> list[AlertEvent]:
    state = AlertState()
    clock = T0
    events: list[AlertEvent] = []
    for minutes, choices, back in steps:
        clock += timedelta(minutes=minutes)
        as_of = clock - timedelta(minutes=back)
        evaluations = [
            verdict(subject, choice == "firing", as_of)
            for subject, choice in zip("ABC", choices, strict=True)
            if choice != "absent"
        ]
        state, emitted = step(state, RULE, evaluations, clock)
        events.extend(emitted)
        if through_json:
            state = state_from_json(json.loads(json.dumps(state_to_json(state))))
    return events


@SETTINGS
@given(Steps)
def test_never_two_open_alerts_for_a_key_and_the_cool_down_holds(steps: list[StepSpec]) -> None:
    events = run(steps, through_json=False)
    open_ids: dict[str, str] = {}
    last_resolved: dict[str, datetime] = {}
    seen_ids: set[str] = set()
    for event in events:
        if event.state == "open":
            assert event.subject not in open_ids  # never a second open alert for the key
            assert event.alert_id not in seen_ids  # ids never reused
            seen_ids.add(event.alert_id)
            if event.subject in last_resolved:
                cool = timedelta(minutes=RULE.cooldown_minutes)
                assert event.opened_at >= last_resolved[event.subject] + cool
            open_ids[event.subject] = event.alert_id
        else:
            assert open_ids.pop(event.subject) == event.alert_id
            assert event.event_time >= event.opened_at
            last_resolved[event.subject] = event.event_time


@SETTINGS
@given(Steps)
def test_replays_give_the_same_events_and_ids(steps: list[StepSpec]) -> None:
    first = run(steps, through_json=False)
    assert run(steps, through_json=False) == first
    # A restart between any two steps (the state read back from its JSON) changes nothing.
    assert [e.to_json() for e in run(steps, through_json=True)] == [e.to_json() for e in first]
