"""Pay and projections on Online Retail (issue 10), end to end on a real broker and worker.

The three months of Online Retail go through the shipped mapping into Kafka and a worker
(as ``test_reconciliation.py`` does, whose pandas recompute of the raw CSVs and whose wait
are reused). Countries stand in for stores and "online" is every store's one seller; the
data has no costs, so margins are 0 and the plans pay on revenue. A manager saves a
progressive plan for the biggest store (United Kingdom: capped in December, quota met by
572,518 cents in January, missed in February) and an admin one for a small store (Japan:
top tier in December, more returned than sold in January, quota met in February), both
effective from the data's first month.

Then, for every month of the data (whole, and to a day in its middle): the seller's pay and
the team's, every figure checked against a direct formula written here from the plan's
tiers (docs/pay.md: progressive, capped, half-even to the cent once, quota bonus), applied
to the figures the pandas recompute finds in the CSV files (which the API's own revenue
and margin must equal to the cent); the month ends' figures are also pinned by hand. The
projected pay is checked at the seller's projection of the month (80 % band), and the
projection routes (store and seller, as of the middle of January) against the recompute
and their bands. Last, the worker is killed with SIGKILL and started again: every answer
comes back the same.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.kafka.admin import partitions_of
from tests.integration.test_reconciliation import (
    EVERYTHING,
    FIXED_KEY,
    SELLER,
    recompute_from_csv,
    wait_until_complete,
)
from tests.worker_tools import (
    ApiAnswer,
    WorkerProcess,
    dataapp,
    eventually,
    worker_environment,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.data]

UK, JAPAN = "united-kingdom", "japan"
MONTH_DAYS = {
    "2010-12": (date(2010, 12, 1), date(2010, 12, 31)),
    "2011-01": (date(2011, 1, 1), date(2011, 1, 31)),
    "2011-02": (date(2011, 2, 1), date(2011, 2, 28)),
}
# A day in the middle of each month: closed days of the store's event clock (its last sale
# is on 28 February in the UK, on 9 February in Japan), except Japan's 9 February, the day
# in progress (the projected pay then asks the live projection).
MIDDLE = {
    UK: (date(2010, 12, 15), date(2011, 1, 15), date(2011, 2, 15)),
    JAPAN: (date(2010, 12, 15), date(2011, 1, 15), date(2011, 2, 9)),
}
AS_OF = [
    (store, day)
    for store in (UK, JAPAN)
    for day in (*MIDDLE[store], *(last for _, last in MONTH_DAYS.values()))
]
PROJECTED_MONTH = MONTH_DAYS["2011-01"]
PROJECTED_AS_OF = date(2011, 1, 15)
BOUNDS = ("mid", "low80", "high80", "low95", "high95")
ENDS = ("mid", "low", "high")
CORRECTION = {"reason": "plano do trimestre registrado depois do fechamento (teste)"}

# Progressive on revenue; the bonus a fixed amount; the commission capped at R$ 7.000.
UK_PLAN: dict[str, Any] = {
    "plan_id": "online-uk",
    "effective_from": "2010-12-01",
    "base_pay_cents": 250_000,
    "basis": "revenue",
    "tier_mode": "progressive",
    "tiers": [
        {"threshold_cents": 0, "rate": "0.01"},
        {"threshold_cents": 40_000_000, "rate": "0.0125"},
        {"threshold_cents": 60_000_000, "rate": "0.015"},
    ],
    "quota_bonus": {"quota_cents": 45_000_000, "amount_cents": 100_000},
    "commission_cap_cents": 700_000,
}
# Progressive on revenue; the bonus 12.5 % of the base; a cap never reached.
JAPAN_PLAN: dict[str, Any] = {
    "plan_id": "online-jp",
    "effective_from": "2010-12-01",
    "base_pay_cents": 150_000,
    "basis": "revenue",
    "tier_mode": "progressive",
    "tiers": [
        {"threshold_cents": 0, "rate": "0.02"},
        {"threshold_cents": 300_000, "rate": "0.035"},
        {"threshold_cents": 600_000, "rate": "0.055"},
    ],
    "quota_bonus": {"quota_cents": 500_000, "rate_of_base": "0.125"},
    "commission_cap_cents": 40_000,
}
PLANS = {UK: UK_PLAN, JAPAN: JAPAN_PLAN}

# The month ends worked out by hand from the months' revenue (which the recompute must find):
# (revenue, commission, bonus, total, capped, next tier's missing and adds or None).
BY_HAND: dict[tuple[str, str], tuple[int, int, int, int, bool, tuple[int, int] | None]] = {
    # 1 % x 40M + 1.25 % x 20M + 1.5 % x 9,092,975 = 786,394.625: capped at 700,000.
    (UK, "2010-12"): (69_092_975, 700_000, 100_000, 1_050_000, True, None),
    # 400,000 + 1.25 % x 5,572,518 = 469,656.475 -> 469,656; at 60M: 650,000.
    (UK, "2011-01"): (45_572_518, 469_656, 100_000, 819_656, False, (14_427_482, 180_344)),
    # 400,000 + 1.25 % x 1,290,411 = 416,130.1375 -> 416,130; at 60M: 650,000 + the bonus.
    (UK, "2011-02"): (41_290_411, 416_130, 0, 666_130, False, (18_709_589, 333_870)),
    # 2 % x 300,000 + 3.5 % x 300,000 + 5.5 % x 170,507 = 25,877.885 -> 25,878; top tier.
    (JAPAN, "2010-12"): (770_507, 25_878, 18_750, 194_628, False, None),
    # A return and no sale: no commission, no bonus, the base; 300,000 would add 6,000.
    (JAPAN, "2011-01"): (-10_980, 0, 0, 150_000, False, (310_980, 6_000)),
    # 6,000 + 3.5 % x 278,081 = 15,732.835 -> 15,733; at 600,000: 16,500.
    (JAPAN, "2011-02"): (578_081, 15_733, 18_750, 184_483, False, (21_919, 767)),
}


# --------------------------------------------------------------------------- the recompute


def commission_exact(plan: dict[str, Any], basis: int) -> Fraction:
    """Each tier's rate on the part of the basis inside it (progressive); nothing on a
    basis of 0 or less."""
    if basis <= 0:
        return Fraction(0)
    tiers = plan["tiers"]
    total = Fraction(0)
    for index, tier in enumerate(tiers):
        upper = tiers[index + 1]["threshold_cents"] if index + 1 < len(tiers) else basis
        total += Fraction(tier["rate"]) * max(0, min(basis, upper) - tier["threshold_cents"])
    return total


def pay_at(plan: dict[str, Any], basis: int) -> dict[str, Any]:
    """The pay of a month whose basis is ``basis``: the commission capped then rounded
    half-even to the cent (Python's round of a Fraction), the bonus once the quota is
    reached, the total the sum of the three."""
    exact = commission_exact(plan, basis)
    cap = plan["commission_cap_cents"]
    commission = round(min(exact, Fraction(cap)))
    quota = plan["quota_bonus"]
    met = basis >= quota["quota_cents"]
    if not met:
        bonus = 0
    elif quota.get("amount_cents") is not None:
        bonus = quota["amount_cents"]
    else:
        bonus = round(Fraction(quota["rate_of_base"]) * plan["base_pay_cents"])
    reached = max(
        [i for i, tier in enumerate(plan["tiers"]) if basis >= tier["threshold_cents"]] or [0]
    )
    return {
        "basis": "revenue",
        "basis_cents": basis,
        "tier_index": reached,
        "base_cents": plan["base_pay_cents"],
        "commission_cents": commission,
        "bonus_cents": bonus,
        "total_cents": plan["base_pay_cents"] + commission + bonus,
        "capped": exact >= cap,
        "quota_met": met,
        "quota_missing_cents": None if met else quota["quota_cents"] - basis,
    }


def expected_pay(plan: dict[str, Any], basis: int) -> dict[str, Any]:
    """``pay_at`` and the next tier: its threshold and rate, what basis it still needs, and
    what the total gains there (none at the top tier or once capped)."""
    now = pay_at(plan, basis)
    following = now["tier_index"] + 1
    next_tier = None
    if not now["capped"] and following < len(plan["tiers"]):
        tier = plan["tiers"][following]
        next_tier = {
            "tier_index": following,
            "threshold_cents": tier["threshold_cents"],
            "rate": tier["rate"],
            "missing_cents": tier["threshold_cents"] - basis,
            "adds_cents": pay_at(plan, tier["threshold_cents"])["total_cents"] - now["total_cents"],
        }
    return {**now, "next_tier": next_tier}


def share6(numerator: int, denominator: int) -> str | None:
    """The decimal string of docs/api.md ("Shares"): half-even to six places."""
    if denominator <= 0:
        return None
    scaled = round(Fraction(numerator, denominator) * 1_000_000)
    return f"{scaled // 1_000_000}.{scaled % 1_000_000:06d}"


# --------------------------------------------------------------------------- the scene


@dataclass
class Retail:
    worker: WorkerProcess
    lines: pd.DataFrame
    """The pandas recompute's accepted lines (store, day, quantity, revenue, ...)."""
    tokens: dict[str, str]
    saved: dict[str, dict[str, Any]]
    """The plan saved per store, as the PUT answered it."""

    def get(self, path: str, who: str = "admin") -> Any:
        return self.worker.get(path, self.tokens[who])

    def ask(self, path: str, who: str = "admin") -> ApiAnswer:
        return self.worker.request("GET", path, self.tokens[who])

    def sold(self, store: str, first: date, last: date) -> dict[str, int]:
        """Revenue and units (net of returns) of the store's lines in ``first..last``, as the
        recompute reads the CSV files; the store's one seller sold all of them."""
        lines = self.lines
        chosen = lines[
            (lines["store"] == store)
            & (lines["day"] >= first.isoformat())
            & (lines["day"] <= last.isoformat())
        ]
        return {
            "revenue_cents": int(chosen["revenue"].sum()),
            "units": int(chosen["quantity"].sum()),
        }

    def first_sale(self, store: str) -> date:
        return date.fromisoformat(self.lines[self.lines["store"] == store]["day"].min())


def manager_of(store: str) -> str:
    return f"gerente-{store}"


def save_plan(worker: WorkerProcess, store: str, token: str, plan: dict[str, Any]) -> ApiAnswer:
    """PUT the plan, which starts in the data's first month: a month already past on the
    store's own clock (the month of its latest sale, February 2011), so it is refused as
    back-dated (docs/api.md, "Plans and pay") until it says it is a correction, with a reason.
    """
    path = f"/api/v1/stores/{store}/plan"
    refused = worker.request("PUT", path, token, plan)
    assert refused.status == 400, refused.body
    assert (refused.body["error"], refused.body["field"]) == ("invalid_plan", "effective_from")
    assert "2011-02-01" in refused.body["reason"] and "correction" in refused.body["reason"]
    return worker.request("PUT", path, token, {**plan, "correction": CORRECTION})


@pytest.fixture(scope="module")
def retail(
    kafka_bootstrap: str, online_retail_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Retail]:
    root: Path = tmp_path_factory.mktemp("pay-online-retail")
    env = worker_environment(kafka_bootstrap, root / "data", **EVERYTHING, **FIXED_KEY)
    recomputed = recompute_from_csv(online_retail_dir)
    summary = json.loads(
        dataapp(
            env,
            "ingest",
            str(online_retail_dir),
            "--mapping",
            "online-retail",
            "--json",
            "--no-progress",
            timeout=300,
        ).splitlines()[-1]
    )
    assert summary["accepted"] == recomputed.accepted, summary
    assert summary["failures"] == [], summary
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        tokens = {"admin": worker.add_user("admin", "admin")}
        for store in (UK, JAPAN):
            tokens[manager_of(store)] = worker.add_user(manager_of(store), "manager", store)
        tokens["online-uk"] = worker.add_user("online-uk", "seller", UK, SELLER)
        stores = wait_until_complete(worker, tokens["admin"], summary["accepted"])
        assert {UK, JAPAN} <= set(stores)
        saved = {}
        for store, who in ((UK, manager_of(UK)), (JAPAN, "admin")):
            answer = save_plan(worker, store, tokens[who], PLANS[store])
            assert answer.status == 200, answer.body
            assert answer.body["created"] is True, answer.body
            saved[store] = answer.body["saved"]
        yield Retail(worker, recomputed.lines, tokens, saved)
    finally:
        worker.stop()


# --------------------------------------------------------------------------- the tests


def test_the_plans_are_saved_as_sent(retail: Retail) -> None:
    for store, plan in PLANS.items():
        saved = retail.saved[store]
        # The saved form writes every field, the absent ones as null (docs/pay.md).
        bonus = {"quota_cents": None, "amount_cents": None, "rate_of_base": None}
        assert saved == {
            **plan,
            "version": 1,
            "store_id": store,
            "seller_id": None,
            "period": "month",
            "quota_bonus": {**bonus, **plan["quota_bonus"]},
            "correction": CORRECTION,
        }
        read = retail.get(f"/api/v1/stores/{store}/plan", manager_of(store))
        assert read["versions"] == [saved]
        assert read["in_force"] == saved  # no later version: still in force today


def test_the_months_figures_are_the_ones_worked_by_hand(retail: Retail) -> None:
    """The recompute finds the months' revenue the hand-worked pay starts from, and the
    formula gives the hand-worked pay: the three agree before the API is compared."""
    for (store, month), (revenue, commission, bonus, total, capped, following) in BY_HAND.items():
        first, last = MONTH_DAYS[month]
        assert retail.sold(store, first, last)["revenue_cents"] == revenue
        want = expected_pay(PLANS[store], revenue)
        assert (want["commission_cents"], want["bonus_cents"], want["total_cents"]) == (
            commission,
            bonus,
            total,
        )
        assert want["capped"] is capped
        got_next = want["next_tier"]
        assert (
            None if got_next is None else (got_next["missing_cents"], got_next["adds_cents"])
        ) == following


def projection_of_month(retail: Retail, store: str, as_of: date) -> dict[str, Any] | None:
    """The seller's projection the pay's ``projected`` is read from (docs/api.md, "Pay"): the
    month of ``as_of``, as of ``as_of`` when it is a closed day of the store's clock, live
    when it is the day in progress; None when the month is over (its actual pay)."""
    first = as_of.replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    if as_of == last:
        return None  # the month is over (2010-2011: long past in any time zone)
    base = f"/api/v1/stores/{store}/sellers/{SELLER}/projection"
    clock = retail.get(base)["last_closed_day"]
    query = f"from={first}&to={last}"
    if as_of <= date.fromisoformat(clock):
        query += f"&as_of={as_of}"
    else:
        assert retail.get(base)["today"]["day"] == as_of.isoformat(), "the day in progress"
    return retail.get(f"{base}?{query}")


def assert_projected_pay(
    retail: Retail, store: str, as_of: date, row: dict[str, Any], revenue: int
) -> None:
    plan = PLANS[store]
    projected = row["projected"]
    projection = projection_of_month(retail, store, as_of)
    if projection is None:
        method, ends = "final", dict.fromkeys(ENDS, revenue)
    else:
        assert projection["period_end"] is not None, projection
        bounds = projection["period_end"]["revenue"]
        method = "forecast"
        ends = {"mid": bounds["mid"], "low": bounds["low80"], "high": bounds["high80"]}
    assert (projected["method"], projected["band"]) == (method, "80%"), projected
    assert projected["revenue_cents"] == ends
    # No costs: the margin rate to date is 0 (and without revenue the margin to date is 0).
    assert projected["margin_cents"] == dict.fromkeys(ENDS, 0)
    at = {end: pay_at(plan, ends[end]) for end in ENDS}
    for figure in ("commission_cents", "bonus_cents", "total_cents"):
        assert projected[figure] == {end: at[end][figure] for end in ENDS}, (figure, projected)
    assert projected["next_tier_reached"] is (at["mid"]["tier_index"] > row["tier_index"])
    assert projected["quota_met"] is at["mid"]["quota_met"]
    # A revenue plan: pay to date <= low <= mid <= high.
    totals = projected["total_cents"]
    assert row["total_cents"] <= totals["low"] <= totals["mid"] <= totals["high"], totals


@pytest.mark.parametrize(("store", "as_of"), AS_OF, ids=[f"{s}-{d}" for s, d in AS_OF])
def test_seller_and_team_pay_equal_the_recompute(retail: Retail, store: str, as_of: date) -> None:
    plan, first = PLANS[store], as_of.replace(day=1)
    figures = retail.sold(store, first, as_of)
    revenue = figures["revenue_cents"]
    query = f"period=month&as_of={as_of}"
    mine = retail.get(f"/api/v1/stores/{store}/sellers/{SELLER}/pay?{query}", manager_of(store))
    assert (mine["store_id"], mine["seller_id"], mine["period"]) == (store, SELLER, "month")
    # No reference data for Online Retail: the names are the ids.
    assert (mine["store_name"], mine["seller_name"]) == (store, SELLER)
    assert (mine["from"], mine["to"], mine["as_of"]) == (str(first), str(as_of), str(as_of))
    # The API's own sales figures equal the recompute from the CSV files, to the cent.
    assert (mine["revenue_cents"], mine["margin_cents"]) == (revenue, 0)
    assert (mine["plan_id"], mine["plan_version"], mine["plan_scope"]) == (
        plan["plan_id"],
        1,
        "store",
    )
    want = expected_pay(plan, revenue)
    assert {name: mine[name] for name in want} == want
    parts = mine["base_cents"] + mine["commission_cents"] + mine["bonus_cents"]
    assert parts == mine["total_cents"]
    assert_projected_pay(retail, store, as_of, mine, revenue)

    team = retail.get(f"/api/v1/stores/{store}/pay?{query}", manager_of(store))
    assert (team["from"], team["to"], team["as_of"]) == (str(first), str(as_of), str(as_of))
    [row] = team["sellers"]  # the one seller, who sold (or took a return) in every month
    assert (row["seller_id"], row["display_name"]) == (SELLER, SELLER)
    assert {k: v for k, v in row.items() if k != "display_name"} == {
        k: v for k, v in mine.items() if k in row
    }
    totals = team["totals"]
    assert totals == {
        "sellers": 1,
        "revenue_cents": revenue,
        "margin_cents": 0,
        "base_cents": want["base_cents"],
        "commission_cents": want["commission_cents"],
        "bonus_cents": want["bonus_cents"],
        "total_cents": want["total_cents"],
        "of_revenue": share6(want["total_cents"], revenue),
        "of_margin": None,  # no margin: no share of it
        "projected": {
            "revenue_cents": mine["projected"]["revenue_cents"]["mid"],
            "margin_cents": 0,
            "commission_cents": mine["projected"]["commission_cents"]["mid"],
            "bonus_cents": mine["projected"]["bonus_cents"]["mid"],
            "total_cents": mine["projected"]["total_cents"]["mid"],
            "of_revenue": share6(
                mine["projected"]["total_cents"]["mid"], mine["projected"]["revenue_cents"]["mid"]
            ),
            "of_margin": None,
        },
    }


def test_the_seller_sees_their_own_pay_as_the_manager_does(retail: Retail) -> None:
    for _, last in MONTH_DAYS.values():
        path = f"/api/v1/stores/{UK}/sellers/{SELLER}/pay?period=month&as_of={last}"
        assert retail.get(path, "online-uk") == retail.get(path, manager_of(UK))
    assert retail.ask(f"/api/v1/stores/{UK}/pay", "online-uk").status == 403


def projection_paths(store: str) -> list[str]:
    first, last = PROJECTED_MONTH
    query = f"from={first}&to={last}&as_of={PROJECTED_AS_OF}"
    base = f"/api/v1/stores/{store}"
    return [f"{base}/projection?{query}", f"{base}/sellers/{SELLER}/projection?{query}"]


@pytest.mark.parametrize("store", [UK, JAPAN])
def test_the_projections_as_of_the_middle_of_january(retail: Retail, store: str) -> None:
    first, last = PROJECTED_MONTH
    actual = retail.sold(store, first, PROJECTED_AS_OF)
    answers = []
    for path in projection_paths(store):
        answer = retail.get(path, manager_of(store))
        assert retail.get(path, manager_of(store)) == answer, "asked twice, the same answer"
        assert (answer["from"], answer["to"]) == (str(first), str(last))
        assert answer["as_of"] == answer["last_closed_day"] == str(PROJECTED_AS_OF)
        assert answer["today"] is None
        assert answer["actual_to_date"] == actual
        assert answer["model"] == "weekday-profile"
        # Every closed day from the store's first sale to as_of, both included.
        assert answer["days_learned"] == (PROJECTED_AS_OF - retail.first_sale(store)).days + 1
        for measure, done in (("revenue", "revenue_cents"), ("units", "units")):
            bounds = answer["period_end"][measure]
            assert set(bounds) == set(BOUNDS)
            assert all(type(value) is int for value in bounds.values()), bounds
            assert bounds["low95"] <= bounds["low80"] <= bounds["mid"], bounds
            assert bounds["mid"] <= bounds["high80"] <= bounds["high95"], bounds
            # The sales still to come are never negative: no bound below the actual.
            assert bounds["low95"] >= actual[done], (bounds, actual)
        answers.append(answer)
    store_answer, seller_answer = answers
    # The store has one seller: the two series are the same, and so are their projections.
    assert (seller_answer["seller_id"], seller_answer.get("store_id")) == (SELLER, store)
    assert {k: v for k, v in seller_answer.items() if k not in ("seller_id", "seller_name")} == (
        store_answer
    )


async def unsettled_changelogs(bootstrap: str, prefix: str) -> dict[str, tuple[int, int]]:
    """The worker's changelog partitions whose last stable offset (where a restore stops
    reading) is short of their end: a transaction is open there. (last stable, end) each."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = await admin.list_topics()
    finally:
        await admin.close()
    topics = [name for name in names if name.startswith(prefix) and name.endswith("-changelog")]
    known = await partitions_of(bootstrap, topics)
    wanted = [TopicPartition(topic, p) for topic in topics for p in known.get(topic, ())]
    ends = {}
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation)
        await consumer.start()
        try:
            ends[isolation] = await consumer.end_offsets(wanted)
        finally:
            await consumer.stop()
    stable, end = ends["read_committed"], ends["read_uncommitted"]
    return {
        f"{tp.topic}[{tp.partition}]": (stable[tp], end[tp])
        for tp in wanted
        if stable[tp] != end[tp]
    }


def test_the_same_answers_after_a_sigkill(retail: Retail) -> None:
    """Last in the module: it restarts the worker. Plans come back from their topic, sales
    figures from the tables' changelogs, projections are rebuilt from those."""
    asked = []
    for store, as_of in AS_OF:
        query = f"period=month&as_of={as_of}"
        asked.append(f"/api/v1/stores/{store}/sellers/{SELLER}/pay?{query}")
        asked.append(f"/api/v1/stores/{store}/pay?{query}")
    for store in (UK, JAPAN):
        asked.extend(projection_paths(store))
        asked.append(f"/api/v1/stores/{store}/plan")
    before = [retail.get(path) for path in asked]
    env = retail.worker.env
    unsettled = asyncio.run(
        unsettled_changelogs(env["DATAAPP_KAFKA_BOOTSTRAP"], env["DATAAPP_TOPIC_PREFIX"])
    )

    retail.worker.kill(signal.SIGKILL)
    retail.worker.start()
    retail.worker.wait_ready(timeout=300)

    def the_same() -> None:
        after = [retail.worker.request("GET", path, retail.tokens["admin"]) for path in asked]
        differ = [
            (path, answer.status, answer.body)
            for path, was, answer in zip(asked, before, after, strict=True)
            if (answer.status, answer.body) != (200, was)
        ]
        if differ:
            # Evidence for whoever reads the failure: what the restarted worker answered, how
            # far behind its aggregation was, changelogs with a transaction open before the
            # kill, and its log.
            metrics = retail.worker.request("GET", "/metrics").body
            lag = [
                line for line in str(metrics).splitlines() if line.startswith("dataapp_consumer")
            ]
            raise AssertionError(
                f"{len(differ)} of {len(asked)} answers changed across the restart; first ones: "
                f"{differ[:3]}\nlag: {lag}\nopen before the kill: {unsettled}\n"
                f"{retail.worker.tail(80)}"
            )

    # The tables answer a batch once applied, a moment before its transaction commits: a
    # kill in between leaves that batch to the restarted worker, which counts it again from
    # the last committed offset (nothing lost, nothing twice) shortly after it is ready.
    eventually(the_same, "the same answers after the restart", timeout=180)
