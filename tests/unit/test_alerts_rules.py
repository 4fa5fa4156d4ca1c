"""Alert rules (``app.alerts.rules``): the JSON form of every kind, defaults, refusals that name
the field."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from app.alerts.rules import (
    KINDS,
    MALL_HOURS,
    RULE_TYPES,
    DailyMarginRule,
    LargeReturnRule,
    PriceAnomalyRule,
    RuleError,
    SellerIdleRule,
    StoreRevenueByHourRule,
    StoreSilentRule,
    UnderperformingProductRule,
    parse_rule,
    rule_to_json,
    rules_of_store,
)

EXAMPLES: dict[str, dict[str, Any]] = {
    "product_underperforming": {
        "rule_id": "r1",
        "store_id": "S01",
        "kind": "product_underperforming",
        "window_hours": 72,
        "significance": "0.005",
        "fdr_level": "0.1",
    },
    "store_revenue_by_hour": {
        "rule_id": "r2",
        "store_id": "S01",
        "kind": "store_revenue_by_hour",
        "by_hour": 14,
        "min_rate": "0.7",
    },
    "seller_idle": {
        "rule_id": "r3",
        "store_id": "S01",
        "kind": "seller_idle",
        "idle_minutes": 45,
        "opening_hours": {
            "mon": ["09:00", "18:00"],
            "tue": ["09:00", "18:00"],
            "wed": ["09:00", "18:00"],
            "thu": ["09:00", "18:00"],
            "fri": ["09:00", "18:00"],
            "sat": ["09:00", "13:00"],
            "sun": None,
        },
    },
    "daily_margin": {
        "rule_id": "r4",
        "store_id": "S01",
        "kind": "daily_margin",
        "min_margin_rate": "0.25",
    },
    "large_return": {
        "rule_id": "r5",
        "store_id": "S01",
        "kind": "large_return",
        "threshold_cents": 100_000,
        "enabled": False,
    },
    "price_anomaly": {
        "rule_id": "r6",
        "store_id": "S01",
        "kind": "price_anomaly",
        "max_factor": "3",
    },
    "store_silent": {
        "rule_id": "r7",
        "store_id": "S01",
        "kind": "store_silent",
        "cooldown_minutes": 30,
    },
}


def test_every_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(KINDS) == set(RULE_TYPES)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind: str) -> None:
    rule = parse_rule(EXAMPLES[kind])
    assert rule.kind == kind
    data = rule_to_json(rule)
    assert parse_rule(json.loads(json.dumps(data))) == rule
    # Every field is written, rates as strings.
    assert all(not isinstance(v, float) for v in data.values())


def test_defaults_of_the_main_rule() -> None:
    rule = parse_rule({"rule_id": "r", "store_id": "S", "kind": "product_underperforming"})
    assert rule == UnderperformingProductRule("r", "S")
    assert rule_to_json(rule) == {
        "kind": "product_underperforming",
        "rule_id": "r",
        "store_id": "S",
        "enabled": True,
        "cooldown_minutes": 720,
        "window_hours": 168,
        "baseline_weeks_min": 4,
        "baseline_weeks_max": 8,
        "significance": "0.01",
        "fdr_level": "0.05",
        "min_expected_units": 5,
        "max_ratio": "0.75",
    }


def test_parsed_values() -> None:
    idle = parse_rule(EXAMPLES["seller_idle"])
    assert isinstance(idle, SellerIdleRule)
    assert idle.opening_hours[0] == (540, 1080)
    assert idle.opening_hours[6] is None
    silent = parse_rule(EXAMPLES["store_silent"])
    assert isinstance(silent, StoreSilentRule)
    assert silent.opening_hours == MALL_HOURS
    by_hour = parse_rule(EXAMPLES["store_revenue_by_hour"])
    assert by_hour == StoreRevenueByHourRule("r2", "S01", 14, Decimal("0.7"))
    assert parse_rule(EXAMPLES["daily_margin"]) == DailyMarginRule("r4", "S01", Decimal("0.25"))
    assert parse_rule(EXAMPLES["large_return"]) == LargeReturnRule(
        "r5", "S01", 100_000, enabled=False
    )
    assert parse_rule(EXAMPLES["price_anomaly"]) == PriceAnomalyRule("r6", "S01", Decimal("3"))


def test_rules_of_store() -> None:
    rules = [parse_rule(e) for e in EXAMPLES.values()]
    other = UnderperformingProductRule("x", "S02")
    chosen = rules_of_store([*rules, other], "S01")
    assert [r.rule_id for r in chosen] == ["r1", "r2", "r3", "r4", "r6", "r7"]  # r5 paused


MALL_JSON: dict[str, Any] = {
    **{day: ["10:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")},
    "sun": ["14:00", "20:00"],
}
REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("product_underperforming", {"kind": "nope"}, "kind"),
    ("product_underperforming", {"rule_id": ""}, "rule_id"),
    ("product_underperforming", {"store_id": " S01"}, "store_id"),
    ("product_underperforming", {"enabled": "yes"}, "enabled"),
    ("product_underperforming", {"cooldown_minutes": -1}, "cooldown_minutes"),
    ("product_underperforming", {"window_hours": 169}, "window_hours"),
    ("product_underperforming", {"window_hours": 24.0}, "window_hours"),
    ("product_underperforming", {"baseline_weeks_min": 0}, "baseline_weeks_min"),
    (
        "product_underperforming",
        {"baseline_weeks_min": 6, "baseline_weeks_max": 5},
        "baseline_weeks_max",
    ),
    ("product_underperforming", {"significance": 0.01}, "significance"),
    ("product_underperforming", {"significance": "0"}, "significance"),
    ("product_underperforming", {"fdr_level": "1.5"}, "fdr_level"),
    ("product_underperforming", {"fdr_level": "1e-3"}, "fdr_level"),
    ("product_underperforming", {"min_expected_units": 0}, "min_expected_units"),
    ("product_underperforming", {"max_ratio": "0.0000001"}, "max_ratio"),
    ("product_underperforming", {"colour": "red"}, "colour"),
    ("store_revenue_by_hour", {"by_hour": 0}, "by_hour"),
    ("store_revenue_by_hour", {"min_rate": None}, "min_rate"),
    ("seller_idle", {"idle_minutes": 2}, "idle_minutes"),
    ("seller_idle", {"opening_hours": []}, "opening_hours"),
    (
        "seller_idle",
        {"opening_hours": {**MALL_JSON, "fri": ["22:00", "10:00"]}},
        "opening_hours.fri",
    ),
    (
        "seller_idle",
        {"opening_hours": {**MALL_JSON, "sat": ["10:00", "25:00"]}},
        "opening_hours.sat[1]",
    ),
    ("seller_idle", {"opening_hours": {**MALL_JSON, "sat": "all day"}}, "opening_hours.sat"),
    ("seller_idle", {"opening_hours": {**MALL_JSON, "hol": None}}, "opening_hours.hol"),
    (
        "store_silent",
        {"opening_hours": {k: v for k, v in MALL_JSON.items() if k != "sun"}},
        "opening_hours.sun",
    ),
    ("daily_margin", {"min_margin_rate": "-0.1"}, "min_margin_rate"),
    ("daily_margin", {"min_costed_revenue_cents": 10.5}, "min_costed_revenue_cents"),
    ("large_return", {"threshold_cents": 0}, "threshold_cents"),
    ("large_return", {"threshold_cents": True}, "threshold_cents"),
    ("price_anomaly", {"max_factor": "1"}, "max_factor"),
    ("price_anomaly", {"max_factor": "101"}, "max_factor"),
]


@pytest.mark.parametrize(("kind", "change", "field"), REFUSALS)
def test_refusals_name_the_field(kind: str, change: dict[str, Any], field: str) -> None:
    data = {**EXAMPLES[kind], **change}
    with pytest.raises(RuleError) as raised:
        parse_rule(data)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")


@pytest.mark.parametrize("missing", ["rule_id", "store_id", "by_hour", "min_rate"])
def test_required_fields(missing: str) -> None:
    data = dict(EXAMPLES["store_revenue_by_hour"])
    del data[missing]
    with pytest.raises(RuleError, match=rf"^{missing}: is required"):
        parse_rule(data)


def test_not_an_object_and_no_kind() -> None:
    with pytest.raises(RuleError, match=r"^rule: must be an object"):
        parse_rule([1])
    with pytest.raises(RuleError, match=r"^kind: is required"):
        parse_rule({"rule_id": "r"})


def test_rules_built_by_code_are_checked_too() -> None:
    with pytest.raises(RuleError, match=r"^significance:"):
        UnderperformingProductRule("r", "S", significance=Decimal("2"))
    with pytest.raises(RuleError, match=r"^opening_hours:"):
        StoreSilentRule("r", "S", opening_hours=((600, 1320),) * 6)  # six days
