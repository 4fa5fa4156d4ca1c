"""The demo's history and live pace (``dataapp run``): the backfill covers exactly the days
before the live stream, its ids never meet the live ones, it runs once per broker and resumes
safely, and the live stream draws what the model expects per store and hour."""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.generator import Chain, GeneratedOrder, SalesGenerator, build_chain
from app.generator.stream import (
    DEMO_HISTORY_DAYS,
    TREND_ORIGIN,
    HistoryProgress,
    LivePacer,
    describe_pace,
    history_days,
    history_file,
    live_generator,
    live_progress,
    live_run_tag,
    load_history_plan,
    plan_history,
    publish_history,
    save_history_plan,
)
from app.ingest.memory import MemorySink
from app.ingest.pipeline import IngestSummary

SEED = 7
KEY = b"k" * 32
# A Saturday evening: 18:30 in Brasília's zone, 17:30 in Campo Grande, 16:30 in Rio Branco,
# so every store of the chain is open.
SATURDAY_EVENING = datetime(2026, 11, 28, 21, 30, 15, 500_000, tzinfo=UTC)
# Wednesday 07:00 UTC: 02:00 to 04:00 across Brazil, no store open and no online orders.
NIGHT = datetime(2026, 11, 25, 7, tzinfo=UTC)
# Wednesday 11:00 UTC: 08:00 in Brasília's zone and 07:00 in Campo Grande (online orders
# only), 06:00 in Rio Branco (nothing at all).
EARLY_MORNING = datetime(2026, 11, 25, 11, tzinfo=UTC)


@pytest.fixture(scope="module")
def chain() -> Chain:
    return build_chain(SEED)


def event_time(row: dict[str, str]) -> datetime | None:
    """The row's moment, None for the deliberately unparseable dates (31/02, 30 February)."""
    try:
        return datetime.fromisoformat(row["event_time"]).astimezone(UTC)
    except ValueError:
        return None


def paced(
    pacer: LivePacer, start: datetime, end: datetime, tick_s: float, jitter: bool = False
) -> list[GeneratedOrder]:
    """Call the pacer as the live loop does, every ``tick_s`` (or irregularly) until ``end``."""
    draw = random.Random(3)
    orders: list[GeneratedOrder] = []
    moment = start
    while moment < end:
        moment = min(moment + timedelta(seconds=tick_s * (draw.random() * 2 if jitter else 1)), end)
        orders.extend(pacer.due(moment))
    return orders


# --------------------------------------------------------------------- live pace


def test_live_orders_per_store_hour_follow_the_models_expected_rate(chain: Chain) -> None:
    orders_per_day = 20_000  # high enough for Poisson noise to be small beside the counts
    generator = live_generator(chain, SEED, "test")
    start = SATURDAY_EVENING.replace(minute=0, second=0, microsecond=0)
    hours = 3
    pacer = LivePacer(generator, start, orders_per_day)
    orders = paced(pacer, start, start + timedelta(hours=hours), tick_s=7, jitter=True)

    counts = Counter(
        (o.rows[0]["store_id"], (o.event_time - start) // timedelta(hours=1)) for o in orders
    )
    compared = 0
    for hour in range(hours):
        expected = generator.expected_store_rates(start + timedelta(hours=hour), orders_per_day)
        assert len(expected) == 8
        for store_id, rate in expected.items():
            assert rate > 20  # every store is open on a Saturday evening
            # Poisson: the standard deviation is the square root of the mean.
            assert abs(counts[(store_id, hour)] - rate) < 5 * math.sqrt(rate), (store_id, hour)
            compared += 1
    assert compared == 8 * hours
    # The chain-wide figure the banner shows is the same model.
    chain_rate = generator.expected_rate(start, orders_per_day) * 3600
    assert chain_rate == pytest.approx(sum(generator.expected_store_rates(start, 20_000).values()))
    # Windows tile: nothing before the start, nothing drawn twice, nothing past the last call.
    times = [o.event_time for o in orders]
    assert times == sorted(times)
    assert start <= times[0] and times[-1] < start + timedelta(hours=hours)
    assert pacer.next == start + timedelta(hours=hours)
    ids = [o.rows[0]["order_id"] for o in orders]
    assert len(ids) == len(set(ids))


def test_a_closed_store_gets_no_live_orders_or_only_online_ones(chain: Chain) -> None:
    generator = live_generator(chain, SEED, "test")
    orders_per_day = 20_000

    night = generator.expected_store_rates(NIGHT, orders_per_day)
    assert set(night.values()) == {0.0}
    pacer = LivePacer(generator, NIGHT, orders_per_day)
    assert paced(pacer, NIGHT, NIGHT + timedelta(hours=1), tick_s=5) == []
    assert describe_pace(generator, NIGHT, orders_per_day).startswith("no orders right now")

    morning = generator.expected_store_rates(EARLY_MORNING, orders_per_day)
    silent = {store for store, rate in morning.items() if rate == 0.0}
    online_only = {store for store, rate in morning.items() if rate > 0.0}
    assert silent == {"ac-centro-01"}  # 06:00 in Rio Branco
    assert len(online_only) == 7
    assert not any(generator.store_open(store, EARLY_MORNING) for store in morning)
    pacer = LivePacer(generator, EARLY_MORNING, orders_per_day)
    orders = paced(pacer, EARLY_MORNING, EARLY_MORNING + timedelta(hours=1), tick_s=5)
    assert len(orders) > 20
    assert {o.rows[0]["store_id"] for o in orders} <= online_only
    assert {row["channel"] for o in orders for row in o.rows} <= {"online", "whatsapp"}
    # Returns are brought to a counter, so none while every counter is closed.
    assert not any(o.is_return for o in orders)


def test_the_banner_states_the_pace_of_the_model(chain: Chain) -> None:
    generator = live_generator(chain, SEED, "test")
    words = describe_pace(generator, SATURDAY_EVENING, 2_500)
    per_minute = generator.expected_rate(SATURDAY_EVENING, 2_500) * 60
    assert words.startswith(f"about {per_minute:.1f} orders a minute across 8 stores now")
    assert "(8 open)" in words and "opening hours" in words and "2,500 a day" in words
    morning = describe_pace(generator, EARLY_MORNING, 2_500)
    assert "(0 open, 7 online only, 1 closed)" in morning


def test_live_draws_differ_from_a_backfill_of_the_same_seed(chain: Chain) -> None:
    """Same volumes (the live stream continues the history), different orders."""
    window = (SATURDAY_EVENING, SATURDAY_EVENING + timedelta(minutes=30))
    history = SalesGenerator(chain, SEED, trend_origin=TREND_ORIGIN)
    live = live_generator(chain, SEED, live_run_tag(SATURDAY_EVENING))
    assert history.expected_store_rates(SATURDAY_EVENING) == live.expected_store_rates(
        SATURDAY_EVENING
    )
    first = [o.rows for o in history.orders_between(*window, 2_500)]
    second = [o.rows for o in live.orders_between(*window, 2_500)]
    assert first and second and first != second


# --------------------------------------------------------------------- the history


def test_history_covers_exactly_the_90_days_before_live_and_ids_never_meet(
    chain: Chain, tmp_path: Path
) -> None:
    live_start = SATURDAY_EVENING
    plan = plan_history(tmp_path, "cluster/sales", SEED, 8, 200, live_start)
    assert plan is not None
    end = live_start.replace(microsecond=0)
    assert (plan.start, plan.end) == (end - timedelta(days=DEMO_HISTORY_DAYS), end)
    assert plan.days == DEMO_HISTORY_DAYS == 90

    days = list(history_days(plan, chain))
    assert len(days) == 90
    rows = [row for day in days for row in day]
    # The same orders as one uninterrupted window of the model, only with the plan's ids.
    reference = SalesGenerator(chain, SEED, trend_origin=TREND_ORIGIN)
    expected = [
        {**row, "order_id": f"{plan.tag}-{row['order_id']}"}
        for order in reference.orders_between(plan.start, plan.end, 200)
        for row in order.rows
    ]
    assert rows == expected
    for index, day in enumerate(days):
        day_start = plan.start + timedelta(days=index)
        moments = [t for t in map(event_time, day) if t is not None]
        assert all(day_start <= t < day_start + timedelta(days=1) for t in moments)
    times = [t for t in map(event_time, rows) if t is not None]
    assert len(times) > 0.99 * len(rows)
    assert plan.start <= min(times) < plan.start + timedelta(hours=1)
    assert plan.end - timedelta(hours=1) <= max(times) < plan.end
    # About 200 orders a day.
    orders = {r["order_id"] for r in rows}
    assert 90 * 200 * 0.9 < len(orders) < 90 * 200 * 1.1

    # The live stream starts where the history ends, with its own ids.
    tag = live_run_tag(live_start)
    pacer = LivePacer(live_generator(chain, SEED, tag), live_start, 200)
    live = paced(pacer, live_start, live_start + timedelta(hours=2), tick_s=1)
    assert live
    assert min(o.event_time for o in live) >= plan.end
    live_ids = {f"{tag}-{o.rows[0]['order_id']}" for o in live}
    assert not live_ids & orders
    assert all(item.startswith(f"{plan.tag}-") for item in orders)
    # Not even a live run that started at the window's first second shares the prefix.
    assert plan.tag != live_run_tag(plan.start) and not plan.tag.isdigit()
    # Without the tags they would collide: both number each store's orders from 1.
    bare_history = {item.split("-", 1)[1] for item in orders}
    assert {o.rows[0]["order_id"] for o in live} & bare_history


def test_the_marker_stops_a_second_backfill(tmp_path: Path) -> None:
    first_start = SATURDAY_EVENING
    plan = plan_history(tmp_path, "cluster-a/sales", SEED, 8, 2_500, first_start)
    assert plan is not None and not plan.completed
    # Saved before anything is published, so an interrupted start knows what it began.
    assert load_history_plan(tmp_path) == plan

    # Interrupted, then started again an hour later: the same window, not one ending now.
    later = first_start + timedelta(hours=1)
    assert plan_history(tmp_path, "cluster-a/sales", SEED, 8, 2_500, later) == plan

    save_history_plan(tmp_path, replace(plan, completed=True))
    assert json.loads(history_file(tmp_path).read_text())["completed"] is True
    assert plan_history(tmp_path, "cluster-a/sales", SEED, 8, 2_500, later) is None
    assert plan_history(tmp_path, "cluster-a/sales", SEED, 8, 2_500, later, days=30) is None

    # A new broker (or another topic prefix) has none of that history: it gets its own.
    fresh = plan_history(tmp_path, "cluster-b/sales", SEED, 8, 2_500, later)
    assert fresh is not None and fresh.end == later.replace(microsecond=0)
    assert fresh.tag != plan.tag


def test_an_unreadable_marker_plans_again(tmp_path: Path) -> None:
    history_file(tmp_path).write_text("{not json")
    assert load_history_plan(tmp_path) is None
    assert plan_history(tmp_path, "c/sales", SEED, 8, 100, SATURDAY_EVENING) is not None


def test_an_interrupted_backfill_resumes_without_counting_anything_twice(
    tmp_path: Path,
) -> None:
    plan = plan_history(tmp_path, "c/sales", SEED, 8, 60, SATURDAY_EVENING)
    assert plan is not None
    whole = MemorySink()
    complete = asyncio.run(publish_history(plan, whole, KEY))
    assert complete.accepted > 10_000 and complete.rejected > 0 and complete.duplicates == 0

    class Interrupted(Exception):
        pass

    def stop_after_day_30(progress: HistoryProgress) -> None:
        if progress.days_done == 30:
            raise Interrupted

    sink = MemorySink()  # stands for the topics and their ledger, kept across starts
    with pytest.raises(Interrupted):
        asyncio.run(publish_history(plan, sink, KEY, stop_after_day_30))
    partial = sink.line_count
    assert 0 < partial < complete.accepted

    resumed = asyncio.run(publish_history(plan, sink, KEY))
    assert resumed.duplicates == partial
    assert resumed.accepted == complete.accepted - partial
    assert sink.line_count == whole.line_count == complete.accepted
    assert sorted(line.line_id for sale in sink.sales for line in sale.lines) == sorted(
        line.line_id for sale in whole.sales for line in sale.lines
    )
    # Dead letters too: each one once.
    assert sorted(r.rejection_id for r in sink.rejections) == sorted(
        r.rejection_id for r in whole.rejections
    )


def test_progress_says_the_rejections_are_deliberate() -> None:
    summary = IngestSummary(accepted=1_234, rejected=3)
    summary.rejected_by_reason.update({"invalid_quantity": 2, "invalid_date": 1})
    line = HistoryProgress(12, 90, 600, summary, 8.4).line("sales.rejected")
    assert line.startswith("history: day 12/90, 600 orders, 1,234 lines accepted, ")
    assert line.endswith(
        "3 rejected on purpose (deliberate demo faults, sent to 'sales.rejected'); 8 s"
    )
    assert "none rejected" in HistoryProgress(1, 90, 5, IngestSummary(), 0.1).line("x")
    live = live_progress(40, summary, "sales.rejected")
    assert live.startswith("live: 40 orders, 1,234 lines accepted, 3 rejected on purpose")
    assert live.endswith(
        "(deliberate demo faults, sent to 'sales.rejected': invalid_quantity 2, invalid_date 1)"
    )
