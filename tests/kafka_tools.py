"""Reading topics back in tests: what is really on the broker, not what the code says it sent."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import TopicPartition

from app.kafka.admin import partitions_of
from app.kafka.replay import replay_to_end


async def read_topic(bootstrap: str, topic: str) -> list[dict]:
    """Every message of ``topic`` from the beginning to its current end, decoded."""
    return [orjson.loads(value) for _, value in await read_records(bootstrap, topic)]


async def read_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """Every committed ``(key, value)`` of ``topic``, partition by partition, in order (as
    the worker's restore reads its changelogs: ``app.kafka.replay``)."""
    known = await partitions_of(bootstrap, [topic])
    values: list[tuple[bytes, bytes]] = []

    def keep(_: TopicPartition, records: list[Any]) -> None:
        values.extend((record.key, record.value) for record in records)

    partitions = [TopicPartition(topic, p) for p in known.get(topic, ())]
    await asyncio.wait_for(replay_to_end(bootstrap, partitions, keep), timeout=120)
    return values
