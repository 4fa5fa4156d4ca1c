"""Corrections to faust-streaming 0.15.3 that DataApp's exactly-once processing depends on.

Kept in one module, applied once by ``app.worker.build_worker``, each with the test that
shows why (``tests/integration/test_worker_exactly_once.py``).

Source offsets committed by the agent only (``commits_in_agent``): Faust commits the offsets
of acknowledged events at each rebalance and stop, and it acknowledges the events it skips
during a rebalance; ``agents/transactions.py`` says why that loses events and how the agent
commits instead. For an app registered here, Faust's consumer commits nothing.

The start of a rebalance (``at_rebalance_start``): Faust's ``on_partitions_revoked`` signal
comes only after Faust has waited for the batch in hand; the live tables must hear earlier, to
let a batch waiting for a restore go (``tables/live.py``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import faust
from faust.transport.consumer import Consumer

_applied = False
_apps_committing_in_agent: weakref.WeakSet[faust.App] = weakref.WeakSet()
_faust_commit = Consumer.commit


async def _commit_unless_the_agent_does(self: Any, *args: Any, **kwargs: Any) -> bool:
    if self.app in _apps_committing_in_agent:
        return False
    return await _faust_commit(self, *args, **kwargs)


def commits_in_agent(app: faust.App) -> None:
    """Faust's consumer of ``app`` commits no offsets: its agent commits them all."""
    _apps_committing_in_agent.add(app)


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
