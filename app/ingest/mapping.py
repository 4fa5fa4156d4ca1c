"""Declarative mappings: how a foreign layout becomes canonical sale lines.

A mapping is YAML (``docs/ingestion.md`` documents every key). It is loaded and checked once,
then compiled into a :class:`LineParser` whose ``parse`` is the per-row hot path: it either
returns a :class:`ParsedLine` or raises :class:`FieldError` with the reason the row is refused.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from app.ingest.normalize import (
    MAX_UNIT_PRICE_CENTS,
    FieldError,
    clean_text,
    integer_text,
    mac_key,
    parse_event_time,
    parse_money_cents,
    parse_quantity,
    pseudonymize,
    slug,
    stable_id,
    zone,
)
from app.records import SaleLine

REQUIRED_FIELDS = (
    "order_id",
    "store_id",
    "seller_id",
    "event_time",
    "channel",
    "sku",
    "quantity",
    "unit_price",
)
OPTIONAL_FIELDS = ("customer_id", "time_zone", "product_name", "unit_cost", "discount")
CANONICAL_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
PARSED_FIELDS = frozenset({"event_time", "quantity", "unit_price", "unit_cost", "discount"})
TRANSFORMS: dict[str, Callable[[str], str]] = {"slug": slug, "integer_text": integer_text}
CASES = ("keep", "upper", "lower", "title")
SKIP_FIELDS = (*CANONICAL_FIELDS, "unit_price_cents", "unit_cost_cents", "discount_cents")


class MappingError(ValueError):
    """The mapping file itself is wrong; raised before any row is read."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Where one canonical field comes from: a column, a constant, or a template of columns."""

    name: str
    column: str | None = None
    value: str | None = None
    template: str | None = None
    default: str | None = None
    required: bool = True
    case: str = "keep"
    transform: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        if self.column is not None:
            return (self.column,)
        if self.template is not None:
            return tuple(re.findall(r"{([^{}]+)}", self.template))
        return ()

    def raw_text(self, row: Mapping[str, str]) -> str | None:
        if self.value is not None:
            return self.value
        if self.template is not None:
            try:
                return self.template.format_map(row)
            except (KeyError, ValueError, IndexError):
                columns = ", ".join(self.columns)
                raise FieldError("missing_value", f"{self.name}: needs {columns}") from None
        return row.get(self.column or "")

    def clean(self, raw: str | None) -> str | None:
        if raw is None or not raw.strip():
            raw = self.default
        if raw is None:
            if self.required:
                raise FieldError("missing_value", f"{self.name} is empty")
            return None
        if self.transform:
            raw = TRANSFORMS[self.transform](raw.strip())
            if not raw:  # slug("???") is ""
                if self.required:
                    raise FieldError(
                        "missing_value", f"{self.name} is empty after {self.transform}"
                    )
                return None
        return clean_text(raw, self.name, self.case)

    def compile(self) -> Callable[[Mapping[str, str]], str | None]:
        """A getter for the hot path, for a field read from the row (``LineParser`` resolves
        constants once, without a getter).

        Fields that a parser reads next (numbers, dates) pass through untouched: the parser
        trims and refuses what is not a number or a date. Text fields are cleaned once per
        distinct raw value, since sources repeat them a lot (stores, products, order ids); the
        cache is bounded by clearing it.
        """
        column, default, required, name = self.column, self.default, self.required, self.name
        if column is not None and name in PARSED_FIELDS and self.transform is None:

            def get_raw(row: Mapping[str, str]) -> str | None:
                raw = row.get(column)
                if raw and not raw.isspace():
                    return raw
                if default is not None:
                    return default
                if required:
                    raise FieldError("missing_value", f"{name} is empty")
                return None

            return get_raw
        cache: dict[str | None, str | None] = {}
        raw_text, clean = self.raw_text, self.clean
        absent = object()

        def get(row: Mapping[str, str]) -> str | None:
            raw = row.get(column) if column is not None else raw_text(row)
            value = cache.get(raw, absent)
            if value is absent:
                value = clean(raw)
                if len(cache) > 100_000:
                    cache.clear()
                cache[raw] = value
            return value  # type: ignore[return-value]

        return get


@dataclass(frozen=True, slots=True)
class SkipRule:
    """Rows the source contains but that are not sales (postage, fees): rejected by name."""

    field: str
    reason: str
    values: frozenset[str] | None = None
    pattern: re.Pattern[str] | None = None
    equals: int | str | None = None

    def matches(self, value: object) -> bool:
        if value is None:
            return False
        if self.values is not None:
            return str(value) in self.values
        if self.pattern is not None:
            return bool(self.pattern.search(str(value)))
        return value == self.equals


@dataclass(frozen=True, slots=True)
class SourceOptions:
    format: str = "auto"
    delimiter: str = "auto"
    encoding: str = "auto"
    decimal_separator: str = "."
    time_zone: str = "UTC"
    date_formats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReturnRules:
    order_id_prefix: str | None = None
    flag_column: str | None = None
    flag_values: frozenset[str] = frozenset()

    @property
    def explicit(self) -> bool:
        return self.order_id_prefix is not None or self.flag_column is not None


OrderHeader = tuple[str, str, str, str | None, datetime, str, str]
"""(store_id, order_id, seller_id, customer_ref, event_time, source_time_zone, channel)"""


class ParsedLine(NamedTuple):
    """A valid line and the order header it belongs to (the grouping key)."""

    header: OrderHeader
    line: SaleLine


@dataclass(frozen=True)
class SalesMapping:
    name: str
    description: str
    source: SourceOptions
    fields: dict[str, FieldRule]
    returns: ReturnRules = field(default_factory=ReturnRules)
    skip: tuple[SkipRule, ...] = ()
    dedupe: bool = True

    def required_columns(self) -> tuple[str, ...]:
        """Columns a CSV header must have: those of required fields without a default."""
        needed: list[str] = []
        for rule in self.fields.values():
            if rule.required and rule.default is None:
                needed.extend(column for column in rule.columns if column not in needed)
        if self.returns.flag_column and self.returns.flag_column not in needed:
            needed.append(self.returns.flag_column)
        return tuple(needed)

    def columns(self) -> frozenset[str]:
        """Every source column the mapping reads."""
        names = {column for rule in self.fields.values() for column in rule.columns}
        if self.returns.flag_column:
            names.add(self.returns.flag_column)
        return frozenset(names)

    def parser(self, pseudonym_key: bytes) -> LineParser:
        return LineParser(self, pseudonym_key)


class LineParser:
    """Compiled form of a mapping, with small caches for values that repeat across rows."""

    def __init__(self, mapping: SalesMapping, pseudonym_key: bytes) -> None:
        self.mapping = mapping
        self._key = mac_key(pseudonym_key)
        # Positional, in CANONICAL_FIELDS order, so the hot path unpacks instead of looking up;
        # constants are resolved here once and only columns are read per row.
        rules = [mapping.fields.get(name) for name in CANONICAL_FIELDS]
        self._constants = [
            rule.clean(rule.value) if rule is not None and rule.value is not None else None
            for rule in rules
        ]
        self._getters = tuple(
            (index, rule.compile())
            for index, rule in enumerate(rules)
            if rule is not None and rule.value is None
        )
        self._skip = tuple((SKIP_FIELDS.index(rule.field), rule) for rule in mapping.skip)
        self._default_zone = mapping.source.time_zone
        self._returns_explicit = mapping.returns.explicit
        self._times: dict[tuple[str, str], tuple[datetime, str]] = {}
        self._customers: dict[str, str] = {}
        self._money: dict[str, int] = {}

    def parse(self, row: Mapping[str, str]) -> ParsedLine:
        text = self._constants.copy()
        for index, get in self._getters:
            text[index] = get(row)
        (order_id, store_id, seller_id, event_text, channel, sku, quantity_text, price_text,
         customer_id, time_zone, product_name, cost_text, discount_text) = text  # fmt: skip
        time_zone = time_zone or self._default_zone
        cached_time = self._times.get((event_text, time_zone))
        if cached_time is None:
            cached_time = self._event_time(event_text or "", time_zone)
        event_time, event_iso = cached_time
        quantity = parse_quantity(quantity_text or "")
        if self._returns_explicit or quantity < 0:
            quantity = self._signed_quantity(quantity, order_id or "", row)
        unit_price = self._money.get(price_text) if price_text else None
        if unit_price is None:
            unit_price = self._money_cents(price_text or "", "unit_price")
        if unit_price < 0:
            raise FieldError("negative_price", f"unit price {price_text!r} is below zero")
        if unit_price > MAX_UNIT_PRICE_CENTS:
            raise FieldError("price_out_of_range", f"unit price {price_text!r} is absurd")
        unit_cost = self._money_cents(cost_text, "unit_cost") if cost_text else None
        if unit_cost is not None and unit_cost < 0:
            raise FieldError("negative_cost", f"unit cost {cost_text!r} is below zero")
        discount = self._money_cents(discount_text, "discount") if discount_text else 0
        if discount < 0:
            raise FieldError("negative_discount", f"discount {discount_text!r} is below zero")
        if discount > abs(quantity) * unit_price:
            raise FieldError("discount_exceeds_line", "discount is larger than the line's value")
        if self._skip:
            values = (*text, unit_price, unit_cost, discount)
            for index, rule in self._skip:
                if rule.matches(values[index]):
                    raise FieldError(rule.reason, f"{rule.field} {values[index]!r} is skipped")
        customer_ref = self._customer_ref(customer_id) if customer_id else None
        # Identity of a line: everything that makes it this sale, and nothing cosmetic (the
        # product name's spelling); an exact duplicate row gets the same id and counts once.
        # The customer is left out: an order has one, and its pseudonym depends on a key that
        # another machine may not share, which would make the same line look new there.
        line_id = stable_id(
            f"{store_id}\x1f{order_id}\x1f{event_iso}\x1f{seller_id}\x1f{channel}\x1f{sku}"
            f"\x1f{quantity}\x1f{unit_price}\x1f{discount}\x1f"
            f"{'' if unit_cost is None else unit_cost}"
        )
        header = (store_id, order_id, seller_id, customer_ref, event_time, time_zone, channel)
        line = SaleLine(line_id, sku or "", quantity, unit_price, discount, unit_cost, product_name)
        return ParsedLine(header, line)  # type: ignore[arg-type]

    def _signed_quantity(self, quantity: int, order_id: str, row: Mapping[str, str]) -> int:
        returns = self.mapping.returns
        if not returns.explicit:
            return quantity
        is_return = bool(returns.order_id_prefix and order_id.startswith(returns.order_id_prefix))
        if returns.flag_column:
            flag = (row.get(returns.flag_column) or "").strip().upper()
            is_return = is_return or flag in returns.flag_values
        if is_return:
            return -abs(quantity)
        if quantity < 0:
            raise FieldError(
                "negative_quantity_not_return",
                f"quantity {quantity} on order {order_id!r}, which is not marked as a return",
            )
        return quantity

    def _event_time(self, text: str, time_zone: str) -> tuple[datetime, str]:
        """Parse and remember a time (``parse`` looks in the cache before calling this)."""
        zone(time_zone)  # a zone named by the row must exist even when the text has an offset
        moment = parse_event_time(text, time_zone, self.mapping.source.date_formats)
        parsed = (moment, moment.isoformat())
        if len(self._times) > 200_000:
            self._times.clear()
        self._times[(text, time_zone)] = parsed
        return parsed

    def _money_cents(self, text: str, field: str) -> int:
        cached = self._money.get(text)
        if cached is None:
            try:
                cached = parse_money_cents(text, self.mapping.source.decimal_separator)
            except FieldError as error:
                raise FieldError(error.reason, f"{field}: {error.detail}") from None
            if len(self._money) > 200_000:
                self._money.clear()
            self._money[text] = cached
        return cached

    def _customer_ref(self, customer_id: str) -> str:
        cached = self._customers.get(customer_id)
        if cached is None:
            cached = pseudonymize(customer_id, self._key)
            if len(self._customers) > 500_000:
                self._customers.clear()
            self._customers[customer_id] = cached
        return cached


# --- loading -------------------------------------------------------------------------------


def _field_rule(name: str, spec: Any) -> FieldRule:
    required = name in REQUIRED_FIELDS
    if spec is None:
        raise MappingError(f"field {name!r}: give a column name or a mapping")
    if isinstance(spec, str):
        return FieldRule(name=name, column=spec, required=required)
    if not isinstance(spec, dict):
        raise MappingError(f"field {name!r}: expected a column name or a mapping, got {spec!r}")
    unknown = set(spec) - {
        "column",
        "value",
        "template",
        "default",
        "required",
        "case",
        "transform",
    }
    if unknown:
        raise MappingError(f"field {name!r}: unknown keys {sorted(unknown)}")
    sources = [key for key in ("column", "value", "template") if key in spec]
    if len(sources) > 1:
        raise MappingError(f"field {name!r}: use one of column, value or template, not {sources}")
    if not sources and "default" not in spec:
        raise MappingError(f"field {name!r}: needs a column, a value, a template or a default")
    case = spec.get("case", "keep")
    if case not in CASES:
        raise MappingError(f"field {name!r}: case must be one of {CASES}, not {case!r}")
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(f"field {name!r}: transform must be one of {sorted(TRANSFORMS)}")

    if not isinstance(spec.get("required", True), bool):
        raise MappingError(f"field {name!r}: required is true or false")
    if required and spec.get("required", True) is False:
        raise MappingError(f"field {name!r} is required by every sale; give it a default instead")

    def text(key: str) -> str | None:
        value = spec.get(key)
        if isinstance(value, bool):  # YAML reads an unquoted yes/no/on/off as a boolean
            raise MappingError(f"field {name!r}: {key} is {value}; quote it if it is a text")
        return None if value is None else str(value)

    # A field with only a default is a constant.
    value = text("value") if sources else text("default")
    rule = FieldRule(
        name=name,
        column=text("column"),
        value=value,
        template=text("template"),
        default=text("default"),
        required=bool(spec.get("required", required)),
        case=case,
        transform=transform,
    )
    for constant in (rule.value, rule.default):
        if constant is not None:
            try:
                rule.clean(constant)
            except FieldError as error:
                raise MappingError(f"field {name!r}: {error.detail}") from None
    return rule


def _skip_rule(index: int, spec: Any) -> SkipRule:
    if not isinstance(spec, dict) or "field" not in spec or "reason" not in spec:
        raise MappingError(f"skip rule {index + 1}: needs 'field', 'reason' and a condition")
    _only_keys(f"skip rule {index + 1}", spec, ("field", "reason", "in", "matches", "equals"))
    if spec["field"] not in SKIP_FIELDS:
        raise MappingError(f"skip rule {index + 1}: field must be one of {SKIP_FIELDS}")
    conditions = [key for key in ("in", "matches", "equals") if key in spec]
    if len(conditions) != 1:
        raise MappingError(f"skip rule {index + 1}: give exactly one of in, matches, equals")
    reason = str(spec["reason"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", reason):
        raise MappingError(f"skip rule {index + 1}: reason must be snake_case, not {reason!r}")
    if "in" in spec:
        if not isinstance(spec["in"], list):
            raise MappingError(f"skip rule {index + 1}: 'in' takes a list of values")
        return SkipRule(spec["field"], reason, values=frozenset(str(v) for v in spec["in"]))
    if "matches" in spec:
        try:
            pattern = re.compile(str(spec["matches"]))
        except re.error as error:
            raise MappingError(f"skip rule {index + 1}: bad regular expression: {error}") from None
        return SkipRule(spec["field"], reason, pattern=pattern)
    equals = spec["equals"]
    if spec["field"].endswith("_cents"):
        if not isinstance(equals, int) or isinstance(equals, bool):
            raise MappingError(
                f"skip rule {index + 1}: {spec['field']} is compared with a whole number of cents"
            )
        return SkipRule(spec["field"], reason, equals=equals)
    if not isinstance(equals, str | int) or isinstance(equals, bool):
        raise MappingError(f"skip rule {index + 1}: equals takes a text; quote it")
    return SkipRule(spec["field"], reason, equals=str(equals))


TOP_LEVEL_KEYS = ("name", "description", "source", "fields", "returns", "skip", "dedupe")
SOURCE_KEYS = ("format", "delimiter", "encoding", "decimal_separator", "time_zone", "date_formats")
RETURNS_KEYS = ("order_id_prefix", "flag_column", "flag_values")


def _ascii_compatible(encoding: str) -> bool:
    try:
        info = codecs.lookup(encoding)
        sample = "order_id,sku;1|2\t3\r\n"
        return getattr(info, "_is_text_encoding", True) and sample.encode(encoding) == (
            sample.encode("ascii")
        )
    except (LookupError, UnicodeError, TypeError):
        return False


def _text_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        raise MappingError(f"{where} takes a list of texts, such as [a, b] (quote yes/no/on/off)")
    return tuple(str(v) for v in value)


def _only_keys(where: str, spec: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(spec, dict):
        raise MappingError(f"{where} must be a mapping of keys to values")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise MappingError(f"{where}: unknown keys {unknown}; known: {', '.join(allowed)}")


def mapping_from_dict(data: Any, origin: str = "<mapping>") -> SalesMapping:
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping is a YAML object with 'fields'")
    try:
        _only_keys("the mapping", data, TOP_LEVEL_KEYS)
        source_spec = data.get("source") or {}
        _only_keys("source", source_spec, SOURCE_KEYS)
        source = SourceOptions(
            format=str(source_spec.get("format", "auto")),
            delimiter=str(source_spec.get("delimiter", "auto")),
            encoding=str(source_spec.get("encoding", "auto")),
            decimal_separator=str(source_spec.get("decimal_separator", ".")),
            time_zone=str(source_spec.get("time_zone", "UTC")),
            date_formats=_text_list("source.date_formats", source_spec.get("date_formats", [])),
        )
        if source.encoding != "auto" and not _ascii_compatible(source.encoding):
            raise MappingError(
                f"source.encoding: {source.encoding!r} is not a known text encoding that keeps "
                "ASCII as is (lines are split on the byte \\n): use utf-8, latin-1, cp1252..."
            )
        if source.format not in ("auto", "csv", "jsonl", "json"):
            raise MappingError("source.format must be auto, csv, jsonl or json")
        if source.decimal_separator not in (".", ","):
            raise MappingError("source.decimal_separator must be '.' or ','")
        if source.delimiter != "auto" and len(source.delimiter.replace("\\t", "\t")) != 1:
            raise MappingError("source.delimiter must be 'auto' or one character")
        try:
            zone(source.time_zone)
        except FieldError as error:
            raise MappingError(f"source.time_zone: {error.detail}") from None
        fields_spec = data.get("fields")
        if not isinstance(fields_spec, dict):
            raise MappingError("'fields' must map canonical field names to their sources")
        unknown = set(fields_spec) - set(CANONICAL_FIELDS)
        if unknown:
            raise MappingError(
                f"unknown fields {sorted(unknown)}; canonical ones: {', '.join(CANONICAL_FIELDS)}"
            )
        missing = [name for name in REQUIRED_FIELDS if name not in fields_spec]
        if missing:
            raise MappingError(f"required fields without a source: {', '.join(missing)}")
        rules = {name: _field_rule(name, spec) for name, spec in fields_spec.items()}
        returns_spec = data.get("returns") or {}
        _only_keys("returns", returns_spec, RETURNS_KEYS)
        prefix, flag_column = returns_spec.get("order_id_prefix"), returns_spec.get("flag_column")
        flag_values = _text_list("returns.flag_values", returns_spec.get("flag_values", []))
        returns = ReturnRules(
            order_id_prefix=None if prefix is None else str(prefix),
            flag_column=None if flag_column is None else str(flag_column),
            flag_values=frozenset(value.upper() for value in flag_values),
        )
        if returns.flag_column and not returns.flag_values:
            raise MappingError("returns.flag_column needs returns.flag_values")
        skip = tuple(_skip_rule(i, spec) for i, spec in enumerate(data.get("skip") or ()))
        dedupe = data.get("dedupe", "exact_line")
        if dedupe not in ("exact_line", "none"):
            raise MappingError("dedupe must be exact_line or none")
    except MappingError as error:
        raise MappingError(f"{origin}: {error}") from None
    return SalesMapping(
        name=str(data.get("name", origin)),
        description=str(data.get("description", "")),
        source=source,
        fields=rules,
        returns=returns,
        skip=skip,
        dedupe=dedupe == "exact_line",
    )


def load_mapping(path: Path | str | None = None) -> SalesMapping:
    """Load a mapping file; ``None`` or a bare name loads one shipped in ``app/mappings``."""
    if path is None:
        path = "canonical"
    candidate = Path(path)
    if not candidate.exists() and candidate.suffix == "" and "/" not in str(path):
        shipped = resources.files("app.mappings").joinpath(f"{path}.yaml")
        if not shipped.is_file():
            names = ", ".join(shipped_mappings())
            raise MappingError(f"no mapping file {path!r}; shipped mappings: {names}")
        return mapping_from_dict(yaml.safe_load(shipped.read_text("utf-8")), f"{path}.yaml")
    try:
        text = candidate.read_text("utf-8")
    except OSError as error:
        raise MappingError(f"cannot read mapping {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML: {error}") from None
    return mapping_from_dict(data, str(path))


def shipped_mappings() -> Iterable[str]:
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files("app.mappings").iterdir()
        if entry.name.endswith(".yaml")
    )
