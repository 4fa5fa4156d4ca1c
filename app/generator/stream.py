"""The generator's outputs: files of history, a live stream into Kafka, and the demo's history.

All go through the same ingestion pipeline as any source (canonical mapping), so generated
bad rows are rejected and dead-lettered exactly like a real feed's.

The demo (``dataapp run``) publishes, on the first start against a broker, the last
``DEMO_HISTORY_DAYS`` days of the chain up to the moment its live stream starts, then keeps
streaming the same model at its own pace: per store and clock hour, as many orders as the
model expects (opening hours, weekdays, store sizes), so the live stream continues the
history rather than starting a different one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.generator.chain import Chain, build_chain
from app.generator.sales import GeneratedOrder, SalesGenerator, write_csv, write_reference_jsonl
from app.ingest.kafka_sink import KafkaSalesSink
from app.ingest.mapping import load_mapping
from app.ingest.pipeline import IngestPipeline, IngestSummary, SalesSink
from app.kafka.admin import cluster_id, ensure_topics
from app.reference import publish_reference
from app.settings import Settings

log = logging.getLogger(__name__)

TICK_S = 0.2
REPORT_EVERY_S = 10.0
# A paced stream brings a few orders a minute: a line a minute says enough.
PACED_REPORT_EVERY_S = 60.0
HISTORY_REPORT_EVERY_S = 5.0
# One origin for every trend curve, so that history files and a live stream continue the same
# curves (a generator would otherwise start them where its first window starts).
TREND_ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)

DEMO_HISTORY_DAYS = 90
# Chain-wide orders on an average day. At 2,500 the 8 stores take 150 to 550 orders a day
# (one every one to five minutes while the mall is open, twice that at the evening peak) for
# R$ 50,000 to R$ 170,000 a day each: more would make the revenue unbelievable (the model's
# average ticket is about R$ 340) and the first start slower. 90 days are about 218,000
# orders, 507,000 lines: published in 41-43 s on the 2-core development machine, and
# aggregated by the worker about two minutes after the banner.
DEMO_ORDERS_PER_DAY = 2_500
DEMO_HISTORY_FILE = "demo-history.json"


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


def whole_second(moment: datetime) -> datetime:
    """``moment`` truncated to the second: generated event times have second precision, so
    windows cut on whole seconds tile without a gap or an overlap."""
    return datetime.fromtimestamp(math.floor(moment.timestamp()), UTC)


# --- the demo's history --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    """The demo's history: which chain, which window, which volume, and whether it is done.

    Kept in the data dir before anything is published, so that an interrupted backfill is
    regenerated identically (same window, same draws, same ids) and the ingest ledger skips
    what already got through; ``completed`` is the marker that stops a second backfill.
    ``cluster`` is the broker and topic the history was published to: a new broker (or
    another topic prefix) has none of it, and gets its own.
    """

    seed: int
    stores: int
    orders_per_day: int
    start: datetime
    end: datetime
    cluster: str
    completed: bool = False

    @property
    def tag(self) -> str:
        """Order-id prefix of the history: a letter first, so it never equals a live run's
        tag (digits only), and the window's first second, so two plans never meet."""
        return f"D{self.start:%y%m%d%H%M%S}"

    @property
    def days(self) -> int:
        return math.ceil((self.end - self.start) / timedelta(days=1))

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> HistoryPlan:
        return cls(
            seed=int(data["seed"]),  # type: ignore[call-overload]
            stores=int(data["stores"]),  # type: ignore[call-overload]
            orders_per_day=int(data["orders_per_day"]),  # type: ignore[call-overload]
            start=datetime.fromisoformat(str(data["start"])),
            end=datetime.fromisoformat(str(data["end"])),
            cluster=str(data["cluster"]),
            completed=bool(data.get("completed", False)),
        )


def history_file(data_dir: Path) -> Path:
    return data_dir / DEMO_HISTORY_FILE


def load_history_plan(data_dir: Path) -> HistoryPlan | None:
    path = history_file(data_dir)
    try:
        return HistoryPlan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as error:
        # Written atomically, so only a hand edit breaks it; a fresh plan is the way out.
        log.warning("%s is unreadable (%s): planning the demo history again", path, error)
        return None


def save_history_plan(data_dir: Path, plan: HistoryPlan) -> None:
    """Write the plan atomically: a crash leaves the old file or the new one, never half."""
    path = history_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(plan.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def plan_history(
    data_dir: Path,
    cluster: str,
    seed: int,
    stores: int,
    orders_per_day: int,
    live_start: datetime,
    days: int = DEMO_HISTORY_DAYS,
) -> HistoryPlan | None:
    """The backfill to run now, or None when this broker already has the demo's history.

    A plan left unfinished by an earlier start is returned as it was (its window, not a new
    one ending now): regenerated identically, its orders already on the topics count as
    duplicates, and the rest is published. Otherwise a new plan covers exactly
    ``[live_start - days, live_start)``, and is saved before anything is published."""
    existing = load_history_plan(data_dir)
    if existing is not None and existing.cluster == cluster:
        if existing.completed:
            return None
        if existing.seed != seed or existing.stores != stores:
            print(
                f"note: finishing the history of seed {existing.seed} ({existing.stores} "
                f"stores) this data dir started; use another DATAAPP_DATA_DIR for seed {seed}",
                file=sys.stderr,
            )
        return existing
    end = whole_second(live_start)
    plan = HistoryPlan(seed, stores, orders_per_day, end - timedelta(days=days), end, cluster)
    save_history_plan(data_dir, plan)
    return plan


def history_days(plan: HistoryPlan, chain: Chain | None = None) -> Iterator[list[dict[str, str]]]:
    """The plan's orders as rows with the plan's ids, one list per day of the window.

    Deterministic: the same plan gives the same rows in the same lists, which is what makes a
    resumed backfill send only what is missing (line ids and dead-letter ids both depend on
    it). Days are counted from the window's start, so the last one may be short."""
    chain = chain or build_chain(plan.seed, stores=plan.stores)
    generator = SalesGenerator(chain, plan.seed, trend_origin=TREND_ORIGIN)
    tag = plan.tag
    day = 0
    rows: list[dict[str, str]] = []
    for order in generator.orders_between(plan.start, plan.end, plan.orders_per_day):
        index = (order.event_time - plan.start) // timedelta(days=1)
        while index > day:
            yield rows
            rows = []
            day += 1
        rows.extend({**row, "order_id": f"{tag}-{row['order_id']}"} for row in order.rows)
    while day < plan.days:
        yield rows
        rows = []
        day += 1


@dataclass(slots=True)
class HistoryProgress:
    days_done: int
    days: int
    orders: int
    summary: IngestSummary
    elapsed_s: float

    def line(self, rejected_to: str) -> str:
        return (
            f"history: day {self.days_done}/{self.days}, {self.orders:,} orders, "
            f"{self.summary.accepted:,} lines accepted"
            + (f", {self.summary.duplicates:,} already there" if self.summary.duplicates else "")
            + f", {_demo_faults(self.summary, rejected_to, reasons=False)}; "
            f"{self.elapsed_s:.0f} s"
        )


async def publish_history(
    plan: HistoryPlan,
    sink: SalesSink,
    pseudonym_key: bytes,
    on_day: Callable[[HistoryProgress], None] | None = None,
) -> IngestSummary:
    """Put the plan's orders through the ingestion pipeline into ``sink``, a day at a time."""
    pipeline = IngestPipeline(load_mapping("canonical"), sink, pseudonym_key)
    total = IngestSummary()
    orders = 0
    started = time.monotonic()
    for day, rows in enumerate(history_days(plan)):
        if rows:
            total.add(await pipeline.ingest_records(rows, f"demo-history-{plan.tag}-{day:03d}"))
            orders += len({row["order_id"] for row in rows})
        if on_day is not None:
            on_day(HistoryProgress(day + 1, plan.days, orders, total, time.monotonic() - started))
        # The live stream shares the event loop: let it run between two days.
        await asyncio.sleep(0)
    return total


async def backfill_history(bootstrap: str, settings: Settings, plan: HistoryPlan) -> None:
    """Publish the plan's history to Kafka with progress on stderr, then mark it completed."""
    rejected_to = settings.topics.sales_rejected.name
    last_report = 0.0

    def report(progress: HistoryProgress) -> None:
        nonlocal last_report
        if time.monotonic() - last_report >= HISTORY_REPORT_EVERY_S:
            last_report = time.monotonic()
            print(progress.line(rejected_to), file=sys.stderr, flush=True)

    started = time.monotonic()
    print(
        f"history: generating {plan.days} days of sales ({plan.start:%Y-%m-%d %H:%M} to "
        f"{plan.end:%Y-%m-%d %H:%M} UTC, {plan.orders_per_day:,} orders a day across "
        f"{plan.stores} stores) into the same topics as the live stream",
        file=sys.stderr,
        flush=True,
    )
    # Its own ledger (a ledger is locked by one ingest), so it runs beside the live stream.
    sink = KafkaSalesSink.from_settings(bootstrap, settings, settings.data_dir / "ingest-history")
    async with sink:
        total = await publish_history(plan, sink, settings.pseudonym_key(), report)
    save_history_plan(settings.data_dir, replace(plan, completed=True))
    elapsed = time.monotonic() - started
    print(
        f"history: {plan.days} days published in {elapsed:.0f} s: {total.accepted:,} lines "
        f"accepted"
        + (f", {total.duplicates:,} already there" if total.duplicates else "")
        + f", {_demo_faults(total, rejected_to)}. The worker aggregates them in the background: "
        "the dashboards' history fills in over the next minutes.",
        file=sys.stderr,
        flush=True,
    )


# --- live ----------------------------------------------------------------------------------


class LivePacer:
    """The model's own orders for consecutive stretches of wall-clock time.

    Each call to ``due`` draws the orders of ``[previous end, now)`` with the same model a
    backfill uses (per store and clock hour, Poisson around the expected count), so the
    stream has the model's volume, store mix and opening hours: a store that is closed and
    takes no online orders at that hour gets none. The first window starts at ``start``,
    which is where the history ends."""

    def __init__(self, generator: SalesGenerator, start: datetime, orders_per_day: int) -> None:
        self.generator = generator
        self.orders_per_day = orders_per_day
        self.next = whole_second(start)
        """The first moment not drawn yet."""

    def due(self, now: datetime) -> list[GeneratedOrder]:
        end = whole_second(now)
        if end <= self.next:
            return []
        orders = list(self.generator.orders_between(self.next, end, self.orders_per_day))
        self.next = end
        return orders


def live_generator(chain: Chain, seed: int, tag: str) -> SalesGenerator:
    """The live stream's generator: the chain and daily volumes of ``seed``, its own draws
    (a backfill of the same seed draws the same sequence, which the live stream must not
    repeat)."""
    return SalesGenerator(chain, seed, trend_origin=TREND_ORIGIN, draws=f"live-{tag}")


def describe_pace(generator: SalesGenerator, moment: datetime, orders_per_day: int) -> str:
    """What a paced stream sends at ``moment``, in words, for the banner."""
    per_minute = generator.expected_rate(moment, orders_per_day) * 60
    rates = generator.expected_store_rates(moment, orders_per_day)
    stores = len(rates)
    open_now = sum(generator.store_open(store_id, moment) for store_id in rates)
    online_only = sum(
        rate > 0 and not generator.store_open(store_id, moment) for store_id, rate in rates.items()
    )
    hours = "following opening hours (malls 10h-22h, Sundays 14h-20h; online 7h-24h local)"
    if per_minute <= 0:
        return f"no orders right now: all {stores} stores are closed at this hour, {hours}"
    states = [f"{open_now} open"]
    if online_only:
        states.append(f"{online_only} online only")
    if stores - open_now - online_only:
        states.append(f"{stores - open_now - online_only} closed")
    amount = f"{per_minute:.1f}" if per_minute < 10 else f"{per_minute:.0f}"
    return (
        f"about {amount} orders a minute across {stores} stores now ({', '.join(states)}), "
        f"{hours}; {orders_per_day:,} a day on average"
    )


@dataclass(frozen=True, slots=True)
class DemoStart:
    """What ``prepare_demo`` found: the history to publish (None if already there), where the
    live stream starts, and at what volume."""

    history: HistoryPlan | None
    live_start: datetime
    orders_per_day: int
    pace: str
    """The live stream in words, for the banner."""
    existing: HistoryPlan | None = None
    """The completed history, when there is one."""
    resumed: bool = False
    """``history`` is one an earlier start began and did not finish."""


async def prepare_demo(
    bootstrap: str,
    settings: Settings,
    seed: int,
    stores: int,
    orders_per_day: int | None,
    history_days_wanted: int = DEMO_HISTORY_DAYS,
    rate: float | None = None,
) -> DemoStart:
    """Topics, reference data, and the plan: what ``dataapp run`` does before its banner.

    ``orders_per_day`` None means the volume of this data dir's history (the live stream
    continues it), else ``DEMO_ORDERS_PER_DAY``."""
    chain = build_chain(seed, stores=stores)
    topics = settings.topics
    await ensure_topics(
        bootstrap, topics.all, settings.kafka_timeout_ms, settings.kafka_replication
    )
    await publish_reference(bootstrap, topics, chain.stores, chain.sellers, chain.products)
    cluster = f"{await cluster_id(bootstrap, settings.kafka_timeout_ms)}/{topics.sales.name}"
    existing = load_history_plan(settings.data_dir)
    if existing is not None and existing.cluster != cluster:
        existing = None
    volume = orders_per_day or (existing.orders_per_day if existing else DEMO_ORDERS_PER_DAY)
    live_start = whole_second(datetime.now(UTC))
    history = None
    if history_days_wanted > 0:
        history = plan_history(
            settings.data_dir, cluster, seed, stores, volume, live_start, history_days_wanted
        )
    if rate:
        pace = f"{rate:g} orders/s (a fixed benchmark rate, not the model's pace)"
    else:
        generator = live_generator(chain, seed, live_run_tag(live_start))
        pace = describe_pace(generator, live_start, volume)
    done = existing if existing is not None and existing.completed else None
    resumed = history is not None and history == existing
    return DemoStart(history, live_start, volume, pace, done, resumed)


async def run_demo(
    bootstrap: str,
    settings: Settings,
    seed: int,
    stores: int,
    start: DemoStart,
    rate: float | None = None,
) -> int:
    """The history's backfill (if any) beside the live stream, until cancelled."""
    backfill = None
    if start.history is not None:
        backfill = asyncio.create_task(backfill_history(bootstrap, settings, start.history))
        backfill.add_done_callback(_report_backfill_failure)
    try:
        return await _stream(
            bootstrap, settings, seed, stores, rate, None, start.orders_per_day, start.live_start
        )
    finally:
        if backfill is not None and not backfill.done():
            backfill.cancel()
            # Let it close its producer and ledger before the loop goes away.
            await asyncio.wait([backfill])
            print(
                "history: interrupted; the next start resumes it without counting anything twice",
                file=sys.stderr,
            )


def _report_backfill_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    print(
        f"history: failed ({task.exception()}); the live stream goes on, and the next start "
        "resumes the history without counting anything twice",
        file=sys.stderr,
        flush=True,
    )


async def stream_live(
    bootstrap: str,
    settings: Settings,
    seed: int,
    stores: int,
    rate: float | None,
    duration: float | None,
    orders_per_day: int = DEMO_ORDERS_PER_DAY,
) -> int:
    """Publish the chain's reference data, then live orders stamped now: ``rate`` per second
    when given (benchmarks), else at the model's own pace for ``orders_per_day``."""
    chain = build_chain(seed, stores=stores)
    topics = settings.topics
    await ensure_topics(
        bootstrap, topics.all, settings.kafka_timeout_ms, settings.kafka_replication
    )
    await publish_reference(bootstrap, topics, chain.stores, chain.sellers, chain.products)
    return await _stream(
        bootstrap, settings, seed, stores, rate, duration, orders_per_day, datetime.now(UTC)
    )


async def _stream(
    bootstrap: str,
    settings: Settings,
    seed: int,
    stores: int,
    rate: float | None,
    duration: float | None,
    orders_per_day: int,
    start: datetime,
) -> int:
    chain = build_chain(seed, stores=stores)
    tag = live_run_tag(start)
    generator = live_generator(chain, seed, tag)
    pacer = None if rate else LivePacer(generator, start, orders_per_day)
    report_every = REPORT_EVERY_S if rate else PACED_REPORT_EVERY_S
    rejected_to = settings.topics.sales_rejected.name
    total = IngestSummary()
    # A ledger of its own, so that `dataapp ingest` can run beside a live generator.
    sink = KafkaSalesSink.from_settings(bootstrap, settings, settings.data_dir / "ingest-generator")
    async with sink:
        pipeline = IngestPipeline(load_mapping("canonical"), sink, settings.pseudonym_key())
        started = last_report = time.monotonic()
        sent = 0
        try:
            while duration is None or time.monotonic() - started < duration:
                if pacer is not None:
                    orders = pacer.due(datetime.now(UTC))
                else:
                    due = int((time.monotonic() - started) * (rate or 0.0)) - sent
                    now = datetime.now(UTC)
                    orders = [generator.order_at(now) for _ in range(max(due, 0))]
                if orders:
                    rows = [
                        {**row, "order_id": f"{tag}-{row['order_id']}"}
                        for order in orders
                        for row in order.rows
                    ]
                    total.add(await pipeline.ingest_records(rows, f"generator-{tag}-{sent}"))
                    sent += len(orders)
                if time.monotonic() - last_report >= report_every:
                    last_report = time.monotonic()
                    print(live_progress(sent, total, rejected_to), file=sys.stderr, flush=True)
                await asyncio.sleep(TICK_S)
        finally:
            # Also on Ctrl-C: the run's totals are its last word.
            print(live_progress(sent, total, rejected_to), file=sys.stderr, flush=True)
    return 0


def _demo_faults(summary: IngestSummary, rejected_to: str, reasons: bool = True) -> str:
    """The rejected lines in words: the generator breaks a few on purpose (about 1 in 500) so
    that the dead-letter path always has something to show, and a reader must not take them
    for a bug."""
    if not summary.rejected:
        return "none rejected"
    words = (
        f"{summary.rejected:,} rejected on purpose (deliberate demo faults, sent to '{rejected_to}'"
    )
    if not reasons:
        return words + ")"
    by_reason = ", ".join(
        f"{reason} {count}" for reason, count in summary.rejected_by_reason.most_common()
    )
    return f"{words}: {by_reason})"


def live_progress(orders: int, total: IngestSummary, rejected_to: str) -> str:
    return (
        f"live: {orders:,} orders, {total.accepted:,} lines accepted, "
        f"{_demo_faults(total, rejected_to)}"
    )
