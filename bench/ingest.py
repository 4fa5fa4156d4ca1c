"""Ingestion throughput: CSV file to a real broker, against bare aiokafka producing the same
records in the same run.

    .venv/bin/python bench/ingest.py                 # generated data, ~230,000 lines
    .venv/bin/python bench/ingest.py --online-retail # the three months in ../shared/data

It starts its own broker (or uses DATAAPP_KAFKA_BOOTSTRAP) and prints, for the pipeline, lines
read per second end to end (read, validate, dedupe, group, serialize, produce, acknowledged),
then the rate at which bare aiokafka produces the very messages the pipeline produced (already
serialized, same producer settings), and the ratio of the two.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.generator.stream import write_history  # noqa: E402
from app.ingest.kafka_sink import KafkaSalesSink  # noqa: E402
from app.ingest.mapping import load_mapping  # noqa: E402
from app.ingest.normalize import FieldError  # noqa: E402
from app.ingest.pipeline import (  # noqa: E402
    IngestPipeline,
    group_into_sales,
    tune_gc_for_ingest,
)
from app.ingest.readers import expand_paths, read_rows  # noqa: E402
from app.kafka.admin import ensure_topics  # noqa: E402
from app.kafka.launcher import broker_down, broker_up, free_port  # noqa: E402
from app.settings import load_settings  # noqa: E402
from app.topics import topic_set  # noqa: E402
from tests.kafka_tools import read_topic  # noqa: E402

TARGET_LINES_PER_S = 100_000
TARGET_RATIO = 0.5


async def run_pipeline(bootstrap: str, paths: list[str], mapping: str, work: Path, prefix: str):
    topics = topic_set(prefix)
    sources = expand_paths(paths)
    sink = KafkaSalesSink(bootstrap, work / "ledger", topics)
    await sink.start()
    pipeline = IngestPipeline(load_mapping(mapping), sink, b"bench-key")
    started = time.perf_counter()
    summary = await pipeline.ingest(sources)
    elapsed = time.perf_counter() - started
    await sink.stop()
    return summary, elapsed


async def run_bare(
    bootstrap: str, values: list[tuple[bytes, bytes]], topic: str, batched: bool
) -> float:
    """Seconds for bare aiokafka to produce ``values`` and have them acknowledged: one
    ``send`` per message, or (``batched``) one record batch per partition and size limit."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=1 << 20,
    )
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        started = time.perf_counter()
        if not batched:
            futures = [await producer.send(topic, value, key=key) for key, value in values]
        else:
            partitioner = DefaultPartitioner()
            groups: dict[int, list[tuple[bytes, bytes]]] = {}
            for key, value in values:
                groups.setdefault(partitioner(key, partitions, partitions), []).append((key, value))
            futures = []
            for partition, group in groups.items():
                batch = producer.create_batch()
                for key, value in group:
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        futures.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        batch.append(key=key, value=value, timestamp=None)
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


def stage_rates(paths: list[str], mapping_name: str) -> dict[str, float]:
    """Lines per second of each in-process stage alone, to show where the time goes."""
    mapping = load_mapping(mapping_name)
    sources = expand_paths(paths)
    started = time.perf_counter()
    rows = [row for source in sources for row in read_rows(source, mapping.source)]
    rates = {"read": len(rows) / (time.perf_counter() - started)}
    parser = mapping.parser(b"bench-key")
    parsed = []
    started = time.perf_counter()
    for row in rows:
        if row.fields is not None:
            with contextlib.suppress(FieldError):  # rejections are counted by the pipeline run
                parsed.append(parser.parse(row.fields))
    rates["validate"] = len(rows) / (time.perf_counter() - started)
    started = time.perf_counter()
    sales = group_into_sales(parsed)
    rates["group"] = len(parsed) / (time.perf_counter() - started)
    started = time.perf_counter()
    for sale in sales:
        orjson.dumps(sale.to_dict())
    rates["serialize"] = len(parsed) / (time.perf_counter() - started)
    return rates


async def main_async(args: argparse.Namespace, bootstrap: str, work: Path) -> int:
    if args.online_retail:
        folder = REPO.parent / "shared" / "data" / "online-retail"
        if not folder.is_dir():
            print(f"skipped: {folder} is absent", file=sys.stderr)
            return 0
        paths, mapping = [str(folder)], "online-retail"
    else:
        csv_path = write_history(work / "generated", 5, 8, args.days, "2026-03-02", 4000)["sales"]
        paths, mapping = [str(csv_path)], "canonical"

    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    tune_gc_for_ingest()  # as `dataapp ingest` does
    summary, elapsed = await run_pipeline(bootstrap, paths, mapping, work, prefix)
    pipeline_rate = summary.read / elapsed

    sales = await read_topic(bootstrap, f"{prefix}sales")
    lines = sum(len(sale["lines"]) for sale in sales)
    if lines != summary.accepted:
        print(f"error: the topic holds {lines:,} lines, the pipeline accepted {summary.accepted:,}")
        return 1
    values = [(sale["store_id"].encode(), orjson.dumps(sale)) for sale in sales]
    bare_rates = {}
    for batched in (False, True):
        bare_topic = topic_set(f"{prefix}bare{int(batched)}.").sales
        await ensure_topics(bootstrap, [bare_topic])
        bare_rates[batched] = lines / await run_bare(bootstrap, values, bare_topic.name, batched)
    # The ceiling is the faster way bare aiokafka has of producing the same records.
    bare_rate = max(bare_rates.values())
    ratio = pipeline_rate / bare_rate

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input: {' '.join(paths)} (mapping {mapping})")
    print(
        f"pipeline : {summary.read:,} lines read in {elapsed:.2f} s = {pipeline_rate:,.0f} lines/s "
        f"({summary.accepted:,} accepted, {summary.duplicates:,} duplicates, "
        f"{summary.rejected:,} rejected; {summary.sales_messages:,} messages)"
    )
    print(
        f"bare     : {lines:,} lines in {len(values):,} pre-serialized messages, same producer "
        f"settings: send() per message {bare_rates[False]:,.0f} lines/s, record batches per "
        f"partition {bare_rates[True]:,.0f} lines/s"
    )
    print(f"ratio    : {ratio:.2f} of bare (target >= {TARGET_RATIO})")
    print(
        f"target   : {TARGET_LINES_PER_S:,} lines/s -> "
        f"{'met' if pipeline_rate >= TARGET_LINES_PER_S else 'NOT met'}; ratio -> "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}"
    )
    print(f"peak RSS of the bench process: {peak_rss_mb:,.0f} MB")
    stages = stage_rates(paths, mapping)
    print(
        "stages alone (lines/s): "
        + ", ".join(f"{name} {rate:,.0f}" for name, rate in stages.items())
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--online-retail", action="store_true", help="use ../shared/data")
    parser.add_argument("--days", type=int, default=25, help="days of generated sales")
    args = parser.parse_args()
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="dataapp-bench-") as folder:
        work = Path(folder)
        if settings.kafka_bootstrap:
            return asyncio.run(main_async(args, settings.kafka_bootstrap, work))
        status = broker_up(work / "kafka", settings.cache_dir, port=free_port())
        try:
            return asyncio.run(main_async(args, status.bootstrap or "", work))
        finally:
            broker_down(work / "kafka")


if __name__ == "__main__":
    sys.exit(main())
