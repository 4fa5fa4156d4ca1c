"""Commission plans and pay, end to end on a real broker and a real worker.

A manager saves plans through the API (a malformed one is refused naming its field), sales of
two sellers arrive through the API (this month and last, a return among them), and every pay
figure the API answers, a seller's and the team's, is checked against a recompute written
here from ``docs/pay.md`` and the sale lines sent, sharing no code with ``app/pay/compute.py``
(and a few figures worked out by hand). Then: who may see what, a simulation that saves
nothing, concurrent saves that lose no version, a malformed record on the plans topic, a
history published by someone else, and a restart that keeps every plan (the topic is the
truth).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from app.records import Seller, Store
from app.reference import publish_reference
from app.topics import TopicSet, topic_set
from tests.kafka_tools import read_topic
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
ZONE = ZoneInfo("America/Sao_Paulo")
STORE = Store("loja-pay-01", "Loja Pagamento", "São Paulo", "SP", "America/Sao_Paulo")
OTHER = Store("loja-pay-02", "Loja Concorrida", "São Paulo", "SP", "America/Sao_Paulo")
ANA, BIA, CAIO = "s-ana", "s-bia", "s-caio"
SELLERS = [
    Seller(ANA, STORE.store_id, "Ana Lima", "padrao"),
    Seller(BIA, STORE.store_id, "Bia Souza", "bia"),
    Seller(CAIO, STORE.store_id, "Caio Reis", "padrao"),  # no sales: paid his base
    Seller("s-duda", OTHER.store_id, "Duda Alves", "padrao"),
]
BROKEN_STORE = "loja-quebrada"
LINE_NUMBERS = itertools.count(1)


BASE = f"/api/v1/stores/{segment(STORE.store_id)}"


# --------------------------------------------------------------------------- the recompute


def half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest != Fraction(1, 2):
        return floor + (rest > Fraction(1, 2))
    return floor + (floor % 2)


def recompute(plan: dict[str, Any], revenue: int, margin: int) -> dict[str, Any]:
    """A plan's pay for the period's figures, from docs/pay.md: the commission exact, capped,
    then half-even to the cent; the bonus once the quota is reached; the total the sum."""
    basis = revenue if plan["basis"] == "revenue" else margin
    tiers = [(tier["threshold_cents"], Fraction(tier["rate"])) for tier in plan["tiers"]]
    reached = max(
        index for index, (threshold, _) in enumerate(tiers) if basis >= threshold or index == 0
    )

    def exact(amount: int) -> Fraction:
        if amount <= 0:
            return Fraction(0)
        if plan["tier_mode"] == "retroactive":
            rate = [r for threshold, r in tiers if amount >= threshold][-1]
            return rate * amount
        total = Fraction(0)
        bounds = [threshold for threshold, _ in tiers[1:]] + [None]
        for (low, rate), high in zip(tiers, bounds, strict=True):
            inside = (amount if high is None else min(amount, high)) - low
            total += rate * max(inside, 0)
        return total

    def settle(amount: int) -> tuple[int, int, int, bool]:
        commission = exact(amount)
        cap = plan.get("commission_cap_cents")
        capped = cap is not None and commission >= cap
        if cap is not None:
            commission = min(commission, Fraction(cap))
        quota = plan.get("quota_bonus")
        bonus = 0
        if quota is not None and amount >= quota["quota_cents"]:
            if quota.get("amount_cents") is not None:
                bonus = quota["amount_cents"]
            else:
                bonus = half_even(Fraction(quota["rate_of_base"]) * plan["base_pay_cents"])
        paid = half_even(commission)
        return paid, bonus, plan["base_pay_cents"] + paid + bonus, capped

    commission, bonus, total, capped = settle(basis)
    next_tier = None
    if not capped and reached + 1 < len(tiers):
        threshold = tiers[reached + 1][0]
        next_tier = {
            "tier_index": reached + 1,
            "threshold_cents": threshold,
            "rate": plan["tiers"][reached + 1]["rate"],
            "missing_cents": threshold - basis,
            "adds_cents": settle(threshold)[2] - total,
        }
    quota = plan.get("quota_bonus")
    met = quota is not None and basis >= quota["quota_cents"]
    return {
        "basis": plan["basis"],
        "basis_cents": basis,
        "tier_index": reached,
        "base_cents": plan["base_pay_cents"],
        "commission_cents": commission,
        "bonus_cents": bonus,
        "total_cents": total,
        "capped": capped,
        "quota_met": met,
        "quota_missing_cents": None if quota is None or met else quota["quota_cents"] - basis,
        "next_tier": next_tier,
    }


def cents(text: str) -> int:
    units, _, part = text.partition(".")
    return int(units) * 100 + int((part + "00")[:2])


def figures_of(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Net revenue and margin of canonical sale lines, from docs/schema.md: abs(quantity) x
    price - discount, negated for a return; margin = revenue - quantity x cost."""
    revenue = margin = 0
    for row in rows:
        quantity = row["quantity"]
        gross = abs(quantity) * cents(row["unit_price"]) - cents(row["discount"])
        line = -gross if quantity < 0 else gross
        revenue += line
        margin += line - quantity * cents(row["unit_cost"])
    return revenue, margin


# --------------------------------------------------------------------------- the scenario


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_last(day: date) -> date:
    return month_start(month_start(day) + timedelta(days=31)) - timedelta(days=1)


@dataclass
class Scene:
    worker: WorkerProcess
    bootstrap: str
    topics: TopicSet
    today: date
    tokens: dict[str, str]
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Plans saved, by name: their saved JSON."""
    lines: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """(seller, "now" or "last") -> the sale lines sent."""

    @property
    def this_month(self) -> date:
        return month_start(self.today)

    @property
    def last_month(self) -> date:
        return month_start(self.this_month - timedelta(days=1))

    def send(self, method: str, path: str, who: str = "admin", body: Any = None) -> ApiAnswer:
        return self.worker.request(method, path, self.tokens.get(who), body)

    def get(self, path: str, who: str = "admin") -> Any:
        return self.worker.get(path, self.tokens[who])

    def ingest(self, rows: list[dict[str, Any]]) -> None:
        answer = self.send("POST", "/api/v1/ingest/sales", body=rows)
        assert answer.status == 200 and answer.body["accepted"] == len(rows), answer.body

    def wait_for_lines(self, seller: str, first: date, last: date, lines: int) -> None:
        path = f"{BASE}/sellers/{segment(seller)}/summary?from={first}&to={last}"
        eventually(
            lambda: _check(self.get(path)["lines"] == lines, f"{seller} has {lines} lines"),
            f"{lines} lines of {seller} counted",
        )


def _check(condition: bool, message: str = "") -> None:
    assert condition, message


def line(
    seller: str,
    when: datetime,
    quantity: int,
    price: str,
    cost: str,
    discount: str = "0.00",
    order: str | None = None,
) -> dict[str, Any]:
    number = next(LINE_NUMBERS)
    return {
        "order_id": order or f"pay-{seller}-{number}",
        "store_id": STORE.store_id,
        "seller_id": seller,
        "customer_id": f"cliente-{number}",
        "event_time": when.strftime("%Y-%m-%d %H:%M:%S"),
        "time_zone": "America/Sao_Paulo",
        "channel": "loja",
        "sku": f"SKU-{number % 4}",
        "product_name": "Produto",
        "quantity": quantity,
        "unit_price": price,
        "unit_cost": cost,
        "discount": discount,
    }


def just_now() -> datetime:
    """A minute ago in the store's zone, never yesterday (so: this month, the store's today)."""
    now = datetime.now(ZONE)
    return max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=1))


def store_plan(effective: date, base_pay: int) -> dict[str, Any]:
    """Progressive on revenue: 3 % to R$ 1.000, 5 % to R$ 2.000, 8 % above; a bonus of 10 %
    of the base from R$ 1.500; commission capped at R$ 250."""
    return {
        "plan_id": "padrao",
        "effective_from": effective.isoformat(),
        "base_pay_cents": base_pay,
        "basis": "revenue",
        "tier_mode": "progressive",
        "tiers": [
            {"threshold_cents": 0, "rate": "0.03"},
            {"threshold_cents": 100_000, "rate": "0.05"},
            {"threshold_cents": 200_000, "rate": "0.08"},
        ],
        "quota_bonus": {"quota_cents": 150_000, "rate_of_base": "0.10"},
        "commission_cap_cents": 25_000,
    }


def bia_plan(effective: date) -> dict[str, Any]:
    """Bia's override: retroactive on margin, 10 % and 12,5 % from R$ 500 of margin; R$ 50 once
    the margin reaches R$ 400; capped at R$ 100."""
    return {
        "plan_id": "bia",
        "seller_id": BIA,
        "effective_from": effective.isoformat(),
        "base_pay_cents": 120_000,
        "basis": "margin",
        "tier_mode": "retroactive",
        "tiers": [
            {"threshold_cents": 0, "rate": "0.1"},
            {"threshold_cents": 50_000, "rate": "0.125"},
        ],
        "quota_bonus": {"quota_cents": 40_000, "amount_cents": 5_000},
        "commission_cap_cents": 10_000,
    }


async def send_raw(bootstrap: str, topic: str, key: bytes, value: bytes | None) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()
    return sent.offset


@pytest.fixture(scope="module")
def scene(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root: Path = tmp_path_factory.mktemp("pay")
    env = worker_environment(kafka_bootstrap, root / "data", **LIVE_FOREVER)
    topics = topic_set(env["DATAAPP_TOPIC_PREFIX"])
    dataapp(env, "topics")
    asyncio.run(publish_reference(kafka_bootstrap, topics, [STORE, OTHER], SELLERS, []))
    # On the plans topic before the worker starts: not a history. It must be refused,
    # counted and dead-lettered, and must not keep the worker from being ready.
    asyncio.run(send_raw(kafka_bootstrap, topics.plans.name, BROKEN_STORE.encode(), b"{oops"))
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        tokens = {
            "admin": worker.add_user("admin", "admin"),
            "manager": worker.add_user("gerente", "manager", STORE.store_id),
            "other_manager": worker.add_user("gerente-2", "manager", OTHER.store_id),
            "ana": worker.add_user("ana", "seller", STORE.store_id, ANA),
            "bia": worker.add_user("bia", "seller", STORE.store_id, BIA),
        }
        today = datetime.now(ZONE).date()
        yield Scene(worker, kafka_bootstrap, topics, today, tokens)
    finally:
        worker.stop()


# --------------------------------------------------------------------------- the tests
# In order: each builds on what the one before saved or sent.


def test_a_malformed_plan_is_refused_naming_the_field(scene: Scene) -> None:
    good = store_plan(month_start(scene.last_month - timedelta(days=40)), 100_000)
    cases = [
        (
            {**good, "tiers": [good["tiers"][0], {"threshold_cents": 100_000, "rate": "2"}]},
            "tiers[1].rate",
        ),
        ({**good, "comission_cap_cents": 1}, "comission_cap_cents"),
        ({**good, "effective_from": scene.this_month.replace(day=2).isoformat()}, "effective_from"),
        ({**good, "base_pay_cents": 1000.5}, "base_pay_cents"),
        ({**good, "store_id": OTHER.store_id}, "store_id"),
        (
            {**good, "quota_bonus": {"quota_cents": 1, "amount_cents": 1, "rate_of_base": "0.1"}},
            "quota_bonus",
        ),
        ({**good, "correction": {"reason": " "}}, "correction.reason"),
        ({**good, "correction": "esqueci"}, "correction"),
    ]
    for plan, field_at_fault in cases:
        answer = scene.send("PUT", f"{BASE}/plan", "manager", plan)
        assert answer.status == 400, answer.body
        assert answer.body["error"] == "invalid_plan"
        assert answer.body["field"] == field_at_fault, answer.body
        assert answer.body["message"] == f"{field_at_fault}: {answer.body['reason']}"
    # An override for another store's seller: refused on save and in a what-if, where the
    # answer would otherwise name that seller to this store's manager.
    foreign = {**good, "plan_id": "duda-override", "seller_id": "s-duda"}
    for method, path in (("PUT", f"{BASE}/plan"), ("POST", f"{BASE}/plan/simulate")):
        answer = scene.send(method, path, "manager", foreign)
        assert (answer.status, answer.body.get("field")) == (400, "seller_id"), answer.body
        assert "Duda" not in str(answer.body)
    answer = scene.send("PUT", f"{BASE}/plan", "manager", None)
    assert answer.status == 400  # no body at all
    assert scene.get(f"{BASE}/plan", "manager")["versions"] == [], "nothing was saved"
    # And pay without a plan is a clear 404.
    answer = scene.send("GET", f"{BASE}/sellers/{ANA}/pay", "manager")
    assert (answer.status, answer.body["error"]) == (404, "no_plan"), answer.body
    assert STORE.store_id in answer.body["message"]
    assert scene.send("GET", f"{BASE}/pay", "manager").status == 404


CORRECTION = {"reason": "Plano combinado em outubro, registrado só agora (teste)"}


def test_plans_are_saved_and_read_back(scene: Scene) -> None:
    first = month_start(scene.last_month - timedelta(days=40))
    # From a month already past: it would change pay already earned, refused as it is ...
    refused = scene.send("PUT", f"{BASE}/plan", "manager", store_plan(first, 100_000))
    assert (refused.status, refused.body["error"]) == (400, "invalid_plan"), refused.body
    assert refused.body["field"] == "effective_from", refused.body
    # (the store has no sales yet: its current month is the wall clock's, in its zone)
    assert scene.this_month.isoformat() in refused.body["reason"], refused.body
    assert "correction" in refused.body["reason"]
    assert scene.get(f"{BASE}/plan", "manager")["versions"] == [], "nothing was saved"
    # ... and saved as a correction, its reason kept in the version.
    answer = scene.send(
        "PUT", f"{BASE}/plan", "manager", {**store_plan(first, 100_000), "correction": CORRECTION}
    )
    assert answer.status == 200, answer.body
    assert (answer.body["created"], answer.body["saved"]["version"]) == (True, 1)
    assert answer.body["saved"]["correction"] == CORRECTION
    assert answer.body["saved"]["store_id"] == STORE.store_id
    assert answer.body["store_name"] == STORE.name
    # Visible at once to the next read of the same worker.
    read = scene.get(f"{BASE}/plan", "manager")
    assert read["versions"] == [answer.body["saved"]] == [read["in_force"]]
    assert read["today"] == scene.today.isoformat()
    # A second version from this month on, and Bia's override.
    second = scene.send("PUT", f"{BASE}/plan", "admin", store_plan(scene.this_month, 110_000))
    assert second.status == 200 and second.body["saved"]["version"] == 2, second.body
    assert second.body["saved"]["correction"] is None, "this month's first day: no correction"
    bia = scene.send("PUT", f"{BASE}/plan", "manager", bia_plan(first))
    assert (bia.status, bia.body.get("field")) == (400, "effective_from"), bia.body
    bia = scene.send(
        "PUT", f"{BASE}/plan", "manager", {**bia_plan(first), "correction": CORRECTION}
    )
    assert bia.status == 200 and bia.body["saved"]["seller_id"] == BIA, bia.body
    # The same request again changes nothing, with its version or without.
    again = scene.send("PUT", f"{BASE}/plan", "manager", store_plan(scene.this_month, 110_000))
    assert (again.status, again.body["created"], again.body["saved"]["version"]) == (200, False, 2)
    numbered = {**store_plan(scene.this_month, 110_000), "version": 2}
    assert scene.send("PUT", f"{BASE}/plan", "manager", numbered).body["created"] is False
    # A version number another save took: a conflict, not an overwrite.
    stale = {**store_plan(scene.this_month, 999_999), "version": 2}
    conflict = scene.send("PUT", f"{BASE}/plan", "manager", stale)
    assert (conflict.status, conflict.body["error"]) == (409, "version_conflict"), conflict.body
    history = scene.get(f"{BASE}/plan", "manager")
    assert [(p["plan_id"], p["version"]) for p in history["versions"]] == [
        ("padrao", 1),
        ("padrao", 2),
        ("bia", 1),
    ]
    assert history["in_force"]["version"] == 2
    assert [p["plan_id"] for p in history["overrides_in_force"]] == ["bia"]
    # The history shows which versions corrected the past, and why.
    assert [p["correction"] for p in history["versions"]] == [CORRECTION, None, CORRECTION]
    scene.plans.update(
        last=history["versions"][0], now=history["versions"][1], bia=history["versions"][2]
    )


LATE_STORE = "loja-pay-03"
"""A store whose latest sale is last month's, and no reference data (São Paulo's zone)."""


def test_a_stores_current_month_is_the_month_of_its_latest_sale(scene: Scene) -> None:
    """The event clock, not the wall clock, says which months are past: for a store whose
    latest sale is last month, last month is still the current one."""
    when = datetime.combine(scene.last_month.replace(day=12), datetime.min.time()).replace(hour=15)
    row = {**line("s-late", when, 1, "100.00", "60.00"), "store_id": LATE_STORE}
    scene.ingest([row])
    summary = f"/api/v1/stores/{LATE_STORE}/summary?from={scene.last_month}&to={scene.today}"
    eventually(lambda: _check(scene.get(summary)["lines"] == 1), "the late store's sale counted")
    path = f"/api/v1/stores/{LATE_STORE}/plan"
    plan = {**store_plan(scene.last_month, 100_000), "plan_id": "atrasada"}
    answer = scene.send("PUT", path, "admin", plan)
    assert answer.status == 200 and answer.body["saved"]["correction"] is None, answer.body
    before = month_start(scene.last_month - timedelta(days=1))
    refused = scene.send("PUT", path, "admin", {**plan, "effective_from": before.isoformat()})
    assert (refused.status, refused.body.get("field")) == (400, "effective_from"), refused.body
    assert scene.last_month.isoformat() in refused.body["reason"], refused.body


def test_pay_equals_the_recompute_of_the_plan_and_the_sales(scene: Scene) -> None:
    last_10 = datetime.combine(scene.last_month.replace(day=10), datetime.min.time()).replace(
        hour=11
    )
    last_20 = last_10.replace(day=20)
    now = just_now()
    scene.lines[(ANA, "last")] = [
        line(ANA, last_10, 3, "900.00", "500.00"),
        line(ANA, last_20, 2, "900.00", "500.00"),
    ]
    scene.lines[(ANA, "now")] = [
        line(ANA, now, 2, "450.25", "300.00"),
        line(ANA, now, 1, "333.33", "200.00"),
        line(ANA, now, 1, "612.35", "400.00"),
    ]
    scene.lines[(BIA, "now")] = [
        line(BIA, now, 3, "199.90", "120.00"),
        line(BIA, now, 1, "1250.00", "700.00", discount="12.38"),
    ]
    scene.ingest([row for rows in scene.lines.values() for row in rows])
    last_day = scene.this_month - timedelta(days=1)
    scene.wait_for_lines(ANA, scene.last_month, last_day, 2)
    scene.wait_for_lines(ANA, scene.this_month, scene.today, 3)
    scene.wait_for_lines(BIA, scene.this_month, scene.today, 2)

    # Ana, this month, before her return: R$ 1.846,18 of revenue.
    before = pay_of(scene, ANA, "ana")
    want = recompute(scene.plans["now"], *figures_of(scene.lines[(ANA, "now")]))
    assert_pay(before, want, scene.plans["now"])
    # 3 % x 100,000 + 5 % x 84,618 = 3,000 + 4,230.9 -> 7,231; the quota (150,000) is met:
    # 10 % of the base, 11,000.
    assert (before["basis_cents"], before["commission_cents"], before["bonus_cents"]) == (
        184_618,
        7_231,
        11_000,
    )
    assert before["total_cents"] == 110_000 + 7_231 + 11_000
    # Projected: the pay at the projection route's period-end mid (live: today is in progress;
    # Ana sold last month, so her series has a forecast).
    want_projected = projected_by_hand(scene, ANA, scene.plans["now"], scene.lines[(ANA, "now")])
    assert want_projected[0] == "forecast"
    assert_projected(before, want_projected)

    # A return in the same month lowers the commission, and here takes the quota away.
    returned = line(ANA, just_now(), -1, "450.25", "300.00")
    scene.lines[(ANA, "now")].append(returned)
    scene.ingest([returned])
    scene.wait_for_lines(ANA, scene.this_month, scene.today, 4)
    after = pay_of(scene, ANA, "ana")
    want = recompute(scene.plans["now"], *figures_of(scene.lines[(ANA, "now")]))
    assert_pay(after, want, scene.plans["now"])
    # 139,593: 3,000 + 5 % x 39,593 = 4,979.65 -> 4,980; the next tier (8 % from 200,000) is
    # 60,407 away and adds 5 % x 60,407 = 3,020.35 plus the bonus met on the way (11,000).
    assert (after["basis_cents"], after["commission_cents"]) == (139_593, 4_980)
    assert after["commission_cents"] < before["commission_cents"]
    assert (after["bonus_cents"], after["quota_met"], after["quota_missing_cents"]) == (
        0,
        False,
        10_407,
    )
    assert after["base_cents"] == before["base_cents"] == 110_000
    assert after["next_tier"]["missing_cents"] == 60_407
    assert after["next_tier"]["adds_cents"] == (3_000 + 5_000) - 4_980 + 11_000
    assert_projected(
        after, projected_by_hand(scene, ANA, scene.plans["now"], scene.lines[(ANA, "now")])
    )

    # Bia: her override, on margin, retroactive: 77,732 of margin, all at 12,5 %: 9,716.5,
    # half-even to 9,716 (half-up would say 9,717); the R$ 50 bonus is met.
    bia = pay_of(scene, BIA, "bia")
    assert_pay(
        bia,
        recompute(scene.plans["bia"], *figures_of(scene.lines[(BIA, "now")])),
        scene.plans["bia"],
    )
    assert (bia["basis_cents"], bia["commission_cents"], bia["bonus_cents"]) == (
        77_732,
        9_716,
        5_000,
    )
    assert (bia["plan_scope"], bia["total_cents"]) == ("seller", 120_000 + 9_716 + 5_000)
    # Her first sales are today's: no closed day learned, no forecast: her pay to date.
    want_bia = projected_by_hand(scene, BIA, scene.plans["bia"], scene.lines[(BIA, "now")])
    assert want_bia[0] == "no_history"
    assert_projected(bia, want_bia)

    # Last month, as it stood on the 15th and at its end: the plan in force then (version 1).
    mid = pay_of(scene, ANA, "manager", scene.last_month.replace(day=15))
    assert_pay(
        mid,
        recompute(scene.plans["last"], *figures_of(scene.lines[(ANA, "last")][:1])),
        scene.plans["last"],
    )
    assert (mid["plan_version"], mid["basis_cents"], mid["total_cents"]) == (1, 270_000, 123_600)
    # As it was projected on the 15th (a closed day): the projection as of the 15th.
    assert_projected(
        mid,
        projected_by_hand(
            scene,
            ANA,
            scene.plans["last"],
            scene.lines[(ANA, "last")][:1],
            scene.last_month.replace(day=15),
        ),
    )
    end = pay_of(scene, ANA, "manager", last_day)
    assert_pay(
        end,
        recompute(scene.plans["last"], *figures_of(scene.lines[(ANA, "last")])),
        scene.plans["last"],
    )
    # 450,000 would pay 28,000 of commission: capped at 25,000.
    assert (end["commission_cents"], end["capped"], end["next_tier"]) == (25_000, True, None)
    # The month is over: its projected pay is its pay.
    assert end["projected"]["method"] == "final"
    ends = ("mid", "low", "high")
    assert end["projected"]["total_cents"] == dict.fromkeys(ends, end["total_cents"])
    assert end["projected"]["revenue_cents"] == dict.fromkeys(ends, 450_000)
    assert end["total_cents"] == 100_000 + 25_000 + 10_000  # the bonus: 10 % of the base
    assert (end["from"], end["to"], end["as_of"]) == (
        scene.last_month.isoformat(),
        last_day.isoformat(),
        last_day.isoformat(),
    )


def pay_of(scene: Scene, seller: str, who: str, as_of: date | None = None) -> dict[str, Any]:
    query = f"?period=month&as_of={as_of}" if as_of else ""
    return scene.get(f"{BASE}/sellers/{segment(seller)}/pay{query}", who)


def assert_pay(got: dict[str, Any], want: dict[str, Any], plan: dict[str, Any]) -> None:
    assert {name: got[name] for name in want} == want
    assert (got["plan_id"], got["plan_version"]) == (plan["plan_id"], plan["version"])


def projected_by_hand(
    scene: Scene,
    seller: str,
    plan: dict[str, Any],
    lines: list[dict[str, Any]],
    as_of: date | None = None,
) -> tuple[str, dict[str, int], int]:
    """The projected pay of docs/api.md ("Pay"), from the projection route's answer for the
    seller's month and the recompute above: (method, revenue mid/low/high, total at the mid).
    The month is ``as_of``'s (default: this one), asked as of ``as_of`` (a closed day) or live;
    the margin at the margin rate to date, half-even to the cent."""
    revenue, margin = figures_of(lines)
    first = month_start(as_of or scene.today)
    query = f"?from={first}&to={month_last(first)}" + (f"&as_of={as_of}" if as_of else "")
    answer = scene.get(f"{BASE}/sellers/{segment(seller)}/projection{query}", "manager")
    end = answer["period_end"]
    if end is None:  # nothing learned: the actual to date, nothing more expected
        return (
            "no_history",
            dict.fromkeys(("mid", "low", "high"), revenue),
            recompute(plan, revenue, margin)["total_cents"],
        )
    bounds = end["revenue"]
    mid = bounds["mid"]
    margin_mid = half_even(Fraction(margin * mid, revenue)) if revenue > 0 else margin
    return (
        "forecast",
        {"mid": mid, "low": bounds["low80"], "high": bounds["high80"]},
        recompute(plan, mid, margin_mid)["total_cents"],
    )


def assert_projected(got: dict[str, Any], want: tuple[str, dict[str, int], int]) -> None:
    method, revenue, total = want
    projected = got["projected"]
    assert (projected["method"], projected["band"]) == (method, "80%"), projected
    assert projected["revenue_cents"] == revenue
    assert projected["total_cents"]["mid"] == total, (projected, total)
    for end in ("mid", "low", "high"):
        parts = got["base_cents"] + sum(
            projected[name][end] for name in ("commission_cents", "bonus_cents")
        )
        assert projected["total_cents"][end] == parts


def test_the_team_pay_adds_up_every_seller(scene: Scene) -> None:
    team = scene.get(f"{BASE}/pay", "manager")
    rows = {row["seller_id"]: row for row in team["sellers"]}
    # Caio sold nothing but works in the store: his base. Duda works in another store.
    assert list(rows) == [ANA, BIA, CAIO]
    assert {row["display_name"] for row in rows.values()} == {"Ana Lima", "Bia Souza", "Caio Reis"}
    figures = {
        ANA: figures_of(scene.lines[(ANA, "now")]),
        BIA: figures_of(scene.lines[(BIA, "now")]),
        CAIO: (0, 0),
    }
    plans = {ANA: scene.plans["now"], BIA: scene.plans["bia"], CAIO: scene.plans["now"]}
    for seller, row in rows.items():
        assert_pay(row, recompute(plans[seller], *figures[seller]), plans[seller])
        assert (row["revenue_cents"], row["margin_cents"]) == figures[seller]
    assert rows[CAIO]["total_cents"] == 110_000
    totals = team["totals"]
    total = sum(row["total_cents"] for row in rows.values())
    revenue = sum(revenue for revenue, _ in figures.values())
    margin = sum(margin for _, margin in figures.values())
    assert (totals["total_cents"], totals["revenue_cents"], totals["margin_cents"]) == (
        total,
        revenue,
        margin,
    )
    assert totals["of_revenue"] == decimal6(Fraction(total, revenue))
    assert totals["of_margin"] == decimal6(Fraction(total, margin))
    lines = {ANA: scene.lines[(ANA, "now")], BIA: scene.lines[(BIA, "now")], CAIO: []}
    want = {
        seller: projected_by_hand(scene, seller, plans[seller], lines[seller]) for seller in rows
    }
    for seller, row in rows.items():
        assert_projected(row, want[seller])
    # Caio never sold: no forecast, his base.
    assert want[CAIO][0] == "no_history" and want[CAIO][2] == 110_000
    projected = totals["projected"]
    mids = sum(total for _, _, total in want.values())
    revenue_mid = sum(revenue["mid"] for _, revenue, _ in want.values())
    assert (projected["total_cents"], projected["revenue_cents"]) == (mids, revenue_mid)
    assert projected["of_revenue"] == decimal6(Fraction(mids, revenue_mid))
    # A seller's own answer and the team's row agree.
    assert {k: v for k, v in pay_of(scene, ANA, "ana").items() if k in rows[ANA]} == {
        k: v for k, v in rows[ANA].items() if k != "display_name"
    }


def decimal6(value: Fraction) -> str:
    scaled = half_even(value * 1_000_000)
    return f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}"


def test_each_caller_sees_only_their_own(scene: Scene) -> None:
    for who, method, path, body in (
        ("ana", "GET", f"{BASE}/sellers/{BIA}/pay", None),
        ("bia", "GET", f"{BASE}/sellers/{ANA}/pay", None),
        ("ana", "GET", f"{BASE}/pay", None),
        ("ana", "GET", f"{BASE}/plan", None),
        ("ana", "PUT", f"{BASE}/plan", store_plan(scene.this_month, 1)),
        ("ana", "POST", f"{BASE}/plan/simulate", store_plan(scene.this_month, 1)),
        ("other_manager", "GET", f"{BASE}/sellers/{ANA}/pay", None),
        ("other_manager", "GET", f"{BASE}/pay", None),
        ("other_manager", "PUT", f"{BASE}/plan", store_plan(scene.this_month, 1)),
    ):
        answer = scene.send(method, path, who, body)
        assert (answer.status, answer.body["error"]) == (403, "forbidden"), (who, path)
    assert pay_of(scene, ANA, "ana")["seller_name"] == "Ana Lima"
    assert pay_of(scene, BIA, "manager")["seller_id"] == BIA
    assert pay_of(scene, BIA, "admin")["seller_id"] == BIA
    # Nothing was saved by the refused save.
    assert len(scene.get(f"{BASE}/plan")["versions"]) == 3


def test_a_simulation_answers_both_plans_and_saves_nothing(scene: Scene) -> None:
    before = scene.get(f"{BASE}/plan", "manager")
    draft = {
        **store_plan(scene.this_month, 110_000),
        "tiers": [
            {"threshold_cents": 0, "rate": "0.04"},
            {"threshold_cents": 100_000, "rate": "0.06"},
        ],
    }
    answer = scene.send("POST", f"{BASE}/plan/simulate", "manager", draft)
    assert answer.status == 200, answer.body
    result = answer.body
    assert result["draft"]["version"] == 3
    numbered = {**draft, "version": 3, "store_id": STORE.store_id}
    rows = {row["seller_id"]: row for row in result["sellers"]}
    assert list(rows) == [ANA, BIA, CAIO]
    figures = {
        ANA: figures_of(scene.lines[(ANA, "now")]),
        BIA: figures_of(scene.lines[(BIA, "now")]),
        CAIO: (0, 0),
    }
    current = {ANA: scene.plans["now"], BIA: scene.plans["bia"], CAIO: scene.plans["now"]}
    # Bia keeps her override: a store plan's draft does not apply to her.
    proposed = {ANA: numbered, BIA: scene.plans["bia"], CAIO: numbered}
    for seller, row in rows.items():
        want_now = recompute(current[seller], *figures[seller])
        want_then = recompute(proposed[seller], *figures[seller])
        assert {k: row["current"][k] for k in want_now} == want_now
        assert {k: row["draft"][k] for k in want_then} == want_then
        assert row["change_cents"] == want_then["total_cents"] - want_now["total_cents"]
    # Ana at 139,593: 4 % x 100,000 + 6 % x 39,593 = 4,000 + 2,375.58 -> 6,376.
    assert rows[ANA]["draft"]["commission_cents"] == 6_376
    assert rows[BIA]["change_cents"] == 0 and rows[CAIO]["change_cents"] == 0
    revenue = sum(r for r, _ in figures.values())
    margin = sum(m for _, m in figures.values())
    totals = result["totals"]
    for side in ("current", "draft"):
        paid = sum(row[side]["total_cents"] for row in rows.values())
        assert totals[side] == {
            "pay_cents": paid,
            "of_revenue": decimal6(Fraction(paid, revenue)),
            "of_margin": decimal6(Fraction(paid, margin)),
        }
    assert totals["change_cents"] == totals["draft"]["pay_cents"] - totals["current"]["pay_cents"]
    # Projected: each side's pay at each seller's projected mid, and the team's cost.
    lines = {ANA: scene.lines[(ANA, "now")], BIA: scene.lines[(BIA, "now")], CAIO: []}
    paid_mid: dict[str, int] = {}
    for side, plans in (("current", current), ("draft", proposed)):
        wanted = {s: projected_by_hand(scene, s, plans[s], lines[s]) for s in rows}
        for seller, row in rows.items():
            assert_projected(row[side], wanted[seller])
        paid_mid[side] = sum(total for _, _, total in wanted.values())
        revenue_mid = sum(revenue["mid"] for _, revenue, _ in wanted.values())
        assert result["projected"][side]["pay_cents"] == paid_mid[side]
        assert result["projected"][side]["of_revenue"] == decimal6(
            Fraction(paid_mid[side], revenue_mid)
        )
    assert result["projected"]["revenue_cents"] == revenue_mid
    assert result["projected"]["change_cents"] == paid_mid["draft"] - paid_mid["current"]
    # Saved nothing: the same history, the same pay.
    assert scene.get(f"{BASE}/plan", "manager") == before
    assert pay_of(scene, ANA, "ana")["commission_cents"] == 4_980


def test_concurrent_saves_lose_no_version(scene: Scene) -> None:
    """Eight managers' saves of one store at once, unnumbered: eight versions, none lost."""
    path = f"/api/v1/stores/{segment(OTHER.store_id)}/plan"
    answers: list[ApiAnswer] = []

    def save(base_pay: int) -> None:
        answers.append(
            scene.send("PUT", path, "other_manager", store_plan(scene.this_month, base_pay))
        )

    threads = [threading.Thread(target=save, args=(100_000 + n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer.status == 200 and answer.body["created"] for answer in answers), [
        answer.body for answer in answers
    ]
    history = scene.get(path, "other_manager")["versions"]
    assert sorted(p["base_pay_cents"] for p in history) == [100_000 + n for n in range(8)]
    assert [p["version"] for p in history] == list(range(1, 9))
    assert sorted(answer.body["saved"]["version"] for answer in answers) == list(range(1, 9))


def test_the_plans_topic_holds_the_truth(scene: Scene) -> None:
    """What the worker shows is what the topic says: the latest history per store, with
    every version; a malformed record was refused and dead-lettered; a history written by
    someone else shows without a restart."""
    topic = scene.topics.plans.name
    messages = asyncio.run(read_topic_records(scene.bootstrap, topic))
    latest = {key: value for key, value in messages if value is not None}
    mine = orjson.loads(latest[STORE.store_id.encode()])
    assert mine["versions"] == scene.get(f"{BASE}/plan")["versions"]
    series = f'dataapp_reference_invalid_total{{topic="{topic}",reason="undecodable_message"}}'
    assert any(row.startswith(series + " 1") for row in metrics(scene))
    letters = asyncio.run(read_topic(scene.bootstrap, scene.topics.sales_rejected.name))
    refused = [letter for letter in letters if letter["source"] == f"kafka:{topic}"]
    assert [letter["reason"] for letter in refused] == ["undecodable_message"]
    assert BROKEN_STORE in refused[0]["detail"]
    assert scene.get(f"/api/v1/stores/{segment(BROKEN_STORE)}/plan")["versions"] == []

    outside = {
        "store_id": "loja-externa",
        "versions": [{**scene.plans["now"], "store_id": "loja-externa"}],
    }
    asyncio.run(send_raw(scene.bootstrap, topic, b"loja-externa", orjson.dumps(outside)))
    eventually(
        lambda: _check(
            scene.get("/api/v1/stores/loja-externa/plan")["versions"] == outside["versions"]
        ),
        "a history published by another producer",
        timeout=30,
    )


async def read_topic_records(bootstrap: str, topic: str) -> list[tuple[bytes, bytes | None]]:
    from tests.kafka_tools import read_records

    return await read_records(bootstrap, topic)


def metrics(scene: Scene) -> list[str]:
    answer = scene.send("GET", "/metrics")
    assert answer.status == 200
    return answer.body.splitlines()


def test_a_restart_keeps_every_plan(scene: Scene) -> None:
    plans = scene.get(f"{BASE}/plan", "manager")
    other = scene.get(f"/api/v1/stores/{segment(OTHER.store_id)}/plan", "other_manager")
    pay = {seller: pay_of(scene, seller, "manager") for seller in (ANA, BIA, CAIO)}
    team = scene.get(f"{BASE}/pay", "manager")
    scene.worker.stop()
    scene.worker.start()
    scene.worker.wait_ready()
    assert scene.get(f"{BASE}/plan", "manager") == plans
    assert scene.get(f"/api/v1/stores/{segment(OTHER.store_id)}/plan", "other_manager") == other
    for seller, before in pay.items():
        assert pay_of(scene, seller, "manager") == before
    assert scene.get(f"{BASE}/pay", "manager") == team
    # And saving goes on from where the topic is.
    answer = scene.send("PUT", f"{BASE}/plan", "manager", store_plan(scene.this_month, 120_000))
    assert answer.status == 200 and answer.body["saved"]["version"] == 3, answer.body
