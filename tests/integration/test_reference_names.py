"""Names instead of codes, end to end on a real broker: reference data published with
``app/reference.py`` reaches a running worker's catalogue (``agents/reference.py``), and the
API answers carry the names; a seller renamed later shows without a restart; a malformed
reference record is counted and dead-lettered, and the worker goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer

from app.generator.chain import Chain, build_chain
from app.records import Seller
from app.reference import publish_reference
from app.topics import TopicSet, topic_set
from tests.kafka_tools import read_topic
from tests.worker_tools import (
    WorkerProcess,
    dataapp,
    eventually,
    sale_line_now,
    segment,
    worker_environment,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LIVE_FOREVER = {
    "DATAAPP_LIVE_DAYS": "100000",
    "DATAAPP_RETENTION_DAYS": "100000",
    "DATAAPP_CLICKHOUSE": "",
}
PASSWORD = "names-secret-pw"
# The API's default range is today in UTC, which is not the store's today every hour of the
# day: ask for a range that surely holds the sales of a minute ago.
RANGE = "from=2000-01-01&to=2100-12-31"
MANAGER_NAME = "Marta Souza"


@dataclass
class Demo:
    worker: WorkerProcess
    bootstrap: str
    topics: TopicSet
    chain: Chain
    store: str
    sellers: list[Seller]
    tokens: dict[str, str]
    bad_offset: int
    """Offset of the malformed record published on ref.sellers."""

    def get(self, path: str, who: str = "admin") -> Any:
        return self.worker.get(path, self.tokens[who])


def sign_in(worker: WorkerProcess, username: str, *args: str) -> str:
    """Adds the user through the CLI, as an operator would, and signs in."""
    dataapp(worker.env, "users", "add", "--username", username, "--password", PASSWORD, *args)
    answer = worker.request(
        "POST", "/api/v1/auth/token", body={"username": username, "password": PASSWORD}
    )
    assert answer.status == 200, answer.body
    return answer.body["access_token"]


async def send_raw(bootstrap: str, topic: str, key: bytes, value: bytes | None) -> int:
    """One message as is (None: a tombstone); returns its offset."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    return sent.offset


def labelled(worker: WorkerProcess, series: str) -> float | None:
    """One labelled series of ``/metrics`` (``name{labels}``), or None."""
    answer = worker.request("GET", "/metrics")
    for line in answer.body.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[1])
    return None


@pytest.fixture(scope="module")
def demo(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root: Path = tmp_path_factory.mktemp("names")
    env = worker_environment(kafka_bootstrap, root / "data", **LIVE_FOREVER)
    topics = topic_set(env["DATAAPP_TOPIC_PREFIX"])
    dataapp(env, "topics")
    chain = build_chain(7, stores=2, sellers_per_store=3, products=12)
    store = chain.stores[0].store_id
    sellers = [seller for seller in chain.sellers if seller.store_id == store]
    # Published before the worker starts: it must read them from the beginning.
    asyncio.run(
        publish_reference(kafka_bootstrap, topics, chain.stores, chain.sellers, chain.products)
    )
    bad_offset = asyncio.run(
        send_raw(kafka_bootstrap, topics.sellers.name, b"s-broken", b'{"seller_id": "s-broken"')
    )

    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        tokens = {
            "admin": sign_in(worker, "admin", "--role", "admin"),
            "manager": sign_in(
                worker, "gerente", "--role", "manager", "--store", store, "--name", MANAGER_NAME
            ),
            "seller": sign_in(
                worker,
                "vendedor",
                "--role",
                "seller",
                "--store",
                store,
                "--seller",
                sellers[0].seller_id,
            ),
        }
        demo = Demo(worker, kafka_bootstrap, topics, chain, store, sellers, tokens, bad_offset)
        zone = ZoneInfo(chain.stores[0].time_zone)
        rows = []
        for number, seller in enumerate(sellers * 2):
            row = sale_line_now(
                number, store, seller.seller_id, 1 + number % 2, "25.00", "9.00", zone
            )
            row["sku"] = chain.products[number % 3].sku
            row["product_name"] = "nome escrito na venda"
            rows.append(row)
        answer = worker.request("POST", "/api/v1/ingest/sales", tokens["admin"], body=rows)
        assert answer.status == 200 and answer.body["accepted"] == len(rows), answer.body
        feed = f"/api/v1/stores/{segment(store)}/recent-sales?limit=50"
        eventually(
            lambda: _assert(len(demo.get(feed)["sales"]) == len(rows)), "the sales are counted"
        )
        yield demo
    finally:
        worker.stop()


def _assert(condition: bool, message: str = "") -> None:
    assert condition, message


def test_me_names_the_user_and_their_store(demo: Demo) -> None:
    store_name = demo.chain.stores[0].name
    manager = demo.get("/api/v1/me", "manager")
    assert (manager["display_name"], manager["store_name"]) == (MANAGER_NAME, store_name)
    # The store's own zone, for the dashboards' "today" and "this hour".
    assert manager["store_time_zone"] == demo.chain.stores[0].time_zone
    assert manager["username"] == "gerente" and manager["store_id"] == demo.store
    seller = demo.get("/api/v1/me", "seller")
    # No name of their own: the reference data's.
    assert (seller["display_name"], seller["store_name"]) == (
        demo.sellers[0].display_name,
        store_name,
    )
    admin = demo.get("/api/v1/me")
    assert (admin["display_name"], admin["store_name"]) == ("admin", None)
    assert admin["store_time_zone"] is None


def test_stores_sellers_and_feeds_carry_names(demo: Demo) -> None:
    store, names = demo.store, {s.seller_id: s.display_name for s in demo.sellers}
    stores = demo.get("/api/v1/stores", "manager")
    assert stores == {"stores": [store], "names": {store: demo.chain.stores[0].name}}
    every = demo.get("/api/v1/stores")
    assert every["names"] == {s: demo.chain.store(s).name for s in every["stores"]}

    base = f"/api/v1/stores/{segment(store)}"
    team = demo.get(f"{base}/sellers?{RANGE}", "manager")
    assert team["store_name"] == demo.chain.stores[0].name
    assert {row["seller_id"]: row["display_name"] for row in team["sellers"]} == names

    feed = demo.get(f"{base}/recent-sales?limit=50", "manager")
    assert feed["store_name"] == demo.chain.stores[0].name
    assert feed["sales"] and all(
        sale["seller_name"] == names[sale["seller_id"]] for sale in feed["sales"]
    )
    own = demo.sellers[0]
    mine = demo.get(f"{base}/sellers/{segment(own.seller_id)}/recent-sales", "seller")
    assert mine["seller_name"] == own.display_name
    assert mine["sales"] and {sale["seller_name"] for sale in mine["sales"]} == {own.display_name}

    rank = demo.get(f"{base}/sellers/{segment(own.seller_id)}/rank?{RANGE}", "seller")
    assert (rank["seller_name"], rank["rank"] > 0) == (own.display_name, True)
    summary = demo.get(f"{base}/summary?{RANGE}", "manager")
    assert summary["store_name"] == demo.chain.stores[0].name and summary["lines"] > 0
    comparison = demo.get(f"{base}/comparison?{RANGE}", "manager")
    assert comparison["store_name"] == demo.chain.stores[0].name
    other = demo.chain.stores[1]
    assert other.store_id not in str(comparison) and other.name not in str(comparison)

    products = demo.get(f"{base}/products?{RANGE}", "manager")["products"]
    assert products and all(
        row["product_name"] == demo.chain.product(row["sku"]).name for row in products
    ), "the catalogue's names win over what the sale lines spelt"


def test_a_seller_of_another_store_is_not_named_to_a_manager(demo: Demo) -> None:
    foreign = next(s for s in demo.chain.sellers if s.store_id != demo.store)
    path = f"/api/v1/sellers/{segment(foreign.seller_id)}/summary"
    assert demo.get(path, "manager")["seller_name"] == foreign.seller_id
    assert demo.get(path)["seller_name"] == foreign.display_name


def test_a_malformed_reference_record_is_counted_and_dead_lettered(demo: Demo) -> None:
    topic = demo.topics.sellers.name
    series = f'dataapp_reference_invalid_total{{topic="{topic}",reason="undecodable_message"}}'
    assert labelled(demo.worker, series) == 1.0
    sellers = len(demo.chain.sellers)
    assert labelled(demo.worker, 'dataapp_reference_entries{kind="seller"}') == sellers
    letters = asyncio.run(read_topic(demo.bootstrap, demo.topics.sales_rejected.name))
    wanted = f"worker:{topic}:0:{demo.bad_offset}"
    found = [letter for letter in letters if letter["rejection_id"] == wanted]
    assert found and found[0]["reason"] == "undecodable_message", letters
    assert found[0]["source"] == f"kafka:{topic}"
    assert demo.worker.request("GET", "/readyz").status == 200


def test_a_renamed_seller_shows_without_a_restart(demo: Demo) -> None:
    own = demo.sellers[0]
    renamed = Seller(own.seller_id, own.store_id, "Caio Renomeado", own.commission_plan_id)
    pid = demo.worker.process.pid if demo.worker.process else None
    asyncio.run(publish_reference(demo.bootstrap, demo.topics, [], [renamed], []))
    base = f"/api/v1/stores/{segment(demo.store)}"

    def shows_the_new_name() -> None:
        team = demo.get(f"{base}/sellers?{RANGE}", "manager")["sellers"]
        assert {row["seller_id"]: row["display_name"] for row in team}[own.seller_id] == (
            "Caio Renomeado"
        )

    eventually(shows_the_new_name, "the renamed seller in the team table", timeout=30)
    feed = demo.get(f"{base}/recent-sales?limit=50", "manager")["sales"]
    assert {s["seller_name"] for s in feed if s["seller_id"] == own.seller_id} == {"Caio Renomeado"}
    assert demo.get("/api/v1/me", "seller")["display_name"] == "Caio Renomeado"
    # A tombstone takes the name away: the id shows again.
    asyncio.run(send_raw(demo.bootstrap, demo.topics.sellers.name, own.seller_id.encode(), None))
    eventually(
        lambda: _assert(demo.get("/api/v1/me", "seller")["display_name"] == "vendedor"),
        "the deleted seller's name gone",
        timeout=30,
    )
    assert demo.worker.starts == 1 and demo.worker.process is not None
    assert demo.worker.process.pid == pid and demo.worker.process.poll() is None
