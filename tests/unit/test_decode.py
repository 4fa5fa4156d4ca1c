"""The worker's reading of the ``sales`` topic: a valid message becomes the very ``Sale`` that
was written; anything else is an ``InvalidMessage`` with a reason, never another exception
(which would stop the worker on that message for good), and leaves as a dead letter."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.decode import InvalidMessage, dead_letter, decode_sale
from app.records import SCHEMA_VERSION, Rejection, Sale, SaleLine
from tables.aggregation import aggregate_batch

SETTINGS = settings(max_examples=100, deadline=None, database=None)


def valid_sale() -> Sale:
    return Sale(
        order_id="ord-1",
        store_id="loja-001",
        seller_id="vend-01",
        event_time=datetime(2024, 3, 1, 2, 30, 15, tzinfo=UTC),
        source_time_zone="America/Sao_Paulo",
        channel="loja",
        lines=(
            SaleLine("l-1", "ELE-00001", 2, 24999, 500, 18862, "Webcam Full HD"),
            SaleLine("l-2", "PAP-00098", -1, 1299, 0, None, None),
        ),
        customer_ref="c-3391863b5bff4304d270062f",
    )


def valid_dict() -> dict[str, Any]:
    return valid_sale().to_dict()


def encode(data: Any) -> bytes:
    return orjson.dumps(data)


def with_(**changes: Any) -> bytes:
    data = valid_dict()
    data.update(changes)
    return encode(data)


def without(name: str) -> bytes:
    data = valid_dict()
    del data[name]
    return encode(data)


def with_line(**changes: Any) -> bytes:
    data = valid_dict()
    data["lines"][0].update(changes)
    return encode(data)


def without_line_field(name: str) -> bytes:
    data = valid_dict()
    del data["lines"][0][name]
    return encode(data)


def with_lines(count: int) -> bytes:
    data = valid_dict()
    line = data["lines"][0]
    data["lines"] = [{**line, "line_id": f"l-{number}"} for number in range(count)]
    return encode(data)


# (message, reason, a fragment of the detail)
MALFORMED: list[tuple[str, bytes | None, str, str]] = [
    ("none", None, "empty_message", "no value"),
    ("empty", b"", "empty_message", "no value"),
    ("not json", b"not json", "undecodable_message", "not JSON"),
    ("truncated json", encode(valid_dict())[:-1], "undecodable_message", "not JSON"),
    ("not utf-8", b'{"order_id": "\xff"}', "undecodable_message", "not JSON"),
    ("json array", encode([valid_dict()]), "undecodable_message", "not a JSON object"),
    ("json string", b'"sale"', "undecodable_message", "not a JSON object"),
    ("json number", b"42", "undecodable_message", "not a JSON object"),
    ("json null", b"null", "undecodable_message", "not a JSON object"),
    ("schema 2", with_(schema_version=2), "unknown_schema_version", "schema_version 2"),
    ("schema 0", with_(schema_version=0), "unknown_schema_version", "schema_version 0"),
    ("schema text", with_(schema_version="1"), "unknown_schema_version", "'1'"),
    ("schema null", with_(schema_version=None), "unknown_schema_version", "None"),
    *(
        (f"missing {name}", without(name), "invalid_record", f"KeyError: '{name}'")
        for name in (
            "order_id",
            "store_id",
            "seller_id",
            "event_time",
            "source_time_zone",
            "channel",
            "lines",
        )
    ),
    *(
        (f"line missing {name}", without_line_field(name), "invalid_record", f"'{name}'")
        for name in ("line_id", "sku", "quantity", "unit_price_cents")
    ),
    ("lines not a list", with_(lines="abc"), "invalid_record", "TypeError"),
    ("lines a number", with_(lines=3), "invalid_record", "TypeError"),
    ("line not an object", with_(lines=[[1, 2]]), "invalid_record", "TypeError"),
    ("event_time not a time", with_(event_time="yesterday"), "invalid_record", "ValueError"),
    ("event_time a number", with_(event_time=1709260215), "invalid_record", "TypeError"),
    ("event_time naive", with_(event_time="2024-03-01T02:30:15"), "invalid_record", "no zone"),
    (
        "event_time before year 1 in UTC",
        with_(event_time="0001-01-01T00:30:00+01:00"),
        "invalid_record",
        "OverflowError",
    ),
    (
        "event_time after 9999 locally",
        with_(event_time="9999-12-31T23:00:00Z", source_time_zone="Asia/Tokyo"),
        "invalid_record",
        "out of range",
    ),
    ("quantity not a number", with_line(quantity="two"), "invalid_record", "ValueError"),
    ("quantity null", with_line(quantity=None), "invalid_record", "TypeError"),
    *(
        (f"{name} {value!r}", with_(**{name: value}), "invalid_record", name)
        for name in ("order_id", "store_id", "seller_id")
        for value in ("", "a\x1fb", "a\nb", "\x00", "a\x7f", "\tx", 7, None, ["x"])
    ),
    ("sku with separator", with_line(sku="A\x1fB"), "invalid_record", "sku"),
    ("sku with newline", with_line(sku="A\n"), "invalid_record", "sku"),
    ("sku empty", with_line(sku=""), "invalid_record", "sku"),
    ("sku a number", with_line(sku=123), "invalid_record", "sku"),
    ("sku null", with_line(sku=None), "invalid_record", "sku"),
    ("unknown zone", with_(source_time_zone="Mars/Olympus"), "invalid_record", "Mars/Olympus"),
    ("zone lower case", with_(source_time_zone="utc"), "invalid_record", "unknown time zone"),
    ("zone empty", with_(source_time_zone=""), "invalid_record", "unknown time zone"),
    ("zone path", with_(source_time_zone="../../etc/passwd"), "invalid_record", "time zone"),
    ("zone absolute", with_(source_time_zone="/etc/localtime"), "invalid_record", "time zone"),
    ("zone nul", with_(source_time_zone="UTC\x00"), "invalid_record", "unknown time zone"),
    ("zone a number", with_(source_time_zone=-3), "invalid_record", "unknown time zone"),
    ("zone a list", with_(source_time_zone=["UTC"]), "invalid_record", "unknown time zone"),
    ("zone null", with_(source_time_zone=None), "invalid_record", "unknown time zone"),
    ("customer a number", with_(customer_ref=12345), "invalid_record", "customer_ref"),
    ("customer an object", with_(customer_ref={"id": 1}), "invalid_record", "customer_ref"),
    ("zero quantity", with_line(quantity=0), "invalid_record", "line l-1: zero quantity"),
    ("negative price", with_line(unit_price_cents=-1), "invalid_record", "negative amount"),
    ("negative discount", with_line(discount_cents=-1), "invalid_record", "negative amount"),
    ("cost a float", with_line(unit_cost_cents=12.5), "invalid_record", "cost is not cents"),
    ("cost a string", with_line(unit_cost_cents="100"), "invalid_record", "cost is not cents"),
    ("negative cost", with_line(unit_cost_cents=-1), "invalid_record", "out of range"),
    ("cost too large", with_line(unit_cost_cents=10**9 + 1), "invalid_record", "out of range"),
    ("huge quantity", with_line(quantity=100_001), "invalid_record", "out of range"),
    ("huge return", with_line(quantity=-100_001), "invalid_record", "out of range"),
    ("int64 quantity", with_line(quantity=2**63 - 1), "invalid_record", "out of range"),
    ("float quantity", with_line(quantity=1e300), "invalid_record", "out of range"),
    ("price too large", with_line(unit_price_cents=10**9 + 1), "invalid_record", "out of range"),
    ("discount over line", with_line(discount_cents=2 * 24999 + 1), "invalid_record", "range"),
    ("no lines", with_(lines=[]), "invalid_record", "1 to 10000 lines"),
    ("too many lines", with_lines(10_001), "invalid_record", "1 to 10000 lines"),
]


@pytest.mark.parametrize(
    ("value", "reason", "detail"),
    [pytest.param(value, reason, detail, id=name) for name, value, reason, detail in MALFORMED],
)
def test_malformed_messages_have_a_reason(value: bytes | None, reason: str, detail: str) -> None:
    with pytest.raises(InvalidMessage) as raised:
        decode_sale(value)
    assert raised.value.reason == reason
    assert detail in raised.value.detail
    assert str(raised.value) == f"{reason}: {raised.value.detail}"
    assert isinstance(raised.value, ValueError)


def test_valid_sale_round_trips() -> None:
    sale = valid_sale()
    decoded = decode_sale(encode(sale.to_dict()))
    assert decoded == sale
    assert decoded.event_time.tzinfo is not None
    assert decoded.event_time.utcoffset() == timedelta(0)
    assert decoded.to_dict() == sale.to_dict()


def test_the_documented_example_decodes() -> None:
    # docs/schema.md's example sale, abridged.
    text = b"""{
      "schema_version": 1, "order_id": "PED-2026-000017", "store_id": "loja-001",
      "seller_id": "vend-004", "customer_ref": "c-3391863b5bff4304d270062f",
      "event_time": "2026-11-02T00:02:17Z", "source_time_zone": "America/Sao_Paulo",
      "channel": "loja",
      "lines": [{"line_id": "9d3a", "sku": "VES-00020", "quantity": 1,
                 "unit_price_cents": 8990, "discount_cents": 0, "unit_cost_cents": 4120,
                 "product_name": "Camiseta"}]
    }"""
    sale = decode_sale(text)
    assert sale.event_time == datetime(2026, 11, 2, 0, 2, 17, tzinfo=UTC)
    assert sale.lines[0].revenue_cents == 8990


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda data: data.pop("schema_version"), lambda sale: sale.schema_version == 1),
        (lambda data: data.pop("customer_ref"), lambda sale: sale.customer_ref is None),
        (lambda data: data["lines"][0].pop("discount_cents"), lambda sale: True),
        (lambda data: data["lines"][0].pop("unit_cost_cents"), lambda sale: True),
        (
            lambda data: data.update(event_time="2024-02-29T23:30:15-03:00"),
            lambda sale: sale.event_time == datetime(2024, 3, 1, 2, 30, 15, tzinfo=UTC),
        ),
        (
            lambda data: data.update(event_time="2024-03-01T02:30:15.250000Z"),
            lambda sale: sale.event_time.microsecond == 250_000,
        ),
        (lambda data: data.update(source_time_zone="UTC"), lambda sale: True),
        (lambda data: data.update(extra="ignored"), lambda sale: True),
        (lambda data: data["lines"][0].update(unit_cost_cents=0), lambda sale: True),
        (
            lambda data: data["lines"][0].update(unit_price_cents=0, discount_cents=0),
            lambda sale: sale.lines[0].revenue_cents == 0,
        ),
        (lambda data: data["lines"][0].update(discount_cents=2 * 24999), lambda sale: True),
        (lambda data: data["lines"][0].update(quantity=-100_000), lambda sale: True),
        (lambda data: data.update(order_id="pedido çãé 🙂"), lambda sale: True),
    ],
)
def test_lenient_but_valid_messages(
    change: Callable[[dict[str, Any]], Any], check: Callable[[Sale], bool]
) -> None:
    data = valid_dict()
    change(data)
    sale = decode_sale(encode(data))
    assert check(sale)
    assert aggregate_batch([sale], {}).lines == len(sale.lines)


def test_ten_thousand_lines_are_allowed() -> None:
    assert len(decode_sale(with_lines(10_000)).lines) == 10_000


ids = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x7f", min_codepoint=0x20),
    min_size=1,
    max_size=12,
)
lines_st = st.lists(
    st.builds(
        SaleLine,
        line_id=ids,
        sku=ids,
        quantity=st.integers(-100_000, 100_000).filter(bool),
        unit_price_cents=st.integers(0, 10**9),
        discount_cents=st.just(0),
        unit_cost_cents=st.none() | st.integers(0, 10**9),
        product_name=st.none() | st.text(max_size=20),
    ),
    min_size=1,
    max_size=4,
)


@SETTINGS
@given(
    order_id=ids,
    store_id=ids,
    seller_id=ids,
    customer=st.none() | ids,
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset_minutes=st.integers(-14 * 60, 14 * 60),
    zone_name=st.sampled_from(
        ("America/Sao_Paulo", "America/Manaus", "Europe/London", "UTC", "Asia/Kolkata")
    ),
    lines=lines_st,
)
def test_any_valid_sale_round_trips(
    order_id: str,
    store_id: str,
    seller_id: str,
    customer: str | None,
    moment: datetime,
    offset_minutes: int,
    zone_name: str,
    lines: list[SaleLine],
) -> None:
    sale = Sale(
        order_id=order_id,
        store_id=store_id,
        seller_id=seller_id,
        event_time=moment,
        source_time_zone=zone_name,
        channel="online",
        lines=tuple(lines),
        customer_ref=customer,
    )
    assert decode_sale(encode(sale.to_dict())) == sale
    # The same instant written with another offset is the same sale.
    data = sale.to_dict()
    data["event_time"] = moment.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()
    assert decode_sale(encode(data)) == sale


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=60).map(str.encode))
def test_arbitrary_bytes_decode_or_say_why(value: bytes) -> None:
    try:
        decode_sale(value)
    except InvalidMessage as error:
        assert error.reason in {"empty_message", "undecodable_message"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@SETTINGS
@given(
    field_name=st.sampled_from(
        (
            "order_id",
            "store_id",
            "seller_id",
            "customer_ref",
            "event_time",
            "source_time_zone",
            "channel",
            "lines",
            "schema_version",
        )
    ),
    line_field=st.sampled_from(
        ("line_id", "sku", "quantity", "unit_price_cents", "discount_cents", "unit_cost_cents")
    ),
    in_line=st.booleans(),
    value=json_values,
)
def test_any_field_of_any_json_type_decodes_or_says_why(
    field_name: str, line_field: str, in_line: bool, value: Any
) -> None:
    """Whatever a foreign writer puts in one field, the worker either gets a sale it can
    aggregate and store, or an InvalidMessage: nothing else escapes."""
    data = copy.deepcopy(valid_dict())
    if in_line:
        data["lines"][0][line_field] = value
    else:
        data[field_name] = value
    try:
        message = encode(data)
    except orjson.JSONEncodeError:  # integers beyond 64 bits
        return
    try:
        sale = decode_sale(message)
    except InvalidMessage as error:
        assert error.reason in {"invalid_record", "unknown_schema_version"}
        return
    for totals in aggregate_batch([sale], {}).deltas.values():
        totals.to_bytes()


# --------------------------------------------------------------------------- dead letters


def test_dead_letter_id_is_the_message_position() -> None:
    value = b"not json"
    with pytest.raises(InvalidMessage) as raised:
        decode_sale(value)
    letter = dead_letter(value, raised.value, "sales", 3, 1234)
    assert letter.rejection_id == "worker:sales:3:1234"
    assert letter.source == "kafka:sales"
    assert letter.line_number == 1234
    assert letter.reason == "undecodable_message"
    assert letter.detail == raised.value.detail
    assert letter.raw == "not json"
    # A replay after a crash gives the same id; another position another id.
    again = dead_letter(value, raised.value, "sales", 3, 1234)
    assert again.rejection_id == letter.rejection_id
    assert dead_letter(value, raised.value, "sales", 4, 1234).rejection_id != letter.rejection_id
    assert dead_letter(value, raised.value, "sales", 3, 1235).rejection_id != letter.rejection_id
    # It travels like any rejection.
    assert Rejection.from_dict(orjson.loads(orjson.dumps(letter.to_dict()))) == letter


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        (None, ""),
        (b"", ""),
        (b"caf\xc3\xa9", "café"),
        (b"\xff\xfeok", "\ufffd\ufffdok"),
        (b"x" * 20_000, "x" * 10_000),
        # Cut in the middle of a two-byte character: the half left becomes U+FFFD.
        (b"x" * 9_999 + "é".encode() + b"tail", "x" * 9_999 + "\ufffd"),
    ],
)
def test_dead_letter_raw_is_text_and_bounded(value: bytes | None, raw: str) -> None:
    error = InvalidMessage("empty_message", "the message has no value")
    letter = dead_letter(value, error, "sales", 0, 0)
    assert letter.raw == raw
    orjson.dumps(letter.to_dict())  # always serializable


def test_schema_version_is_one() -> None:
    assert SCHEMA_VERSION == 1
    assert decode_sale(with_(schema_version=1)).schema_version == 1
