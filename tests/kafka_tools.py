"""Reading topics back in tests: what is really on the broker, not what the code says it sent."""

from __future__ import annotations

import time

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.ingest.kafka_sink import stop_consumer
from app.kafka.admin import partitions_of


async def read_topic(bootstrap: str, topic: str) -> list[dict]:
    """Every message of ``topic`` from the beginning to its current end, decoded."""
    return [orjson.loads(value) for _, value in await read_records(bootstrap, topic)]


async def read_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """Every committed ``(key, value)`` of ``topic``, partition by partition, in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",  # what every DataApp reader sees
    )
    await consumer.start()
    try:
        known = await partitions_of(bootstrap, [topic])
        partitions = [TopicPartition(topic, p) for p in known.get(topic, ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[tuple[bytes, bytes]] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        deadline = time.monotonic() + 120
        while remaining:
            assert time.monotonic() < deadline, f"{topic}: could not read to the end"
            batches = await consumer.getmany(*remaining, timeout_ms=1_000)
            for records in batches.values():
                values.extend((record.key, record.value) for record in records)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return values
    finally:
        await stop_consumer(consumer)
