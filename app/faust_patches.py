"""Corrections to faust-streaming 0.15.3 that DataApp's exactly-once processing depends on.

Kept in one module, applied once by ``app.worker.build_worker``, each with the test that
shows why (``tests/integration/test_worker_exactly_once.py``).

Changelog highwaters under ``exactly_once``: to know how far to restore a table, Faust asks
its consumer for the last stable offset of each changelog partition. aiokafka only knows that
offset for partitions it has already fetched from, which at start is none: Faust then takes
every changelog as empty, restores nothing, and the agent adds new sales to empty tables.
Asking the broker (``end_offsets``, which under ``read_committed`` is the last stable
offset) gives the real figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

_applied = False


async def _highwaters_from_broker(self: Any, partitions: list[TP]) -> Mapping[TP, int]:
    return await self._ensure_consumer().end_offsets(partitions)


def apply() -> None:
    global _applied
    if not _applied:
        AIOKafkaConsumerThread._highwaters = _highwaters_from_broker  # type: ignore[method-assign]
        _applied = True
