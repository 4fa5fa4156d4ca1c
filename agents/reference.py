"""Following the reference topics (ref.stores, ref.sellers, ref.products) into the worker's
``ReferenceCatalogue``: the names the API shows instead of codes.

Every worker reads every reference topic whole, with a consumer of its own and no consumer
group: the topics are tiny and compacted, and any worker may be asked for any name, so there is
nothing to share out or forward. It reads them from the beginning at start and keeps following
them, so a name published later shows without a restart.

A message that is not a reference record changes nothing in the catalogue, and does not vanish:
it is logged with its topic, partition, offset and reason, counted in the worker's metrics
(``dataapp_reference_invalid_total``), and sent to ``sales.rejected`` as a dead letter whose id
is its position (``agents/decode.dead_letter``). Every worker, at every start, reads it again
and sends that same id; the history stores a dead letter once per id.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from agents.follower import CompactedTopicFollower, Letter
from app.metrics import WorkerMetrics
from app.reference import InvalidReference, Kind, ReferenceCatalogue
from app.topics import TopicSet

log = logging.getLogger(__name__)


class ReferenceFollower(CompactedTopicFollower):
    """Reads the reference topics of ``topics`` into ``catalogue``, from the beginning, and
    then follows them until stopped. ``loaded`` turns true once every partition has been read
    up to the end it had when the follower started (the worker is not ready before)."""

    logger = log
    task_name = "reference-follower"
    subject = "reference topics"
    record_name = "reference record"
    letters_name = "reference"

    def __init__(
        self,
        bootstrap: str,
        topics: TopicSet,
        catalogue: ReferenceCatalogue,
        metrics: WorkerMetrics,
        *,
        dead_letters: bool = True,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.catalogue = catalogue
        self.kinds: dict[str, Kind] = {
            topics.stores.name: "store",
            topics.sellers.name: "seller",
            topics.products.name: "product",
        }
        super().__init__(
            bootstrap,
            sorted(self.kinds),
            topics.sales_rejected.name,
            metrics,
            dead_letters=dead_letters,
            rng=rng,
            sleep=sleep,
        )

    # --- one message: pure but for the catalogue, the metrics and the log -------------------

    def handle(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> Letter | None:
        """Applies one message; returns the dead letter (key, value) to send when the message
        is not a reference record, else None. Never raises for what a message holds."""

        def apply() -> None:
            kind = self.kinds.get(topic)
            if kind is None:
                raise InvalidReference("unknown_topic", f"{topic!r} is not a reference topic")
            self.catalogue.apply(kind, key, value)

        return self._applied(apply, topic, partition, offset, key, value)

    def _apply(self, tp: TopicPartition, record: ConsumerRecord[Any, Any]) -> Letter | None:
        return self.handle(tp.topic, tp.partition, record.offset, record.key, record.value)

    # --- what the metrics show --------------------------------------------------------------

    def _on_loaded(self) -> None:
        self.metrics.reference_entries = dict(self.catalogue.counts())
        log.info("reference catalogue loaded: %s", self.catalogue.counts())

    def _on_fetched(self) -> None:
        self.metrics.reference_entries = dict(self.catalogue.counts())
