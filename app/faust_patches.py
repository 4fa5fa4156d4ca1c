"""Corrections to faust-streaming 0.15.3 that DataApp's exactly-once processing depends on.

Kept in one module, applied once by ``app.worker.build_worker``, each with the test that
shows why (``tests/integration/test_worker_exactly_once.py``).

Source offsets committed by the agent only (``commits_in_agent``): Faust commits the offsets
of acknowledged events at each rebalance and stop, and it acknowledges the events it skips
during a rebalance; ``agents/transactions.py`` says why that loses events and how the agent
commits instead. For an app registered here, Faust's consumer commits nothing.

Each commit of the agent is recorded as Faust's own commit would be (``agent_committed``),
with its time. Faust's livelock check (``verify_event_path`` of its aiokafka consumer thread,
every 2.5 x ``broker_commit_interval``) logs an ERROR for each partition with events waiting
whose last commit is older than ``broker_commit_livelock_soft_timeout`` (Faust's default
300 s; ``DATAAPP_COMMIT_LIVELOCK_SECONDS`` sets it): a commit it never hears of reads as a
livelock (``tests/integration/test_worker_log_clean.py``).

The start of a rebalance (``at_rebalance_start``): Faust's ``on_partitions_revoked`` signal
comes only after Faust has waited for the batch in hand; the live tables must hear earlier, to
let a batch waiting for a restore go (``tables/live.py``).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Mapping
from time import monotonic
from typing import Any

import faust
from faust.transport.consumer import Consumer
from faust.types import TP

LIVELOCK_TIMEOUT_VARIABLE = "DATAAPP_COMMIT_LIVELOCK_SECONDS"

_applied = False
_apps_committing_in_agent: weakref.WeakSet[faust.App] = weakref.WeakSet()
_faust_commit = Consumer.commit


async def _commit_unless_the_agent_does(self: Any, *args: Any, **kwargs: Any) -> bool:
    if self.app in _apps_committing_in_agent:
        return False
    return await _faust_commit(self, *args, **kwargs)


def commits_in_agent(app: faust.App) -> None:
    """Faust's consumer of ``app`` commits no offsets: its agent commits them all, and says so
    with ``agent_committed``.

    Faust's livelock check then counts from each partition's assignment (``_start_clocks``),
    and ``DATAAPP_COMMIT_LIVELOCK_SECONDS``, when set, is how long a partition with events
    waiting may go without a commit: set here, before the consumer exists, which reads it
    once."""
    _apps_committing_in_agent.add(app)
    timeout = livelock_timeout(os.environ.get(LIVELOCK_TIMEOUT_VARIABLE, ""))
    if timeout is not None:
        app.conf.broker_commit_livelock_soft_timeout = timeout
    owned: set[TP] = set()

    async def on_assigned(sender: faust.App, assigned: set[TP], **_: Any) -> None:
        taken = assigned - owned
        owned.clear()
        owned.update(assigned)
        _start_clocks(sender, taken, assigned)

    app.on_partitions_assigned.connect(on_assigned)


def livelock_timeout(text: str) -> float | None:
    """``DATAAPP_COMMIT_LIVELOCK_SECONDS``'s value: None when empty (Faust's default)."""
    if not text.strip():
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise ValueError(
            f"{LIVELOCK_TIMEOUT_VARIABLE} must be a positive number of seconds, not {text!r}"
        )
    return seconds


def agent_committed(app: faust.App, offsets: Mapping[TP, int]) -> None:
    """The agent of ``app`` has just committed ``offsets`` (next offset to read, per source
    partition) in a transaction: Faust records the commit as its own commit would
    (``Consumer._commit_offsets``, ``AIOKafkaConsumerThread._commit``). The committed offsets
    themselves the agent keeps in Faust's consumer (``agents/transactions.py``)."""
    consumer: Any = app.consumer
    app.monitor.on_tp_commit(offsets)
    # Faust's livelock check compares this time with its own ``monotonic()``. Only Faust's
    # commit without a transaction sets it: under exactly_once even Faust's own commits leave
    # it empty, and every partition with events waiting would read as never committed.
    now = monotonic()
    consumer._thread.tp_last_committed_at.update(dict.fromkeys(offsets, now))


def _start_clocks(app: faust.App, taken: set[TP], assigned: set[TP]) -> None:
    """The livelock check's clocks of a new assignment start now, not at worker start.

    Faust measures "no commit" from the last commit, else from worker start, and "no event"
    from the stream's last event, which it forgets at each rebalance, else from worker start.
    Its own table recovery held the check off (``app.rebalancing``); the live tables' restore
    (``tables/live.py``) does not, and holds the agent back: a partition taken over (or taken
    back) by a worker up longer than the timeouts would read, until its restore ends and its
    first batch commits, as never committed or never processed. From the assignment, it has
    the full timeouts, as at worker start; a partition still owned keeps its last commit."""
    now = monotonic()
    thread: Any = app.consumer._thread  # type: ignore[attr-defined]
    thread.tp_last_committed_at.update(dict.fromkeys(taken, now))
    inbound = app.monitor.stream_inbound_time
    for tp in assigned:
        inbound.setdefault(tp, now)


def apply() -> None:
    global _applied
    if not _applied:
        Consumer.commit = _commit_unless_the_agent_does  # type: ignore[method-assign]
        _applied = True


def at_rebalance_start(app: faust.App, callback: Callable[[], None]) -> None:
    """Call ``callback`` as a rebalance begins, synchronously, before anything waits."""
    start = app.on_rebalance_start

    def on_rebalance_start() -> None:
        start()
        callback()

    app.on_rebalance_start = on_rebalance_start  # type: ignore[method-assign]
