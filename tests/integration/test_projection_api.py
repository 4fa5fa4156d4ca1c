"""Projections end to end on a real broker and a real worker.

Five weeks of a store's sales and today's first ones (two sellers, returns and discounts
among them, in the store's zone, America/Manaus) go in through the API's ingest route. Then
the projection routes are checked: the actual to date against a sum written here from the
lines sent, the bands ordered, a range in the past, one ahead, ``as_of`` answers that differ
from now and from each other and come back the same, who may see what, bad parameters, and
the very same answers after the worker is killed with SIGKILL and started again (the state
is rebuilt from the daily aggregates, which the worker restores from their changelogs).
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.records import Seller, Store
from app.reference import publish_reference
from app.topics import topic_set
from tests.worker_tools import (
    ApiAnswer,
    WorkerProcess,
    dataapp,
    eventually,
    segment,
    worker_environment,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LIVE_FOREVER = {
    "DATAAPP_LIVE_DAYS": "100000",
    "DATAAPP_RETENTION_DAYS": "100000",
    "DATAAPP_CLICKHOUSE": "",
}
ZONE_NAME = "America/Manaus"  # UTC-4: the store's days are not UTC's
ZONE = ZoneInfo(ZONE_NAME)
STORE = Store("loja-proj-01", "Loja Projeção", "Manaus", "AM", ZONE_NAME)
OTHER = Store("loja-proj-02", "Loja Vizinha", "Manaus", "AM", ZONE_NAME)
ANA, BIA = "s-ana", "s-bia"
SELLERS = [
    Seller(ANA, STORE.store_id, "Ana Lima", "padrao"),
    Seller(BIA, STORE.store_id, "Bia Souza", "padrao"),
]
HISTORY_DAYS = 35
BOUNDS = ("mid", "low80", "high80", "low95", "high95")


def path(seller: str | None = None, store: str = STORE.store_id) -> str:
    base = f"/api/v1/stores/{segment(store)}"
    return (
        f"{base}/projection" if seller is None else f"{base}/sellers/{segment(seller)}/projection"
    )


@dataclass(frozen=True)
class Line:
    """A line sent, as the recompute reads it: its local day, seller and amounts."""

    day: date
    seller: str
    quantity: int
    unit_price_cents: int
    discount_cents: int

    @property
    def revenue_cents(self) -> int:
        # docs/schema.md: |quantity| x price - discount, negated for a return.
        gross = abs(self.quantity) * self.unit_price_cents - self.discount_cents
        return -gross if self.quantity < 0 else gross


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def sales_rows(today: date) -> tuple[list[dict[str, Any]], list[Line]]:
    """Five weeks before ``today`` (10h - 20h, more on Fridays and Saturdays) and three
    orders of today's morning, in canonical rows with the store's zone."""
    rng = random.Random(20261204)
    rows: list[dict[str, Any]] = []
    lines: list[Line] = []
    first = today - timedelta(days=HISTORY_DAYS)
    per_weekday = [5, 5, 6, 6, 8, 10, 3]
    for offset in range(HISTORY_DAYS + 1):
        day = first + timedelta(days=offset)
        orders = 3 if day == today else per_weekday[day.weekday()] + rng.randint(0, 2)
        for number in range(orders):
            hour = 9 + number if day == today else rng.randint(10, 20)
            when = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), 7)
            seller = rng.choice([ANA, ANA, BIA])
            order = f"P-{day:%Y%m%d}-{number:03d}"
            for item in range(rng.randint(1, 2)):
                quantity = -1 if rng.random() < 0.06 else rng.randint(1, 3)
                price = rng.choice([1_990, 4_990, 8_990, 15_900])
                discount = rng.choice([0, 0, 0, 250])
                lines.append(Line(day, seller, quantity, price, discount))
                rows.append(
                    {
                        "order_id": order,
                        "store_id": STORE.store_id,
                        "seller_id": seller,
                        "customer_id": f"cliente-{rng.randint(1, 60)}",
                        "event_time": when.strftime("%Y-%m-%d %H:%M:%S"),
                        "time_zone": ZONE_NAME,
                        "channel": "loja",
                        "sku": f"PROJ-{item}-{price}",
                        "product_name": "Produto",
                        "quantity": quantity,
                        "unit_price": money(price),
                        "unit_cost": money(price // 2),
                        "discount": money(discount),
                    }
                )
    return rows, lines


@dataclass
class Demo:
    worker: WorkerProcess
    today: date
    lines: list[Line]
    tokens: dict[str, str]

    def get(self, url: str, who: str = "admin") -> Any:
        return self.worker.get(url, self.tokens[who])

    def ask(self, url: str, who: str = "admin") -> ApiAnswer:
        return self.worker.request("GET", url, self.tokens.get(who))

    def sold(self, first: date, last: date, seller: str | None = None) -> dict[str, int]:
        """The recompute: the lines sent whose local day is in ``first..last``."""
        chosen = [
            line
            for line in self.lines
            if first <= line.day <= last and (seller is None or line.seller == seller)
        ]
        return {
            "revenue_cents": sum(line.revenue_cents for line in chosen),
            "units": sum(line.quantity for line in chosen),
        }

    def first_day(self, seller: str | None = None) -> date:
        return min(line.day for line in self.lines if seller is None or line.seller == seller)

    def days(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()


@pytest.fixture(scope="module")
def demo(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root: Path = tmp_path_factory.mktemp("projections")
    env = worker_environment(kafka_bootstrap, root / "data", **LIVE_FOREVER)
    dataapp(env, "topics")
    topics = topic_set(env["DATAAPP_TOPIC_PREFIX"])
    asyncio.run(publish_reference(kafka_bootstrap, topics, [STORE, OTHER], SELLERS, []))
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        tokens = {
            "admin": worker.add_user("admin", "admin"),
            "manager": worker.add_user("gerente", "manager", STORE.store_id),
            "other_manager": worker.add_user("gerente-2", "manager", OTHER.store_id),
            "ana": worker.add_user("ana", "seller", STORE.store_id, ANA),
        }
        # The store's today, as the test sees it: the sales say the rest.
        today = datetime.now(ZONE).date()
        rows, lines = sales_rows(today)
        answer = worker.request("POST", "/api/v1/ingest/sales", tokens["admin"], body=rows)
        assert answer.status == 200, answer.body
        assert (answer.body["accepted"], answer.body["rejected"]) == (len(rows), 0), answer.body
        summary = f"{path().removesuffix('/projection')}/summary?from=2000-01-01&to=2100-12-31"

        def counted() -> None:
            lines_seen = worker.get(summary, tokens["admin"])["lines"]
            assert lines_seen == len(rows), f"{lines_seen} of {len(rows)} lines"

        eventually(counted, "the sales are aggregated", timeout=120)
        yield Demo(worker, today, lines, tokens)
    finally:
        worker.stop()


def assert_ordered(bounds: dict[str, int]) -> None:
    assert set(bounds) == set(BOUNDS)
    assert all(type(value) is int for value in bounds.values()), bounds
    assert bounds["low95"] <= bounds["low80"] <= bounds["mid"], bounds
    assert bounds["mid"] <= bounds["high80"] <= bounds["high95"], bounds


@pytest.mark.parametrize("seller", [None, ANA, BIA])
def test_a_range_with_today_adds_the_actual_and_the_forecast(
    demo: Demo, seller: str | None
) -> None:
    first, last = demo.today - timedelta(days=20), demo.today + timedelta(days=10)
    answer = demo.get(f"{path(seller)}?from={first}&to={last}")
    assert answer["store_id"] == STORE.store_id and answer["store_name"] == STORE.name
    if seller is not None:
        names = {s.seller_id: s.display_name for s in SELLERS}
        assert (answer["seller_id"], answer["seller_name"]) == (seller, names[seller])
    assert (answer["from"], answer["to"], answer["as_of"]) == (str(first), str(last), None)
    # Yesterday closed when this morning's first sale arrived.
    assert answer["last_closed_day"] == demo.days(-1)
    assert answer["model"] == "weekday-profile"
    assert answer["days_learned"] == (demo.today - demo.first_day(seller)).days

    actual = demo.sold(first, demo.today, seller)
    assert answer["actual_to_date"] == actual
    today = answer["today"]
    assert today["day"] == demo.days(0)
    assert today["sold_so_far_cents"] == demo.sold(demo.today, demo.today, seller)["revenue_cents"]
    assert 0.0 <= today["share_of_day_done"] <= 1.0
    assert_ordered(today["projected"])
    for measure in ("revenue", "units"):
        assert_ordered(answer["period_end"][measure])
    # Ten more days and the rest of today to come: the projected end is above what was sold.
    assert answer["period_end"]["revenue"]["mid"] > actual["revenue_cents"]
    assert answer["period_end"]["units"]["mid"] > actual["units"]


def test_a_range_in_the_past_is_the_actual(demo: Demo) -> None:
    first, last = demo.first_day(), demo.today - timedelta(days=1)
    answer = demo.get(f"{path()}?from={first}&to={last}")
    actual = demo.sold(first, last)
    assert answer["actual_to_date"] == actual
    assert answer["today"] is None
    assert answer["period_end"] == {
        "revenue": dict.fromkeys(BOUNDS, actual["revenue_cents"]),
        "units": dict.fromkeys(BOUNDS, actual["units"]),
    }


def test_a_range_ahead_is_the_forecast(demo: Demo) -> None:
    answer = demo.get(f"{path(ANA)}?from={demo.days(3)}&to={demo.days(9)}")
    assert answer["actual_to_date"] == {"revenue_cents": 0, "units": 0}
    assert answer["today"] is None
    assert answer["period_end"]["revenue"]["mid"] > 0
    for measure in ("revenue", "units"):
        assert_ordered(answer["period_end"][measure])


def test_as_of_answers_differ_from_now_and_come_back_the_same(demo: Demo) -> None:
    span = f"from={demo.days(-20)}&to={demo.days(10)}"
    now = demo.get(f"{path()}?{span}")
    week_ago = demo.get(f"{path()}?{span}&as_of={demo.days(-7)}")
    two_weeks_ago = demo.get(f"{path()}?{span}&as_of={demo.days(-14)}")
    assert week_ago == demo.get(f"{path()}?{span}&as_of={demo.days(-7)}")
    assert week_ago["as_of"] == week_ago["last_closed_day"] == demo.days(-7)
    assert week_ago["today"] is None
    assert week_ago["days_learned"] == HISTORY_DAYS - 6  # the first day to as_of, both in
    assert week_ago["actual_to_date"] == demo.sold(
        demo.today - timedelta(days=20), demo.today - timedelta(days=7)
    )
    assert two_weeks_ago["actual_to_date"] == demo.sold(
        demo.today - timedelta(days=20), demo.today - timedelta(days=14)
    )
    assert len({repr(a["period_end"]) for a in (now, week_ago, two_weeks_ago)}) == 3
    for answer in (week_ago, two_weeks_ago):
        for measure in ("revenue", "units"):
            assert_ordered(answer["period_end"][measure])
    seller = demo.get(f"{path(BIA)}?{span}&as_of={demo.days(-7)}", "manager")
    assert seller["actual_to_date"] == demo.sold(
        demo.today - timedelta(days=20), demo.today - timedelta(days=7), BIA
    )


@pytest.mark.parametrize(
    ("who", "seller", "store", "status"),
    [
        ("ana", ANA, STORE.store_id, 200),
        ("ana", BIA, STORE.store_id, 403),  # another seller's projection
        ("ana", None, STORE.store_id, 403),  # the store's would show colleagues' figures
        ("manager", None, STORE.store_id, 200),
        ("manager", BIA, STORE.store_id, 200),
        ("other_manager", None, STORE.store_id, 403),
        ("other_manager", ANA, STORE.store_id, 403),
        ("other_manager", None, OTHER.store_id, 200),
        ("admin", BIA, STORE.store_id, 200),
        ("nobody", None, STORE.store_id, 401),
    ],
)
def test_who_may_see_which_projection(
    demo: Demo, who: str, seller: str | None, store: str, status: int
) -> None:
    answer = demo.ask(path(seller, store), who)
    assert answer.status == status, answer.body
    if status != 200:
        assert answer.body["error"] == {401: "unauthorized", 403: "forbidden"}[status]


def test_a_store_without_sales_projects_nothing(demo: Demo) -> None:
    answer = demo.get(path(None, OTHER.store_id))
    assert answer["last_closed_day"] is None and answer["days_learned"] == 0
    assert answer["period_end"] is None and answer["today"] is None


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("as_of={today}", "not a closed day"),
        ("as_of={tomorrow}", "not a closed day"),
        ("as_of=2026-1-5", "'as_of'"),
        ("to={far}", "days after the last closed day"),
        ("from={tomorrow}&to={today}", "after"),
    ],
)
def test_bad_parameters_are_refused(demo: Demo, query: str, needle: str) -> None:
    filled = query.format(today=demo.days(0), tomorrow=demo.days(1), far=demo.days(400))
    answer = demo.ask(f"{path(ANA)}?{filled}")
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "bad_parameter" and needle in answer.body["message"]


def test_the_same_answers_after_a_sigkill(demo: Demo) -> None:
    """Last in the module: it restarts the worker. Nothing is kept for projections but the
    aggregates; the restarted worker restores those and rebuilds the same answers."""
    span = f"from={demo.days(-20)}&to={demo.days(10)}"
    asked = [
        (path(), span),
        (path(ANA), span),
        (path(BIA), f"from={demo.days(3)}&to={demo.days(9)}"),
        (path(), f"{span}&as_of={demo.days(-7)}"),
        (path(ANA), f"from={demo.days(-10)}&to={demo.days(-3)}"),
    ]
    before = [demo.get(f"{url}?{query}") for url, query in asked]
    assert before[0]["today"] is not None

    demo.worker.kill(signal.SIGKILL)
    demo.worker.start()
    demo.worker.wait_ready()
    after = [demo.get(f"{url}?{query}") for url, query in asked]
    assert after == before
