"""The worker: one Faust app with the aggregation agent, the live tables, the ClickHouse
history sink, the reference catalogue, the commission plans and the lookup API, configured from
the environment.

``dataapp worker`` runs it; so does ``faust -A app.worker worker`` (importing this module
builds the app from the environment, as Faust expects).

Data flow inside one worker::

    sales ──► agents/aggregate.py ──► tables/live.py (RocksDB + changelogs)  ──► app/api
      │          └─ dead letters ──► sales.rejected                               ▲ ▲
      └──────► agents/clickhouse_sink.py ──► app/history (ClickHouse) ────────────┘ │
    ref.stores, ref.sellers, ref.products ──► agents/reference.py ──► catalogue ────┤
                                                 └─ dead letters ──► sales.rejected │
    ref.plans ◄──► agents/plans.py (follows; saves the owned stores' plans) ─────────┘
                     └─ dead letters ──► sales.rejected
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

import faust
from mode import Service

from agents.aggregate import BATCH_EVENTS, BATCH_WITHIN_SECONDS, SalesAggregator
from agents.clickhouse_sink import HistorySink
from agents.plans import PlanFollower, PlanStore
from agents.reference import ReferenceFollower
from app import faust_patches
from app.api.auth import UserStore
from app.api.cross_sell import CrossSell
from app.api.lookups import Lookups
from app.api.projections import ProjectionService
from app.api.routes import MAX_BODY_BYTES, ApiContext, register
from app.api.trending import TrendingService
from app.history.store import HistoryStore
from app.metrics import WorkerMetrics
from app.pay.catalogue import PlanCatalogue
from app.reference import ReferenceCatalogue
from app.settings import Settings, load_settings
from tables.live import LiveTables

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: faust.App
    settings: Settings
    tables: LiveTables
    aggregator: SalesAggregator
    history: HistoryStore
    sink: HistorySink
    context: ApiContext
    reference: ReferenceFollower
    plans: PlanStore


def app_id(settings: Settings) -> str:
    return f"{settings.topic_prefix}dataapp-worker"


def build_worker(
    settings: Settings,
    bootstrap: str,
    web_host: str = "127.0.0.1",
    advertised_host: str | None = None,
) -> Worker:
    """Everything wired, nothing started (``app.main()`` or a ``faust.Worker`` starts it).

    The API listens on ``web_host``; the group learns this worker's address as
    ``advertised_host`` (default: the same), which is what other workers forward requests to:
    a worker in a container listens on 0.0.0.0 but is reached by its service name."""
    from app.kafka.admin import ensure_topics

    faust_patches.apply()
    topics = settings.topics
    partitions = topics.sales.partitions
    app = faust.App(
        app_id(settings),
        broker=f"kafka://{bootstrap}",
        datadir=str(settings.worker_dir),
        processing_guarantee="exactly_once",
        consumer_auto_offset_reset="earliest",
        topic_partitions=partitions,
        topic_replication_factor=settings.kafka_replication,
        topic_disable_leader=True,
        web_port=settings.web_port,
        web_bind=web_host,
        web_host=advertised_host or web_host,
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_application_options={"client_max_size": MAX_BODY_BYTES},
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        stream_buffer_maxsize=BATCH_EVENTS * 2,
        consumer_max_fetch_size=16 * 1024**2,
        # A batch's changelog goes to each partition in record batches, one round trip
        # each: 512 KiB instead of Faust's 16 KiB (docs/benchmarks.md, the commit step),
        # under the broker's 1 MiB message limit.
        producer_max_batch_size=512 * 1024,
    )
    faust_patches.commits_in_agent(app)
    tables = LiveTables(
        settings.worker_dir / "tables", f"{app_id(settings)}-", partitions, bootstrap
    )

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: faust.App, assigned: set[Any], **_: Any) -> None:
        tables.on_assigned(
            {tp.partition for tp in assigned if tp.topic == topics.sales.name},
            sender.consumer_generation_id,
        )

    faust_patches.at_rebalance_start(app, tables.on_revoked)

    def restore_failed(error: BaseException) -> None:
        logging.shutdown()
        os._exit(70)

    tables.on_restore_failure = restore_failed

    # The topics must exist before the worker starts: Faust subscribes to them at start.
    asyncio.run(
        ensure_topics(
            bootstrap,
            (*topics.all, *tables.changelog_specs()),
            replication_factor=settings.kafka_replication,
        )
    )
    metrics = WorkerMetrics()
    aggregator = SalesAggregator(
        app, tables, topics.sales.name, topics.sales_rejected.name, metrics, settings.basket_days
    )
    sales_topic = app.topic(
        topics.sales.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,
    )

    async def aggregate(stream: Any) -> None:
        async for events in stream.take_events(BATCH_EVENTS, within=BATCH_WITHIN_SECONDS):
            # Faust acknowledges a batch even when its processing raised or was cancelled,
            # and its shutdown would then commit the open transaction: half a batch's records
            # with all of its offsets, a lost batch. Leaving at once instead aborts that
            # transaction; the next start rebuilds the tables and redoes the batch whole.
            try:
                await aggregator.process(events)
            except asyncio.CancelledError:
                log.warning("stopped in the middle of a batch; the next start redoes it")
                logging.shutdown()
                os._exit(0)
            except Exception:
                log.critical("aggregation failed; stopping the worker", exc_info=True)
                logging.shutdown()
                os._exit(70)

    app.agent(sales_topic, name="aggregate")(aggregate)

    # Connects (and migrates) in the background: a ClickHouse that is down or slow at start
    # must not keep aggregation from running; the sink waits and catches up.
    history = HistoryStore.connect_in_background(settings.clickhouse_dsn, settings.retention_days)
    sink = HistorySink(bootstrap, topics, history, group_id=f"{app_id(settings)}-history")

    class HistorySinkService(Service):
        async def on_start(self) -> None:
            await sink.start()

        async def on_stop(self) -> None:
            await sink.stop()

    app.service(HistorySinkService)

    # Names for the API: every worker reads every reference topic whole (they are tiny), so
    # any worker can name any store, seller or product without asking another.
    catalogue = ReferenceCatalogue()
    reference = ReferenceFollower(bootstrap, topics, catalogue, metrics)

    class ReferenceService(Service):
        async def on_start(self) -> None:
            await reference.start()

        async def on_stop(self) -> None:
            await reference.stop()

    app.service(ReferenceService)

    # Commission plans: every worker follows the whole topic (a few records per store), so any
    # worker can answer for any store; the owner of a store saves its new versions.
    plan_catalogue = PlanCatalogue()
    plan_follower = PlanFollower(bootstrap, topics, plan_catalogue, metrics)
    plans = PlanStore(
        bootstrap, topics, plan_catalogue, plan_follower, timeout_s=settings.kafka_timeout_ms / 1000
    )

    class PlanService(Service):
        async def on_start(self) -> None:
            await plan_follower.start()

        async def on_stop(self) -> None:
            await plan_follower.stop()

    app.service(PlanService)

    ingest_pipeline: list[Any] = []
    ingest_lock = asyncio.Lock()

    async def ingest(records: list[Any], source_name: str) -> Any:
        """The API's ingestion: one pipeline with a ledger of its own, started on first use,
        and one request at a time (its producer runs one transaction after another)."""
        async with ingest_lock:
            if not ingest_pipeline:
                from app.ingest.kafka_sink import KafkaSalesSink
                from app.ingest.mapping import load_mapping
                from app.ingest.pipeline import IngestPipeline

                kafka_sink = KafkaSalesSink.from_settings(
                    bootstrap, settings, settings.data_dir / "ingest-api"
                )
                await kafka_sink.start()
                ingest_pipeline.append(
                    IngestPipeline(load_mapping("canonical"), kafka_sink, settings.pseudonym_key())
                )
            return await ingest_pipeline[0].ingest_records(records, source_name)

    def ready() -> dict[str, bool]:
        return {
            "tables_recovered": tables.restored and not app.rebalancing,
            "history_connected": history.connected,
            "history_sink_healthy": sink.health().healthy,
            # Read to the end it had at start: a ready worker shows names, not codes.
            "reference_loaded": reference.loaded,
            # Read to the end it had at start: pay is never computed from a plan overtaken.
            "plans_loaded": plan_follower.loaded,
        }

    def consumer_lag() -> dict[str, dict[int, int]]:
        lag: dict[str, dict[int, int]] = {}
        consumer = app.consumer
        for tp in consumer.assignment():
            if tp.topic != topics.sales.name:
                continue
            highwater = consumer.highwater(tp)
            position = consumer._read_offset.get(tp)  # type: ignore[attr-defined]
            if highwater is not None:
                done = (position + 1) if position is not None else 0
                lag.setdefault(tp.topic, {})[tp.partition] = max(highwater - done, 0)
        return lag

    lookups = Lookups(tables, history, aggregator.product_names, catalogue)
    context = ApiContext(
        app=app,
        settings=settings,
        users=UserStore(settings.users_file),
        lookups=lookups,
        aggregator=aggregator,
        metrics=metrics,
        history=history,
        sink=sink,
        ingest=ingest,
        ready=ready,
        consumer_lag=consumer_lag,
        token_key=settings.token_key(),
        plans=plans,
        projections=ProjectionService(lookups, settings.retention_days),
        cross_sell=CrossSell(
            tables,
            settings.basket_days,
            lambda sku: catalogue.product_name(sku) or aggregator.product_names.get(sku),
        ),
        trending=TrendingService(
            lookups,
            lambda sku: catalogue.product_name(sku) or aggregator.product_names.get(sku),
        ),
    )
    register(app, context)
    return Worker(app, settings, tables, aggregator, history, sink, context, reference, plans)


def _from_environment() -> faust.App:
    from app.cli import bootstrap_of

    settings = load_settings()
    return build_worker(settings, bootstrap_of(settings)).app


def __getattr__(name: str) -> Any:
    # ``faust -A app.worker`` looks up ``app``; building it on first access keeps a plain
    # import of this module (tests, ``dataapp worker``) free of side effects.
    if name == "app":
        value = _from_environment()
        globals()["app"] = value
        return value
    raise AttributeError(name)
