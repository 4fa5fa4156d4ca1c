"""Trending products (issue 11 §3) end to end on a real broker and a real worker.

A generated chain of two stores (``bench/trends.planted_orders``: flat for 56 days, then the
chain's planted trends for 28) goes in through the API's ingest route. Then the trending route
is checked against a recompute written here from the rows sent: every product's evidence
(units, revenue, costed revenue and margin of the last 7 / 28 days and the periods before,
their growth with ``Decimal``, the margin rate, the store's revenue ranks) equal to the figure,
the lists equal to the pure function's on the recomputed days, the rising list mostly planted
risers, the same answer twice, and who may read it (a seller of the store may: no seller is
in it).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from app.generator.chain import Chain, build_chain
from app.insights.trends import ProductDay, store_trends
from app.reference import publish_reference
from app.topics import topic_set
from bench.trends import Daily, add_rows, planted_orders, product_days
from tests.integration.test_projection_api import LIVE_FOREVER
from tests.worker_tools import WorkerProcess, dataapp, eventually, segment, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SEED = 5  # two planted risers and three fallers among its 40 products
ORDERS_PER_DAY = 600
CHANGE = date(2025, 10, 1)
FIRST_DAY = CHANGE - timedelta(days=56)
END_DAY = CHANGE + timedelta(days=29)  # 28 days after the change close; the 29th is in progress
BATCH = 2_000  # about 0.7 MB of JSON: under the web server's request size limit
EVERYTHING = "from=2000-01-01&to=2100-12-31"


def path(store: str) -> str:
    return f"/api/v1/stores/{segment(store)}/trending"


def text(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def growth(last: int, before: int) -> str | None:
    return None if before <= 0 else text(Decimal(last) / Decimal(before) - 1)


@dataclass
class Demo:
    worker: WorkerProcess
    chain: Chain
    daily: Daily
    tokens: dict[str, str]

    def get(self, url: str, who: str = "admin") -> Any:
        return self.worker.get(url, self.tokens[who])

    def last_closed_day(self, store: str) -> date:
        return max(day for days in self.daily[store].values() for day in days) - timedelta(days=1)


@pytest.fixture(scope="module")
def demo(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root: Path = tmp_path_factory.mktemp("trending")
    chain = build_chain(SEED, stores=2, sellers_per_store=2, products=40)
    env = worker_environment(kafka_bootstrap, root / "data", **LIVE_FOREVER)
    dataapp(env, "topics")
    topics = topic_set(env["DATAAPP_TOPIC_PREFIX"])
    asyncio.run(
        publish_reference(kafka_bootstrap, topics, chain.stores, chain.sellers, chain.products)
    )
    rows: list[dict[str, str]] = []
    daily: Daily = defaultdict(lambda: defaultdict(dict))
    for order in planted_orders(chain, SEED, FIRST_DAY, CHANGE, END_DAY, ORDERS_PER_DAY):
        rows.extend(order.rows)
        add_rows(daily, order.rows)
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        first, second = (store.store_id for store in chain.stores)
        seller = next(s for s in chain.sellers if s.store_id == first)
        tokens = {
            "admin": worker.add_user("admin", "admin"),
            "manager": worker.add_user("gerente", "manager", first),
            "other_manager": worker.add_user("gerente-2", "manager", second),
            "seller": worker.add_user("vendedor", "seller", first, seller.seller_id),
        }
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            answer = worker.request("POST", "/api/v1/ingest/sales", tokens["admin"], body=batch)
            assert answer.status == 200, answer.body
            assert answer.body["accepted"] == len(batch), answer.body

        def counted() -> None:
            lines = 0
            for store in chain.stores:
                url = f"/api/v1/stores/{segment(store.store_id)}/summary?{EVERYTHING}"
                lines += worker.get(url, tokens["admin"])["lines"]
            assert lines == len(rows), f"{lines} of {len(rows)} lines"

        eventually(counted, "the sales are aggregated", timeout=180)
        yield Demo(worker, chain, daily, tokens)
    finally:
        worker.stop()


def recompute(demo: Demo, store: str, sku: str, through: date) -> dict[str, Any]:
    """A product's evidence from the rows sent, written out with Decimal."""
    days = demo.daily[store].get(sku, {})

    def window(back: int, length: int) -> dict[str, int]:
        last = through - timedelta(days=back)
        chosen = [t for d, t in days.items() if last - timedelta(days=length - 1) <= d <= last]
        costed = sum(t.costed_revenue_cents for t in chosen)
        return {
            "units": sum(t.units for t in chosen),
            "revenue_cents": sum(t.revenue_cents for t in chosen),
            "costed_revenue_cents": costed,
            "margin_cents": costed - sum(t.cost_cents for t in chosen),
        }

    found = {
        "last_7": window(0, 7),
        "previous_7": window(7, 7),
        "last_28": window(0, 28),
        "previous_28": window(28, 28),
    }
    for span, last, before in (
        ("growth_7d", "last_7", "previous_7"),
        ("growth_28d", "last_28", "previous_28"),
    ):
        found[span] = {
            "units": growth(found[last]["units"], found[before]["units"]),
            "revenue": growth(found[last]["revenue_cents"], found[before]["revenue_cents"]),
        }
    costed = found["last_28"]["costed_revenue_cents"]
    found["margin_rate"] = (
        None if costed <= 0 else text(Decimal(found["last_28"]["margin_cents"]) / Decimal(costed))
    )
    return found


def revenue_rank(demo: Demo, store: str, sku: str, last: date) -> int | None:
    """1 + the products of the store with more revenue over the 28 days up to ``last``."""
    first = last - timedelta(days=27)

    def revenue(of: str) -> int:
        return sum(t.revenue_cents for d, t in demo.daily[store][of].items() if first <= d <= last)

    own = revenue(sku)
    if own <= 0:
        return None
    return 1 + sum(1 for other in demo.daily[store] if revenue(other) > own)


@pytest.mark.parametrize("direction", ["up", "down"])
def test_the_evidence_equals_a_recompute_from_the_rows_sent(demo: Demo, direction: str) -> None:
    for store in demo.chain.stores:
        store_id = store.store_id
        answer = demo.get(f"{path(store_id)}?direction={direction}&limit=500")
        through = demo.last_closed_day(store_id)
        assert (answer["store_id"], answer["store_name"]) == (store_id, store.name)
        assert answer["last_closed_day"] == through.isoformat()
        assert answer["direction"] == direction
        assert answer["model"] == "holt-linear-trend"
        assert answer["periods"]["last_28"]["to"] == through.isoformat()
        # The lists: the pure function on the days recomputed from the rows.
        expected = store_trends(product_days(demo.daily, store_id), through)
        chosen = expected.rising() if direction == "up" else expected.falling()
        assert [p["sku"] for p in answer["products"]] == [t.sku for t in chosen]
        assert answer["count"] == len(chosen)
        for position, product in enumerate(answer["products"], start=1):
            sku = product["sku"]
            assert product["position"] == position
            assert product["direction"] == ("rising" if direction == "up" else "falling")
            assert product["product_name"] == demo.chain.product(sku).name
            evidence = recompute(demo, store_id, sku, through)
            for name, value in evidence.items():
                assert product[name] == value, (store_id, sku, name)
            assert product["rank_28"] == revenue_rank(demo, store_id, sku, through)
            before = through - timedelta(days=28)
            assert product["rank_previous_28"] == revenue_rank(demo, store_id, sku, before)
            assert product["last_28"]["units"] >= answer["thresholds"]["min_units"] or (
                direction == "down"
            )


def test_the_rising_list_finds_planted_risers(demo: Demo) -> None:
    listed = planted = 0
    for store in demo.chain.stores:
        answer = demo.get(f"{path(store.store_id)}?direction=up&limit=500")
        skus = [p["sku"] for p in answer["products"]]
        listed += len(skus)
        planted += sum(1 for sku in skus if demo.chain.trends[sku] > 0)
    # Measured: 3 of the 4 listed are the planted risers (a flat product gains share as the
    # fallers lose theirs, and one crosses the thresholds).
    assert planted >= 2 and planted / listed >= 0.5, (planted, listed)


def test_the_same_answer_twice_and_a_limit(demo: Demo) -> None:
    store_id = demo.chain.stores[0].store_id
    first = demo.get(f"{path(store_id)}?direction=up")
    assert demo.get(f"{path(store_id)}?direction=up") == first
    assert demo.get(path(store_id)) == first  # up is the default
    everything = demo.get(f"{path(store_id)}?direction=up&limit=500")
    assert first["products"] == everything["products"][:10]
    one = demo.get(f"{path(store_id)}?direction=down&limit=1")
    assert len(one["products"]) == min(1, one["count"])


def test_who_may_read_it_and_no_seller_in_it(demo: Demo) -> None:
    first, second = (store.store_id for store in demo.chain.stores)
    for who in ("admin", "manager", "seller"):
        answer = demo.get(f"{path(first)}?direction=up&limit=500", who)
        body = json.dumps(answer)
        assert "seller" not in body
        for seller in demo.chain.sellers:
            assert seller.seller_id not in body and seller.display_name not in body
    for who, store in (("other_manager", first), ("seller", second), ("manager", second)):
        answer = demo.worker.request("GET", path(store), demo.tokens[who])
        assert answer.status == 403, answer.body
    assert demo.worker.request("GET", path(first)).status == 401
    bad = demo.worker.request("GET", f"{path(first)}?direction=sideways", demo.tokens["admin"])
    assert bad.status == 400 and "direction" in bad.body["message"]


def test_product_days_match_the_tables_figures(demo: Demo) -> None:
    """The recompute's daily totals are the live tables' (the store's product ranking over
    the same days), so the evidence above compares like with like."""
    store_id = demo.chain.stores[0].store_id
    through = demo.last_closed_day(store_id)
    first = through - timedelta(days=27)
    ranking = demo.get(
        f"/api/v1/stores/{segment(store_id)}/products?by=revenue&limit=500&from={first}&to={through}"
    )
    days: dict[str, list[ProductDay]] = product_days(demo.daily, store_id)
    for row in ranking["products"]:
        units = sum(d.units for d in days[row["sku"]] if first <= d.day <= through)
        assert row["units"] == units, row["sku"]
