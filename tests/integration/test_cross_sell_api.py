"""Bought together (issue 11) end to end: the cross-sell route against mlxtend, exactly.

**Generated baskets.** Two stores (America/Manaus, whose lines are sent stamped in UTC, and
America/Sao_Paulo) sell for 34 local days; a third store only takes return tickets. The worker
keeps DATAAPP_BASKET_DAYS=10, so most days have slid out of the window by the end. Among the
orders: planted affinities (a phone case only ever sold with a phone: conviction null), orders
sent in two pieces (the second later, some after midnight, one across the window's first day),
returns in the same order that bring a product to zero (it leaves the basket) or leave some
(it stays), whole baskets returned, a return that arrives before the sale, return tickets of
their own, the same order ids in both stores, and late pieces sent after everything else (an
order inside the window, one already out of it, a piece added to an order out of it).

The baskets are rebuilt here from the rows sent, straight from the definition (docs/api.md,
"Bought together"): basket = (store, order); its products are those with net units above zero;
its day is the store's local day of the first piece (as sent) that sold something; the window
is the last N days up to the store's newest basket day. mlxtend's ``apriori`` (max_len=2) and
``association_rules`` (num_itemsets = baskets) run on those baskets, and every rule above the
threshold must be in the API's answer with every measure equal (==, not approx; conviction
null where mlxtend's is inf) and the basket counts equal: the store's pairs, a range of days
inside the window, and product by product. The ranking is checked too.

Then, once the worker has committed everything, it is killed with SIGKILL and started
again: the same figures (names apart: a product without a reference record loses its name,
an expected failure, see ``test_the_same_names_after_a_sigkill``). More sales after the
restart (two new days sliding the window, a late piece and a return for orders the restored
basket index must know, a late piece of an order that just slid out) and the answers equal
mlxtend again.

**Online Retail** (``data``): the three months through the shipped mapping, a worker keeping
60 days (the window slides in every store compared). The baskets are rebuilt from the CSV
files with the mapping's rules written out below; the United Kingdom (support 0.02) and two
small stores (Germany 0.05, France 0.1) are compared pair by pair and product by product, then
again after a SIGKILL and a restart.

Last, who may read the route and which parameters it refuses.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from app.records import Product, Seller, Store
from app.reference import publish_reference
from app.topics import topic_set
from tests.integration.test_projection_api import LIVE_FOREVER, money
from tests.integration.test_reconciliation import (
    EVERYTHING,
    FIXED_KEY,
    MAX_ABS_QUANTITY,
    MAX_UNIT_PRICE_CENTS,
    NON_PRODUCT_PATTERN,
    NON_PRODUCTS,
    cleaned_upper,
    country_slug,
    decimal_cents,
    wait_until_complete,
)
from tests.unit.test_cross_sell import mlxtend_rules
from tests.worker_tools import (
    ApiAnswer,
    WorkerProcess,
    dataapp,
    eventually,
    segment,
    worker_environment,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

WINDOW_DAYS = 10
NORTH = Store("loja-cesta-01", "Loja Cesta Norte", "Manaus", "AM", "America/Manaus")
SOUTH = Store("loja-cesta-02", "Loja Cesta Sul", "Porto Alegre", "RS", "America/Sao_Paulo")
RETURNS_ONLY = Store("loja-cesta-03", "Loja Só Trocas", "Recife", "PE", "America/Recife")
ANA, BIA, CAIO = "s-ana", "s-bia", "s-caio"
SELLERS = [
    Seller(ANA, NORTH.store_id, "Ana Lima", "padrao"),
    Seller(BIA, SOUTH.store_id, "Bia Souza", "padrao"),
    Seller(CAIO, RETURNS_ONLY.store_id, "Caio Reis", "padrao"),
]
FIRST_DAY = date(2025, 9, 1)
DAYS = 34
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
# Rows of the Manaus store are stamped in UTC (the row's time_zone still says Manaus): its
# evening sales fall on the next UTC day, and only the store's zone gives their day.
IN_UTC = {NORTH.store_id: True, SOUTH.store_id: False, RETURNS_ONLY.store_id: False}

CATALOGUE = {
    "CEL-01": "Celular básico",
    "CAPA-01": "Capa para celular",
    "CARREG-01": "Carregador USB-C",
    "CAFE-01": "Café torrado 500 g",
    "FILTRO-01": "Filtro de papel 103",
    "CANECA-01": "Caneca de cerâmica",
    "CONTROLE-01": "Controle remoto universal",
    "PILHA-01": "Pilhas AA (4)",
    "FONE-01": "Fone de ouvido",
    "CABO-01": "Cabo HDMI",
    "MOUSE-01": "Mouse sem fio",
    "LIVRO-01": "Livro de receitas",
    "AGENDA-01": "Agenda 2026",
    "CANETA-01": "Caneta azul",
    "MOCHILA-01": "Mochila escolar",
}
UNCATALOGUED = "AVULSO-01"  # no reference record: its name comes from its sale lines
LINE_NAME = {**CATALOGUE, UNCATALOGUED: "Produto avulso"}
PRICE_CENTS = {sku: 990 + 750 * number for number, sku in enumerate(LINE_NAME)}
# Bought on their own or beside the planted groups; the case never (it only goes with a phone).
EXTRAS = ("FONE-01", "CABO-01", "MOUSE-01", "LIVRO-01", "AGENDA-01", "CANETA-01", "MOCHILA-01")
EXTRAS += (UNCATALOGUED, "CARREG-01", "CANECA-01", "PILHA-01")
EXTRA_WEIGHTS = (9, 7, 6, 5, 4, 4, 3, 3, 2, 2, 2)
NEVER_SOLD = "NUNCA-01"
ASKED_PRODUCTS = ("CEL-01", "CAPA-01", "CAFE-01", UNCATALOGUED, NEVER_SOLD)
MEASURES = (
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
)
ROUTE_LIMIT = 500  # the route's largest limit: every answer compared must stay below it

Piece = list[dict[str, Any]]
"""Rows of one order sent at one time."""
Baskets = dict[tuple[str, str], tuple[str, frozenset[str]]]
"""``(store, order) -> (day, products)``: every order that sold something (products may be
empty: everything returned)."""
Expected = dict[tuple[str, str], dict[str, float]]
"""mlxtend's rules by (antecedent, consequent): their measures."""


# --- baskets and mlxtend, written here from the definition ------------------------------------


def baskets_from_lines(lines: Iterable[tuple[str, str, str, int, str]]) -> Baskets:
    """``(store, order, sku, signed quantity, local day)`` in the order they reached the
    worker: net units per product, the products above zero, the day of the first line sold."""
    units: dict[tuple[str, str], dict[str, int]] = {}
    days: dict[tuple[str, str], str] = {}
    for store, order, sku, quantity, day in lines:
        key = (store, order)
        if quantity > 0:
            days.setdefault(key, day)
        per_product = units.setdefault(key, {})
        per_product[sku] = per_product.get(sku, 0) + quantity
    return {
        key: (day, frozenset(sku for sku, net in units[key].items() if net > 0))
        for key, day in days.items()
    }


@dataclass
class Window:
    first: str
    last: str
    baskets: list[frozenset[str]]

    def holding(self, *products: str) -> int:
        """Baskets holding the product, or both products of a pair."""
        return self._counts.get(frozenset(products), 0)

    @cached_property
    def _counts(self) -> dict[frozenset[str], int]:
        counts: dict[frozenset[str], int] = {}
        for basket in self.baskets:
            for key in (
                *map(frozenset, combinations(basket, 2)),
                *(frozenset([p]) for p in basket),
            ):
                counts[key] = counts.get(key, 0) + 1
        return counts


def window_of(
    baskets: Baskets, store: str, days: int, first: str | None = None, last: str | None = None
) -> Window:
    """The store's baskets of the last ``days`` days up to its newest basket day, or of
    ``first`` to ``last`` inside them."""
    newest = max(day for (where, _), (day, _) in baskets.items() if where == store)
    oldest = (date.fromisoformat(newest) - timedelta(days=days - 1)).isoformat()
    first, last = first or oldest, last or newest
    assert oldest <= first <= last <= newest
    chosen = [
        items
        for (where, _), (day, items) in baskets.items()
        if where == store and first <= day <= last and items
    ]
    return Window(first, last, chosen)


def reference_rules(window: Window, min_support: float) -> Expected:
    """mlxtend's rules of the window's baskets at ``min_support``, by (antecedent, consequent)."""
    frame = mlxtend_rules(window.baskets, min_support)
    found = {}
    for row in frame.to_dict("records"):
        (antecedent,), (consequent,) = row["antecedents"], row["consequents"]
        found[antecedent, consequent] = {name: float(row[name]) for name in MEASURES}
    return found


def measures_of(rule: dict[str, Any]) -> dict[str, float]:
    """An answer's rule as mlxtend names its measures; conviction null is mlxtend's inf."""
    measured = {name: rule[name.replace(" ", "_")] for name in MEASURES}
    if measured["conviction"] is None:
        measured["conviction"] = math.inf
    assert all(type(value) is float for value in measured.values()), rule
    return measured


def rule_differences(
    rules: dict[tuple[str, str], dict[str, Any]],
    expected: Expected,
    window: Window,
) -> list[str]:
    """Every way the answer's rules differ from mlxtend's (and from the window's counts)."""
    found = []
    if set(rules) != set(expected):
        found.append(
            f"rules only in the answer: {sorted(set(rules) - set(expected))[:10]}, "
            f"only in mlxtend: {sorted(set(expected) - set(rules))[:10]}"
        )
    for key in sorted(set(rules) & set(expected)):
        rule, (antecedent, consequent) = rules[key], key
        got, wanted = measures_of(rule), expected[key]
        wrong = {name: (got[name], wanted[name]) for name in MEASURES if got[name] != wanted[name]}
        counts = (rule["baskets"], rule["antecedent_baskets"], rule["consequent_baskets"])
        counted = (
            window.holding(antecedent, consequent),
            window.holding(antecedent),
            window.holding(consequent),
        )
        if counts != counted:
            wrong["baskets, antecedent_baskets, consequent_baskets"] = (counts, counted)
        if wrong:
            found.append(f"{antecedent} -> {consequent}: (answer, expected) {wrong}")
    return found


def check_pairs(
    answer: dict[str, Any], window: Window, min_support: float, expected: Expected | None = None
) -> int:
    """The store's pairs (asked with min_count=1, this min_support, the largest limit) are
    mlxtend's rules (``expected``, else run here), each pair its two rules; returns how many
    rules were compared."""
    assert (answer["from"], answer["to"]) == (window.first, window.last)
    assert answer["baskets"] == len(window.baskets)
    assert (answer["min_count"], answer["min_support"]) == (1, min_support)
    assert len(answer["pairs"]) < ROUTE_LIMIT, "the answer may have been cut by the limit"
    if expected is None:
        expected = reference_rules(window, min_support)
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for pair in answer["pairs"]:
        first, second = pair["products"]
        forward, backward = pair["rules"]
        assert first < second, pair["products"]
        assert (forward["antecedent"], forward["consequent"]) == (first, second)
        assert (backward["antecedent"], backward["consequent"]) == (second, first)
        assert pair["baskets"] == forward["baskets"] == backward["baskets"]
        for name in ("support", "lift", "leverage"):
            assert pair[name] == forward[name], (pair["products"], name)
        rules[first, second], rules[second, first] = forward, backward
    found = rule_differences(rules, expected, window)
    assert not found, f"{len(found)} differences from mlxtend:\n" + "\n".join(found[:20])
    # Ranked by lift, then baskets, then ids (the answer's default order).
    ranked = sorted(
        (key for key in expected if key[0] < key[1]),
        key=lambda key: (-expected[key]["lift"], -window.holding(*key), key),
    )
    assert [tuple(pair["products"]) for pair in answer["pairs"]] == ranked
    return len(expected)


def check_product(
    answer: dict[str, Any],
    window: Window,
    product: str,
    min_support: float,
    every_rule: Expected | None = None,
) -> int:
    """A product's rules (asked with min_count=1, this min_support, the largest limit) are
    mlxtend's rules (``every_rule``, else run here) with the product alone on the left;
    returns how many were compared."""
    assert (answer["from"], answer["to"]) == (window.first, window.last)
    assert answer["product"] == product
    assert answer["baskets"] == len(window.baskets)
    assert answer["product_baskets"] == window.holding(product)
    assert len(answer["rules"]) < ROUTE_LIMIT
    if every_rule is None:
        every_rule = reference_rules(window, min_support)
    expected = {key: value for key, value in every_rule.items() if key[0] == product}
    rules = {(rule["antecedent"], rule["consequent"]): rule for rule in answer["rules"]}
    assert len(rules) == len(answer["rules"])
    found = rule_differences(rules, expected, window)
    assert not found, f"{product}: {len(found)} differences from mlxtend:\n" + "\n".join(found[:20])
    ranked = sorted(
        expected,
        key=lambda key: (-expected[key]["confidence"], -window.holding(*key), key),
    )
    assert [(rule["antecedent"], rule["consequent"]) for rule in answer["rules"]] == ranked
    return len(expected)


def cross_sell(store: str, **query: Any) -> str:
    text = f"?{urlencode(query)}" if query else ""
    return f"/api/v1/stores/{segment(store)}/cross-sell{text}"


def without_names(value: Any) -> Any:
    """An answer's figures: every name (``*_name``, ``names``) left out."""
    if isinstance(value, dict):
        return {
            key: without_names(item)
            for key, item in value.items()
            if not (key.endswith("_name") or key == "names")
        }
    if isinstance(value, list):
        return [without_names(item) for item in value]
    return value


def wait_committed(worker: WorkerProcess, messages: int) -> None:
    """Until the worker has committed every one of the ``messages`` sales messages sent since
    it started. The tables answer a batch as soon as it is applied, before its transaction
    commits, so complete answers do not mean complete changelogs: a SIGKILL in between takes
    the answers back until the restarted worker has read the batch again."""

    def committed() -> None:
        processed = worker.metric("dataapp_events_processed_total")  # counted once committed
        assert processed >= messages, f"{processed} of {messages} sales messages committed"

    eventually(committed, "the worker commits what it counted", timeout=120)


def changes(before: Any, after: Any, where: str = "") -> list[str]:
    """Where two answers differ: ``path: before -> after``."""
    if isinstance(before, dict) and isinstance(after, dict) and before.keys() == after.keys():
        return [
            line for key in before for line in changes(before[key], after[key], f"{where}.{key}")
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            line
            for number, (one, other) in enumerate(zip(before, after, strict=True))
            for line in changes(one, other, f"{where}[{number}]")
        ]
    return [] if before == after else [f"{where}: {before!r} -> {after!r}"]


# --- the generated chain -----------------------------------------------------------------------


def local_day(row: dict[str, Any]) -> str:
    """The store's local day of a row, from its time and its zone (UTC stamps converted)."""
    zone = ZoneInfo(row["time_zone"])
    moment = datetime.fromisoformat(row["event_time"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone).date().isoformat()


def generated_baskets(rows: Iterable[dict[str, Any]]) -> Baskets:
    return baskets_from_lines(
        (row["store_id"], row["order_id"], row["sku"], row["quantity"], local_day(row))
        for row in rows
    )


@dataclass
class Orders:
    """One store's pieces: ``timed`` are sent in time order, ``late`` after all of them."""

    store: Store
    seller: str
    rng: random.Random
    timed: list[tuple[datetime, int, Piece]] = field(default_factory=list)
    late: list[Piece] = field(default_factory=list)

    def at(self, day: date, hour: int, minute: int) -> datetime:
        return datetime(
            day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(self.store.time_zone)
        )

    def piece(self, order: str, when: datetime, lines: Iterable[tuple[str, int]]) -> Piece:
        stamp = (
            when.astimezone(UTC).isoformat()
            if IN_UTC[self.store.store_id]
            else when.strftime("%Y-%m-%d %H:%M:%S")
        )
        return [
            {
                "order_id": order,
                "store_id": self.store.store_id,
                "seller_id": self.seller,
                "customer_id": f"cliente-{self.rng.randint(1, 80)}",
                "event_time": stamp,
                "time_zone": self.store.time_zone,
                "channel": "loja",
                "sku": sku,
                "product_name": LINE_NAME[sku],
                "quantity": quantity,
                "unit_price": money(PRICE_CENTS[sku]),
                "unit_cost": money(PRICE_CENTS[sku] // 2),
                "discount": "0.00",
            }
            for sku, quantity in lines
        ]

    def add(self, order: str, when: datetime, lines: Iterable[tuple[str, int]]) -> None:
        self.timed.append((when, len(self.timed), self.piece(order, when, lines)))

    def add_late(self, order: str, when: datetime, lines: Iterable[tuple[str, int]]) -> None:
        self.late.append(self.piece(order, when, lines))

    def products(self) -> list[str]:
        """A basket: a planted group (or none) and a few extras, skewed."""
        rng, draw = self.rng, self.rng.random()
        chosen: list[str] = []
        if draw < 0.22:
            chosen = ["CEL-01"] + ["CAPA-01"] * (rng.random() < 0.6)
            chosen += ["CARREG-01"] * (rng.random() < 0.35)
        elif draw < 0.42:
            chosen = ["CAFE-01"] + ["FILTRO-01"] * (rng.random() < 0.7)
            chosen += ["CANECA-01"] * (rng.random() < 0.3)
        elif draw < 0.55:
            chosen = ["CONTROLE-01"] + ["PILHA-01"] * (rng.random() < 0.8)
        extras = rng.choices(EXTRAS, EXTRA_WEIGHTS, k=rng.randint(0 if chosen else 1, 2))
        return list(dict.fromkeys(chosen + extras))

    def day_of_orders(self, day: date, prefix: str = "V") -> None:
        rng = self.rng
        for number in range(rng.randint(9, 15)):
            when = self.at(day, rng.randint(10, 21), rng.randint(0, 59))
            order = f"{prefix}-{day:%Y%m%d}-{number:03d}"  # the same ids in both stores
            if rng.random() < 0.05:  # a return ticket: no basket
                skus = rng.sample(EXTRAS, rng.randint(1, 2))
                self.add(f"T{order}", when, [(sku, -rng.randint(1, 2)) for sku in skus])
                continue
            lines = [(sku, rng.randint(1, 3)) for sku in self.products()]
            if len(lines) > 1 and rng.random() < 0.15:  # in two pieces, the second later
                cut = rng.randint(1, len(lines) - 1)
                gap = rng.choice((timedelta(minutes=20), timedelta(hours=5), timedelta(days=1)))
                self.add(order, when, lines[:cut])
                self.add(order, when + gap + timedelta(minutes=7), lines[cut:])
            else:
                self.add(order, when, lines)
            later = when + rng.choice((timedelta(hours=3), timedelta(days=1), timedelta(days=2)))
            # Phones are never returned alone, so "a case goes with a phone" stays certain.
            returnable = [(sku, quantity) for sku, quantity in lines if sku != "CEL-01"]
            partial = [(sku, quantity) for sku, quantity in lines if quantity > 1]
            draw = rng.random()
            if draw < 0.08 and returnable:  # back to zero: the product leaves the basket
                sku, quantity = rng.choice(returnable)
                self.add(order, later, [(sku, -quantity)])
            elif draw < 0.11 and partial:  # some returned: the product stays
                sku, quantity = rng.choice(partial)
                self.add(order, later, [(sku, 1 - quantity)])
            elif draw < 0.13:  # everything returned: the basket is gone
                self.add(order, later, [(sku, -quantity) for sku, quantity in lines])

    def pieces(self) -> list[Piece]:
        return [piece for _, _, piece in sorted(self.timed, key=lambda item: item[:2])] + self.late


def chain_orders(store: Store, seller: str, seed: int) -> Orders:
    orders = Orders(store, seller, random.Random(seed))
    for offset in range(DAYS):
        orders.day_of_orders(FIRST_DAY + timedelta(days=offset))

    def day(back: int) -> date:
        return LAST_DAY - timedelta(days=back)

    # Across midnight: the second piece is the next day's, the basket stays on the first's.
    orders.add("E-MIDNIGHT", orders.at(day(3), 23, 40), [("CAFE-01", 1), ("FILTRO-01", 2)])
    orders.add("E-MIDNIGHT", orders.at(day(2), 0, 20), [("CANECA-01", 1), ("MOCHILA-01", 1)])
    # Across the window's first day: the basket's day is the one before it, so it is not counted.
    edge = orders.at(day(WINDOW_DAYS), 21, 50)
    orders.add("E-EDGE", edge, [("CONTROLE-01", 1)])
    orders.add("E-EDGE", edge + timedelta(hours=13), [("PILHA-01", 1), ("MOUSE-01", 1)])
    # The return arrives before the sale: the product nets to zero and is not in the basket.
    orders.add("E-RETURN-FIRST", orders.at(day(2), 15, 5), [("FONE-01", -1)])
    first_sale = [("FONE-01", 1), ("CABO-01", 2), ("LIVRO-01", 1)]
    orders.add("E-RETURN-FIRST", orders.at(day(2), 16, 5), first_sale)
    # A late piece of an order inside the window, and one of an order long out of it.
    orders.add("E-LATE-IN", orders.at(day(5), 11, 15), [("MOUSE-01", 1), ("CABO-01", 1)])
    orders.add_late("E-LATE-IN", orders.at(day(5), 13, 15), [("CANETA-01", 1)])
    orders.add("E-LATE-OUT", orders.at(day(15), 11, 15), [("LIVRO-01", 1)])
    orders.add_late("E-LATE-OUT", orders.at(day(15), 12, 15), [("AGENDA-01", 1)])
    # Whole orders sent after everything: one of a day in the window, one of a day dropped.
    late_lines = [("CONTROLE-01", 1), ("PILHA-01", 2), ("MOUSE-01", 1)]
    orders.add_late("E-LATE-WHOLE-IN", orders.at(day(3), 17, 30), late_lines)
    orders.add_late("E-LATE-WHOLE-OUT", orders.at(day(20), 17, 30), late_lines)
    return orders


def returns_only_orders() -> Orders:
    orders = Orders(RETURNS_ONLY, CAIO, random.Random(3))
    for offset in range(0, DAYS, 5):
        when = orders.at(FIRST_DAY + timedelta(days=offset), 14, 10)
        orders.add(f"T-{offset}", when, [("FONE-01", -1), ("CABO-01", -2)])
    return orders


@dataclass
class Chain:
    worker: WorkerProcess
    tokens: dict[str, str]
    rows: list[dict[str, Any]]
    """Every row sent, in the order sent."""
    messages: int = 0
    """Sales messages sent since the worker last started."""
    before_restart: list[Any] = field(default_factory=list)
    after_restart: list[Any] = field(default_factory=list)

    def get(self, url: str, who: str = "admin") -> Any:
        return self.worker.get(url, self.tokens[who])

    def ask(self, url: str, who: str = "admin") -> ApiAnswer:
        return self.worker.request("GET", url, self.tokens.get(who))

    def baskets(self) -> Baskets:
        return generated_baskets(self.rows)

    def send(self, pieces: list[Piece]) -> None:
        """Through the API's ingest route, a few hundred lines a request, in order; then
        waits until every line sent is in the store summaries."""
        batch: list[dict[str, Any]] = []
        for number, piece in enumerate(pieces):
            batch.extend(piece)
            if len(batch) >= 400 or number == len(pieces) - 1:
                answer = self.worker.request(
                    "POST", "/api/v1/ingest/sales", self.tokens["admin"], body=batch
                )
                assert answer.status == 200, answer.body
                assert (answer.body["accepted"], answer.body["rejected"]) == (len(batch), 0)
                self.rows.extend(batch)
                self.messages += answer.body["sales_messages"]
                batch = []
        for store in {row["store_id"] for row in self.rows}:
            sent = sum(1 for row in self.rows if row["store_id"] == store)
            summary = f"/api/v1/stores/{segment(store)}/summary?from=2000-01-01&to=2100-12-31"

            def counted(summary: str = summary, sent: int = sent) -> None:
                lines = self.get(summary)["lines"]
                assert lines == sent, f"{lines} of {sent} lines"

            eventually(counted, f"the sales of {store} are aggregated", timeout=120)
        wait_committed(self.worker, self.messages)


@pytest.fixture(scope="module")
def chain(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    root: Path = tmp_path_factory.mktemp("cross-sell")
    env = worker_environment(
        kafka_bootstrap, root / "data", **LIVE_FOREVER, DATAAPP_BASKET_DAYS=str(WINDOW_DAYS)
    )
    dataapp(env, "topics")
    topics = topic_set(env["DATAAPP_TOPIC_PREFIX"])
    products = [
        Product(sku, name, "teste", PRICE_CENTS[sku] // 2, PRICE_CENTS[sku])
        for sku, name in CATALOGUE.items()
    ]
    stores = [NORTH, SOUTH, RETURNS_ONLY]
    asyncio.run(publish_reference(kafka_bootstrap, topics, stores, SELLERS, products))
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        tokens = {
            "admin": worker.add_user("admin", "admin"),
            "manager": worker.add_user("gerente", "manager", NORTH.store_id),
            "other_manager": worker.add_user("gerente-sul", "manager", SOUTH.store_id),
            "ana": worker.add_user("ana", "seller", NORTH.store_id, ANA),
            "bia": worker.add_user("bia", "seller", SOUTH.store_id, BIA),
        }
        chain = Chain(worker, tokens, [])
        chain.send(
            chain_orders(NORTH, ANA, seed=11).pieces()
            + chain_orders(SOUTH, BIA, seed=12).pieces()
            + returns_only_orders().pieces()
        )
        yield chain
    finally:
        worker.stop()


def test_the_generated_data_has_what_the_checks_need(chain: Chain) -> None:
    baskets = chain.baskets()
    for store in (NORTH.store_id, SOUTH.store_id):
        window = window_of(baskets, store, WINDOW_DAYS)
        assert window.last == LAST_DAY.isoformat()
        assert 80 <= len(window.baskets) <= 200
        dropped = [day for (where, _), (day, _) in baskets.items() if where == store]
        assert min(dropped) < window.first  # the window has slid
        ours = {order: value for (where, order), value in baskets.items() if where == store}
        # Emptied by returns, or a product returned out of a basket that stays.
        assert any(not items for _, items in ours.values())
        assert ours["E-RETURN-FIRST"] == (
            (LAST_DAY - timedelta(days=2)).isoformat(),
            frozenset({"CABO-01", "LIVRO-01"}),
        )
        assert ours["E-MIDNIGHT"][0] == (LAST_DAY - timedelta(days=3)).isoformat()
        assert ours["E-EDGE"][0] < window.first
        assert "CANETA-01" in ours["E-LATE-IN"][1]
        assert window.holding("CAPA-01") == window.holding("CAPA-01", "CEL-01") > 0
    # The same order ids in both stores are different baskets.
    assert (NORTH.store_id, "E-MIDNIGHT") in baskets and (SOUTH.store_id, "E-MIDNIGHT") in baskets
    # The Manaus rows are stamped in UTC: some evening sales are on the next UTC day.
    assert any(
        row["event_time"][:10] != local_day(row)
        for row in chain.rows
        if row["store_id"] == NORTH.store_id
    )
    assert not any(key[0] == RETURNS_ONLY.store_id for key in baskets)


@pytest.mark.parametrize("store", [NORTH.store_id, SOUTH.store_id])
@pytest.mark.parametrize("min_support", [0.005, 0.03])
def test_the_pairs_equal_mlxtend_over_the_slid_window(
    chain: Chain, store: str, min_support: float
) -> None:
    window = window_of(chain.baskets(), store, WINDOW_DAYS)
    answer = chain.get(cross_sell(store, min_count=1, min_support=min_support, limit=ROUTE_LIMIT))
    assert answer["store_id"] == store and answer["window_days"] == WINDOW_DAYS
    assert answer["sort"] == "lift"
    compared = check_pairs(answer, window, min_support)
    assert compared >= 20
    # Not vacuous: a certain rule (conviction null) is among them, and pairs named.
    assert any(rule["conviction"] is None for pair in answer["pairs"] for rule in pair["rules"])
    for pair in answer["pairs"]:
        assert pair["names"] == [LINE_NAME[sku] for sku in pair["products"]]
        for rule in pair["rules"]:
            assert rule["antecedent_name"] == LINE_NAME[rule["antecedent"]]
            assert rule["consequent_name"] == LINE_NAME[rule["consequent"]]


@pytest.mark.parametrize("store", [NORTH.store_id, SOUTH.store_id])
def test_days_inside_the_window_equal_mlxtend(chain: Chain, store: str) -> None:
    first, last = (
        (LAST_DAY - timedelta(days=6)).isoformat(),
        (LAST_DAY - timedelta(days=2)).isoformat(),
    )
    window = window_of(chain.baskets(), store, WINDOW_DAYS, first, last)
    query = {"from": first, "to": last, "min_count": 1, "min_support": 0.01, "limit": ROUTE_LIMIT}
    assert check_pairs(chain.get(cross_sell(store, **query)), window, 0.01) >= 10
    # 'to' after the newest basket day is the newest basket day.
    whole = window_of(chain.baskets(), store, WINDOW_DAYS)
    later = {"to": "2030-01-01", "min_count": 1, "min_support": 0.03, "limit": ROUTE_LIMIT}
    check_pairs(chain.get(cross_sell(store, **later)), whole, 0.03)


@pytest.mark.parametrize("store", [NORTH.store_id, SOUTH.store_id])
@pytest.mark.parametrize("product", ASKED_PRODUCTS)
def test_a_products_rules_equal_mlxtend(chain: Chain, store: str, product: str) -> None:
    window = window_of(chain.baskets(), store, WINDOW_DAYS)
    query = {"product": product, "min_count": 1, "min_support": 0.005, "limit": ROUTE_LIMIT}
    answer = chain.get(cross_sell(store, **query))
    assert answer["sort"] == "confidence"
    assert answer["product_name"] == (LINE_NAME[product] if product != NEVER_SOLD else None)
    compared = check_product(answer, window, product, 0.005)
    assert (compared == 0) == (product == NEVER_SOLD)
    if product == "CAPA-01":
        phone = [rule for rule in answer["rules"] if rule["consequent"] == "CEL-01"]
        assert phone and phone[0]["confidence"] == 1.0 and phone[0]["conviction"] is None
        assert answer["rules"][0] == phone[0]  # the most certain first


def chain_window(baskets: Baskets) -> Window:
    """The chain's baskets: every store's own window, added together."""
    windows = [window_of(baskets, store, WINDOW_DAYS) for store in (NORTH.store_id, SOUTH.store_id)]
    return Window(
        min(w.first for w in windows),
        max(w.last for w in windows),
        [basket for w in windows for basket in w.baskets],
    )


def test_the_chains_pairs_and_rules_equal_mlxtend_on_every_stores_baskets(chain: Chain) -> None:
    window = chain_window(chain.baskets())
    query = {"min_count": 1, "min_support": 0.005, "limit": ROUTE_LIMIT}
    answer = chain.get(f"/api/v1/cross-sell?{urlencode(query)}")
    assert answer["stores"] == 3  # the store of returns only adds nothing
    assert check_pairs(answer, window, 0.005) >= 20
    every_rule = reference_rules(window, 0.005)
    for product in ("CEL-01", "CAFE-01", UNCATALOGUED):
        asked = {**query, "product": product}
        answer = chain.get(f"/api/v1/cross-sell?{urlencode(asked)}")
        assert answer["product_name"] == LINE_NAME[product]
        assert check_product(answer, window, product, 0.005, every_rule) > 0
    for who in ("manager", "ana"):
        assert chain.ask("/api/v1/cross-sell", who).status == 403


@pytest.mark.parametrize("store", [NORTH.store_id, SOUTH.store_id])
def test_the_thresholds_and_the_other_orders(chain: Chain, store: str) -> None:
    window = window_of(chain.baskets(), store, WINDOW_DAYS)
    expected = reference_rules(window, 0.005)
    pairs = [key for key in expected if key[0] < key[1]]
    for order in ("support", "confidence"):
        answer = chain.get(cross_sell(store, sort=order, limit=5, min_count=1))
        ranked = sorted(pairs, key=lambda key: (-expected[key][order], -window.holding(*key), key))
        assert [tuple(pair["products"]) for pair in answer["pairs"]] == ranked[:5], order
    # The defaults: at least 3 baskets a pair, support from 0, the 10 strongest by lift.
    answer = chain.get(cross_sell(store))
    assert (answer["min_count"], answer["min_support"], answer["sort"]) == (3, 0.0, "lift")
    common = [key for key in pairs if window.holding(*key) >= 3]
    ranked = sorted(common, key=lambda key: (-expected[key]["lift"], -window.holding(*key), key))
    assert [tuple(pair["products"]) for pair in answer["pairs"]] == ranked[:10]


def test_a_store_that_only_takes_returns_has_no_basket(chain: Chain) -> None:
    store = RETURNS_ONLY.store_id
    answer = chain.get(cross_sell(store))
    assert (answer["from"], answer["to"], answer["baskets"], answer["pairs"]) == (
        None,
        None,
        0,
        [],
    )
    answer = chain.get(cross_sell(store, product="FONE-01"))
    assert (answer["baskets"], answer["product_baskets"], answer["rules"]) == (0, 0, [])


def asked_urls() -> list[str]:
    urls = []
    for store in (NORTH.store_id, SOUTH.store_id):
        urls.append(cross_sell(store, min_count=1, min_support=0.005, limit=ROUTE_LIMIT))
        urls.append(cross_sell(store))
        first, last = (LAST_DAY - timedelta(days=6)).isoformat(), LAST_DAY - timedelta(days=2)
        urls.append(cross_sell(store, **{"from": first, "to": last, "min_count": 1}))
        for product in ASKED_PRODUCTS:
            urls.append(cross_sell(store, product=product, min_count=1, limit=ROUTE_LIMIT))
    urls.append(cross_sell(RETURNS_ONLY.store_id))
    return urls


def test_the_same_figures_after_a_sigkill(chain: Chain) -> None:
    """Nothing but the tables' changelogs survives: the restarted worker restores the
    counts and answers the same, to the last bit."""
    chain.before_restart = [chain.get(url) for url in asked_urls()]
    chain.worker.kill(signal.SIGKILL)
    chain.worker.start()
    chain.messages = 0
    chain.worker.wait_ready()
    chain.after_restart = [chain.get(url) for url in asked_urls()]
    assert without_names(chain.after_restart) == without_names(chain.before_restart)


def test_the_same_names_after_a_sigkill(chain: Chain) -> None:
    """Names too (the catalogue's, and a product without a reference record is named by its
    sale lines): the whole answers are the same."""
    assert chain.after_restart, "runs after test_the_same_figures_after_a_sigkill"
    found = [
        f"{url} {change}"
        for url, before, after in zip(
            asked_urls(), chain.before_restart, chain.after_restart, strict=True
        )
        for change in changes(before, after)
    ]
    assert not found, f"{len(found)} changes across the restart:\n" + "\n".join(found[:10])


def test_counting_goes_on_after_the_restart(chain: Chain) -> None:
    """Two more days slide the window; a late piece and a return reach orders that only the
    restored basket index knows; a late piece of an order that just slid out counts
    nothing. The answers equal mlxtend again (the cached pairs are not served stale)."""
    baskets = chain.baskets()
    store = NORTH.store_id
    north = [
        (order, day, items) for (where, order), (day, items) in baskets.items() if where == store
    ]
    more = Orders(NORTH, ANA, random.Random(13))
    for offset in (1, 2):
        more.day_of_orders(LAST_DAY + timedelta(days=offset), prefix="N")
    new_first = LAST_DAY + timedelta(days=2 - (WINDOW_DAYS - 1))
    kept = [entry for entry in north if entry[1] >= new_first.isoformat() and len(entry[2]) >= 2]
    slid_out = [entry for entry in north if entry[1] == (new_first - timedelta(days=1)).isoformat()]
    when = more.at(LAST_DAY + timedelta(days=2), 22, 30)
    added, returned, out = kept[0], kept[1], slid_out[0]
    extra = next(sku for sku in EXTRAS if sku not in added[2])
    more.add(added[0], when, [(extra, 1)])
    back = sorted(returned[2])[0]
    units = sum(
        row["quantity"]
        for row in chain.rows
        if (row["store_id"], row["order_id"], row["sku"]) == (store, returned[0], back)
    )
    more.add(returned[0], when + timedelta(minutes=1), [(back, -units)])
    more.add(out[0], when + timedelta(minutes=2), [("MOCHILA-01", 1), ("AGENDA-01", 1)])
    before = chain.get(cross_sell(store, min_count=1, min_support=0.005, limit=ROUTE_LIMIT))
    chain.send(more.pieces())

    after = chain.baskets()
    assert extra in after[store, added[0]][1] and back not in after[store, returned[0]][1]
    window = window_of(after, store, WINDOW_DAYS)
    assert window.first == new_first.isoformat()
    answer = chain.get(cross_sell(store, min_count=1, min_support=0.005, limit=ROUTE_LIMIT))
    assert answer != before
    check_pairs(answer, window, 0.005)
    for product in ("CEL-01", "CAPA-01", extra, back):
        query = {"product": product, "min_count": 1, "min_support": 0.005, "limit": ROUTE_LIMIT}
        check_product(chain.get(cross_sell(store, **query)), window, product, 0.005)
    # The other store did not move.
    south = window_of(after, SOUTH.store_id, WINDOW_DAYS)
    query = {"min_count": 1, "min_support": 0.005, "limit": ROUTE_LIMIT}
    check_pairs(chain.get(cross_sell(SOUTH.store_id, **query)), south, 0.005)


# --- Online Retail -------------------------------------------------------------------------------

RETAIL_DAYS = 60
RETAIL_STORES = [("united-kingdom", 0.02), ("germany", 0.05), ("france", 0.1)]


def online_retail_baskets(folder: Path) -> tuple[Baskets, int]:
    """The baskets of the raw CSV files, and how many lines the mapping accepts (exact
    duplicates included).

    What the shipped mapping (``app/mappings/online-retail.yaml``) and its line parser do to
    a row, as far as it decides which product is in which basket, written out here:

    - store: ``Country`` slugged ("United Kingdom" -> "united-kingdom"); order: ``InvoiceNo``
      trimmed and upper-cased;
    - product: ``StockCode`` trimmed, inner spaces folded, upper-cased (``case: upper``):
      541 lines write the code in lower case ("85123a"), the same product as "85123A";
    - returns: a "C" invoice is a cancellation, its quantities negative: it only returns,
      so it makes no basket; a negative quantity on an ordinary invoice is a stock
      adjustment, refused (``negative_quantity_not_return``): it takes nothing out;
    - refused, so in no basket: zero quantities, absurd quantities or prices, sub-cent
      prices, the non-product codes (``POST``, ``M``, ``D``, ``BANK CHARGES``, ``GIFT_…``,
      ... ``non_product``) and zero prices (``zero_price``: manual stock corrections);
    - exact duplicate lines are dropped (``dedupe: exact_line``): the same product twice
      in an invoice changes no basket, so they are kept here;
    - day: ``InvoiceDate`` is London time (``time_zone: Europe/London``), and the store's
      zone is the rows' zone, so a line's local day is the date written.
    """
    raw = pd.concat(
        [
            pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
            for path in sorted(folder.glob("*.csv.gz"))
        ],
        ignore_index=True,
    )
    order = cleaned_upper(raw["InvoiceNo"])
    sku = cleaned_upper(raw["StockCode"])
    quantity = raw["Quantity"].str.strip().astype("int64")
    is_return = order.str.startswith("C")
    signed = quantity.where(~is_return, -quantity.abs())
    cents = raw["UnitPrice"].map(decimal_cents)
    price = cents.fillna(0)
    refused = (
        (quantity == 0)
        | (quantity.abs() > MAX_ABS_QUANTITY)
        | (~is_return & (quantity < 0))
        | cents.isna()
        | (price < 0)
        | (price > MAX_UNIT_PRICE_CENTS)
        | sku.isin(NON_PRODUCTS)
        | sku.str.contains(NON_PRODUCT_PATTERN, regex=True)
        | (price == 0)
    )
    kept = pd.DataFrame(
        {
            "store": raw["Country"].map(country_slug),
            "order": order,
            "sku": sku,
            "quantity": signed,
            "day": raw["InvoiceDate"].str.strip().str[:10],
        }
    )[~refused]
    assert kept["day"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    lines = kept.itertuples(index=False, name=None)
    return baskets_from_lines(lines), len(kept)


@dataclass
class Retail:
    worker: WorkerProcess
    token: str
    baskets: Baskets
    answers: dict[str, Any] = field(default_factory=dict)

    def get(self, url: str) -> Any:
        return self.worker.get(url, self.token)


@pytest.fixture(scope="module")
def retail(
    kafka_bootstrap: str, online_retail_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Retail]:
    """Online Retail through the shipped mapping into a worker keeping 60 days of baskets
    (test_reconciliation.py's ingestion and wait; its worker keeps the default 90)."""
    root: Path = tmp_path_factory.mktemp("cross-sell-online-retail")
    env = worker_environment(
        kafka_bootstrap,
        root / "data",
        **EVERYTHING,
        **FIXED_KEY,
        DATAAPP_BASKET_DAYS=str(RETAIL_DAYS),
    )
    baskets, accepted_lines = online_retail_baskets(online_retail_dir)
    summary = json.loads(
        dataapp(
            env,
            "ingest",
            str(online_retail_dir),
            "--mapping",
            "online-retail",
            "--json",
            "--no-progress",
            timeout=180,
        ).splitlines()[-1]
    )
    # The rules written above accept exactly the lines the pipeline accepted.
    assert summary["accepted"] + summary["duplicates"] == accepted_lines, summary
    worker = WorkerProcess(env, root / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        token = worker.add_user("admin", "admin")
        wait_until_complete(worker, token, summary["accepted"])
        wait_committed(worker, summary["sales_messages"])
        yield Retail(worker, token, baskets)
    finally:
        worker.stop()


def retail_urls(window: Window, expected: Expected, store: str, min_support: float) -> list[str]:
    """The store's pairs, and the rules of its most frequent product and of the products of
    its three strongest pairs."""
    strongest = sorted(
        (key for key in expected if key[0] < key[1]),
        key=lambda key: (-expected[key]["lift"], -window.holding(*key), key),
    )[:3]
    counts: dict[str, int] = {}
    for basket in window.baskets:
        for sku in basket:
            counts[sku] = counts.get(sku, 0) + 1
    frequent = min(counts, key=lambda sku: (-counts[sku], sku))
    products = dict.fromkeys([frequent, *(sku for key in strongest for sku in key)])
    query = {"min_count": 1, "min_support": min_support, "limit": ROUTE_LIMIT}
    return [cross_sell(store, **query)] + [
        cross_sell(store, product=product, **query) for product in products
    ]


@pytest.mark.data
@pytest.mark.parametrize(("store", "min_support"), RETAIL_STORES)
def test_online_retail_equals_mlxtend(retail: Retail, store: str, min_support: float) -> None:
    window = window_of(retail.baskets, store, RETAIL_DAYS)
    days = [day for (where, _), (day, _) in retail.baskets.items() if where == store]
    assert min(days) < window.first, "the window has slid: December's first days are out"
    expected = reference_rules(window, min_support)  # run once: the UK's takes seconds
    pairs_url, *product_urls = retail_urls(window, expected, store, min_support)
    answer = retail.get(pairs_url)
    retail.answers[pairs_url] = answer
    assert check_pairs(answer, window, min_support, expected) >= 20
    compared = 0
    for url in product_urls:
        answer = retail.get(url)
        retail.answers[url] = answer
        compared += check_product(answer, window, answer["product"], min_support, expected)
    assert compared >= 3


@pytest.mark.data
def test_online_retail_the_same_figures_after_a_sigkill(retail: Retail) -> None:
    """Figures only: no Online Retail product has a reference record, and names from sale
    lines do not survive a restart (``test_the_same_names_after_a_sigkill``)."""
    assert len(retail.answers) >= 3 * len(RETAIL_STORES), "runs after the comparisons"
    retail.worker.kill(signal.SIGKILL)
    retail.worker.start()
    retail.worker.wait_ready()
    for url, before in retail.answers.items():
        assert without_names(retail.get(url)) == without_names(before), url


# --- who may read, and what is refused -----------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "store", "status"),
    [
        ("ana", NORTH.store_id, 200),  # a seller reads their own store's (no seller is named)
        ("bia", NORTH.store_id, 403),  # a seller of another store
        ("manager", NORTH.store_id, 200),
        ("other_manager", NORTH.store_id, 403),  # a manager of another store
        ("other_manager", SOUTH.store_id, 200),
        ("bia", SOUTH.store_id, 200),
        ("admin", SOUTH.store_id, 200),
        ("nobody", NORTH.store_id, 401),
    ],
)
def test_who_may_read_a_stores_cross_sell(chain: Chain, who: str, store: str, status: int) -> None:
    for url in (cross_sell(store), cross_sell(store, product="CEL-01")):
        answer = chain.ask(url, who)
        assert answer.status == status, (who, url, answer.body)
        if status != 200:
            assert answer.body["error"] == {401: "unauthorized", 403: "forbidden"}[status]


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"from": "{before}"}, "'from' ({before}) is before them"),
        ({"from": "{before}", "product": "CEL-01"}, "DATAAPP_BASKET_DAYS"),
        ({"from": "{newest}", "to": "{oldest}"}, "is after 'to'"),
        ({"from": "2025-9-30"}, "'from'"),
        ({"min_support": "2"}, "'min_support' must be a number from 0 to 1"),
        ({"min_support": "-0.1"}, "'min_support'"),
        ({"min_support": "nan"}, "'min_support'"),
        ({"min_support": "abc"}, "'min_support'"),
        ({"min_count": "0"}, "'min_count' must be a whole number from 1"),
        ({"min_count": "1.5"}, "'min_count'"),
        ({"sort": "xyz"}, "'sort' must be one of confidence, lift, support"),
        ({"limit": "0"}, "'limit'"),
        ({"limit": "501"}, "'limit'"),
    ],
)
def test_bad_parameters_are_refused(chain: Chain, query: dict[str, str], needle: str) -> None:
    newest = max(day for (store, _), (day, _) in chain.baskets().items() if store == NORTH.store_id)
    oldest = date.fromisoformat(newest) - timedelta(days=WINDOW_DAYS - 1)
    values = {"before": oldest - timedelta(days=1), "newest": newest, "oldest": oldest}
    filled = {name: text.format(**values) for name, text in query.items()}
    answer = chain.ask(cross_sell(NORTH.store_id, **filled))
    assert answer.status == 400, (filled, answer.body)
    assert answer.body["error"] == "bad_parameter"
    assert needle.format(**values) in answer.body["message"], answer.body["message"]
