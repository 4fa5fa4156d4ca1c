"""Faust's livelock check, fed with the agent's own commits (``app/faust_patches.py``).

The check is Faust's real ``AIOKafkaConsumerThread.verify_event_path``, run against a
stand-in for aiokafka's partition state: a partition whose broker holds more than the
consumer has read (highwater above position) and whose stream took an event a moment ago.
Without the agent's commits it reads as never committed (issue 9, point 5); with them it stays
quiet, and still speaks up once the last commit is older than the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from time import monotonic
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP

from app import faust_patches

TOPIC = "sales"
TIMEOUT = 30.0
WORKER_UP_FOR = 1_000.0
"""Seconds the worker has been running: longer than every timeout of the check."""


class Partitions:
    """aiokafka's view of the assigned partitions, as the check reads it."""

    def __init__(self) -> None:
        self.states: dict[int, SimpleNamespace] = {}
        self.active = True

    def lagging(self, partition: int) -> None:
        """The broker has events of ``partition`` the consumer has not read yet."""
        self.states[partition] = SimpleNamespace(
            highwater=120, position=100, timestamp=1000 * time.time()
        )

    def state_value(self, tp: Any) -> SimpleNamespace | None:
        return self.states.get(tp.partition)


@pytest.fixture
def partitions() -> Partitions:
    return Partitions()


@pytest.fixture
def app(partitions: Partitions, monkeypatch: pytest.MonkeyPatch) -> faust.App:
    """A worker's app (no broker: nothing here connects) registered as the worker registers
    it, up for ``WORKER_UP_FOR`` seconds."""
    monkeypatch.setenv(faust_patches.LIVELOCK_TIMEOUT_VARIABLE, str(TIMEOUT))
    app = faust.App("test-livelock", broker="kafka://127.0.0.1:1")
    faust_patches.commits_in_agent(app)
    thread: Any = app.consumer._thread  # type: ignore[attr-defined]
    thread._consumer = SimpleNamespace(
        _fetcher=SimpleNamespace(
            _subscriptions=SimpleNamespace(subscription=SimpleNamespace(assignment=partitions))
        )
    )
    thread.time_started = monotonic() - WORKER_UP_FOR
    monkeypatch.setattr(app.topics, "acks_enabled_for", lambda topic: topic == TOPIC)
    return app


def errors_of_the_check(
    app: faust.App, caplog: pytest.LogCaptureFixture, partition: int, after: float = 0.0
) -> list[str]:
    """What Faust's check logs at ERROR for ``partition``, ``after`` seconds from now, its
    stream having taken an event just before."""
    now = monotonic() + after
    tp = TP(TOPIC, partition)
    app.monitor.stream_inbound_time[tp] = now - 0.5
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        app.consumer.verify_event_path(now, tp)  # type: ignore[attr-defined]
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def assign(app: faust.App, *partitions: int) -> None:
    """A rebalance's end, as Faust signals it (after its monitor forgot the streams' times)."""
    app.monitor.stream_inbound_time.clear()
    assigned = {TP(TOPIC, p) for p in partitions}
    asyncio.run(app.on_partitions_assigned.send(assigned))


def test_the_timeout_comes_from_the_environment(app: faust.App) -> None:
    assert app.conf.broker_commit_livelock_soft_timeout == TIMEOUT
    assert app.consumer._thread.tp_commit_timeout_secs == TIMEOUT  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["0", "-3", "soon", "nan"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="DATAAPP_COMMIT_LIVELOCK_SECONDS"):
        faust_patches.livelock_timeout(text)


def test_no_timeout_set_keeps_fausts_default() -> None:
    assert faust_patches.livelock_timeout("  ") is None
    assert faust_patches.livelock_timeout("7.5") == 7.5


def test_without_the_agents_commits_the_check_reports_a_healthy_partition(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    # The bug as the worker's log showed it: Faust hears of no commit under exactly_once.
    partitions.lagging(2)
    errors = errors_of_the_check(app, caplog, 2)
    assert len(errors) == 1
    assert "Has not committed TP(topic='sales', partition=2) at all since worker start" in errors[0]


def test_a_partition_the_agent_committed_lately_is_not_reported(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    partitions.lagging(2)
    faust_patches.agent_committed(app, {TP(TOPIC, 2): 100})
    assert errors_of_the_check(app, caplog, 2, after=TIMEOUT - 1) == []
    assert app.monitor.tp_committed_offsets[TP(TOPIC, 2)] == 100


def test_a_partition_whose_last_commit_is_older_than_the_timeout_is_still_reported(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    # The check keeps its value: an agent that stops committing a partition is reported.
    partitions.lagging(2)
    faust_patches.agent_committed(app, {TP(TOPIC, 2): 100})
    errors = errors_of_the_check(app, caplog, 2, after=TIMEOUT + 1)
    assert len(errors) == 1
    assert "Has not committed TP(topic='sales', partition=2) (last commit" in errors[0]


def test_a_partition_taken_over_late_has_the_full_timeout_from_its_assignment(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    # The worker has been up far longer than the timeout; partition 5 reaches it now (another
    # worker died), and its restore holds the agent back for a while.
    assign(app, 5)
    partitions.lagging(5)
    assert errors_of_the_check(app, caplog, 5, after=TIMEOUT - 1) == []
    errors = errors_of_the_check(app, caplog, 5, after=TIMEOUT + 1)
    assert len(errors) == 1
    assert "Has not committed TP(topic='sales', partition=5)" in errors[0]


def test_a_partition_kept_across_a_rebalance_keeps_its_last_commit(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    assign(app, 1, 2)
    thread: Any = app.consumer._thread  # type: ignore[attr-defined]
    thread.tp_last_committed_at[TP(TOPIC, 1)] = monotonic() - TIMEOUT - 5
    assign(app, 1)  # partition 2 goes to another worker, 1 stays: its clock goes on
    partitions.lagging(1)
    errors = errors_of_the_check(app, caplog, 1)
    assert len(errors) == 1
    assert "(last commit" in errors[0]
    # Taken back later, partition 2 starts again from its new assignment.
    thread.tp_last_committed_at[TP(TOPIC, 2)] = monotonic() - TIMEOUT - 5
    assign(app, 1, 2)
    partitions.lagging(2)
    assert errors_of_the_check(app, caplog, 2) == []


def test_a_stream_gets_the_full_timeout_after_a_rebalance_to_take_its_first_event(
    app: faust.App, partitions: Partitions, caplog: pytest.LogCaptureFixture
) -> None:
    # Faust's monitor forgets the streams' last events at each rebalance; the check would
    # then report "has not started processing" (since worker start) until the first event
    # of each partition comes through, which a restore delays.
    assign(app, 4)
    partitions.lagging(4)
    tp = TP(TOPIC, 4)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        app.consumer.verify_event_path(monotonic(), tp)  # type: ignore[attr-defined]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    stream_timeout = app.conf.stream_processing_timeout
    with caplog.at_level(logging.ERROR):
        app.consumer.verify_event_path(monotonic() + stream_timeout + 1, tp)  # type: ignore[attr-defined]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "Stream stopped processing, or is slow for TP(topic='sales', partition=4)" in errors[0]
