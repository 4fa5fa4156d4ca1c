"""Bought-together counts and rules: the worker's counting (``tables/baskets.py`` through the
real RocksDB tables of ``tables/live.py``) against baskets rebuilt directly from the sales,
and the rules (``app/insights/cross_sell.py``) against mlxtend's ``association_rules``."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori, association_rules

import tables.live
from app.insights.cross_sell import (
    BasketCounts,
    Rule,
    product_counts,
    rules_for_product,
    strongest_pairs,
)
from app.records import Sale, SaleLine
from tables.baskets import OWN_COUNT, basket_deltas
from tables.buckets import local_buckets
from tables.live import LiveTables

ZONE = "America/Sao_Paulo"
STORES = ("s1", "s2")
PRODUCTS = tuple(f"p{number:02d}" for number in range(14))
_line_ids = iter(range(10**9))


def sale(order: str, store: str, when: datetime, lines: Sequence[tuple[str, int]]) -> Sale:
    return Sale(
        order_id=order,
        store_id=store,
        seller_id="v1",
        event_time=when,
        source_time_zone=ZONE,
        channel="store",
        lines=tuple(SaleLine(f"l{next(_line_ids)}", sku, qty, 500) for sku, qty in lines),
    )


def random_sales(seed: int, orders: int, days: int) -> list[Sale]:
    """Orders of 1-9 products over ``days`` days; some delivered in two pieces (the second
    up to two days late), some with a return in a later piece (full or partial), some
    return tickets of their own; pieces shuffled a little, as a source delivers them."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 12, tzinfo=UTC)
    pieces: list[Sale] = []
    for number in range(orders):
        store = rng.choice(STORES)
        when = start + timedelta(days=rng.randrange(days), minutes=rng.randrange(600))
        order = f"o{number}"
        if rng.random() < 0.05:
            pieces.append(sale(order, store, when, [(rng.choice(PRODUCTS), -1)]))
            continue
        # A skewed choice, so some pairs are common and some rare.
        chosen = sorted(
            {
                rng.choice(PRODUCTS[: rng.randint(3, len(PRODUCTS))])
                for _ in range(rng.randint(1, 9))
            }
        )
        lines = [(sku, rng.randint(1, 3)) for sku in chosen]
        if len(lines) > 1 and rng.random() < 0.2:
            cut = rng.randint(1, len(lines) - 1)
            pieces.append(sale(order, store, when, lines[:cut]))
            later = when + timedelta(days=rng.choice((0, 0, 1, 2)))
            pieces.append(sale(order, store, later, lines[cut:]))
        else:
            pieces.append(sale(order, store, when, lines))
        if rng.random() < 0.1:
            sku, quantity = rng.choice(lines)
            back = quantity if rng.random() < 0.7 else quantity - 1
            if back:
                pieces.append(sale(order, store, when + timedelta(hours=30), [(sku, -back)]))
    # Local disorder: a piece may come a few places before one sent earlier.
    for index in range(len(pieces) - 1):
        if rng.random() < 0.1:
            pieces[index], pieces[index + 1] = pieces[index + 1], pieces[index]
    return pieces


def expected_baskets(sales: Sequence[Sale]) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    """``(store, order) -> (day, products)``, straight from the definition: net units per
    product over the order's pieces, the products with net units above zero, the day of the
    first piece (as delivered) that sold something."""
    units: dict[tuple[str, str], dict[str, int]] = {}
    day: dict[tuple[str, str], str] = {}
    for piece in sales:
        key = (piece.store_id, piece.order_id)
        for line in piece.lines:
            if line.quantity > 0:
                day.setdefault(key, local_buckets(piece.event_time, ZONE)[1])
            units.setdefault(key, {}).setdefault(line.sku, 0)
            units[key][line.sku] += line.quantity
    return {
        key: (day[key], frozenset(sku for sku, net in units[key].items() if net > 0)) for key in day
    }


@pytest.fixture
async def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveTables]:
    async def nothing_to_replay(*_: Any) -> int:
        return 0

    monkeypatch.setattr(tables.live, "replay_to_end", nothing_to_replay)
    live = LiveTables(tmp_path / "tables", "t-", 1, "127.0.0.1:1")
    live.on_assigned({0}, generation=1)
    assert await live.wait_ready(lambda: 1)
    yield live
    live.close()


def count_in_batches(
    live: LiveTables, sales: Sequence[Sale], batch: int, days: int = 90
) -> dict[bytes, bytes]:
    """Count ``sales`` batch by batch, as the agent does; returns the changelog as it would
    be after compaction (the last value of each key; deletions gone)."""
    changelog: dict[bytes, bytes | None] = {}
    for start in range(0, len(sales), batch):
        part = sales[start : start + batch]
        changes = live.count_baskets(part, {s.store_id: 0 for s in part}, days)
        for records in changes.get(0, {}).values():
            changelog.update(records)
    return {key: value for key, value in changelog.items() if value is not None}


def window_counts(live: LiveTables, store: str, first: str, last: str) -> BasketCounts:
    baskets = sum(live.basket_counts(store, first, last).values())
    return BasketCounts.from_days(baskets, live.all_item_counts(store, first, last))


def direct_counts(
    baskets: Mapping[tuple[str, str], tuple[str, frozenset[str]]], store: str, first: str, last: str
) -> BasketCounts:
    counts = BasketCounts()
    for (basket_store, _), (day, items) in baskets.items():
        if basket_store != store or not first <= day <= last or not items:
            continue
        counts.baskets += 1
        for sku in items:
            counts.items[sku] = counts.items.get(sku, 0) + 1
            for partner in items:
                if sku < partner:
                    counts.pairs[(sku, partner)] = counts.pairs.get((sku, partner), 0) + 1
    return counts


@pytest.mark.parametrize("batch", [1, 7, 10_000])
async def test_live_counts_equal_the_baskets_rebuilt_from_the_sales(
    live: LiveTables, batch: int
) -> None:
    sales = random_sales(seed=batch, orders=600, days=20)
    count_in_batches(live, sales, batch)
    baskets = expected_baskets(sales)
    for store in STORES:
        for first, last in (("2026-09-01", "2026-09-30"), ("2026-09-05", "2026-09-11")):
            assert window_counts(live, store, first, last) == direct_counts(
                baskets, store, first, last
            )


async def test_the_window_slides_by_whole_days_and_late_pieces_of_dropped_days_count_nothing(
    live: LiveTables,
) -> None:
    sales = random_sales(seed=3, orders=800, days=30)
    count_in_batches(live, sales, batch=50, days=10)
    newest = live.newest_basket_day("s1")
    assert newest is not None
    first = (date.fromisoformat(newest) - timedelta(days=9)).isoformat()
    kept = live.basket_counts("s1", "2000-01-01", "2100-01-01")
    assert min(kept) >= first  # the days before the window are gone
    baskets = expected_baskets(sales)
    assert window_counts(live, "s1", "2000-01-01", "2100-01-01") == direct_counts(
        baskets, "s1", first, newest
    )
    # A late piece of an order of a day already dropped changes nothing.
    late = sale("o-late", "s1", datetime(2026, 9, 1, 12, tzinfo=UTC), [("p01", 1), ("p02", 1)])
    before = window_counts(live, "s1", first, newest)
    live.count_baskets([late], {"s1": 0}, 10)
    assert window_counts(live, "s1", first, newest) == before


async def test_the_changelog_rebuilds_the_same_counts(live: LiveTables, tmp_path: Path) -> None:
    sales = random_sales(seed=5, orders=500, days=25)
    changelog = count_in_batches(live, sales, batch=40, days=15)
    stored = {
        name: dict(live._partition_db(name, 0).items()) for name in ("baskets", "basket-index")
    }
    # Every key the tables hold is in the compacted changelog with the same value, and no
    # key the changelog still holds was deleted from the tables.
    assert {**stored["baskets"], **stored["basket-index"]} == changelog


def test_a_basket_emptied_by_a_return_leaves_the_counts() -> None:
    when = datetime(2026, 9, 1, 15, tzinfo=UTC)
    first = basket_deltas([sale("o1", "s1", when, [("a", 1), ("b", 2)])], {})
    assert first.baskets == {"s1\x1fN\x1f2026-09-01": 1}
    assert first.items["s1\x1fX\x1f2026-09-01\x1fa"] == {OWN_COUNT: 1, "b": 1}
    known = dict(first.orders)
    partial = basket_deltas([sale("o1", "s1", when, [("b", -1)])], known)
    assert not partial.baskets and not partial.items  # b still in the basket
    known.update(partial.orders)
    emptied = basket_deltas(
        [sale("o1", "s1", when + timedelta(days=3), [("a", -1), ("b", -1)])], known
    )
    assert emptied.baskets == {"s1\x1fN\x1f2026-09-01": -1}  # on the basket's own day
    assert emptied.items["s1\x1fX\x1f2026-09-01\x1fb"] == {OWN_COUNT: -1, "a": -1}


# -- the rules against mlxtend ----------------------------------------------------------


def mlxtend_rules(baskets: Sequence[frozenset[str]], min_support: float) -> pd.DataFrame:
    products = sorted(set().union(*baskets))
    one_hot = pd.DataFrame([[sku in b for sku in products] for b in baskets], columns=products)
    frequent = apriori(one_hot, min_support=min_support, use_colnames=True, max_len=2)
    rules = association_rules(
        frequent, num_itemsets=len(baskets), metric="support", min_threshold=min_support
    )
    return rules


def assert_equal_to_mlxtend(ours: Sequence[Rule], theirs: pd.DataFrame) -> None:
    by_pair = {(r.antecedent, r.consequent): r for r in ours}
    assert len(by_pair) == len(ours) == len(theirs)
    for row in theirs.to_dict("records"):
        (antecedent,), (consequent,) = row["antecedents"], row["consequents"]
        rule = by_pair[(antecedent, consequent)]
        measured = {
            "antecedent support": rule.antecedent_support,
            "consequent support": rule.consequent_support,
            "support": rule.support,
            "confidence": rule.confidence,
            "lift": rule.lift,
            "leverage": rule.leverage,
            "conviction": rule.conviction,
        }
        reference = {name: float(row[name]) for name in measured}
        # Equal, not close: the same floating-point operations in the same order.
        assert measured == reference, (antecedent, consequent)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rules_equal_mlxtend_on_generated_baskets(live: LiveTables, seed: int) -> None:
    sales = random_sales(seed=seed, orders=900, days=20)
    count_in_batches(live, sales, batch=100)
    min_support = 0.01
    counts = window_counts(live, "s1", "2026-09-01", "2026-09-30")
    ours = [rule for pair in strongest_pairs(counts, min_support=min_support) for rule in pair]
    baskets = [
        items
        for (store, _), (_, items) in expected_baskets(sales).items()
        if store == "s1" and items
    ]
    theirs = mlxtend_rules(baskets, min_support)
    assert_equal_to_mlxtend(ours, theirs)

    # The same rules, asked product by product (the API's ``product=``).
    for product in sorted(counts.items):
        summed = product_counts(live.item_counts("s1", product, _days("2026-09-01", "2026-09-30")))
        partners = {p: counts.items[p] for p in summed if p != OWN_COUNT}
        by_product = rules_for_product(
            product, summed, partners, counts.baskets, min_support=min_support
        )
        assert_equal_to_mlxtend(by_product, theirs[theirs.antecedents == frozenset({product})])


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
