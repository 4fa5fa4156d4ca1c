"""Reading partitions from their start to the end they have now, committed records only: how
the worker restores its tables from their changelogs (``tables/live.py``), and how the
benchmarks time a bare restore."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from app.ingest.kafka_sink import stop_consumer

FETCH_BYTES = 16 << 20


async def replay_to_end(
    bootstrap: str,
    partitions: Iterable[TopicPartition],
    handle: Callable[[TopicPartition, list[Any]], None],
    fetch_bytes: int = FETCH_BYTES,
) -> int:
    """Hand every committed record of ``partitions``, from the start to their last stable
    offset when called, to ``handle`` a fetch at a time (in offset order per partition);
    returns how many records.

    The end is the last stable offset: records of transactions still open then, and of those
    aborted, are not part of it. The position, not the last record seen, says a partition is
    done: a partition written in transactions ends on a commit marker, never delivered.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_partition_fetch_bytes=fetch_bytes,
        fetch_max_bytes=2 * fetch_bytes,
    )
    await consumer.start()
    try:
        wanted = list(partitions)
        consumer.assign(wanted)
        await consumer.seek_to_beginning(*wanted)
        ends = await consumer.end_offsets(wanted)
        remaining = {tp for tp in wanted if ends[tp] > 0}
        count = 0
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1_000)
            for tp, records in fetched.items():
                records = [record for record in records if record.offset < ends[tp]]
                count += len(records)
                handle(tp, records)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return count
    finally:
        await stop_consumer(consumer)
