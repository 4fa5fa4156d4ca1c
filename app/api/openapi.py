"""The OpenAPI 3.1 document of the lookup API, made from the route table in ``routes.py``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.api.pay import SHARE_PLACES
from app.api.periods import GRANULARITIES, RANKINGS
from app.forecast.projection import MODEL_NAME
from app.insights.comparison import METRICS
from app.insights.cross_sell import RULE_ORDERS
from app.insights.trends import LISTS as TRENDING_DIRECTIONS
from app.insights.trends import MODEL_NAME as TREND_MODEL_NAME
from app.pay.plans import (
    BASES,
    MAX_CENTS,
    MAX_ID_LENGTH,
    MAX_REASON_LENGTH,
    MAX_TIERS,
    MAX_VERSION,
    PERIODS,
    TIER_MODES,
)

if TYPE_CHECKING:
    from app.api.routes import Route

_INT = {"type": "integer"}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_FIGURES = {
    "revenue_cents": _INT,
    "cost_cents": _INT,
    "margin_cents": _INT,
    "uncosted_revenue_cents": _INT,
    "units": _INT,
    "returned_units": _INT,
    "lines": _INT,
    "orders": _INT,
    "customers": _INT,
}
_REQUIRED_FIGURES = ["revenue_cents", "cost_cents", "margin_cents", "units", "orders"]
_FALLBACK = " (the id itself while the reference data lacks it)"
_STORE_NAME = {
    "type": "string",
    "description": "The store's name from the reference topic ref.stores" + _FALLBACK + ".",
}
_SELLER_NAME = {
    "type": "string",
    "description": "The seller's display name from the reference topic ref.sellers"
    + _FALLBACK
    + "; for a seller id of the path, only when the caller may see that seller in their "
    "store of the reference data, else the id.",
}
_DISPLAY_NAME = {
    "type": "string",
    "description": "The seller's display name from ref.sellers" + _FALLBACK + ".",
}

_QUERY: dict[str, dict[str, Any]] = {
    "from": {
        "description": "First local date of the range, included (default: 'to').",
        "schema": _DATE,
    },
    "to": {
        "description": "Last local date of the range, included (default: today).",
        "schema": _DATE,
    },
    "granularity": {
        "description": "Bucket size of the series.",
        "schema": {"type": "string", "enum": list(GRANULARITIES), "default": "day"},
    },
    "by": {
        "description": "What products are ranked by.",
        "schema": {"type": "string", "enum": list(RANKINGS), "default": "revenue"},
    },
    "limit": {
        "description": "How many products.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
    },
    "period": {
        "description": "The pay period (plans pay monthly).",
        "schema": {"type": "string", "enum": list(PERIODS), "default": "month"},
    },
    "product": {
        "description": "Bought together: the product (SKU) whose rules are wanted; without it, "
        "the store's strongest pairs.",
        "schema": {"type": "string"},
    },
    "min_count": {
        "description": "Bought together: the least number of baskets a pair must be in to be "
        "listed (everything is counted; this only filters the answer).",
        "schema": {"type": "integer", "minimum": 1, "default": 3},
    },
    "min_support": {
        "description": "Bought together: the least share of the window's baskets a pair must "
        "be in to be listed.",
        "schema": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
    },
    "sort": {
        "description": "Bought together: what rules or pairs are ranked by (default: "
        "confidence for a product's rules, lift for pairs).",
        "schema": {"type": "string", "enum": list(RULE_ORDERS)},
    },
    "direction": {
        "description": "Trending: 'up', the rising products to promote (a good margin "
        "first); 'down', the falling ones that sold well before.",
        "schema": {"type": "string", "enum": list(TRENDING_DIRECTIONS), "default": "up"},
    },
    "days": {
        "description": "Margin products: the days of the window, up to the store's day in "
        "progress (its latest sale).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 92, "default": 30},
    },
    "as_of": {
        "description": "Pay: the day pay is computed at (the store's local date, default today "
        "in the store's time zone, not after it): the month that contains it, with the sales up "
        "to and including it and the plan in force for that month. Projections: the answer as "
        "it stood at the end of that day, a closed day of the store (default: now).",
        "schema": _DATE,
    },
}

# -- plans and pay (docs/pay.md) -------------------------------------------------------------
_CENTS = {"type": "integer", "minimum": 0, "maximum": MAX_CENTS}
_RATE = {
    "type": "string",
    "pattern": r"^[0-9]{1,20}(\.[0-9]{1,20})?$",
    "description": 'A decimal from 0 to 1 in a string, at most 6 decimal places ("0.03" is '
    "3 %); a JSON number is refused.",
}
_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH}
_PLAN_PROPERTIES: dict[str, Any] = {
    "plan_id": {
        **_ID,
        "description": "One plan_id is one scope (the store's plan or one seller's override) "
        "for all its versions.",
    },
    "version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
    "effective_from": {**_DATE, "description": "The first day of a month."},
    "store_id": _ID,
    "seller_id": {
        "type": ["string", "null"],
        "description": "null: the store's plan; set: that seller's override.",
    },
    "period": {"type": "string", "enum": list(PERIODS)},
    "base_pay_cents": _CENTS,
    "basis": {"type": "string", "enum": list(BASES)},
    "tier_mode": {"type": "string", "enum": list(TIER_MODES)},
    "tiers": {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_TIERS,
        "items": {
            "type": "object",
            "required": ["threshold_cents", "rate"],
            "properties": {"threshold_cents": _CENTS, "rate": _RATE},
        },
    },
    "quota_bonus": {
        "type": ["object", "null"],
        "description": "Exactly one of amount_cents and rate_of_base.",
        "required": ["quota_cents"],
        "properties": {
            "quota_cents": {**_CENTS, "minimum": 1},
            "amount_cents": {**_CENTS, "type": ["integer", "null"]},
            "rate_of_base": {**_RATE, "type": ["string", "null"]},
        },
    },
    "commission_cap_cents": {
        **_CENTS,
        "type": ["integer", "null"],
        "description": "The most commission a period pays (the quota bonus is paid on top).",
    },
    "correction": {
        "type": ["object", "null"],
        "description": "Required (not null) on a save whose effective_from is before the "
        "first day of the store's current month (its latest sale's month; the wall clock's "
        "before its first sale): such a version changes pay already earned. The reason is "
        "kept with the version. null: no correction.",
        "required": ["reason"],
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_REASON_LENGTH,
                "description": "Why past months are corrected: not only spaces; line breaks "
                "allowed, no other control characters.",
            },
        },
    },
}
_SHARE = {
    "type": ["string", "null"],
    "pattern": rf"^-?[0-9]+\.[0-9]{{{SHARE_PLACES}}}$",
    "description": "Pay as a share of the figure, a decimal string rounded half-even to "
    f'{SHARE_PLACES} places ("0.067857" is 6.7857 %); exactly pay_cents / the figure\'s '
    "cents, both in the answer. null when the figure is 0 or less.",
}
_ENDS = {
    "type": "object",
    "description": "At the projected revenue's mid, and at the low and high bounds of its "
    "80 % interval (a whole pay at each: base + commission + bonus = total).",
    "required": ["mid", "low", "high"],
    "properties": {"mid": _INT, "low": _INT, "high": _INT},
}
_PROJECTED = {
    "oneOf": [
        {
            "type": "object",
            "description": "The pay at the month's end under this plan, from the seller's "
            "projection of the month (GET .../sellers/{seller_id}/projection, from the "
            "month's first to its last day, as of as_of when it is a closed day, else live): "
            "its period_end revenue, the margin at the margin rate to date.",
            "required": [
                "method",
                "band",
                "revenue_cents",
                "margin_cents",
                "commission_cents",
                "bonus_cents",
                "total_cents",
                "next_tier_reached",
                "quota_met",
            ],
            "properties": {
                "method": {
                    "type": "string",
                    "enum": ["forecast", "final", "no_history"],
                    "description": "forecast: the projection; final: the month is over (as_of "
                    "its last day, past), the actual pay; no_history: no sale of the seller in "
                    "the year before, no forecast: the actual to date, nothing more expected.",
                },
                "band": {"type": "string", "const": "80%"},
                "revenue_cents": _ENDS,
                "margin_cents": _ENDS,
                "commission_cents": _ENDS,
                "bonus_cents": _ENDS,
                "total_cents": _ENDS,
                "next_tier_reached": {
                    "type": "boolean",
                    "description": "At the mid, a tier above the one reached to date.",
                },
                "quota_met": {"type": "boolean", "description": "At the mid."},
            },
        },
        {
            "type": "null",
            "description": "No projection: this worker computes none, or the month is too "
            "far from the store's event clock to forecast.",
        },
    ]
}
_PROJECTED_TOTALS = {
    "oneOf": [
        {
            "type": "object",
            "description": "The team's projected pay at the month's end: the sums of the "
            "sellers' mids (their lows and highs are not summed: a sum of bounds is no "
            "interval of the team's), and the pay's shares of the projected revenue and margin.",
            "required": [
                "revenue_cents",
                "margin_cents",
                "commission_cents",
                "bonus_cents",
                "total_cents",
                "of_revenue",
                "of_margin",
            ],
            "properties": {
                "revenue_cents": _INT,
                "margin_cents": _INT,
                "commission_cents": _INT,
                "bonus_cents": _INT,
                "total_cents": _INT,
                "of_revenue": _SHARE,
                "of_margin": _SHARE,
            },
        },
        {"type": "null", "description": "A seller has no projection (projected null)."},
    ]
}
_PERIOD_HEAD = {
    "period": {"type": "string", "enum": list(PERIODS)},
    "from": {**_DATE, "description": "The first day of the month."},
    "to": {**_DATE, "description": "as_of: the last day whose sales count."},
    "as_of": _DATE,
}
_SCOPED_FIGURES = {
    "revenue_cents": {**_INT, "description": "Net of returns, over from..to."},
    "margin_cents": {**_INT, "description": "Net of returns, lines with a known cost."},
}
_PLAN_HEAD = {
    "store_id": {"type": "string"},
    "store_name": _STORE_NAME,
    "today": {**_DATE, "description": "Today in the store's time zone."},
    "versions": {
        "type": "array",
        "description": "Every version, in the order saved.",
        "items": {"$ref": "#/components/schemas/SavedPlan"},
    },
    "in_force": {
        "description": "The store's plan in force today; null before the first.",
        "oneOf": [{"$ref": "#/components/schemas/SavedPlan"}, {"type": "null"}],
    },
    "overrides_in_force": {
        "type": "array",
        "description": "Sellers' overrides in force today.",
        "items": {"$ref": "#/components/schemas/SavedPlan"},
    },
}
_PAY_FIGURES: dict[str, Any] = {
    "type": "object",
    "description": "Pay for the period to date under one plan version, in cents.",
    "required": [
        "plan_id",
        "plan_version",
        "plan_scope",
        "basis",
        "basis_cents",
        "tier_index",
        "base_cents",
        "commission_cents",
        "bonus_cents",
        "total_cents",
        "capped",
        "quota_met",
        "quota_missing_cents",
        "next_tier",
        "projected",
    ],
    "properties": {
        "plan_id": {"type": "string"},
        "plan_version": _INT,
        "plan_scope": {"type": "string", "enum": ["store", "seller"]},
        "basis": {"type": "string", "enum": list(BASES)},
        "basis_cents": {
            **_INT,
            "description": "The revenue or margin commission is paid on; negative when "
            "returns exceed sales.",
        },
        "tier_index": {**_INT, "description": "The highest tier reached, from 0."},
        "base_cents": _INT,
        "commission_cents": {**_INT, "description": "After the cap; half-even to the cent."},
        "bonus_cents": _INT,
        "total_cents": {**_INT, "description": "base + commission + bonus."},
        "capped": {"type": "boolean"},
        "quota_met": {"type": "boolean"},
        "quota_missing_cents": {
            "type": ["integer", "null"],
            "description": "Basis still needed for the quota bonus; null without a bonus "
            "or once met.",
        },
        "next_tier": {
            "type": ["object", "null"],
            "description": "null at the top tier or once capped.",
            "required": [
                "tier_index",
                "threshold_cents",
                "rate",
                "missing_cents",
                "adds_cents",
            ],
            "properties": {
                "tier_index": _INT,
                "threshold_cents": _INT,
                "rate": _RATE,
                "missing_cents": {**_INT, "description": "Basis still to reach it."},
                "adds_cents": {**_INT, "description": "Total pay it adds when reached."},
            },
        },
        "projected": _PROJECTED,
    },
}
# -- projections (app/api/projections.py) ------------------------------------------------------
_BOUND_NAMES = ("mid", "low80", "high80", "low95", "high95")
_BOUNDS = {
    "type": "object",
    "description": "The projection (mid) and the bounds of its 80 % and 95 % prediction "
    "intervals: low95 <= low80 <= mid <= high80 <= high95. All equal when nothing is left to "
    "forecast.",
    "required": list(_BOUND_NAMES),
    "properties": dict.fromkeys(_BOUND_NAMES, _INT),
}
_NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_CROSS_SELL_RULE = {
    "type": "object",
    "description": "Baskets with the antecedent also hold the consequent, measured as "
    "mlxtend's association_rules measures it on the same baskets (one row per basket).",
    "required": [
        "antecedent",
        "antecedent_name",
        "consequent",
        "consequent_name",
        "baskets",
        "antecedent_baskets",
        "consequent_baskets",
        "antecedent_support",
        "consequent_support",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
    ],
    "properties": {
        "antecedent": {"type": "string"},
        "antecedent_name": {"type": ["string", "null"]},
        "consequent": {"type": "string"},
        "consequent_name": {"type": ["string", "null"]},
        "baskets": {**_INT, "description": "Baskets holding both."},
        "antecedent_baskets": _INT,
        "consequent_baskets": _INT,
        "antecedent_support": _FRACTION,
        "consequent_support": _FRACTION,
        "support": {**_FRACTION, "description": "Share of the baskets holding both."},
        "confidence": {
            **_FRACTION,
            "description": "Share of the antecedent's baskets that hold the consequent.",
        },
        "lift": {
            "type": "number",
            "description": "How many times likelier the consequent is with the antecedent "
            "(1: no link).",
        },
        "leverage": {"type": "number", "description": "support - support(A) * support(C)."},
        "conviction": {
            "type": ["number", "null"],
            "description": "(1 - support(C)) / (1 - confidence); null when infinite "
            "(confidence 1).",
        },
    },
}
_CROSS_SELL = {
    "type": "object",
    "description": "Bought together over a window of the store's days (its event clock): a "
    "basket is one order; products in it or not, quantities ignored, returned ones out. With "
    "'product': that product's rules; without: the strongest pairs, each with both rules.",
    "required": [
        "store_id",
        "store_name",
        "from",
        "to",
        "window_days",
        "min_count",
        "min_support",
        "sort",
        "baskets",
    ],
    "properties": {
        "store_id": {"type": "string"},
        "store_name": _STORE_NAME,
        "from": {**_NULLABLE_DATE, "description": "null before the store's first basket."},
        "to": _NULLABLE_DATE,
        "window_days": {
            **_INT,
            "description": "Days of counts kept, up to the store's newest basket day "
            "(DATAAPP_BASKET_DAYS); 'from' may not be earlier.",
        },
        "min_count": _INT,
        "min_support": _FRACTION,
        "sort": {"type": "string", "enum": list(RULE_ORDERS)},
        "baskets": {**_INT, "description": "Baskets in the window."},
        "product": {"type": "string"},
        "product_name": {"type": ["string", "null"]},
        "product_baskets": _INT,
        "rules": {"type": "array", "items": {"$ref": "#/components/schemas/CrossSellRule"}},
        "pairs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "products",
                    "names",
                    "baskets",
                    "support",
                    "lift",
                    "leverage",
                    "rules",
                ],
                "properties": {
                    "products": {"type": "array", "items": {"type": "string"}},
                    "names": {"type": "array", "items": {"type": ["string", "null"]}},
                    "baskets": _INT,
                    "support": _FRACTION,
                    "lift": {"type": "number"},
                    "leverage": {"type": "number"},
                    "rules": {
                        "type": "array",
                        "description": "A -> B, then B -> A.",
                        "items": {"$ref": "#/components/schemas/CrossSellRule"},
                    },
                },
            },
        },
    },
}
_PRODUCT_SALES = {
    "type": "object",
    "description": "A product's sales in the store over the window, and the seller's own.",
    "required": [
        "sku",
        "product_name",
        "store_revenue_cents",
        "store_units",
        "seller_revenue_cents",
        "seller_units",
    ],
    "properties": {
        "sku": {"type": "string"},
        "product_name": {"type": ["string", "null"]},
        "store_revenue_cents": _INT,
        "store_units": _INT,
        "seller_revenue_cents": _INT,
        "seller_units": _INT,
    },
}
_PRODUCT_MARGIN = {
    "type": "object",
    "description": "A product with its margin over the lines with a known cost.",
    "required": [
        *_PRODUCT_SALES["required"],
        "margin_cents",
        "margin_rate",
        "unit_margin_cents",
        "seller_share",
    ],
    "properties": {
        **_PRODUCT_SALES["properties"],
        "margin_cents": _INT,
        "margin_rate": {"type": "number", "description": "margin / revenue of costed lines."},
        "unit_margin_cents": {**_INT, "description": "margin / costed units, half-even."},
        "seller_share": {**_FRACTION, "description": "The seller's units / the store's."},
    },
}
_MARGIN_PRODUCTS = {
    "type": "object",
    "description": "The store's highest-margin products for a seller, with the seller's share "
    "of each; opportunities: products the store sells well, with a margin rate and units at "
    "least the median, where the seller's share is under half their share of all the store's "
    "units. Products without any known cost are listed apart.",
    "required": [
        "store_id",
        "store_name",
        "seller_id",
        "seller_name",
        "from",
        "to",
        "seller_share_of_store",
        "by_unit_margin",
        "by_margin_rate",
        "opportunities",
        "without_cost",
    ],
    "properties": {
        "store_id": {"type": "string"},
        "store_name": _STORE_NAME,
        "seller_id": {"type": "string"},
        "seller_name": _SELLER_NAME,
        "from": _DATE,
        "to": _DATE,
        "seller_share_of_store": _FRACTION,
        "by_unit_margin": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/ProductMargin"},
        },
        "by_margin_rate": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/ProductMargin"},
        },
        "opportunities": {"type": "array", "items": {"$ref": "#/components/schemas/ProductMargin"}},
        "without_cost": {"type": "array", "items": {"$ref": "#/components/schemas/ProductSales"}},
    },
}
# -- trending (app/api/trending.py, app/insights/trends.py) ------------------------------------
_GROWTH_TEXT = {
    "type": ["string", "null"],
    "description": 'A decimal string, half-even to six places ("0.250000" is +25 %); null '
    "without a base (nothing sold before, or no model yet).",
}
_PAIR = {
    "type": "object",
    "required": ["units", "revenue"],
    "properties": {"units": _GROWTH_TEXT, "revenue": _GROWTH_TEXT},
}
_TREND_WINDOW = {
    "type": "object",
    "description": "The product's totals over the period of the same name ('periods').",
    "required": ["units", "revenue_cents", "costed_revenue_cents", "margin_cents"],
    "properties": {
        "units": _INT,
        "revenue_cents": _INT,
        "costed_revenue_cents": {**_INT, "description": "Revenue of the lines with a cost."},
        "margin_cents": {**_INT, "description": "costed_revenue_cents - their cost."},
    },
}
_SPAN = {
    "type": "object",
    "required": ["from", "to"],
    "properties": {"from": _DATE, "to": _DATE},
}
_TREND_PERIODS = ("last_7", "previous_7", "last_28", "previous_28")
_TRENDING_PRODUCT = {
    "type": "object",
    "description": "One product of the list and its evidence (product figures only).",
    "required": [
        "position",
        "sku",
        "product_name",
        "direction",
        "daily_growth",
        *_TREND_PERIODS,
        "growth_7d",
        "growth_28d",
        "margin_rate",
        "rank_28",
        "rank_previous_28",
    ],
    "properties": {
        "position": {**_INT, "description": "Place in the list, from 1."},
        "sku": {"type": "string"},
        "product_name": {"type": ["string", "null"]},
        "direction": {"type": "string", "enum": ["rising", "falling"]},
        "daily_growth": {
            **_PAIR,
            "description": "The model's daily growth rate of units and of revenue (Holt's "
            'trend / level on 7-day sums): "0.020000" is about +2 %/day.',
        },
        **dict.fromkeys(_TREND_PERIODS, _TREND_WINDOW),
        "growth_7d": {**_PAIR, "description": "last_7 / previous_7 - 1."},
        "growth_28d": {**_PAIR, "description": "last_28 / previous_28 - 1."},
        "margin_rate": {
            **_GROWTH_TEXT,
            "description": "margin / costed revenue over last_28; null when no line had a "
            "cost (unknown, never 100 %).",
        },
        "rank_28": {
            "type": ["integer", "null"],
            "description": "Rank in the store by revenue over last_28 (1 = best, ties share); "
            "null without positive revenue.",
        },
        "rank_previous_28": {"type": ["integer", "null"]},
        "score": {
            "type": "string",
            "description": "Rising: daily growth of units x margin rate (0 for an unknown "
            "margin), what the list is sorted by.",
        },
        "revenue_lost_cents": {
            **_INT,
            "description": "Falling: previous_28 revenue - last_28 revenue, the list's order.",
        },
    },
}
_TRENDING = {
    "type": "object",
    "description": "The store's products trending as of its last closed day (event clock): "
    "rising ones to promote, a good margin first, or falling ones that sold well before.",
    "required": [
        "store_id",
        "store_name",
        "direction",
        "limit",
        "model",
        "thresholds",
        "last_closed_day",
        "periods",
        "count",
        "products",
    ],
    "properties": {
        "store_id": {"type": "string"},
        "store_name": _STORE_NAME,
        "direction": {"type": "string", "enum": list(TRENDING_DIRECTIONS)},
        "limit": _INT,
        "model": {"type": "string", "enum": [TREND_MODEL_NAME]},
        "thresholds": {
            "type": "object",
            "required": [
                "rising_daily_growth",
                "falling_daily_growth",
                "min_units",
                "min_z",
                "falling_top_share",
            ],
            "properties": {
                "rising_daily_growth": {"type": "string"},
                "falling_daily_growth": {"type": "string"},
                "min_units": _INT,
                "min_z": {"type": "string"},
                "falling_top_share": {"type": "string"},
            },
        },
        "last_closed_day": {**_NULLABLE_DATE, "description": "null before the first sale."},
        "periods": {
            "type": ["object", "null"],
            "required": list(_TREND_PERIODS),
            "properties": dict.fromkeys(_TREND_PERIODS, _SPAN),
        },
        "ranked_products": {
            "type": "object",
            "required": ["last_28", "previous_28"],
            "properties": {"last_28": _INT, "previous_28": _INT},
        },
        "count": {**_INT, "description": "Products in the list before 'limit'."},
        "products": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/TrendingProduct"},
        },
    },
}
_PROJECTION = {
    "type": "object",
    "description": "A store's or a seller's sales over from..to on the store's event clock: a "
    "day is closed once a sale stamped after its midnight (store's zone) has arrived. Money "
    "in integer cents, units net of returns.",
    "required": [
        "store_id",
        "store_name",
        "from",
        "to",
        "as_of",
        "last_closed_day",
        "actual_to_date",
        "today",
        "period_end",
        "days_learned",
        "model",
    ],
    "properties": {
        "store_id": {"type": "string"},
        "store_name": _STORE_NAME,
        "seller_id": {"type": "string"},
        "seller_name": _SELLER_NAME,
        "from": _DATE,
        "to": _DATE,
        "as_of": {**_NULLABLE_DATE, "description": "The as_of asked, or null (now)."},
        "last_closed_day": {
            **_NULLABLE_DATE,
            "description": "The day the forecast starts after: the store's last closed day, or "
            "as_of; null before the store's first sale.",
        },
        "actual_to_date": {
            "type": "object",
            "description": "Sold from 'from' to the end of the range, the day in progress "
            "included (with as_of: up to as_of).",
            "required": ["revenue_cents", "units"],
            "properties": {"revenue_cents": _INT, "units": _INT},
        },
        "today": {
            "oneOf": [
                {
                    "type": "object",
                    "description": "The day in progress (the day after last_closed_day): sold "
                    "so far plus the rest of the day from the hour-of-day profile and the "
                    "day's forecast. Only when the range contains it and as_of is not given.",
                    "required": ["day", "sold_so_far_cents", "projected", "share_of_day_done"],
                    "properties": {
                        "day": _DATE,
                        "sold_so_far_cents": _INT,
                        "projected": _BOUNDS,
                        "share_of_day_done": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                },
                {"type": "null"},
            ]
        },
        "period_end": {
            "oneOf": [
                {
                    "type": "object",
                    "description": "The range's total: actual to date plus the forecast of its "
                    "remaining days (a range in the past: the actual; ahead: the forecast).",
                    "required": ["revenue", "units"],
                    "properties": {"revenue": _BOUNDS, "units": _BOUNDS},
                },
                {
                    "type": "null",
                    "description": "Nothing learned yet: no sale of the series in the year up to "
                    "last_closed_day.",
                },
            ]
        },
        "days_learned": {**_INT, "description": "Closed days the forecaster learned."},
        "model": {"type": "string", "enum": [MODEL_NAME]},
    },
}
_PAY_OR_NULL = {"oneOf": [{"$ref": "#/components/schemas/PayFigures"}, {"type": "null"}]}
_COST_OR_NULL = {"oneOf": [{"$ref": "#/components/schemas/PayCost"}, {"type": "null"}]}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "field": {
                "type": "string",
                "description": "A refused plan (error invalid_plan): the path of the field at "
                "fault, such as tiers[1].rate.",
            },
            "reason": {
                "type": "string",
                "description": "A refused plan: what is wrong with that field.",
            },
        },
    },
    "Figures": {
        "type": "object",
        "description": "Money in integer cents; units net of returns.",
        "required": _REQUIRED_FIGURES,
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "stores": {
                "type": "array",
                "items": {"type": "string"},
                "description": "A seller's summary: the stores it adds up.",
            },
            "from": _DATE,
            "to": _DATE,
            **_FIGURES,
        },
    },
    "Series": {
        "type": "object",
        "required": ["granularity", "points"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": ["string", "null"]},
            "seller_name": _SELLER_NAME,
            "granularity": {"type": "string", "enum": list(GRANULARITIES)},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["bucket", *_REQUIRED_FIGURES],
                    "properties": {"bucket": {"type": "string"}, **_FIGURES},
                },
            },
        },
    },
    "Ranking": {
        "type": "object",
        "required": ["store_id", "store_name", "products"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "products": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rank", "sku", *_REQUIRED_FIGURES],
                    "properties": {
                        "rank": _INT,
                        "sku": {"type": "string"},
                        "product_name": {
                            "type": ["string", "null"],
                            "description": "The name in ref.products, else the latest a sale "
                            "line spelt, else null.",
                        },
                        **_FIGURES,
                    },
                },
            },
        },
    },
    "Team": {
        "type": "object",
        "required": ["store_id", "store_name", "sellers"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "sellers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["seller_id", "display_name", *_REQUIRED_FIGURES],
                    "properties": {
                        "seller_id": {"type": "string"},
                        "display_name": _DISPLAY_NAME,
                        **_FIGURES,
                    },
                },
            },
        },
    },
    "RecentSales": {
        "type": "object",
        "required": ["store_id", "store_name", "sales"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "sales": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "event_time",
                        "order_id",
                        "seller_id",
                        "seller_name",
                        "items",
                        "amount_cents",
                    ],
                    "properties": {
                        "event_time": {"type": "string", "format": "date-time"},
                        "order_id": {"type": "string"},
                        "seller_id": {"type": "string"},
                        "seller_name": _DISPLAY_NAME,
                        "items": _INT,
                        "amount_cents": _INT,
                    },
                },
            },
        },
    },
    "Comparison": {
        "type": "object",
        "description": "Rank 1 is the best; percentile is the share of the other stores this "
        "one is strictly above. No other store is named.",
        "required": ["store_id", "store_name", "stores", "weakest", "strongest", "metrics"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "from": _DATE,
            "to": _DATE,
            "stores": _INT,
            "weakest": {"type": ["string", "null"], "enum": [*METRICS, None]},
            "strongest": {"type": ["string", "null"], "enum": [*METRICS, None]},
            "metrics": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metric", "value", "rank", "count", "percentile"],
                    "properties": {
                        "metric": {"type": "string", "enum": list(METRICS)},
                        "value": {"type": "number"},
                        "rank": _INT,
                        "count": _INT,
                        "percentile": {"type": "number", "minimum": 0, "maximum": 1},
                        "chain_median": {
                            "type": ["number", "null"],
                            "description": "None below five stores: it would be a real "
                            "store's figure.",
                        },
                    },
                },
            },
        },
    },
    "TeamRank": {
        "type": "object",
        "description": "Rank 1 is the best by revenue; 0 when the seller has no sales in the "
        "range.",
        "required": ["store_id", "store_name", "seller_id", "seller_name", "rank", "sellers"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            "from": _DATE,
            "to": _DATE,
            "rank": _INT,
            "sellers": _INT,
        },
    },
    "Stores": {
        "type": "object",
        "required": ["stores", "names"],
        "properties": {
            "stores": {"type": "array", "items": {"type": "string"}},
            "names": {
                "type": "object",
                "description": "Store id -> name, for every store listed: the name in "
                "ref.stores" + _FALLBACK + ".",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "Me": {
        "type": "object",
        "required": ["username", "role", "display_name", "store_name"],
        "properties": {
            "username": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "manager", "seller"]},
            "store_id": {"type": ["string", "null"]},
            "seller_id": {"type": ["string", "null"]},
            "display_name": {
                "type": "string",
                "description": "The user's own display name, else a seller's name in "
                "ref.sellers, else the username.",
            },
            "store_name": {
                "type": ["string", "null"],
                "description": "The name of the user's store in ref.stores"
                + _FALLBACK
                + "; null for a user without a store (an admin).",
            },
            "store_time_zone": {
                "type": ["string", "null"],
                "description": "The IANA time zone of the user's store in ref.stores (its "
                "days and hours); null without a store or before the store is known.",
            },
        },
    },
    "Plan": {
        "type": "object",
        "description": "One plan version (docs/pay.md). store_id may be left out (the path's "
        "store); version too: the server numbers it. Unknown fields are refused.",
        "required": [
            "plan_id",
            "effective_from",
            "base_pay_cents",
            "basis",
            "tier_mode",
            "tiers",
        ],
        "properties": {
            **_PLAN_PROPERTIES,
            "version": {**_PLAN_PROPERTIES["version"], "type": ["integer", "null"]},
            "store_id": {**_ID, "type": ["string", "null"]},
        },
    },
    "SavedPlan": {
        "type": "object",
        "description": "A plan version as saved: every field, absent optional ones as null.",
        "required": list(_PLAN_PROPERTIES),
        "properties": _PLAN_PROPERTIES,
    },
    "PlanHistory": {
        "type": "object",
        "required": list(_PLAN_HEAD),
        "properties": _PLAN_HEAD,
    },
    "PlanSaved": {
        "type": "object",
        "required": [*_PLAN_HEAD, "saved", "created"],
        "properties": {
            **_PLAN_HEAD,
            "saved": {"$ref": "#/components/schemas/SavedPlan"},
            "created": {
                "type": "boolean",
                "description": "false: the request repeated a saved version; nothing written.",
            },
        },
    },
    "PayFigures": _PAY_FIGURES,
    "Projection": _PROJECTION,
    "CrossSellRule": _CROSS_SELL_RULE,
    "CrossSell": _CROSS_SELL,
    "ChainCrossSell": {
        **_CROSS_SELL,
        "description": "Bought together over the whole chain: every store's counts over its "
        "own window, added up ('from'/'to': the earliest and latest day of them).",
        "required": [
            *(name for name in _CROSS_SELL["required"] if name not in ("store_id", "store_name")),
            "stores",
        ],
        "properties": {
            **{
                name: schema
                for name, schema in _CROSS_SELL["properties"].items()
                if name not in ("store_id", "store_name")
            },
            "stores": {**_INT, "description": "Stores added up."},
        },
    },
    "CrossSellCounts": {
        "type": "object",
        "description": "A store's raw counts over its window: with 'product', its row (key '' "
        "= its own baskets, else the baskets shared with each partner) and each partner's own "
        "baskets; without, every product's baskets and every pair's [a, b, baskets].",
        "required": ["store_id", "store_name", "from", "to", "baskets"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "from": _NULLABLE_DATE,
            "to": _NULLABLE_DATE,
            "baskets": _INT,
            "row": {"type": "object", "additionalProperties": _INT},
            "partner_baskets": {"type": "object", "additionalProperties": _INT},
            "items": {"type": "object", "additionalProperties": _INT},
            "pairs": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "string"}, _INT],
                },
            },
        },
    },
    "TrendingProduct": _TRENDING_PRODUCT,
    "Trending": _TRENDING,
    "ProductSales": _PRODUCT_SALES,
    "ProductMargin": _PRODUCT_MARGIN,
    "MarginProducts": _MARGIN_PRODUCTS,
    "PayCost": {
        "type": "object",
        "required": ["pay_cents", "of_revenue", "of_margin"],
        "properties": {"pay_cents": _INT, "of_revenue": _SHARE, "of_margin": _SHARE},
    },
    "Pay": {
        "type": "object",
        "description": "A seller's pay for the period to date, with the figures it is computed "
        "from.",
        "required": [
            "store_id",
            "store_name",
            "seller_id",
            "seller_name",
            *_PERIOD_HEAD,
            *_SCOPED_FIGURES,
            *_PAY_FIGURES["required"],
        ],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            "seller_id": {"type": "string"},
            "seller_name": _SELLER_NAME,
            **_PERIOD_HEAD,
            **_SCOPED_FIGURES,
            **_PAY_FIGURES["properties"],
        },
    },
    "TeamPay": {
        "type": "object",
        "required": ["store_id", "store_name", *_PERIOD_HEAD, "sellers", "totals"],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            **_PERIOD_HEAD,
            "sellers": {
                "type": "array",
                "description": "Every seller with sales in the period and the store's sellers "
                "in ref.sellers, by seller id.",
                "items": {
                    "type": "object",
                    "required": [
                        "seller_id",
                        "display_name",
                        *_SCOPED_FIGURES,
                        *_PAY_FIGURES["required"],
                    ],
                    "properties": {
                        "seller_id": {"type": "string"},
                        "display_name": _DISPLAY_NAME,
                        **_SCOPED_FIGURES,
                        **_PAY_FIGURES["properties"],
                    },
                },
            },
            "totals": {
                "type": "object",
                "required": [
                    "sellers",
                    "revenue_cents",
                    "margin_cents",
                    "base_cents",
                    "commission_cents",
                    "bonus_cents",
                    "total_cents",
                    "of_revenue",
                    "of_margin",
                    "projected",
                ],
                "properties": {
                    "sellers": _INT,
                    **_SCOPED_FIGURES,
                    "base_cents": _INT,
                    "commission_cents": _INT,
                    "bonus_cents": _INT,
                    "total_cents": _INT,
                    "of_revenue": _SHARE,
                    "of_margin": _SHARE,
                    "projected": _PROJECTED_TOTALS,
                },
            },
        },
    },
    "Simulation": {
        "type": "object",
        "description": "Pay for the period to date under the plans in force (current) and as "
        "they would be with the draft saved and in force this period (draft). Nothing is saved.",
        "required": [
            "store_id",
            "store_name",
            *_PERIOD_HEAD,
            "draft",
            "sellers",
            "totals",
            "projected",
        ],
        "properties": {
            "store_id": {"type": "string"},
            "store_name": _STORE_NAME,
            **_PERIOD_HEAD,
            "draft": {"$ref": "#/components/schemas/SavedPlan"},
            "sellers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "seller_id",
                        "display_name",
                        *_SCOPED_FIGURES,
                        "current",
                        "draft",
                        "change_cents",
                    ],
                    "properties": {
                        "seller_id": {"type": "string"},
                        "display_name": _DISPLAY_NAME,
                        **_SCOPED_FIGURES,
                        "current": {**_PAY_OR_NULL, "description": "null without a plan."},
                        "draft": _PAY_OR_NULL,
                        "change_cents": {"type": ["integer", "null"]},
                    },
                },
            },
            "totals": {
                "type": "object",
                "required": [
                    "sellers",
                    *_SCOPED_FIGURES,
                    "current",
                    "draft",
                    "change_cents",
                ],
                "properties": {
                    "sellers": _INT,
                    **_SCOPED_FIGURES,
                    "current": {
                        **_COST_OR_NULL,
                        "description": "null when a seller has no plan in force.",
                    },
                    "draft": _COST_OR_NULL,
                    "change_cents": {"type": ["integer", "null"]},
                },
            },
            "projected": {
                "oneOf": [
                    {
                        "type": "object",
                        "description": "The team's projected pay at the month's end under "
                        "each side (the sums of the sellers' projected mids), its shares of the "
                        "projected revenue and margin (the sums of their mids), beside totals "
                        "(the period to date).",
                        "required": [
                            *_SCOPED_FIGURES,
                            "current",
                            "draft",
                            "change_cents",
                        ],
                        "properties": {
                            "revenue_cents": _INT,
                            "margin_cents": _INT,
                            "current": {
                                **_COST_OR_NULL,
                                "description": "null when a seller has no plan in force.",
                            },
                            "draft": _COST_OR_NULL,
                            "change_cents": {"type": ["integer", "null"]},
                        },
                    },
                    {"type": "null", "description": "A seller has no projection."},
                ]
            },
        },
    },
    "Credentials": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "const": "bearer"},
            "expires_in": _INT,
        },
    },
    "SaleLines": {
        "description": "Sale lines in the canonical layout (docs/schema.md), money in units.",
        "oneOf": [
            {"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": 10000},
            {"type": "object", "required": ["rows"], "properties": {"rows": {"type": "array"}}},
        ],
    },
    "IngestSummary": {"type": "object", "required": ["accepted", "rejected"]},
    "Status": {"type": "object", "required": ["status"]},
    "OpenAPI": {"type": "object"},
    "Metrics": {"type": "string"},
}

_ERRORS = {
    "400": "Bad parameters, or a plan refused (invalid_plan, with the field at fault)",
    "401": "No token, a token refused, or a wrong username or password",
    "403": "Outside the caller's scope",
    "404": "No commission plan in force for the period (no_plan)",
    "409": "The version number was taken by another save (version_conflict)",
    "413": "More sale lines than one request may carry, or a plan history too large",
    "503": "Not ready, or the owning worker (or the plans topic) cannot answer",
}
# Errors a route answers because of its request body, whether or not it needs a token.
_BODY_ERRORS = {"Credentials": {"401"}, "SaleLines": {"413"}}
# Errors only the routes that name them answer (Route.errors, or their body's).
_OWN_ERRORS = {"404", "409", "413"}


def document(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "summary": route.summary,
            "operationId": _operation_id(route),
            "tags": [route.tag],
            "parameters": [
                *(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                    for name in re.findall(r"{(\w+)}", route.path)
                ),
                *(
                    {"name": name, "in": "query", "required": False, **_QUERY[name]}
                    for name in route.query
                ),
            ],
            "responses": {"200": _response(route)},
        }
        if route.auth:
            operation["security"] = [{"bearer": []}]
        if route.body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{route.body}"}}
                },
            }
        own = _BODY_ERRORS.get(route.body or "", set()) | set(route.errors)
        for status, text in _ERRORS.items():
            if status in {"401", "403"} and not route.auth and status not in own:
                continue
            if status in _OWN_ERRORS and status not in own:
                continue
            operation["responses"][status] = {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DataApp lookup API",
            "version": "1",
            "description": "Live and historical sales figures of a retail chain. Money is in "
            "integer cents; dates are the store's local dates; ranges are closed.",
        },
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _response(route: Route) -> dict[str, Any]:
    if route.raw:
        return {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "description": "OK",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{route.response}"}}
        },
    }


def _operation_id(route: Route) -> str:
    path = re.sub(r"[{}]", "", route.path).strip("/")
    words = re.sub(r"[/.-]", "_", path)
    return f"{route.method.lower()}_{words}"
