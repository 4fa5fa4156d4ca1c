"""Alert rules: the kinds a manager switches on for a store, their checks and their JSON.

A rule that exists is valid: every check runs when one is built, whether by ``parse_rule``
(the API, the rules topic to come) or by code, so the evaluators never meet a rule they cannot
apply. A refused rule raises ``RuleError``, whose message starts with the field at fault
(``fdr_level: ...``), for the rule form to show next to that field (as ``app/pay/plans.py``
does for plans).

Money is integer cents; rates are ``Decimal`` and travel as JSON strings (``"0.05"``), never
JSON numbers (a float to most readers). Opening hours are per weekday, local time of the
store, as ``["10:00", "22:00"]`` or ``null`` (closed that day).

The JSON form is flat: the common fields (``rule_id``, ``store_id``, ``kind``, ``enabled``,
``cooldown_minutes``) and the fields of the kind. Absent optional fields take their defaults;
``rule_to_json`` writes every field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, ClassVar, Literal

from app.json_fields import decimal_text
from app.json_fields import show as _show

Kind = Literal[
    "product_underperforming",
    "store_revenue_by_hour",
    "seller_idle",
    "daily_margin",
    "large_return",
    "price_anomaly",
    "store_silent",
]
KINDS: tuple[Kind, ...] = (
    "product_underperforming",
    "store_revenue_by_hour",
    "seller_idle",
    "daily_margin",
    "large_return",
    "price_anomaly",
    "store_silent",
)

MAX_CENTS = 2**53 - 1
"""Browsers read JSON numbers as doubles: beyond this a dashboard would show another amount."""
MAX_ID_LENGTH = 200
MAX_COOLDOWN_MINUTES = 7 * 24 * 60
MAX_RATE_PLACES = 6
MAX_WINDOW_HOURS = 7 * 24
"""A window longer than a week would overlap its own baseline (the same hours, weeks before)."""
MAX_BASELINE_WEEKS = 26
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_RATE_TEXT = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?", re.ASCII)
_CLOCK_TEXT = re.compile(r"([0-9]{2}):([0-9]{2})", re.ASCII)

OpeningHours = tuple[tuple[int, int] | None, ...]
"""Seven entries, Monday first: ``(open, close)`` in minutes after local midnight
(``close`` may be 1440, midnight at the end of the day), or None when closed that day."""

MALL_HOURS: OpeningHours = ((600, 1320),) * 6 + ((840, 1200),)
"""Mall hours, the common format of chain stores in Brazil (the generator's too): 10h-22h
Monday to Saturday, 14h-20h on Sunday."""


class RuleError(ValueError):
    """A rule refused; ``field`` is the field at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# The kinds.


@dataclass(frozen=True, slots=True)
class UnderperformingProductRule:
    """A product selling significantly below its expectation (``app.alerts.detect``).

    The window is the last ``window_hours`` closed hours up to the store's clock; the
    expectation is the product's mean over the same hours of the previous
    ``baseline_weeks_min`` to ``baseline_weeks_max`` weeks, or the chain's comparable stores
    when the store has fewer weeks than ``baseline_weeks_min``. A product is tested when its
    expectation is at least ``min_expected_units``; it alerts when Benjamini–Hochberg at
    ``fdr_level`` across the store's tested products rejects it, its own p-value is at most
    ``significance`` and it sold at most ``max_ratio`` of what was expected.
    """

    kind: ClassVar[Kind] = "product_underperforming"
    rule_id: str
    store_id: str
    enabled: bool = True
    cooldown_minutes: int = 720
    window_hours: int = 168
    baseline_weeks_min: int = 4
    baseline_weeks_max: int = 8
    significance: Decimal = Decimal("0.01")
    fdr_level: Decimal = Decimal("0.05")
    min_expected_units: int = 5
    max_ratio: Decimal = Decimal("0.75")

    def __post_init__(self) -> None:
        _check_common(self)
        _check_int("window_hours", self.window_hours, 1, MAX_WINDOW_HOURS)
        _check_int("baseline_weeks_min", self.baseline_weeks_min, 1, MAX_BASELINE_WEEKS)
        _check_int("baseline_weeks_max", self.baseline_weeks_max, 1, MAX_BASELINE_WEEKS)
        if self.baseline_weeks_max < self.baseline_weeks_min:
            raise RuleError(
                "baseline_weeks_max",
                f"must be at least baseline_weeks_min ({self.baseline_weeks_min}), "
                f"got {self.baseline_weeks_max}",
            )
        _check_rate("significance", self.significance, open_low=True)
        _check_rate("fdr_level", self.fdr_level, open_low=True)
        _check_int("min_expected_units", self.min_expected_units, 1, 1_000_000)
        _check_rate("max_ratio", self.max_ratio, open_low=True)


@dataclass(frozen=True, slots=True)
class StoreRevenueByHourRule:
    """The store's revenue of the day up to ``by_hour`` (local, exclusive: 14 = by 14:00)
    below ``min_rate`` of its expectation, the mean of the same weekday's revenue up to the
    same hour over the previous weeks (``baseline_weeks_min`` to ``baseline_weeks_max``)."""

    kind: ClassVar[Kind] = "store_revenue_by_hour"
    rule_id: str
    store_id: str
    by_hour: int
    min_rate: Decimal
    enabled: bool = True
    cooldown_minutes: int = 60
    baseline_weeks_min: int = 4
    baseline_weeks_max: int = 8

    def __post_init__(self) -> None:
        _check_common(self)
        _check_int("by_hour", self.by_hour, 1, 24)
        _check_rate("min_rate", self.min_rate, open_low=True)
        _check_int("baseline_weeks_min", self.baseline_weeks_min, 1, MAX_BASELINE_WEEKS)
        _check_int("baseline_weeks_max", self.baseline_weeks_max, 1, MAX_BASELINE_WEEKS)
        if self.baseline_weeks_max < self.baseline_weeks_min:
            raise RuleError(
                "baseline_weeks_max",
                f"must be at least baseline_weeks_min ({self.baseline_weeks_min}), "
                f"got {self.baseline_weeks_max}",
            )


@dataclass(frozen=True, slots=True)
class SellerIdleRule:
    """A seller on shift (who sold today) without a sale for ``idle_minutes`` of opening
    hours."""

    kind: ClassVar[Kind] = "seller_idle"
    rule_id: str
    store_id: str
    idle_minutes: int = 60
    opening_hours: OpeningHours = MALL_HOURS
    enabled: bool = True
    cooldown_minutes: int = 60

    def __post_init__(self) -> None:
        _check_common(self)
        _check_int("idle_minutes", self.idle_minutes, 5, 24 * 60)
        _check_opening_hours(self.opening_hours)


@dataclass(frozen=True, slots=True)
class DailyMarginRule:
    """The store's margin rate of the day so far (over lines with a known cost) below
    ``min_margin_rate``, once the day's costed revenue reaches ``min_costed_revenue_cents``
    (the first sales of a day say little)."""

    kind: ClassVar[Kind] = "daily_margin"
    rule_id: str
    store_id: str
    min_margin_rate: Decimal
    min_costed_revenue_cents: int = 50_000
    enabled: bool = True
    cooldown_minutes: int = 120

    def __post_init__(self) -> None:
        _check_common(self)
        _check_rate("min_margin_rate", self.min_margin_rate, open_low=True)
        _check_cents("min_costed_revenue_cents", self.min_costed_revenue_cents)


@dataclass(frozen=True, slots=True)
class LargeReturnRule:
    """A return (a line with a negative quantity) refunding more than ``threshold_cents``."""

    kind: ClassVar[Kind] = "large_return"
    rule_id: str
    store_id: str
    threshold_cents: int
    enabled: bool = True
    cooldown_minutes: int = 0

    def __post_init__(self) -> None:
        _check_common(self)
        _check_cents("threshold_cents", self.threshold_cents, minimum=1)


@dataclass(frozen=True, slots=True)
class PriceAnomalyRule:
    """A line sold at a unit price ``max_factor`` times its usual price or more, or at the
    usual price divided by ``max_factor`` or less (a mistyped price: a digit too many or too
    few is a factor 10)."""

    kind: ClassVar[Kind] = "price_anomaly"
    rule_id: str
    store_id: str
    max_factor: Decimal = Decimal("2")
    enabled: bool = True
    cooldown_minutes: int = 60

    def __post_init__(self) -> None:
        _check_common(self)
        if (
            not isinstance(self.max_factor, Decimal)
            or not self.max_factor.is_finite()
            or not Decimal("1") < self.max_factor <= Decimal("100")
        ):
            raise RuleError(
                "max_factor",
                f"must be a decimal above 1 and at most 100, got {_show(self.max_factor)}",
            )
        _check_places("max_factor", self.max_factor)


@dataclass(frozen=True, slots=True)
class StoreSilentRule:
    """A store without any sale for ``silent_minutes`` of its opening hours."""

    kind: ClassVar[Kind] = "store_silent"
    rule_id: str
    store_id: str
    silent_minutes: int = 60
    opening_hours: OpeningHours = MALL_HOURS
    enabled: bool = True
    cooldown_minutes: int = 60

    def __post_init__(self) -> None:
        _check_common(self)
        _check_int("silent_minutes", self.silent_minutes, 5, 24 * 60)
        _check_opening_hours(self.opening_hours)


AlertRule = (
    UnderperformingProductRule
    | StoreRevenueByHourRule
    | SellerIdleRule
    | DailyMarginRule
    | LargeReturnRule
    | PriceAnomalyRule
    | StoreSilentRule
)
RULE_TYPES: dict[Kind, type[AlertRule]] = {
    UnderperformingProductRule.kind: UnderperformingProductRule,
    StoreRevenueByHourRule.kind: StoreRevenueByHourRule,
    SellerIdleRule.kind: SellerIdleRule,
    DailyMarginRule.kind: DailyMarginRule,
    LargeReturnRule.kind: LargeReturnRule,
    PriceAnomalyRule.kind: PriceAnomalyRule,
    StoreSilentRule.kind: StoreSilentRule,
}
_COMMON = ("rule_id", "store_id", "kind", "enabled", "cooldown_minutes")


# ---------------------------------------------------------------------------------------------
# JSON.


def parse_rule(data: object) -> AlertRule:
    """A rule from its JSON form; ``RuleError`` names the first bad field."""
    if not isinstance(data, Mapping):
        raise RuleError("rule", f"must be an object, got {_show(data)}")
    if "kind" not in data:
        raise RuleError("kind", "is required")
    kind = data["kind"]
    if not isinstance(kind, str) or kind not in RULE_TYPES:
        listed = ", ".join(repr(k) for k in KINDS)
        raise RuleError("kind", f"must be one of {listed}, got {_show(kind)}")
    rule_type = RULE_TYPES[kind]  # type: ignore[index]
    specs = {f.name: f for f in fields(rule_type)}
    known = ("kind", *specs)
    for key in data:
        if key not in known:
            raise RuleError(str(key), f"unknown field for {kind} (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    # Common fields first, then the kind's, in declaration order: the first fault reported is
    # the first field of the form.
    order = [name for name in _COMMON if name in specs] + [n for n in specs if n not in _COMMON]
    for name in order:
        spec = specs[name]
        required = spec.default is spec.default_factory  # both MISSING
        if name not in data:
            if required:
                raise RuleError(name, "is required")
            continue
        values[name] = _parse_value(name, spec.type, data[name])
    return rule_type(**values)


def rule_to_json(rule: AlertRule) -> dict[str, Any]:
    """The rule's JSON form: every field, rates as strings, opening hours as ``"HH:MM"``."""
    out: dict[str, Any] = {"kind": rule.kind}
    for spec in fields(rule):
        value = getattr(rule, spec.name)
        if isinstance(value, Decimal):
            out[spec.name] = decimal_text(value)
        elif spec.name == "opening_hours":
            out[spec.name] = opening_hours_to_json(value)
        else:
            out[spec.name] = value
    return out


def opening_hours_to_json(hours: OpeningHours) -> dict[str, list[str] | None]:
    return {
        day: None if span is None else [_clock_text(span[0]), _clock_text(span[1])]
        for day, span in zip(WEEKDAYS, hours, strict=True)
    }


def _parse_value(name: str, annotation: object, value: object) -> object:
    text = str(annotation)
    if text == "Decimal":
        return _parse_decimal(name, value)
    if text == "OpeningHours":
        return _parse_opening_hours(value)
    return value  # ints, bools and texts: the dataclass checks them


def _parse_decimal(field: str, value: object) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise RuleError(
            field,
            f'must be a decimal in a string, such as "0.05", not the JSON number {_show(value)}'
            " (a JSON number is a float to most readers, and floats are not exact)",
        )
    if not isinstance(value, str) or not _RATE_TEXT.fullmatch(value):
        raise RuleError(
            field,
            f'must be a decimal written with digits and a dot, such as "0.05", got {_show(value)}',
        )
    return Decimal(value)


def _parse_opening_hours(value: object) -> OpeningHours:
    if not isinstance(value, Mapping):
        raise RuleError(
            "opening_hours",
            f"must be an object with the keys {', '.join(WEEKDAYS)}, got {_show(value)}",
        )
    for key in value:
        if key not in WEEKDAYS:
            raise RuleError(f"opening_hours.{key}", f"unknown day (days: {', '.join(WEEKDAYS)})")
    spans: list[tuple[int, int] | None] = []
    for day in WEEKDAYS:
        where = f"opening_hours.{day}"
        if day not in value:
            raise RuleError(where, 'is required: ["HH:MM", "HH:MM"], or null when closed')
        span = value[day]
        if span is None:
            spans.append(None)
            continue
        if not isinstance(span, list) or len(span) != 2:
            raise RuleError(where, f'must be ["HH:MM", "HH:MM"] or null, got {_show(span)}')
        spans.append((_parse_clock(f"{where}[0]", span[0]), _parse_clock(f"{where}[1]", span[1])))
    return tuple(spans)


def _parse_clock(field: str, value: object) -> int:
    match = _CLOCK_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise RuleError(field, f'must be a time written "HH:MM", got {_show(value)}')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise RuleError(field, f"is not a time of the day (00:00 to 24:00), got {_show(value)}")
    return hours * 60 + minutes


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ---------------------------------------------------------------------------------------------
# Checks shared by the parser and the dataclasses.


def _check_common(rule: Any) -> None:
    _check_id("rule_id", rule.rule_id)
    _check_id("store_id", rule.store_id)
    if type(rule.enabled) is not bool:
        raise RuleError("enabled", f"must be true or false, got {_show(rule.enabled)}")
    _check_int("cooldown_minutes", rule.cooldown_minutes, 0, MAX_COOLDOWN_MINUTES)


def _check_int(field: str, value: object, low: int, high: int) -> int:
    # type() rather than isinstance(): True is an int, and 7.0 is a float even if whole.
    if type(value) is not int or not low <= value <= high:
        raise RuleError(field, f"must be a whole number from {low} to {high}, got {_show(value)}")
    return value


def _check_cents(field: str, value: object, minimum: int = 0) -> int:
    if type(value) is not int:
        raise RuleError(field, f"must be a whole number of cents, got {_show(value)}")
    if not minimum <= value <= MAX_CENTS:
        raise RuleError(field, f"must be from {minimum} to {MAX_CENTS} cents, got {_show(value)}")
    return value


def _check_rate(field: str, value: object, open_low: bool = False) -> Decimal:
    """A decimal in (0, 1] (``open_low``) or [0, 1]."""
    low_ok = (lambda v: v > 0) if open_low else (lambda v: v >= 0)
    if (
        not isinstance(value, Decimal)
        or not value.is_finite()
        or not (low_ok(value) and value <= 1)
    ):
        interval = "above 0 and at most 1" if open_low else "between 0 and 1"
        raise RuleError(field, f"must be a decimal {interval}, got {_show(value)}")
    _check_places(field, value)
    return value


def _check_places(field: str, value: Decimal) -> None:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_RATE_PLACES:
        raise RuleError(
            field, f"must have at most {MAX_RATE_PLACES} decimal places, got {_show(value)}"
        )


def _check_id(field: str, value: object) -> str:
    if (
        not isinstance(value, str)
        or not value
        or value != value.strip()
        or len(value) > MAX_ID_LENGTH
        or _CONTROL.search(value)
    ):
        raise RuleError(
            field,
            f"must be a non-empty text of at most {MAX_ID_LENGTH} characters, without control "
            f"characters or surrounding spaces, got {_show(value)}",
        )
    return value


def _check_opening_hours(hours: object) -> None:
    if not isinstance(hours, tuple) or len(hours) != 7:
        raise RuleError("opening_hours", f"must give the 7 weekdays, got {_show(hours)}")
    for day, span in zip(WEEKDAYS, hours, strict=True):
        if span is None:
            continue
        where = f"opening_hours.{day}"
        if (
            not isinstance(span, tuple)
            or len(span) != 2
            or any(type(v) is not int or not 0 <= v <= 1440 for v in span)
        ):
            raise RuleError(where, f"must be an opening and a closing time, got {_show(span)}")
        if span[0] >= span[1]:
            raise RuleError(
                where,
                f"must open before it closes, got {_clock_text(span[0])}-{_clock_text(span[1])}",
            )


def rules_of_store(rules: Sequence[AlertRule], store_id: str) -> list[AlertRule]:
    """The store's enabled rules, in the order given."""
    return [rule for rule in rules if rule.store_id == store_id and rule.enabled]
