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
from datetime import date, timedelta
from typing import Any

from app.api.periods import BadParameter, DateRange, parse_choice, parse_date, parse_limit
from app.insights.cross_sell import (
    RULE_ORDERS,
    BasketCounts,
    Rule,
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
        product = query.get("product") or None
        min_count = _whole(query, "min_count", MIN_COUNT)
        min_support = _fraction(query, "min_support", 0.0)
        limit = parse_limit(query, default=10)
        order = parse_choice(query, "sort", RULE_ORDERS, "confidence" if product else "lift")
        span = self.window(store_id, query)
        head: dict[str, Any] = {
            "from": span.first.isoformat() if span else None,
            "to": span.last.isoformat() if span else None,
            "window_days": self.basket_days,
            "min_count": min_count,
            "min_support": min_support,
            "sort": order,
        }
        if product is not None:
            head |= {"product": product, "product_name": self.product_name(product)}
        if span is None:
            return {
                **head,
                "baskets": 0,
                **({"product_baskets": 0, "rules": []} if product else {"pairs": []}),
            }
        baskets = sum(
            self.tables.basket_counts(
                store_id, span.first.isoformat(), span.last.isoformat()
            ).values()
        )
        if product is not None:
            days = [(span.first + timedelta(days=n)).isoformat() for n in range(span.days)]
            counts = product_counts(self.tables.item_counts(store_id, product, days))
            partners = [p for p, both in counts.items() if p != OWN_COUNT and both >= min_count]
            partner_baskets = {
                p: product_counts(self.tables.item_counts(store_id, p, days)).get(OWN_COUNT, 0)
                for p in partners
            }
            rules = rules_for_product(
                product,
                {p: counts[p] for p in (OWN_COUNT, *partners) if p in counts},
                partner_baskets,
                baskets,
                min_count,
                min_support,
            )
            return {
                **head,
                "baskets": baskets,
                "product_baskets": counts.get(OWN_COUNT, 0),
                "rules": [self._rule_json(r) for r in ranked(rules, order, limit)],  # type: ignore[arg-type]
            }
        counts_of_window = self._window_counts(store_id, span, baskets)
        pairs = strongest_pairs(counts_of_window, min_count, min_support)
        by_first = {pair[0]: pair for pair in pairs}
        top = ranked((first for first, _ in pairs), order, limit)  # type: ignore[arg-type]
        return {
            **head,
            "baskets": baskets,
            "pairs": [self._pair_json(by_first[first]) for first in top],
        }

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
