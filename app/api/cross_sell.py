"""Bought together for the API: a product's rules, or a store's strongest pairs, over a
window of days of the live basket counts (``tables/baskets.py``; the measures are
``app/insights/cross_sell.py``). The routes add scope, names and routing.

The window ends on the store's newest basket day (its event clock, so a replay answers as
live did) and reaches back ``basket_days`` days, which is all the counts keep; ``from``/``to``
choose days inside it. A store's pairs are added up from every product's day values, so the
answer is cached per store and window until the next batch that counts a basket of the
store (``LiveTables.basket_version``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.api.periods import BadParameter, DateRange, parse_choice, parse_date, parse_limit
from app.insights.cross_sell import (
    RULE_ORDERS,
    BasketCounts,
    Rule,
    RuleOrder,
    product_counts,
    ranked,
    rules_for_product,
    strongest_pairs,
)
from tables.baskets import OWN_COUNT
from tables.live import LiveTables

MIN_COUNT = 3
"""Default least number of baskets a pair needs to be shown: rarer pairs are chance."""
MAX_WINDOWS_CACHED = 64


@dataclass(frozen=True, slots=True)
class ProductCounts:
    """A product's counts over a window: baskets, its row (``OWN_COUNT`` and the baskets it
    shares with each partner) and each partner's own baskets."""

    baskets: int
    row: dict[str, int]
    partner_baskets: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Asked:
    product: str | None
    min_count: int
    min_support: float
    order: RuleOrder
    limit: int

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> _Asked:
        product = query.get("product") or None
        return cls(
            product=product,
            min_count=_whole(query, "min_count", MIN_COUNT),
            min_support=_fraction(query, "min_support", 0.0),
            order=parse_choice(  # type: ignore[arg-type]
                query, "sort", RULE_ORDERS, "confidence" if product else "lift"
            ),
            limit=parse_limit(query, default=10),
        )


class CrossSell:
    def __init__(
        self,
        tables: LiveTables,
        basket_days: int,
        product_name: Callable[[str], str | None],
    ) -> None:
        self.tables = tables
        self.basket_days = basket_days
        self.product_name = product_name
        self._pairs: OrderedDict[
            tuple[str, str, str], tuple[tuple[int, int | None], BasketCounts]
        ] = OrderedDict()

    def window(self, store_id: str, query: Mapping[str, str]) -> DateRange | None:
        """The days asked for, inside what the counts keep; None when the store has no
        basket yet. ``BadParameter`` for days the counts no longer (or never) keep."""
        newest_text = self.tables.newest_basket_day(store_id)
        if newest_text is None:
            return None
        newest = date.fromisoformat(newest_text)
        oldest = newest - timedelta(days=self.basket_days - 1)
        last = min(parse_date(query, "to", newest), newest)
        first = parse_date(query, "from", oldest)
        if first > last:
            raise BadParameter(f"'from' ({first}) is after 'to' ({last})")
        if first < oldest:
            raise BadParameter(
                f"bought-together counts are kept for the last {self.basket_days} days of the "
                f"store's sales ({oldest} to {newest}, DATAAPP_BASKET_DAYS); 'from' ({first}) "
                "is before them"
            )
        return DateRange(first, last)

    def answer(self, store_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """The store's answer: a product's rules, or its strongest pairs."""
        asked = _Asked.parse(query)
        span = self.window(store_id, query)
        head = {
            "from": span.first.isoformat() if span else None,
            "to": span.last.isoformat() if span else None,
        }
        counts = self._counts(store_id, span, asked.product, least=asked.min_count)
        return self._answer(head, asked, counts)

    def counts(self, store_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """The store's raw counts over its window, for the chain's answer (every partner and
        pair, whatever the thresholds: they apply to the chain's sums)."""
        product = query.get("product") or None
        span = self.window(store_id, query)
        counts = self._counts(store_id, span, product, least=1)
        head = {
            "from": span.first.isoformat() if span else None,
            "to": span.last.isoformat() if span else None,
        }
        if isinstance(counts, ProductCounts):
            # Every product's own baskets, not only the partners of this store: a partner of
            # the product in another store has baskets here too, which the chain's sums need.
            every = self._window_counts(store_id, span, counts.baskets).items if span else {}
            return {
                **head,
                "baskets": counts.baskets,
                "row": counts.row,
                "partner_baskets": every,
            }
        return {
            **head,
            "baskets": counts.baskets,
            "items": counts.items,
            "pairs": [[a, b, both] for (a, b), both in counts.pairs.items()],
        }

    def chain_answer(self, parts: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, Any]:
        """The chain's answer from every store's ``counts``: baskets are per store, so the
        chain's counts are the stores' sums, and its rules are measured on those."""
        asked = _Asked.parse(query)
        firsts = [part["from"] for part in parts if part["from"]]
        lasts = [part["to"] for part in parts if part["to"]]
        head = {"from": min(firsts, default=None), "to": max(lasts, default=None)}
        baskets = sum(part["baskets"] for part in parts)
        if asked.product is not None:
            row: dict[str, int] = {}
            partner_baskets: dict[str, int] = {}
            for part in parts:
                _add_into(row, part.get("row", {}))
                _add_into(partner_baskets, part.get("partner_baskets", {}))
            counts: ProductCounts | BasketCounts = ProductCounts(baskets, row, partner_baskets)
        else:
            total = BasketCounts(baskets)
            for part in parts:
                _add_into(total.items, part.get("items", {}))
                for a, b, both in part.get("pairs", []):
                    total.pairs[(a, b)] = total.pairs.get((a, b), 0) + both
            counts = total
        return {**self._answer(head, asked, counts), "stores": len(parts)}

    def _counts(
        self, store_id: str, span: DateRange | None, product: str | None, least: int
    ) -> ProductCounts | BasketCounts:
        """The window's counts: for a product, its row and the own baskets of its partners
        in at least ``least`` baskets with it; else every product's and pair's."""
        if span is None:
            return ProductCounts(0, {}, {}) if product is not None else BasketCounts()
        baskets = sum(
            self.tables.basket_counts(
                store_id, span.first.isoformat(), span.last.isoformat()
            ).values()
        )
        if product is None:
            return self._window_counts(store_id, span, baskets)
        days = [(span.first + timedelta(days=n)).isoformat() for n in range(span.days)]
        row = product_counts(self.tables.item_counts(store_id, product, days))
        partners = [p for p, both in row.items() if p != OWN_COUNT and both >= least]
        partner_baskets = {
            p: product_counts(self.tables.item_counts(store_id, p, days)).get(OWN_COUNT, 0)
            for p in partners
        }
        kept = {p: row[p] for p in (OWN_COUNT, *partners) if p in row}
        return ProductCounts(baskets, kept, partner_baskets)

    def _answer(
        self, head: dict[str, Any], asked: _Asked, counts: ProductCounts | BasketCounts
    ) -> dict[str, Any]:
        head = {
            **head,
            "window_days": self.basket_days,
            "min_count": asked.min_count,
            "min_support": asked.min_support,
            "sort": asked.order,
            "baskets": counts.baskets,
        }
        if isinstance(counts, ProductCounts):
            product = asked.product
            assert product is not None
            rules = rules_for_product(
                product,
                counts.row,
                counts.partner_baskets,
                counts.baskets,
                asked.min_count,
                asked.min_support,
            )
            return {
                **head,
                "product": product,
                "product_name": self.product_name(product),
                "product_baskets": counts.row.get(OWN_COUNT, 0),
                "rules": [self._rule_json(r) for r in ranked(rules, asked.order, asked.limit)],
            }
        pairs = strongest_pairs(counts, asked.min_count, asked.min_support)
        by_first = {pair[0]: pair for pair in pairs}
        top = ranked((first for first, _ in pairs), asked.order, asked.limit)
        return {**head, "pairs": [self._pair_json(by_first[first]) for first in top]}

    def _window_counts(self, store_id: str, span: DateRange, baskets: int) -> BasketCounts:
        key = (store_id, span.first.isoformat(), span.last.isoformat())
        version = self.tables.basket_version(store_id)
        cached = self._pairs.get(key)
        if cached is not None and cached[0] == version:
            self._pairs.move_to_end(key)
            return cached[1]
        counts = BasketCounts.from_days(baskets, self.tables.all_item_counts(store_id, *key[1:]))
        self._pairs[key] = (version, counts)
        while len(self._pairs) > MAX_WINDOWS_CACHED:
            self._pairs.popitem(last=False)
        return counts

    def _rule_json(self, rule: Rule) -> dict[str, Any]:
        return {
            "antecedent": rule.antecedent,
            "antecedent_name": self.product_name(rule.antecedent),
            "consequent": rule.consequent,
            "consequent_name": self.product_name(rule.consequent),
            "baskets": rule.baskets,
            "antecedent_baskets": rule.antecedent_baskets,
            "consequent_baskets": rule.consequent_baskets,
            "antecedent_support": rule.antecedent_support,
            "consequent_support": rule.consequent_support,
            "support": rule.support,
            "confidence": rule.confidence,
            "lift": rule.lift,
            "leverage": rule.leverage,
            # JSON has no infinity: null says "every basket with the antecedent had it".
            "conviction": None if math.isinf(rule.conviction) else rule.conviction,
        }

    def _pair_json(self, pair: tuple[Rule, Rule]) -> dict[str, Any]:
        forward, backward = pair
        return {
            "products": [forward.antecedent, forward.consequent],
            "names": [self.product_name(forward.antecedent), self.product_name(forward.consequent)],
            "baskets": forward.baskets,
            "support": forward.support,
            "lift": forward.lift,
            "leverage": forward.leverage,
            "rules": [self._rule_json(forward), self._rule_json(backward)],
        }


def _add_into(total: dict[str, int], part: Mapping[str, int]) -> None:
    for key, count in part.items():
        total[key] = total.get(key, 0) + count


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise BadParameter(f"'{name}' must be a whole number from 1, got {text!r}")
    return int(text)


def _fraction(query: Mapping[str, str], name: str, default: float) -> float:
    text = query.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise BadParameter(f"'{name}' must be a number from 0 to 1, got {text!r}")
    return value
