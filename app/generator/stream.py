"""The generator's two outputs: files of history, and a live stream into Kafka.

Both go through the same ingestion pipeline as any source (canonical mapping), so generated
bad rows are rejected and dead-lettered exactly like a real feed's.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.generator.chain import build_chain
from app.generator.sales import SalesGenerator, write_csv, write_reference_jsonl
from app.ingest.kafka_sink import KafkaSalesSink
from app.ingest.mapping import load_mapping
from app.ingest.pipeline import IngestPipeline, IngestSummary
from app.kafka.admin import ensure_topics
from app.reference import publish_reference
from app.settings import Settings

log = logging.getLogger(__name__)

TICK_S = 0.2
REPORT_EVERY_S = 10.0
# One origin for every trend curve, so that history files and a live stream continue the same
# curves (a generator would otherwise start them where its first window starts).
TREND_ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)


def write_history(
    out_dir: Path,
    seed: int,
    stores: int,
    days: int,
    start: str | None,
    orders_per_day: int,
) -> dict[str, Path]:
    """Reference data as JSON Lines and ``days`` of sales as one canonical CSV.

    The same seed, start and days give the same files. Order ids carry the window's first day,
    because two windows draw different orders even where their days overlap: their ids must
    not meet, or ingesting both would merge unrelated orders."""
    chain = build_chain(seed, stores=stores)
    first_day = date.fromisoformat(start) if start else datetime.now(UTC).date() - timedelta(days)
    begin = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    generator = SalesGenerator(chain, seed, trend_origin=TREND_ORIGIN)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = write_reference_jsonl(chain, out_dir)
    sales_path = out_dir / "sales.csv"
    orders = generator.orders_between(begin, begin + timedelta(days=days), orders_per_day)
    tag = f"H{first_day:%Y%m%d}"
    rows = (
        {**row, "order_id": f"{tag}-{row['order_id']}"} for order in orders for row in order.rows
    )
    write_csv(rows, sales_path)
    written["sales"] = sales_path
    return written


def live_run_tag(started: datetime) -> str:
    """Orders of every live run get distinct ids, even with the same seed."""
    return started.strftime("%y%m%d%H%M%S")


async def stream_live(
    bootstrap: str,
    settings: Settings,
    seed: int,
    stores: int,
    rate: float,
    duration: float | None,
) -> int:
    """Publish the chain's reference data, then orders at ``rate`` per second, stamped now."""
    chain = build_chain(seed, stores=stores)
    topics = settings.topics
    await ensure_topics(
        bootstrap, topics.all, settings.kafka_timeout_ms, settings.kafka_replication
    )
    await publish_reference(bootstrap, topics, chain.stores, chain.sellers, chain.products)
    generator = SalesGenerator(chain, seed, trend_origin=TREND_ORIGIN)
    tag = live_run_tag(datetime.now(UTC))
    total = IngestSummary()
    # A ledger of its own, so that `dataapp ingest` can run beside a live generator.
    sink = KafkaSalesSink.from_settings(bootstrap, settings, settings.data_dir / "ingest-generator")
    async with sink:
        pipeline = IngestPipeline(load_mapping("canonical"), sink, settings.pseudonym_key())
        started = last_report = time.monotonic()
        sent = 0
        while duration is None or time.monotonic() - started < duration:
            due = int((time.monotonic() - started) * rate) - sent
            if due > 0:
                summary = await _publish_orders(pipeline, generator, tag, sent, due)
                sent += due
                total.add(summary)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                last_report = time.monotonic()
                print(_progress(sent, total), file=sys.stderr, flush=True)
            await asyncio.sleep(TICK_S)
    print(_progress(sent, total), file=sys.stderr, flush=True)
    return 0


async def _publish_orders(
    pipeline: IngestPipeline, generator: SalesGenerator, tag: str, first: int, count: int
) -> IngestSummary:
    now = datetime.now(UTC)
    rows = [
        {**row, "order_id": f"{tag}-{row['order_id']}"}
        for _ in range(count)
        for row in generator.order_at(now).rows
    ]
    return await pipeline.ingest_records(rows, f"generator-{tag}-{first}")


def _progress(orders: int, total: IngestSummary) -> str:
    return (
        f"generator: {orders:,} orders, {total.accepted:,} lines accepted, "
        f"{total.rejected:,} rejected {dict(total.rejected_by_reason)}"
    )
