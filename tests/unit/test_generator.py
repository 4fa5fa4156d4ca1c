"""The synthetic chain and its order stream: contract, determinism and the realism that the
downstream features (trends, cross-sell, commissions, alerts, store comparison) rely on."""

from __future__ import annotations

import csv
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.generator import (
    BAD_ROW_KINDS,
    CANONICAL_COLUMNS,
    CHANNELS,
    Chain,
    GeneratedOrder,
    SalesGenerator,
    build_chain,
    write_csv,
    write_reference_jsonl,
)
from app.records import Product, Seller, Store

CHAIN_SEED = 7
# Monday 2026-11-23 05:00 UTC is local midnight in Rio Branco (UTC-5), the westernmost
# zone, so seven days from here are seven whole local days in every store.
WEEK_START = datetime(2026, 11, 23, 5, tzinfo=UTC)
MONEY = re.compile(r"^\d+\.\d{2}$")

# The truth the test holds on its own, not read back from the generator's table.
EXPECTED_ZONES = {
    "São Paulo": "America/Sao_Paulo",
    "Rio de Janeiro": "America/Sao_Paulo",
    "Belo Horizonte": "America/Sao_Paulo",
    "Salvador": "America/Bahia",
    "Recife": "America/Recife",
    "Fortaleza": "America/Fortaleza",
    "Belém": "America/Belem",
    "Manaus": "America/Manaus",
    "Cuiabá": "America/Cuiaba",
    "Campo Grande": "America/Campo_Grande",
    "Porto Velho": "America/Porto_Velho",
    "Rio Branco": "America/Rio_Branco",
    "Porto Alegre": "America/Sao_Paulo",
    "Curitiba": "America/Sao_Paulo",
    "Goiânia": "America/Sao_Paulo",
    "Florianópolis": "America/Sao_Paulo",
}


@pytest.fixture(scope="module")
def chain() -> Chain:
    return build_chain(CHAIN_SEED)


@pytest.fixture(scope="module")
def week(chain: Chain) -> list[GeneratedOrder]:
    generator = SalesGenerator(chain, seed=11, bad_row_rate=0.01)
    return list(
        generator.orders_between(WEEK_START, WEEK_START + timedelta(days=7), orders_per_day=1500)
    )


@pytest.fixture(scope="module")
def saturday(chain: Chain) -> list[GeneratedOrder]:
    """One busy day at the default volume and default bad-row rate."""
    start = datetime(2026, 11, 28, 5, tzinfo=UTC)
    generator = SalesGenerator(chain, seed=23)
    return list(generator.orders_between(start, start + timedelta(days=1)))


def clean_rows(orders: list[GeneratedOrder]) -> list[dict[str, str]]:
    return [row for o in orders for row, d in zip(o.rows, o.defects, strict=True) if not d]


def local_time(order: GeneratedOrder) -> datetime:
    """The order's moment in its store's zone (from the rows' zone, not their text)."""
    return order.event_time.astimezone(ZoneInfo(order.rows[0]["time_zone"]))


def is_valid(row: dict[str, str], store_ids: set[str]) -> bool:
    """A strict validator of the canonical layout, as the ingestion side should be."""
    try:
        quantity = int(row["quantity"])
        moment = datetime.fromisoformat(row["event_time"])
    except ValueError:
        return False
    money = (row["unit_price"], row["unit_cost"], row["discount"])
    return (
        quantity != 0
        and all(MONEY.match(value) for value in money)
        and Decimal(row["unit_price"]) > 0
        and moment.tzinfo is not None
        and row["sku"] != ""
        and row["store_id"] in store_ids
    )


# --------------------------------------------------------------------- reference data


def test_chain_is_deterministic_by_seed(chain: Chain, tmp_path: Path) -> None:
    assert build_chain(CHAIN_SEED) == chain
    other = build_chain(CHAIN_SEED + 1)
    assert other.products != chain.products
    assert other.sellers != chain.sellers

    first = write_reference_jsonl(chain, tmp_path / "a")
    second = write_reference_jsonl(build_chain(CHAIN_SEED), tmp_path / "b")
    for name in ("stores", "sellers", "products"):
        assert first[name].read_bytes() == second[name].read_bytes()


def test_stores_live_in_real_cities_and_zones() -> None:
    big = build_chain(3, stores=24, sellers_per_store=2)
    ids = [store.store_id for store in big.stores]
    assert len(set(ids)) == len(ids) == 24
    for store in big.stores:
        assert re.fullmatch(r"[a-z]{2}-[a-z0-9]+(-[a-z0-9]+)*-\d{2}", store.store_id)
        assert store.store_id.startswith(store.state.lower() + "-")
        assert store.name.startswith("Loja ") and store.city in store.name
        zone = ZoneInfo(store.time_zone)
        offset = zone.utcoffset(datetime(2026, 6, 1, 12))
        assert offset is not None and timedelta(hours=-5) <= offset <= timedelta(hours=-3)
        if store.city in EXPECTED_ZONES:
            assert store.time_zone == EXPECTED_ZONES[store.city], store.city
    # 24 stores cover several zones, including ones behind Brasília time.
    assert len({store.time_zone for store in big.stores}) >= 8
    assert "São Paulo" in {store.city for store in big.stores}


def test_sellers_plans_and_catalogue(chain: Chain) -> None:
    assert len(chain.stores) == 8 and len(chain.sellers) == 48 and len(chain.products) == 120
    assert len(chain.plans) == 3
    plan_ids = {plan.plan_id for plan in chain.plans}
    assert all(plan.base_rate_bp > 0 and plan.bonus_threshold_cents > 0 for plan in chain.plans)

    assert [s.seller_id for s in chain.sellers] == [f"s-{i:04d}" for i in range(1, 49)]
    assert Counter(s.store_id for s in chain.sellers) == {s.store_id: 6 for s in chain.stores}
    assert {s.commission_plan_id for s in chain.sellers} == plan_ids
    names = [s.display_name for s in chain.sellers]
    assert len(set(names)) == len(names)
    assert any(not name.isascii() for name in names)  # pt-BR names carry accents

    skus = [p.sku for p in chain.products]
    assert len(set(skus)) == len(skus)
    assert len({p.name for p in chain.products}) == len(skus)
    assert len({p.category for p in chain.products}) == 10
    assert {"Eletrônicos", "Vestuário", "Alimentos"} <= {p.category for p in chain.products}


def test_prices_and_margins_are_realistic(chain: Chain) -> None:
    products = chain.products
    assert all(p.price_cents > 0 and p.cost_cents > 0 for p in products)
    assert sum(p.cost_cents < p.price_cents for p in products) >= 0.9 * len(products)

    margins: dict[str, list[float]] = defaultdict(list)
    for product in products:
        margins[product.category].append(product.margin_cents / product.price_cents)
    by_category = {category: statistics.mean(values) for category, values in margins.items()}
    assert max(by_category.values()) - min(by_category.values()) > 0.3
    assert by_category["Alimentos"] < 0.25 < by_category["Acessórios"]
    every = [m for values in margins.values() for m in values]
    assert min(every) < 0.15 and max(every) > 0.6

    prices: dict[str, list[int]] = defaultdict(list)
    for product in products:
        prices[product.category].append(product.price_cents)
    assert statistics.median(prices["Alimentos"]) < 5_000  # food under R$ 50
    assert max(prices["Eletrônicos"]) > 100_000  # some electronics over R$ 1 000


def test_affinities_trends_and_truth(chain: Chain) -> None:
    assert 8 <= len(chain.affinities) <= 15
    in_pairs = [sku for pair in chain.affinities for sku in pair]
    assert len(set(in_pairs)) == len(in_pairs)  # each SKU in one pair at most
    skus = {p.sku for p in chain.products}
    assert set(in_pairs) <= skus and set(chain.trends) == skus
    assert sum(g > 0 for g in chain.trends.values()) >= 3
    assert sum(g < 0 for g in chain.trends.values()) >= 3
    sizes = chain.store_sizes.values()
    assert max(sizes) / min(sizes) >= 3
    assert chain.underperformers
    assert {store for store, _ in chain.underperformers} <= {s.store_id for s in chain.stores}


def test_reference_jsonl_round_trips(chain: Chain, tmp_path: Path) -> None:
    paths = write_reference_jsonl(chain, tmp_path / "ref")
    assert set(paths) == {"stores", "sellers", "products"}
    stores_text = paths["stores"].read_text(encoding="utf-8")
    assert "São Paulo" in stores_text  # ensure_ascii=False keeps accents readable

    def load(name: str) -> list[dict[str, object]]:
        lines = paths[name].read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    assert tuple(Store.from_dict(d) for d in load("stores")) == chain.stores
    assert tuple(Seller.from_dict(d) for d in load("sellers")) == chain.sellers
    assert tuple(Product.from_dict(d) for d in load("products")) == chain.products


# --------------------------------------------------------------------- the order stream


def test_orders_are_deterministic_by_seed(chain: Chain) -> None:
    start = datetime(2026, 11, 24, 14, tzinfo=UTC)
    end = start + timedelta(hours=3)

    def rows(seed: int) -> list[dict[str, str]]:
        generator = SalesGenerator(chain, seed=seed, bad_row_rate=0.01)
        return [row for order in generator.orders_between(start, end) for row in order.rows]

    first = rows(5)
    assert len(first) > 500
    assert rows(5) == first
    assert rows(6) != first


def test_rows_have_exactly_the_canonical_columns(week: list[GeneratedOrder]) -> None:
    assert CANONICAL_COLUMNS == (
        "order_id",
        "store_id",
        "seller_id",
        "customer_id",
        "event_time",
        "time_zone",
        "channel",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
        "unit_cost",
        "discount",
    )
    for order in week:
        assert len(order.defects) == len(order.rows) >= 1
        for row in order.rows:
            assert tuple(row) == CANONICAL_COLUMNS
            assert all(isinstance(value, str) for value in row.values())


def test_orders_are_ordered_inside_the_window(week: list[GeneratedOrder]) -> None:
    times = [order.event_time for order in week]
    assert times == sorted(times)
    assert times[0] >= WEEK_START and times[-1] < WEEK_START + timedelta(days=7)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)

    ids = [order.rows[0]["order_id"] for order in week]
    assert len(set(ids)) == len(ids)
    for order in week:
        assert {row["order_id"] for row in order.rows} == {order.rows[0]["order_id"]}
        assert re.fullmatch(r"[A-Z]{2}\d{2}-\d{6}", order.rows[0]["order_id"])


def test_window_edges_are_half_open(chain: Chain) -> None:
    start = datetime(2026, 11, 24, 15, 20, 30, 500_000, tzinfo=UTC)
    end = start + timedelta(minutes=7)
    orders = list(SalesGenerator(chain, seed=2).orders_between(start, end, orders_per_day=40000))
    assert orders
    assert all(start <= o.event_time < end for o in orders)


def test_event_time_offsets_follow_the_store_zone(week: list[GeneratedOrder]) -> None:
    for order in week:
        for row, defect in zip(order.rows, order.defects, strict=True):
            if defect == "unparseable_date":
                continue
            moment = datetime.fromisoformat(row["event_time"])
            assert moment == order.event_time
            assert moment.utcoffset() == ZoneInfo(row["time_zone"]).utcoffset(moment)


def test_offsets_come_from_zoneinfo_not_a_fixed_table(chain: Chain) -> None:
    # January 2018: Brazilian daylight saving time, São Paulo at -02:00, the North not.
    start = datetime(2018, 1, 16, 15, tzinfo=UTC)
    orders = list(
        SalesGenerator(chain, seed=1, bad_row_rate=0).orders_between(
            start, start + timedelta(hours=2)
        )
    )
    offsets: dict[str, set[str]] = defaultdict(set)
    for row in clean_rows(orders):
        offsets[row["time_zone"]].add(row["event_time"][-6:])
        moment = datetime.fromisoformat(row["event_time"])
        assert moment.utcoffset() == ZoneInfo(row["time_zone"]).utcoffset(moment)
    assert offsets["America/Sao_Paulo"] == {"-02:00"}
    assert offsets["America/Rio_Branco"] == {"-05:00"}
    assert offsets["America/Fortaleza"] == {"-03:00"}


def test_money_is_dot_decimal_with_two_places(week: list[GeneratedOrder], chain: Chain) -> None:
    prices = {p.sku: p for p in chain.products}
    rows = clean_rows(week)
    discounted = 0
    for row in rows:
        for column in ("unit_price", "unit_cost", "discount"):
            assert MONEY.match(row[column]), row
            assert Decimal(row[column]).as_tuple().exponent == -2
        product = prices[row["sku"]]
        # The feed's money is the catalogue's, to the cent: no float drift.
        assert Decimal(row["unit_price"]) * 100 == product.price_cents
        assert Decimal(row["unit_cost"]) * 100 == product.cost_cents
        assert row["product_name"] == product.name
        quantity = int(row["quantity"])
        assert quantity != 0
        discount = Decimal(row["discount"])
        assert discount <= abs(quantity) * Decimal(row["unit_price"])
        discounted += discount > 0
    assert 0.02 < discounted / len(rows) < 0.2  # occasional, not never, not always


def test_channels_customers_and_baskets(week: list[GeneratedOrder]) -> None:
    channels = Counter(order.rows[0]["channel"] for order in week)
    assert set(channels) == set(CHANNELS)
    assert channels["loja"] > 0.6 * sum(channels.values())
    sales = [order for order in week if not order.is_return]
    walk_ins = sum(order.rows[0]["customer_id"] == "" for order in sales)
    assert 0.2 < walk_ins / len(sales) < 0.4
    for order in week:
        customer = order.rows[0]["customer_id"]
        assert customer == "" or customer.isdigit()
        if order.rows[0]["channel"] != "loja":
            assert customer != ""  # online buyers are always identified
    customers = Counter(order.rows[0]["customer_id"] for order in sales)
    del customers[""]
    assert max(customers.values()) >= 3  # regulars come back
    sizes = Counter(len(order.rows) for order in sales)
    assert set(sizes) == {1, 2, 3, 4, 5, 6}
    assert sizes[1] > sizes[3] > sizes[6]


def test_hour_of_day_profile_in_store_local_time(week: list[GeneratedOrder]) -> None:
    by_hour = Counter(local_time(order).hour for order in week)
    assert all(by_hour[hour] == 0 for hour in range(7))  # closed at night, 03:00 included
    assert by_hour[12] > 3 * by_hour[9]
    assert by_hour[12] > by_hour[15] < by_hour[19]  # lunch peak, afternoon dip, evening peak
    # Outside mall hours only remote channels sell.
    for order in week:
        hour = local_time(order).hour
        if hour < 10 or hour >= 22:
            assert order.rows[0]["channel"] in {"online", "whatsapp"}


def test_weekends_sell_more_and_sunday_is_shorter(week: list[GeneratedOrder]) -> None:
    per_day = Counter(local_time(order).date() for order in week)
    assert len(per_day) == 7
    weekday = [n for day, n in per_day.items() if day.weekday() < 5]
    weekend = [n for day, n in per_day.items() if day.weekday() >= 5]
    assert statistics.mean(weekend) > 1.15 * statistics.mean(weekday)
    in_store_hours = defaultdict(set)
    for order in week:
        if order.rows[0]["channel"] == "loja":
            moment = local_time(order)
            in_store_hours[moment.weekday() == 6].add(moment.hour)
    assert len(in_store_hours[True]) < len(in_store_hours[False])


def test_stores_and_sellers_differ_in_volume(week: list[GeneratedOrder], chain: Chain) -> None:
    per_store = Counter(
        store for store, _ in {(row["store_id"], row["order_id"]) for row in clean_rows(week)}
    )
    assert set(per_store) == {store.store_id for store in chain.stores}
    assert max(per_store.values()) > 2.5 * min(per_store.values())
    per_seller = Counter(order.rows[0]["seller_id"] for order in week)
    spreads = []
    for store in chain.stores:
        counts = [per_seller[s.seller_id] for s in chain.sellers if s.store_id == store.store_id]
        spreads.append(max(counts) / max(min(counts), 1))
    assert statistics.median(spreads) > 1.5


def test_affinity_pairs_co_occur_far_above_chance(
    saturday: list[GeneratedOrder], chain: Chain
) -> None:
    baskets = [{row["sku"] for row in order.rows} for order in saturday if not order.is_return]
    total = len(baskets)
    assert total > 4000
    singles = Counter(sku for basket in baskets for sku in basket)
    pairs = Counter(frozenset(p) for basket in baskets for p in combinations(sorted(basket), 2))

    def lift(left: str, right: str) -> float:
        return pairs[frozenset((left, right))] * total / (singles[left] * singles[right])

    measured = [
        lift(left, right)
        for left, right in chain.affinities
        if singles[left] >= 20 and singles[right] >= 20
    ]
    assert len(measured) >= 6
    assert min(measured) > 5
    # A control: frequent SKUs of different categories that are not paired stay near 1.
    category = {p.sku: p.category for p in chain.products}
    paired = {sku for pair in chain.affinities for sku in pair}
    frequent = [sku for sku, _ in singles.most_common(40) if sku not in paired]
    control = [lift(a, b) for a, b in combinations(frequent, 2) if category[a] != category[b]]
    assert len(control) > 50 and statistics.median(control) < 2


def test_returns_give_back_earlier_purchases(chain: Chain) -> None:
    # Clean rows only, so that every returned line can be traced to the line it returns.
    generator = SalesGenerator(chain, seed=31, bad_row_rate=0, return_rate=0.05)
    orders = list(generator.orders_between(WEEK_START, WEEK_START + timedelta(days=3), 1500))
    returns = [order for order in orders if order.is_return]
    assert 0.035 < len(returns) / len(orders) < 0.065
    bought: set[tuple[str, str, str, str]] = set()
    for order in orders:
        for row in order.rows:
            key = (row["store_id"], row["seller_id"], row["customer_id"], row["sku"])
            if order.is_return:
                assert int(row["quantity"]) < 0
                assert key in bought  # the same store, seller, customer bought it earlier
            else:
                assert int(row["quantity"]) > 0
                bought.add(key)


def test_bad_rows_are_varied_and_genuinely_invalid(
    week: list[GeneratedOrder], chain: Chain
) -> None:
    store_ids = {store.store_id for store in chain.stores}
    rows = [
        (row, defect)
        for order in week
        for row, defect in zip(order.rows, order.defects, strict=True)
    ]
    bad = [(row, defect) for row, defect in rows if defect]
    assert 0.007 < len(bad) / len(rows) < 0.013  # asked for 0.01
    assert {defect for _, defect in bad} == set(BAD_ROW_KINDS)
    for row, defect in rows:
        assert is_valid(row, store_ids) == (not defect), (defect, row)
    samples = {defect: row for row, defect in bad}
    assert samples["brazilian_decimal"]["unit_price"].count(",") == 1
    assert not samples["quantity_not_numeric"]["quantity"].lstrip("-").isdigit()


def test_default_bad_row_rate(saturday: list[GeneratedOrder]) -> None:
    defects = [d for order in saturday for d in order.defects]
    bad = sum(1 for d in defects if d)
    assert 0.5 * 0.002 < bad / len(defects) < 1.6 * 0.002
    assert len({d for d in defects if d}) >= 4


def test_rising_products_sell_more_at_the_end_of_60_days(chain: Chain) -> None:
    start = datetime(2026, 3, 2, 5, tzinfo=UTC)  # a Monday
    generator = SalesGenerator(chain, seed=9, bad_row_rate=0, trend_origin=start)
    first = list(generator.orders_between(start, start + timedelta(days=7), 1500))
    last = list(
        generator.orders_between(start + timedelta(days=53), start + timedelta(days=60), 1500)
    )

    def units(orders: list[GeneratedOrder]) -> Counter[str]:
        sold: Counter[str] = Counter()
        for order in orders:
            if not order.is_return:
                for row in order.rows:
                    sold[row["sku"]] += int(row["quantity"])
        return sold

    before, after = units(first), units(last)

    def ratio(skus: list[str]) -> float:
        return sum(after[s] for s in skus) / sum(before[s] for s in skus)

    rising = [sku for sku, growth in chain.trends.items() if growth > 0]
    falling = [sku for sku, growth in chain.trends.items() if growth < 0]
    flat = [sku for sku, growth in chain.trends.items() if growth == 0]
    assert ratio(rising) > 1.6
    assert sum(after[s] > before[s] for s in rising) >= 0.8 * len(rising)
    assert ratio(falling) < 0.6
    assert 0.7 < ratio(flat) < 1.3


def test_underperformers_sell_little_in_their_store_only(
    week: list[GeneratedOrder], chain: Chain
) -> None:
    lines: dict[str, Counter[str]] = defaultdict(Counter)
    for row in clean_rows(week):
        if int(row["quantity"]) > 0:
            lines[row["store_id"]][row["sku"]] += 1
    observed = expected = 0.0
    for store_id, sku in chain.underperformers:
        elsewhere = [c for s, c in lines.items() if s != store_id]
        share = sum(c[sku] for c in elsewhere) / sum(c.total() for c in elsewhere)
        assert share > 0.002  # a normal seller elsewhere
        observed += lines[store_id][sku]
        expected += share * lines[store_id].total()
    assert observed < 0.4 * expected


def test_order_at_streams_live_orders(chain: Chain) -> None:
    generator = SalesGenerator(chain, seed=4, bad_row_rate=0)
    lunch = datetime(2026, 11, 25, 15, 30, 12, 345_000, tzinfo=UTC)  # 12:30 in São Paulo
    night = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 02:00 to 04:00 across Brazil
    assert generator.expected_rate(lunch) > 0 == generator.expected_rate(night)

    orders = [generator.order_at(lunch + timedelta(seconds=i)) for i in range(300)]
    assert orders[0].event_time == lunch.replace(microsecond=0)
    for order in orders:
        moment = datetime.fromisoformat(order.rows[0]["event_time"])
        assert moment == order.event_time
        assert moment.utcoffset() == ZoneInfo(order.rows[0]["time_zone"]).utcoffset(moment)
    assert Counter(o.rows[0]["channel"] for o in orders).most_common(1)[0][0] == "loja"
    # Order numbers continue per store, never repeat.
    ids = [o.rows[0]["order_id"] for o in orders]
    assert len(set(ids)) == len(ids)

    late = generator.order_at(night)
    assert late.rows[0]["channel"] in {"online", "whatsapp"}


def test_order_at_rejects_naive_moments(chain: Chain) -> None:
    generator = SalesGenerator(chain, seed=4)
    with pytest.raises(ValueError):
        generator.order_at(datetime(2026, 11, 25, 12))
    with pytest.raises(ValueError):
        next(generator.orders_between(datetime(2026, 1, 1), datetime(2026, 1, 2)))


def test_write_csv_round_trips(week: list[GeneratedOrder], tmp_path: Path) -> None:
    rows = [row for order in week[:500] for row in order.rows]
    path = tmp_path / "vendas.csv"
    assert write_csv(iter(rows), path) == len(rows)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CANONICAL_COLUMNS
        assert list(reader) == rows
    with pytest.raises(ValueError):
        write_csv([{**rows[0], "extra": "x"}], tmp_path / "bad.csv")


def test_expected_store_rates_and_opening_hours_in_local_time(chain: Chain) -> None:
    generator = SalesGenerator(chain, seed=4)
    rio_branco = next(s.store_id for s in chain.stores if s.time_zone == "America/Rio_Branco")
    # Wednesday 2026-11-25 in Rio Branco (UTC-5): the mall opens at 10:00 local = 15:00 UTC.
    assert not generator.store_open(rio_branco, datetime(2026, 11, 25, 14, 59, tzinfo=UTC))
    assert generator.store_open(rio_branco, datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    # Sunday 2026-11-29: 14:00 to 20:00 local only.
    assert not generator.store_open(rio_branco, datetime(2026, 11, 29, 18, 30, tzinfo=UTC))
    assert generator.store_open(rio_branco, datetime(2026, 11, 29, 19, 30, tzinfo=UTC))
    with pytest.raises(KeyError):
        generator.store_open("no-such-store", datetime(2026, 11, 29, 19, tzinfo=UTC))

    lunch = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    rates = generator.expected_store_rates(lunch, orders_per_day=2_000)
    assert set(rates) == {s.store_id for s in chain.stores}
    assert sum(rates.values()) == pytest.approx(generator.expected_rate(lunch, 2_000) * 3600)
    # Bigger stores expect more orders in the same hour (all are open at 12:30 or 11:30).
    sizes = chain.store_sizes
    biggest = max(sizes, key=sizes.__getitem__)
    smallest = min(sizes, key=sizes.__getitem__)
    assert rates[biggest] > 2 * rates[smallest] > 0
    with pytest.raises(ValueError):
        generator.expected_store_rates(datetime(2026, 11, 25, 15))


def test_draws_change_the_orders_but_not_the_volume(chain: Chain) -> None:
    start = datetime(2026, 11, 28, 5, tzinfo=UTC)
    window = (start, start + timedelta(days=1))
    same = [SalesGenerator(chain, seed=9, draws=None) for _ in range(2)]
    other = SalesGenerator(chain, seed=9, draws="live-1")
    first, second = ([o.rows for o in g.orders_between(*window, 500)] for g in same)
    third = [o.rows for o in other.orders_between(*window, 500)]
    assert first == second  # draws=None keeps the seed's own sequence
    assert third != first
    moment = start + timedelta(hours=15)
    assert other.expected_store_rates(moment) == same[0].expected_store_rates(moment)
    # The day's volume is the same model: counts differ only by Poisson noise.
    assert abs(len(third) - len(first)) < 5 * len(first) ** 0.5
