"""A synthetic order stream for a ``Chain``, as raw rows in the canonical flat layout.

Rows are what a store system would export: one ``dict[str, str]`` per order line, money as
dot-decimal reais, the event time in the store's local offset. A small share of rows is
deliberately broken the way real feeds are (see ``BAD_ROW_KINDS``); which rows, and how, is
reported beside the rows in ``GeneratedOrder.defects`` so the rows themselves keep exactly
the canonical columns.

Volume model, per store and clock hour: ``orders_per_day`` x store share x weekday factor x a
day-to-day wobble x the fraction of that weekday's orders falling in that local hour, drawn
as a Poisson count. Demand for a product in a store on a day: popularity x the store's taste
for its category x its trend since ``trend_origin`` (x a cut for the store's
under-performers). The generator is stateful (order counters, the pool of purchases that can
be returned, one random stream), so identical output needs the same seed *and* the same
sequence of calls.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from app.generator.chain import Chain
from app.records import CANONICAL_COLUMNS, Seller, Store

CHANNELS: tuple[str, ...] = ("loja", "online", "whatsapp")

# Every kind is a defect a strict validator must reject, never a legal-but-odd value: a
# negative quantity, for instance, is a return and therefore not on this list.
BAD_ROW_KINDS: tuple[str, ...] = (
    "quantity_not_numeric",  # "dois"
    "quantity_zero",  # "0"
    "price_with_letters",  # "49.9O": a letter O typed for a zero
    "negative_price",  # "-49.90": prices are positive even on returns
    "empty_sku",  # ""
    "unparseable_date",  # "31/02/2026 25:61", "2026-02-30T10:15:00-03:00"
    "empty_store",  # store_id ""
    "brazilian_decimal",  # "1.234,56" in a dot-decimal feed
)

# Mall opening hours, the common format for chain stores in Brazil: 10h-22h Monday to
# Saturday, 14h-20h on Sunday. Outside them only online/WhatsApp orders arrive, and nothing
# between midnight and 07h.
_WEEKDAY_STORE = {
    10: 0.5,
    11: 0.8,
    12: 1.5,
    13: 1.4,
    14: 0.9,
    15: 0.8,
    16: 0.9,
    17: 1.1,
    18: 1.5,
    19: 1.6,
    20: 1.2,
    21: 0.7,
}
_WEEKDAY_ONLINE = {7: 0.05, 8: 0.08, 9: 0.12, 22: 0.15, 23: 0.08}
_SUNDAY_STORE = {14: 1.0, 15: 1.2, 16: 1.3, 17: 1.4, 18: 1.2, 19: 0.8}
_SUNDAY_ONLINE = {
    8: 0.06,
    9: 0.08,
    10: 0.1,
    11: 0.1,
    12: 0.12,
    13: 0.12,
    20: 0.15,
    21: 0.15,
    22: 0.1,
    23: 0.05,
}
# Monday..Sunday share of a week's orders, rescaled to mean 1 below: Saturday is the big
# day, Sunday's few hours are busy ones.
_DAY_FACTORS = (0.85, 0.85, 0.9, 0.95, 1.15, 1.5, 1.1)


def _hour_tables() -> tuple[tuple[tuple[float, ...], ...], tuple[tuple[bool, ...], ...]]:
    fractions: list[tuple[float, ...]] = []
    open_flags: list[tuple[bool, ...]] = []
    for weekday in range(7):
        store, online = (
            (_SUNDAY_STORE, _SUNDAY_ONLINE) if weekday == 6 else (_WEEKDAY_STORE, _WEEKDAY_ONLINE)
        )
        weights = [store.get(hour, 0.0) + online.get(hour, 0.0) for hour in range(24)]
        total = sum(weights)
        fractions.append(tuple(weight / total for weight in weights))
        open_flags.append(tuple(hour in store for hour in range(24)))
    return tuple(fractions), tuple(open_flags)


HOUR_FRACTIONS, STORE_OPEN = _hour_tables()
DAY_FACTORS: tuple[float, ...] = tuple(f * 7 / sum(_DAY_FACTORS) for f in _DAY_FACTORS)

BASKET_CUM: tuple[float, ...] = tuple(accumulate((0.40, 0.26, 0.15, 0.10, 0.06, 0.03)))
MAX_LINES = 6
AFFINITY_PROBABILITY = 0.5
CATEGORY_STICKINESS = 0.3
WALK_IN_WITHOUT_ID = 0.36  # of in-store orders; online channels always know the customer
CUSTOMER_POOL = 250_000
DISCOUNT_PROBABILITY = {"loja": 0.06, "online": 0.12, "whatsapp": 0.09}
DISCOUNT_PERCENTS: tuple[int, ...] = (5, 10, 10, 15, 20, 30)
RETURN_POOL_SIZE = 3_000
DAILY_WOBBLE_SIGMA = 0.12
TREND_CLIP = (0.05, 20.0)
QUANTITY_WORDS = ("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito")

_QTY_SINGLE = tuple(accumulate((0.96, 0.04)))
_QTY_BULK = tuple(accumulate((0.55, 0.25, 0.10, 0.06, 0.04)))
_QTY_DEFAULT = tuple(accumulate((0.80, 0.14, 0.04, 0.02)))
_BULK_CATEGORIES = frozenset({"Alimentos", "Papelaria", "Beleza"})
_EXPENSIVE_CENTS = 50_000


@dataclass(frozen=True, slots=True)
class GeneratedOrder:
    """One order as rows, plus what went wrong with them.

    ``event_time`` is aware UTC (second precision). ``defects`` runs parallel to ``rows``:
    ``""`` for a clean row, else the ``BAD_ROW_KINDS`` entry the row was broken with.
    ``is_return`` is the truth even when a broken row hides the negative quantity.
    """

    event_time: datetime
    rows: tuple[dict[str, str], ...]
    defects: tuple[str, ...] = ()
    is_return: bool = False


def format_cents(cents: int) -> str:
    """Integer cents as dot-decimal reais: ``123456`` -> ``"1234.56"``."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _brazilian_cents(cents: int) -> str:
    reais = f"{cents // 100:,}".replace(",", ".")
    return f"{reais},{cents % 100:02d}"


@dataclass(slots=True)
class _Product:
    sku: str
    name: str
    category: int
    price_cents: int
    cost_cents: int
    price: str
    cost: str
    quantity_cum: tuple[float, ...]
    partner: int
    growth: float


@dataclass(slots=True)
class _Slot:
    """One store during one UTC clock hour."""

    rate: float  # expected orders in the hour per unit of orders_per_day
    store_open: bool
    prefix: str  # "2026-11-29T10:" local, when the offset is whole hours
    offset: str  # "-03:00"
    aligned: bool
    start: int  # epoch seconds of the slot
    day: date  # the store's local date


class _StoreState:
    __slots__ = (
        "category_pick",
        "code",
        "counter",
        "cum",
        "day",
        "returns",
        "seller_cum",
        "sellers",
        "share",
        "store",
        "total",
        "zone",
    )

    def __init__(
        self, store: Store, share: float, code: str, sellers: list[Seller], performance: list[float]
    ) -> None:
        self.store = store
        self.zone = ZoneInfo(store.time_zone)
        self.share = share
        self.code = code
        self.counter = 0
        self.sellers = sellers
        self.seller_cum = list(accumulate(performance))
        self.returns: list[tuple[str, str, str, tuple[tuple[int, int, int], ...]]] = []
        self.day: date | None = None
        self.cum: list[float] = []
        self.total = 0.0
        self.category_pick: list[tuple[list[int], list[float], float]] = []


class SalesGenerator:
    """Orders for a chain, historical (``orders_between``) or one at a time (``order_at``).

    ``trend_origin`` is the moment trends are measured from (a product with growth ``g``
    sells ``exp(g * days)`` times its base rate, clipped to [0.05, 20]). By default it is
    the start of the first window generated, so that a backfill followed by a live stream
    continues one curve.

    ``draws`` names an independent stream of random draws over the same chain and volume
    model: generators with the same seed and different ``draws`` see the same daily volumes
    but draw different orders (a live stream beside a backfill of the same seed).

    ``bad_row_counts`` tallies the broken rows produced so far by kind.
    """

    def __init__(
        self,
        chain: Chain,
        seed: int,
        bad_row_rate: float = 0.002,
        return_rate: float = 0.03,
        *,
        trend_origin: datetime | None = None,
        draws: str | None = None,
    ) -> None:
        if not 0.0 <= bad_row_rate <= 1.0 or not 0.0 <= return_rate <= 1.0:
            raise ValueError("bad_row_rate and return_rate are probabilities")
        if trend_origin is not None and trend_origin.tzinfo is None:
            raise ValueError("trend_origin must be timezone-aware")
        self.chain = chain
        self.seed = seed
        self.bad_row_rate = bad_row_rate
        self.return_rate = return_rate
        self.trend_origin = trend_origin
        self.bad_row_counts: Counter[str] = Counter()
        # The wobble (a day's volume) stays seeded by ``seed`` alone: only the draws differ.
        self._rng = random.Random(seed if draws is None else f"{seed}:{draws}")
        self._wobbles: dict[tuple[str, date], float] = {}
        # order_at is called once per live order, mostly within the same clock hour.
        self._live_slots: tuple[int, list[_Slot]] = (-1, [])
        self._np = np.random.default_rng(
            seed if draws is None else [seed, *hashlib.sha256(draws.encode()).digest()[:8]]
        )
        self._categories = sorted({p.category for p in chain.products})
        category_index = {name: i for i, name in enumerate(self._categories)}
        sku_index = {p.sku: i for i, p in enumerate(chain.products)}
        partners = [-1] * len(chain.products)
        for left, right in chain.affinities:
            partners[sku_index[left]] = sku_index[right]
            partners[sku_index[right]] = sku_index[left]
        self._products = [
            _Product(
                sku=p.sku,
                name=p.name,
                category=category_index[p.category],
                price_cents=p.price_cents,
                cost_cents=p.cost_cents,
                price=format_cents(p.price_cents),
                cost=format_cents(p.cost_cents),
                quantity_cum=(
                    _QTY_SINGLE
                    if p.price_cents >= _EXPENSIVE_CENTS
                    else _QTY_BULK
                    if p.category in _BULK_CATEGORIES
                    else _QTY_DEFAULT
                ),
                partner=partners[i],
                growth=chain.trends.get(p.sku, 0.0),
            )
            for i, p in enumerate(chain.products)
        ]
        self._underperforming = set(chain.underperformers)
        total_size = sum(chain.store_sizes.get(s.store_id, 1.0) for s in chain.stores)
        per_state: Counter[str] = Counter()
        self._stores: list[_StoreState] = []
        for store in chain.stores:
            per_state[store.state] += 1
            sellers = [s for s in chain.sellers if s.store_id == store.store_id]
            if not sellers:
                raise ValueError(f"store {store.store_id} has no sellers")
            self._stores.append(
                _StoreState(
                    store,
                    chain.store_sizes.get(store.store_id, 1.0) / total_size,
                    f"{store.state}{per_state[store.state]:02d}",
                    sellers,
                    [chain.seller_performance.get(s.seller_id, 1.0) for s in sellers],
                )
            )

    # ----------------------------------------------------------------- public API

    def orders_between(
        self, start: datetime, end: datetime, orders_per_day: int = 4000
    ) -> Iterator[GeneratedOrder]:
        """Orders with ``start <= event_time < end``, in event-time order.

        ``orders_per_day`` is the chain-wide average over a week; a Saturday gets more, a
        Monday less. Lazy: state advances as the iterator is consumed.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if self.trend_origin is None:
            self.trend_origin = start
        low = math.ceil(start.timestamp())
        high = math.ceil(end.timestamp())
        slot_start = low - low % 3600
        poisson = self._np.poisson
        integers = self._np.integers
        while slot_start < high:
            window_low = max(slot_start, low)
            window_high = min(slot_start + 3600, high)
            fraction = (window_high - window_low) / 3600
            events: list[tuple[int, int]] = []
            slots: list[_Slot] = []
            for index, state in enumerate(self._stores):
                slot = self._slot(state, slot_start)
                slots.append(slot)
                if state.day != slot.day:
                    self._new_day(state, slot.day)
                expected = slot.rate * orders_per_day * fraction
                if expected <= 0.0:
                    continue
                count = int(poisson(expected))
                if count:
                    seconds = integers(window_low, window_high, count).tolist()
                    events.extend((second, index) for second in seconds)
            events.sort()
            for second, index in events:
                yield self._order(self._stores[index], slots[index], second)
            slot_start += 3600

    def order_at(self, moment: datetime) -> GeneratedOrder:
        """One order at ``moment`` (truncated to the second), for live streaming.

        The store is drawn in proportion to how busy each store is at that moment; when every
        store is closed (night across Brazil) it is drawn by size and the order arrives
        online or by WhatsApp.
        """
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        if self.trend_origin is None:
            self.trend_origin = moment
        second = math.floor(moment.timestamp())
        slot_start = second - second % 3600
        if self._live_slots[0] != slot_start:
            fresh = [self._slot(state, slot_start) for state in self._stores]
            self._live_slots = (slot_start, fresh)
        slots = self._live_slots[1]
        weights = [slot.rate for slot in slots]
        if sum(weights) <= 0.0:
            weights = [state.share for state in self._stores]
            slots = [
                _Slot(0.0, False, s.prefix, s.offset, s.aligned, s.start, s.day) for s in slots
            ]
        index = self._rng.choices(range(len(self._stores)), weights=weights)[0]
        state, slot = self._stores[index], slots[index]
        if state.day != slot.day:
            self._new_day(state, slot.day)
        return self._order(state, slot, second)

    def expected_rate(self, moment: datetime, orders_per_day: int = 4000) -> float:
        """Chain-wide expected orders per second at ``moment``: pace a live stream with it."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        second = math.floor(moment.timestamp())
        slot_start = second - second % 3600
        rate = sum(self._slot(state, slot_start).rate for state in self._stores)
        return rate * orders_per_day / 3600

    def expected_store_rates(
        self, moment: datetime, orders_per_day: int = 4000
    ) -> dict[str, float]:
        """Expected orders per hour of each store during the clock hour of ``moment``: 0.0
        where the store is closed and no online orders arrive at that local hour."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        second = math.floor(moment.timestamp())
        slot_start = second - second % 3600
        return {
            state.store.store_id: self._slot(state, slot_start).rate * orders_per_day
            for state in self._stores
        }

    def store_open(self, store_id: str, moment: datetime) -> bool:
        """Whether the store's counter is open at ``moment`` (mall hours, its own zone)."""
        for state in self._stores:
            if state.store.store_id == store_id:
                local = moment.astimezone(state.zone)
                return STORE_OPEN[local.weekday()][local.hour]
        raise KeyError(store_id)

    # ----------------------------------------------------------------- internals

    def _slot(self, state: _StoreState, slot_start: int) -> _Slot:
        local = datetime.fromtimestamp(slot_start, state.zone)
        last = datetime.fromtimestamp(slot_start + 3599, state.zone)
        offset = local.utcoffset()
        assert offset is not None
        offset_seconds = int(offset.total_seconds())
        # Brazilian zones have had whole-hour offsets since 1914, and changes happen on the
        # hour; the fast path formats minutes:seconds from the slot, the rest falls back.
        aligned = offset_seconds % 3600 == 0 and last.utcoffset() == offset
        sign = "-" if offset_seconds < 0 else "+"
        hours, minutes = divmod(abs(offset_seconds) // 60, 60)
        local_day = local.date()
        weekday = local.weekday()
        rate = (
            state.share
            * DAY_FACTORS[weekday]
            * self._wobble(state.store.store_id, local_day)
            * HOUR_FRACTIONS[weekday][local.hour]
        )
        return _Slot(
            rate=rate,
            store_open=STORE_OPEN[weekday][local.hour],
            prefix=local.strftime("%Y-%m-%dT%H:"),
            offset=f"{sign}{hours:02d}:{minutes:02d}",
            aligned=aligned,
            start=slot_start,
            day=local_day,
        )

    def _wobble(self, store_id: str, day: date) -> float:
        # Seeded by (seed, store, day) rather than drawn from the main stream so that the
        # volume of a day does not depend on what was generated before it.
        key = (store_id, day)
        wobble = self._wobbles.get(key)
        if wobble is None:
            if len(self._wobbles) > 100_000:
                self._wobbles.clear()
            seeded = random.Random(f"{self.seed}:{store_id}:{day.isoformat()}")
            wobble = self._wobbles[key] = seeded.lognormvariate(0.0, DAILY_WOBBLE_SIGMA)
        return wobble

    def _new_day(self, state: _StoreState, day: date) -> None:
        """Recompute the store's product demand for a new local day (trends move daily)."""
        assert self.trend_origin is not None
        days = (day - self.trend_origin.astimezone(state.zone).date()).days
        store_id = state.store.store_id
        preferences = self.chain.category_preferences.get(store_id, {})
        low, high = TREND_CLIP
        weights: list[float] = []
        for product in self._products:
            weight = self.chain.popularity.get(product.sku, 1.0)
            weight *= preferences.get(self._categories[product.category], 1.0)
            if product.growth:
                weight *= min(max(math.exp(product.growth * days), low), high)
            if (store_id, product.sku) in self._underperforming:
                weight *= self.chain.underperformer_factor
            weights.append(weight)
        state.day = day
        state.cum = list(accumulate(weights))
        state.total = state.cum[-1]
        state.category_pick = []
        for category in range(len(self._categories)):
            members = [i for i, p in enumerate(self._products) if p.category == category]
            cum = list(accumulate(weights[i] for i in members))
            state.category_pick.append((members, cum, cum[-1] if cum else 0.0))

    def _order(self, state: _StoreState, slot: _Slot, second: int) -> GeneratedOrder:
        rng = self._rng.random
        if slot.aligned:
            within = second - slot.start
            event_time = f"{slot.prefix}{within // 60:02d}:{within % 60:02d}{slot.offset}"
        else:
            event_time = datetime.fromtimestamp(second, state.zone).isoformat()
        state.counter += 1
        order_id = f"{state.code}-{state.counter:06d}"
        # Returns are brought to the counter, so they only happen while the shop is open.
        is_return = slot.store_open and bool(state.returns) and rng() < self.return_rate
        if is_return:
            rows = self._return_rows(state, slot, order_id, event_time)
        else:
            rows = self._sale_rows(state, slot, order_id, event_time)
        defects = [""] * len(rows)
        if self.bad_row_rate:
            for position, row in enumerate(rows):
                if rng() < self.bad_row_rate:
                    kind = BAD_ROW_KINDS[int(rng() * len(BAD_ROW_KINDS))]
                    self._break(row, kind)
                    defects[position] = kind
                    self.bad_row_counts[kind] += 1
        return GeneratedOrder(
            datetime.fromtimestamp(second, UTC), tuple(rows), tuple(defects), is_return
        )

    def _sale_rows(
        self, state: _StoreState, slot: _Slot, order_id: str, event_time: str
    ) -> list[dict[str, str]]:
        rng = self._rng.random
        if slot.store_open:
            draw = rng()
            channel = "loja" if draw < 0.80 else "online" if draw < 0.93 else "whatsapp"
        else:
            channel = "online" if rng() < 0.75 else "whatsapp"
        seller = state.sellers[
            bisect.bisect(state.seller_cum, rng() * state.seller_cum[-1], hi=len(state.sellers) - 1)
        ]
        if channel == "loja" and rng() < WALK_IN_WITHOUT_ID:
            customer = ""
        else:
            # Squared uniform: low ids come back often, i.e. there are regulars.
            customer = str(100_000 + int(CUSTOMER_POOL * rng() ** 2))
        target = bisect.bisect(BASKET_CUM, rng() * BASKET_CUM[-1], hi=MAX_LINES - 1) + 1
        products = self._products
        picked: list[int] = []
        attempts = 0
        while len(picked) < target and attempts < 3 * MAX_LINES:
            attempts += 1
            if picked and rng() < CATEGORY_STICKINESS:
                members, cum, total = state.category_pick[products[picked[0]].category]
                chosen = members[bisect.bisect(cum, rng() * total, hi=len(members) - 1)]
            else:
                chosen = bisect.bisect(state.cum, rng() * state.total, hi=len(products) - 1)
            if chosen in picked:
                continue
            picked.append(chosen)
            partner = products[chosen].partner
            if (
                partner >= 0
                and partner not in picked
                and len(picked) < MAX_LINES
                and rng() < AFFINITY_PROBABILITY
            ):
                picked.append(partner)
        discount_probability = DISCOUNT_PROBABILITY[channel]
        store_id = state.store.store_id
        zone = state.store.time_zone
        seller_id = seller.seller_id
        rows: list[dict[str, str]] = []
        sold: list[tuple[int, int, int]] = []
        for index in picked:
            product = products[index]
            cum = product.quantity_cum
            quantity = bisect.bisect(cum, rng() * cum[-1], hi=len(cum) - 1) + 1
            discount = 0
            if rng() < discount_probability:
                percent = DISCOUNT_PERCENTS[int(rng() * len(DISCOUNT_PERCENTS))]
                discount = quantity * product.price_cents * percent // 100
            sold.append((index, quantity, discount))
            rows.append(
                {
                    "order_id": order_id,
                    "store_id": store_id,
                    "seller_id": seller_id,
                    "customer_id": customer,
                    "event_time": event_time,
                    "time_zone": zone,
                    "channel": channel,
                    "sku": product.sku,
                    "product_name": product.name,
                    "quantity": str(quantity),
                    "unit_price": product.price,
                    "unit_cost": product.cost,
                    "discount": format_cents(discount) if discount else "0.00",
                }
            )
        entry = (seller_id, customer, channel, tuple(sold))
        if len(state.returns) < RETURN_POOL_SIZE:
            state.returns.append(entry)
        else:
            # A full pool forgets a random old purchase: returns stay spread over recent weeks.
            state.returns[int(rng() * RETURN_POOL_SIZE)] = entry
        return rows

    def _return_rows(
        self, state: _StoreState, slot: _Slot, order_id: str, event_time: str
    ) -> list[dict[str, str]]:
        """Give back all or part of an earlier purchase of this store, at its price."""
        rng = self._rng.random
        pool = state.returns
        position = int(rng() * len(pool))
        seller_id, customer, channel, sold = pool[position]
        # Swap-remove: an order is returned once at most, in O(1).
        pool[position] = pool[-1]
        pool.pop()
        if len(sold) > 1 and rng() >= 0.3:
            sold = (sold[int(rng() * len(sold))],)
        if channel == "loja" or rng() < 0.6:
            # Most online purchases come back over the counter too; the rest through the
            # channel they were bought on (whose buyers are always identified).
            channel = "loja"
        rows: list[dict[str, str]] = []
        for index, quantity, discount in sold:
            product = self._products[index]
            back = quantity
            if quantity > 1 and rng() < 0.3:
                back = 1 + int(rng() * (quantity - 1))
            # The discount given back is the returned units' share of the line's discount.
            refunded = discount * back // quantity
            rows.append(
                {
                    "order_id": order_id,
                    "store_id": state.store.store_id,
                    "seller_id": seller_id,
                    "customer_id": customer,
                    "event_time": event_time,
                    "time_zone": state.store.time_zone,
                    "channel": channel,
                    "sku": product.sku,
                    "product_name": product.name,
                    "quantity": str(-back),
                    "unit_price": product.price,
                    "unit_cost": product.cost,
                    "discount": format_cents(refunded),
                }
            )
        return rows

    def _break(self, row: dict[str, str], kind: str) -> None:
        if kind == "quantity_not_numeric":
            quantity = abs(int(row["quantity"]))
            row["quantity"] = QUANTITY_WORDS[min(quantity, len(QUANTITY_WORDS) - 1)]
        elif kind == "quantity_zero":
            row["quantity"] = "0"
        elif kind == "price_with_letters":
            row["unit_price"] = row["unit_price"][:-1] + "O"
        elif kind == "negative_price":
            row["unit_price"] = "-" + row["unit_price"]
        elif kind == "empty_sku":
            row["sku"] = ""
        elif kind == "unparseable_date":
            year = row["event_time"][:4]
            if self._rng.random() < 0.5:
                row["event_time"] = f"31/02/{year} 25:61"
            else:
                # ISO-shaped, so only a real date check catches it: there is no 30 February.
                row["event_time"] = f"{year}-02-30{row['event_time'][10:]}"
        elif kind == "empty_store":
            row["store_id"] = ""
        elif kind == "brazilian_decimal":
            reais, _, cents = row["unit_price"].partition(".")
            row["unit_price"] = _brazilian_cents(int(reais) * 100 + int(cents))
        else:  # pragma: no cover - BAD_ROW_KINDS is closed
            raise ValueError(kind)


def write_csv(rows: Iterable[dict[str, str]], path: Path) -> int:
    """Write ``rows`` under a header of ``CANONICAL_COLUMNS``; returns the data rows written.

    A row with a column outside the layout raises, so a writer bug cannot ship silently.
    """
    path = Path(path)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANONICAL_COLUMNS, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


def write_reference_jsonl(chain: Chain, out_dir: Path) -> dict[str, Path]:
    """``stores.jsonl``, ``sellers.jsonl`` and ``products.jsonl`` in ``out_dir``, one record a
    line via the records' ``to_dict()``; returns ``{"stores": path, ...}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, records in (
        ("stores", chain.stores),
        ("sellers", chain.sellers),
        ("products", chain.products),
    ):
        path = out_dir / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        written[name] = path
    return written
