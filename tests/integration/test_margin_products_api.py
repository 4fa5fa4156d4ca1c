"""Highest-margin products for a seller, end to end on a real broker, worker and history.

Forty days of a store's sales (two sellers, products with and without a cost, returns among
them) go in through the ingest route; the answer of ``/margin-products`` is then checked
against figures worked out here from the rows sent, with exact fractions: the window (the
last 30 local days up to the store's latest sale), every product's store and seller
figures, margins, unit margins, rates, shares, the four lists and their order, and who may
ask.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from statistics import median_low
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.records import Seller, Store
from app.reference import publish_reference
from app.topics import topic_set
from tests.worker_tools import WorkerProcess, dataapp, eventually, segment, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ZONE_NAME = "America/Recife"
ZONE = ZoneInfo(ZONE_NAME)
STORE = Store("loja-margem-01", "Loja Margem", "Recife", "PE", ZONE_NAME)
OTHER = Store("loja-margem-02", "Loja Outra", "Recife", "PE", ZONE_NAME)
CAIO, DUDA = "s-caio", "s-duda"
SELLERS = [
    Seller(CAIO, STORE.store_id, "Caio Rocha", "padrao"),
    Seller(DUDA, STORE.store_id, "Duda Melo", "padrao"),
]
# sku -> (price, cost or None, how often Caio sells it against Duda)
CATALOGUE = {
    "M-LUXO": (25_990, 11_000, 0.05),
    "M-BOLSA": (8_990, 5_200, 0.5),
    "M-CINTO": (4_990, 2_100, 0.5),
    "M-MEIA": (1_290, 990, 0.7),
    "M-RELOGIO": (45_000, 30_000, 0.4),
    "M-AVULSO": (3_500, None, 0.5),
    "M-BRINDE": (990, None, 0.9),
}
DAYS = 40
WINDOW = 30


@dataclass(frozen=True)
class Line:
    day: date
    seller: str
    sku: str
    quantity: int
    price: int
    cost: int | None

    @property
    def revenue(self) -> int:
        return self.quantity * self.price  # no discounts here: |q| x price, signed


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def sales(today: date) -> tuple[list[dict[str, Any]], list[Line]]:
    rng = random.Random(4_12_2026)
    rows: list[dict[str, Any]] = []
    lines: list[Line] = []
    for offset in range(DAYS):
        day = today - timedelta(days=DAYS - 1 - offset)
        for number in range(rng.randint(4, 9)):
            when = datetime(day.year, day.month, day.day, rng.randint(9, 19), rng.randint(0, 59))
            # The luxury product sells best in the store (and rarely by Caio).
            sku = rng.choices(list(CATALOGUE), weights=[3, 1, 1, 1, 1, 1, 1])[0]
            price, cost, caio_share = CATALOGUE[sku]
            seller = CAIO if rng.random() < caio_share else DUDA
            quantity = -1 if rng.random() < 0.05 else rng.randint(1, 4)
            lines.append(Line(day, seller, sku, quantity, price, cost))
            rows.append(
                {
                    "order_id": f"M-{day:%Y%m%d}-{number:02d}",
                    "store_id": STORE.store_id,
                    "seller_id": seller,
                    "event_time": when.strftime("%Y-%m-%d %H:%M:%S"),
                    "time_zone": ZONE_NAME,
                    "channel": "loja",
                    "sku": sku,
                    "product_name": f"Produto {sku}",
                    "quantity": quantity,
                    "unit_price": money(price),
                    "unit_cost": money(cost) if cost is not None else "",
                    "discount": "0.00",
                }
            )
    return rows, lines


def half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    return floor + 1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2) else floor


def four_places(value: Fraction) -> float:
    return half_even(value * 10_000) / 10_000


def expected(lines: list[Line], seller: str, first: date, last: date) -> dict[str, Any]:
    """The answer worked out from the lines sent, apart from the product code."""
    window = [line for line in lines if first <= line.day <= last]
    by_sku: dict[str, list[Line]] = {}
    for line in window:
        by_sku.setdefault(line.sku, []).append(line)
    store_units = sum(max(sum(x.quantity for x in ls), 0) for ls in by_sku.values())
    seller_units = sum(
        max(sum(x.quantity for x in ls if x.seller == seller), 0) for ls in by_sku.values()
    )
    overall = Fraction(seller_units, store_units)
    entries: list[dict[str, Any]] = []
    without_cost: list[dict[str, Any]] = []
    for sku, ls in sorted(by_sku.items()):
        units = sum(x.quantity for x in ls)
        own = [x for x in ls if x.seller == seller]
        base = {
            "sku": sku,
            "product_name": f"Produto {sku}",
            "store_revenue_cents": sum(x.revenue for x in ls),
            "store_units": units,
            "seller_revenue_cents": sum(x.revenue for x in own),
            "seller_units": sum(x.quantity for x in own),
        }
        if units <= 0:
            continue
        if ls[0].cost is None:
            without_cost.append(base)
            continue
        margin = sum(x.quantity * (x.price - x.cost) for x in ls)  # type: ignore[operator]
        revenue = sum(x.revenue for x in ls)
        entries.append(
            {
                **base,
                "margin_cents": margin,
                "margin_rate": four_places(Fraction(margin, revenue)),
                "unit_margin_cents": half_even(Fraction(margin, units)),
                "seller_share": four_places(Fraction(max(base["seller_units"], 0), units)),
            }
        )
    rate_bar = median_low(Fraction(e["margin_rate"]) for e in entries)
    units_bar = median_low(e["store_units"] for e in entries)
    share_bar = Fraction(four_places(overall)) / 2
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "seller_share_of_store": four_places(overall),
        "by_unit_margin": sorted(
            entries, key=lambda e: (-e["unit_margin_cents"], -e["margin_rate"], e["sku"])
        ),
        "by_margin_rate": sorted(
            entries, key=lambda e: (-e["margin_rate"], -e["unit_margin_cents"], e["sku"])
        ),
        "opportunities": sorted(
            (
                e
                for e in entries
                if Fraction(e["margin_rate"]) >= rate_bar
                and e["store_units"] >= units_bar
                and e["margin_cents"] > 0
                and Fraction(e["seller_share"]) < share_bar
            ),
            key=lambda e: (-e["margin_cents"], e["sku"]),
        ),
        "without_cost": sorted(without_cost, key=lambda e: (-e["store_revenue_cents"], e["sku"])),
    }


@dataclass
class Shop:
    worker: WorkerProcess
    today: date
    lines: list[Line]
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def shop(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root: Path = tmp_path_factory.mktemp("margins")
    env = worker_environment(kafka_bootstrap, root / "data", DATAAPP_CLICKHOUSE="")
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
            CAIO: worker.add_user("caio", "seller", STORE.store_id, CAIO),
            DUDA: worker.add_user("duda", "seller", STORE.store_id, DUDA),
            "other_manager": worker.add_user("gerente-2", "manager", OTHER.store_id),
        }
        today = datetime.now(ZONE).date()
        rows, lines = sales(today)
        answer = worker.request("POST", "/api/v1/ingest/sales", tokens["admin"], body=rows)
        assert answer.status == 200, answer.body
        assert answer.body["accepted"] == len(rows), answer.body
        yield Shop(worker, today, lines, tokens)
    finally:
        worker.stop()


def url(seller: str, query: str = "") -> str:
    return (
        f"/api/v1/stores/{segment(STORE.store_id)}/sellers/{segment(seller)}/margin-products"
        f"?limit=20{query}"
    )


@pytest.mark.parametrize("seller", [CAIO, DUDA])
def test_the_answer_equals_the_figures_worked_out_from_the_rows(shop: Shop, seller: str) -> None:
    last = max(line.day for line in shop.lines)
    want = expected(shop.lines, seller, last - timedelta(days=WINDOW - 1), last)

    def equal() -> None:
        got = shop.worker.get(url(seller), shop.tokens[seller])
        assert {key: got[key] for key in want} == want

    # The history sink writes a moment after the worker counts.
    eventually(equal, "the margin products equal the recompute", timeout=120)


def test_caio_is_pointed_to_the_luxury_product_he_rarely_sells(shop: Shop) -> None:
    got = shop.worker.get(url(CAIO), shop.tokens[CAIO])
    assert "M-LUXO" in [entry["sku"] for entry in got["opportunities"]]
    assert {entry["sku"] for entry in got["without_cost"]} <= {"M-AVULSO", "M-BRINDE"}


def test_a_shorter_window_and_who_may_ask(shop: Shop) -> None:
    last = max(line.day for line in shop.lines)
    got = shop.worker.get(url(DUDA, "&days=7"), shop.tokens["manager"])
    assert (got["from"], got["to"]) == ((last - timedelta(days=6)).isoformat(), last.isoformat())
    assert shop.worker.request("GET", url(DUDA), shop.tokens[CAIO]).status == 403
    assert shop.worker.request("GET", url(DUDA), shop.tokens["other_manager"]).status == 403
    refused = shop.worker.request("GET", url(DUDA, "&days=0"), shop.tokens["admin"])
    assert refused.status == 400 and "days" in refused.body["message"]
