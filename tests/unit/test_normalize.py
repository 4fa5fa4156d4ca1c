"""The pure parsers of ``app.ingest.normalize``: exact money, whole quantities, event times in
UTC, clean text and ids. Every refusal is checked by its stable reason code, since that is what
the summary and the dead-letter topic count by."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.normalize import (
    MAX_ABS_QUANTITY,
    FieldError,
    clean_text,
    integer_text,
    parse_event_time,
    parse_money_cents,
    parse_quantity,
    pseudonymize,
    slug,
    stable_id,
    zone,
)
from app.records import SaleLine

CANONICAL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
ONLINE_RETAIL_FORMATS = ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M")


def reason_of(call, *args, **kwargs) -> FieldError:
    with pytest.raises(FieldError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.detail, "a refusal must say why"
    return error


# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "separator", "cents"),
    [
        ("10.50", ".", 1050),
        ("0.29", ".", 29),  # 0.29 * 100 == 28.999999999999996 in float
        ("19.99", ".", 1999),
        ("1.1", ".", 110),
        ("4.35", ".", 435),  # float: 434.99999999999994
        ("1234.5", ".", 123450),
        ("1,234.56", ".", 123456),
        ("1,234,567.89", ".", 123456789),
        ("1,234", ".", 123400),
        ("1 234.56", ".", 123456),
        (".5", ".", 50),
        ("0", ".", 0),
        ("7", ".", 700),
        ("+3.10", ".", 310),
        ("-3.10", ".", -310),
        ("-0.01", ".", -1),
        ("  12.00  ", ".", 1200),
        ("12.3400", ".", 1234),  # trailing zeros beyond the cent are exact
        ("£3.39", ".", 339),
        ("$5.25", ".", 525),
        ("US$ 7.25", ".", 725),
        ("€5", ".", 500),
        ("5 €", ".", 500),
        ("3.39 GBP", ".", 339),
        ("R$ 10,00", ",", 1000),
        ("R$10,50", ",", 1050),
        ("10,00 BRL", ",", 1000),
        ("1.234,56", ",", 123456),
        ("1.234.567,89", ",", 123456789),
        ("12,3400", ",", 1234),
        (",5", ",", 50),
        ("-2,50", ",", -250),
        ("42", ",", 4200),
    ],
)
def test_money_to_exact_cents(text: str, separator: str, cents: int) -> None:
    value = parse_money_cents(text, separator)
    assert type(value) is int
    assert value == cents


@pytest.mark.parametrize(
    ("text", "separator", "reason"),
    [
        ("1.234,56", ".", "decimal_separator_mismatch"),
        ("12,34", ".", "decimal_separator_mismatch"),
        ("R$ 10,00", ".", "decimal_separator_mismatch"),
        ("1,234.56", ",", "decimal_separator_mismatch"),
        ("12.34", ",", "decimal_separator_mismatch"),
        ("1.005", ".", "sub_cent_amount"),
        ("0.001", ".", "sub_cent_amount"),
        ("12,3456", ",", "sub_cent_amount"),
        ("12,345", ",", "sub_cent_amount"),
        ("", ".", "missing_value"),
        ("   ", ".", "missing_value"),
        ("R$", ",", "missing_value"),
        ("abc", ".", "invalid_money"),
        ("12a", ".", "invalid_money"),
        ("1.2.3", ".", "invalid_money"),
        ("1,23.45", ".", "invalid_money"),
        ("--5", ".", "invalid_money"),
        ("1e3", ".", "invalid_money"),
        ("NaN", ".", "invalid_money"),
        ("1.", ".", "invalid_money"),
        ("-", ".", "invalid_money"),
        ("[1, 2]", ".", "invalid_money"),
    ],
)
def test_money_refusals(text: str, separator: str, reason: str) -> None:
    assert reason_of(parse_money_cents, text, separator).reason == reason


def test_money_mismatch_detail_names_the_mapping_separator() -> None:
    error = reason_of(parse_money_cents, "1.234,56", ".")
    assert "'1.234,56'" in error.detail
    assert "'.'" in error.detail


def test_money_times_quantity_stays_exact() -> None:
    """3 x 19.99 is exactly 59.97 (float arithmetic gives 59.970000000000006); with 0.01 of
    discount, exactly 59.96."""
    line = SaleLine("l", "SKU", 3, parse_money_cents("19.99"), parse_money_cents("0.01"))
    assert line.revenue_cents == 5996
    assert SaleLine("l", "SKU", 3, parse_money_cents("19.99")).revenue_cents == 5997


@settings(max_examples=300, deadline=None, database=None)
@given(
    whole=st.integers(min_value=0, max_value=10**12),
    fraction=st.text(alphabet="0123456789", max_size=6),
    negative=st.booleans(),
    separator=st.sampled_from([".", ","]),
)
def test_money_agrees_with_decimal(whole: int, fraction: str, negative: bool, separator: str):
    """Whatever the digits, the result is the Decimal value in cents, or a sub-cent refusal."""
    text = ("-" if negative else "") + str(whole) + (separator + fraction if fraction else "")
    exact = Decimal(f"{'-' if negative else ''}{whole}.{fraction or '0'}") * 100
    if exact != exact.to_integral_value():
        assert reason_of(parse_money_cents, text, separator).reason == "sub_cent_amount"
    else:
        value = parse_money_cents(text, separator)
        assert type(value) is int
        assert value == int(exact)


@settings(max_examples=200, deadline=None, database=None)
@given(cents=st.integers(min_value=0, max_value=10**13))
def test_money_with_thousands_groups_round_trips(cents: int) -> None:
    whole, fraction = divmod(cents, 100)
    dot = f"{whole:,}.{fraction:02d}"
    comma = dot.replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_money_cents(dot, ".") == cents
    assert parse_money_cents(comma, ",") == cents
    assert parse_money_cents(f"R$ {comma}", ",") == cents
    assert parse_money_cents(f"-{whole}.{fraction:02d}", ".") == -cents


# --- quantities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("1", 1),
        ("12", 12),
        (" 7 ", 7),
        ("+3", 3),
        ("-2", -2),
        ("6.0", 6),
        ("007", 7),
        ("1.0000000000", 1),
        ("6.00", 6),
        ("-4.0", -4),
        (str(MAX_ABS_QUANTITY), MAX_ABS_QUANTITY),
        (str(-MAX_ABS_QUANTITY), -MAX_ABS_QUANTITY),
    ],
)
def test_quantity_accepted(text: str, quantity: int) -> None:
    value = parse_quantity(text)
    assert type(value) is int
    assert value == quantity


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.5", "fractional_quantity"),
        ("-1.5", "fractional_quantity"),
        ("².0", "invalid_quantity"),  # isdigit() says yes, int() says no
        ("0" * 5000 + "3", "invalid_quantity"),  # int() would refuse it with its own error
        ("12345678901", "quantity_out_of_range"),
        ("٣.0", "invalid_quantity"),
        ("2.25", "fractional_quantity"),
        ("dois", "invalid_quantity"),
        ("", "invalid_quantity"),
        ("1e3", "invalid_quantity"),
        ("1,5", "invalid_quantity"),
        ("true", "invalid_quantity"),
        ("[1]", "invalid_quantity"),
        ("0", "zero_quantity"),
        ("0.0", "zero_quantity"),
        ("-0", "zero_quantity"),
        (str(MAX_ABS_QUANTITY + 1), "quantity_out_of_range"),
        (str(-MAX_ABS_QUANTITY - 1), "quantity_out_of_range"),
        ("99999999999999999999", "quantity_out_of_range"),
        pytest.param(
            "1_000",
            "invalid_quantity",
            id="underscore-digits",
        ),
    ],
)
def test_quantity_refusals(text: str, reason: str) -> None:
    assert reason_of(parse_quantity, text).reason == reason


# --- event time ----------------------------------------------------------------------------


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "time_zone", "formats", "expected"),
    [
        ("2026-11-01T10:00:00Z", "America/Sao_Paulo", (), utc(2026, 11, 1, 10)),
        ("2026-11-01T10:00:00+00:00", "Europe/London", (), utc(2026, 11, 1, 10)),
        ("2026-11-01T10:00:00-03:00", "UTC", (), utc(2026, 11, 1, 13)),
        ("2026-11-01T10:00:00+05:30", "UTC", (), utc(2026, 11, 1, 4, 30)),
        ("2026-11-01 10:00:00.250000Z", "UTC", (), utc(2026, 11, 1, 10, 0, 0, 250000)),
        # naive: local time of the zone
        ("2010-12-01 08:26:00", "Europe/London", (), utc(2010, 12, 1, 8, 26)),  # GMT
        ("2011-06-01 12:00:00", "Europe/London", (), utc(2011, 6, 1, 11)),  # BST, UTC+1
        ("2026-11-01 10:00:00", "America/Sao_Paulo", (), utc(2026, 11, 1, 13)),
        ("2015-01-15 10:00:00", "America/Sao_Paulo", (), utc(2015, 1, 15, 12)),  # old DST
        ("2026-11-01 10:00:00", "UTC", (), utc(2026, 11, 1, 10)),
        # formats, after ISO-8601
        ("29/11/2026 10:15", "America/Sao_Paulo", CANONICAL_FORMATS, utc(2026, 11, 29, 13, 15)),
        ("01/02/2020 10:00:30", "America/Sao_Paulo", CANONICAL_FORMATS, utc(2020, 2, 1, 13, 0, 30)),
        ("12/1/2010 8:26", "Europe/London", ONLINE_RETAIL_FORMATS, utc(2010, 12, 1, 8, 26)),
        ("6/1/2011 12:00", "Europe/London", ONLINE_RETAIL_FORMATS, utc(2011, 6, 1, 11)),
        # an ambiguous hour at the end of summer time resolves to its first occurrence (BST)
        ("2026-10-25 01:30:00", "Europe/London", (), utc(2026, 10, 25, 0, 30)),
        # the earliest instant allowed
        ("1990-01-01T00:00:00Z", "UTC", (), utc(1990, 1, 1)),
        ("1990-01-01 00:00:00", "America/Sao_Paulo", (), utc(1990, 1, 1, 2)),  # summer time
    ],
)
def test_event_time_in_utc(text, time_zone, formats, expected) -> None:
    moment = parse_event_time(text, time_zone, formats)
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "time_zone", "formats", "reason"),
    [
        ("1989-12-31T23:59:59Z", "UTC", (), "date_out_of_range"),
        # local midnight in Paris on 1 January 1990 is still 1989 in UTC
        ("1990-01-01 00:00:00", "Europe/Paris", (), "date_out_of_range"),
        ("1900-01-01 00:00:00", "America/Sao_Paulo", (), "date_out_of_range"),
        ("2999-01-01 00:00:00", "America/Sao_Paulo", (), "date_out_of_range"),
        ("01/01/1900 10:00", "America/Sao_Paulo", CANONICAL_FORMATS, "date_out_of_range"),
        ("yesterday", "UTC", CANONICAL_FORMATS, "invalid_date"),
        ("2026-02-30 10:00:00", "UTC", (), "invalid_date"),
        ("2026-13-01 10:00:00", "UTC", (), "invalid_date"),
        ("32/01/2026 10:00", "UTC", CANONICAL_FORMATS, "invalid_date"),
        ("29/11/2026 10:15", "UTC", (), "invalid_date"),  # not ISO, and no formats given
        ("12-01-2010 08:26", "Europe/London", CANONICAL_FORMATS, "invalid_date"),
        ("2026-11-01T10:00:00+25:00", "UTC", (), "invalid_date"),
        ("", "UTC", (), "missing_value"),
        ("   ", "UTC", (), "missing_value"),
        ("2026-11-01 10:00:00", "Mars/Olympus", (), "unknown_time_zone"),
        ("2026-11-01 10:00:00", "", (), "unknown_time_zone"),
        ("2026-11-01 10:00:00", "../../etc/passwd", (), "unknown_time_zone"),
        pytest.param(
            "9999-12-31 23:59:59",
            "America/Sao_Paulo",
            (),
            "date_out_of_range",
            id="year-9999-local",
        ),
        pytest.param(
            "0001-01-01T00:00:00+01:00",
            "UTC",
            (),
            "date_out_of_range",
            id="year-1-with-offset",
        ),
    ],
)
def test_event_time_refusals(text, time_zone, formats, reason) -> None:
    assert reason_of(parse_event_time, text, time_zone, formats).reason == reason


def test_event_time_future_slack_is_one_day() -> None:
    soon = datetime.now(UTC) + timedelta(hours=12)
    assert parse_event_time(soon.isoformat(), "UTC", ()) == soon
    later = datetime.now(UTC) + timedelta(days=2)
    assert reason_of(parse_event_time, later.isoformat(), "UTC", ()).reason == "date_out_of_range"


def test_event_time_detail_lists_the_formats_tried() -> None:
    error = reason_of(parse_event_time, "yesterday", "UTC", CANONICAL_FORMATS)
    assert "ISO-8601" in error.detail
    assert "%d/%m/%Y %H:%M" in error.detail


def test_zone_names() -> None:
    assert zone("America/Sao_Paulo").key == "America/Sao_Paulo"
    assert reason_of(zone, "Mars/Olympus").reason == "unknown_time_zone"


def test_zone_that_is_a_folder_of_zones_is_unknown() -> None:
    assert reason_of(zone, "America").reason == "unknown_time_zone"


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "case", "expected"),
    [
        ("  Café  ", "keep", "Café"),
        ("a   b\t\tc", "keep", "a b c"),
        ("line\nbreak", "keep", "line break"),
        ("\u00a0nbsp\u00a0", "keep", "nbsp"),
        ("sku-1", "upper", "SKU-1"),
        ("LOJA", "lower", "loja"),
        ("white hanging heart", "title", "White Hanging Heart"),
        ("Mixed Case", "keep", "Mixed Case"),
        ("", "keep", ""),
    ],
)
def test_clean_text(text: str, case: str, expected: str) -> None:
    assert clean_text(text, "sku", case) == expected


def test_clean_text_folds_line_breaks_of_multi_line_fields() -> None:
    # A quoted CSV field may span lines; CRLF files leave a carriage return in it.
    assert clean_text("Caneca\r\nazul", "product_name") == "Caneca azul"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x1f", "\x7f", "\ud800"])
def test_clean_text_refuses_control_characters(control: str) -> None:
    error = reason_of(clean_text, f"ab{control}c", "product_name")
    assert error.reason == "control_characters"
    assert "product_name" in error.detail


def test_clean_text_length_limits() -> None:
    assert clean_text("x" * 64, "sku") == "x" * 64
    assert reason_of(clean_text, "x" * 65, "sku").reason == "value_too_long"
    # the limit applies to the cleaned text, not to the padding around it
    assert clean_text("  " + "x" * 64 + "  ", "sku") == "x" * 64
    assert clean_text("a" + " " * 100 + "b", "sku") == "a b"
    assert clean_text("x" * 200, "product_name") == "x" * 200
    error = reason_of(clean_text, "x" * 201, "product_name")
    assert error.reason == "value_too_long"
    assert "201" in error.detail and "200" in error.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("São Paulo", "sao-paulo"),
        ("United Kingdom", "united-kingdom"),
        ("  Rio de Janeiro!! ", "rio-de-janeiro"),
        ("EIRE", "eire"),
        ("Belém / PA", "belem-pa"),
        ("Loja 01", "loja-01"),
    ],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17850.0", "17850"),
        ("17850.00", "17850"),
        ("17850.", "17850"),
        ("17850", "17850"),
        ("17850.5", "17850.5"),
        ("abc.0", "abc.0"),
        ("C-1.0", "C-1.0"),
        ("", ""),
    ],
)
def test_integer_text(text: str, expected: str) -> None:
    assert integer_text(text) == expected


# --- ids -----------------------------------------------------------------------------------


def test_pseudonymize_is_stable_keyed_and_opaque() -> None:
    ref = pseudonymize("17850", b"key-one")
    assert ref == pseudonymize("17850", b"key-one")
    assert re.fullmatch(r"c-[0-9a-f]{24}", ref)
    assert "17850" not in ref
    assert ref != pseudonymize("17850", b"key-two")
    assert ref != pseudonymize("17851", b"key-one")


@settings(max_examples=100, deadline=None, database=None)
@given(customer=st.text(st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=30))
def test_pseudonym_never_contains_the_id(customer: str) -> None:
    ref = pseudonymize(customer, b"k")
    assert customer not in ref
    assert ref == pseudonymize(customer, b"k")


def test_stable_id() -> None:
    first = stable_id("store", "order", 1)
    assert first == stable_id("store", "order", 1)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != stable_id("order", "store", 1)
    assert stable_id("a", "b") != stable_id("ab")
    assert stable_id("a", "b") != stable_id("a b")
    assert stable_id("a", None) == stable_id("a", "")
    assert stable_id("a", 1) == stable_id("a", "1")
    assert stable_id("text") == hashlib.blake2b(b"text", digest_size=16).hexdigest()
    assert stable_id("a", "b") == hashlib.blake2b(b"a\x1fb", digest_size=16).hexdigest()
