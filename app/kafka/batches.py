"""Producing many records to one partition as record batches: one ``send_batch`` per batch
instead of one ``send`` per record, which is where a producer's Python overhead goes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer


async def send_record_batches(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: Iterable[tuple[bytes | None, bytes | None]],
) -> list[tuple[asyncio.Future, int]]:
    """Hand ``records`` (key, value) to the producer; returns each batch's delivery future
    (its metadata holds the batch's first offset) with the number of records in it."""
    sent: list[tuple[asyncio.Future, int]] = []
    batch = producer.create_batch()
    count = 0
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            sent.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
            count = 0
        count += 1
    if count:
        sent.append((await producer.send_batch(batch, topic, partition=partition), count))
    return sent
