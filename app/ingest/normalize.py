"""Pure parsers that turn source text into canonical values, or say precisely why not.

Each parser raises :class:`FieldError` with a stable ``reason`` code (what the summary and the
dead-letter topic count by) and a ``detail`` a person can act on. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_ABS_QUANTITY = 100_000
MAX_UNIT_PRICE_CENTS = 1_000_000_000  # R$ 10 million: above it, a unit mix-up, not a sale
MAX_TEXT_LENGTH = {"default": 64, "product_name": 200}
EARLIEST_EVENT = datetime(1990, 1, 1, tzinfo=UTC)
# Clocks of tills drift; a day of slack avoids rejecting a store whose clock runs ahead.
FUTURE_SLACK = timedelta(days=1)

# Tabs and line breaks are white space (folded below); other control characters and lone
# surrogates (which JSON escapes can produce) cannot be stored or shown safely.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Bounded digit counts: a quantity has at most 9 digits (the range check does the rest), and
# int() refuses texts over 4,300 digits with an error of its own.
_WHOLE_NUMBER = re.compile(r"[+-]?0*[0-9]{1,9}")
_DECIMAL_NUMBER = re.compile(r"([+-]?0*[0-9]{1,9})\.([0-9]{1,30})")
_HUGE_NUMBER = re.compile(r"[+-]?0*[1-9][0-9]{9,}(?:\.[0-9]*)?")
_SPACES = re.compile(r"\s+")
_CURRENCY = re.compile(r"^(?:R\$|US\$|\$|£|€|BRL|GBP|USD|EUR)\s*|\s*(?:R\$|£|€|BRL|GBP)$")
# ASCII digits only: \d would also take "٣", which int() then reads as 3.
_DOT_DECIMAL = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$|^\d+(?:\.\d+)?$|^\.\d+$", re.ASCII)
_COMMA_DECIMAL = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$|^\d+(?:,\d+)?$|^,\d+$", re.ASCII)


class FieldError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def clean_text(text: str, field: str, case: str = "keep") -> str:
    """Trim, fold inner runs of white space, refuse control characters and absurd lengths."""
    if _CONTROL.search(text):
        raise FieldError(
            "control_characters", f"{field} contains control characters or unencodable text"
        )
    cleaned = _SPACES.sub(" ", text.strip())
    limit = MAX_TEXT_LENGTH.get(field, MAX_TEXT_LENGTH["default"])
    if len(cleaned) > limit:
        raise FieldError("value_too_long", f"{field} has {len(cleaned)} characters (max {limit})")
    if case == "upper":
        return cleaned.upper()
    if case == "lower":
        return cleaned.lower()
    if case == "title":
        return cleaned.title()
    return cleaned


def slug(text: str) -> str:
    """ASCII, lower case, dashes: a stable id from a display name ("São Paulo" -> "sao-paulo")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def integer_text(text: str) -> str:
    """Ids exported through spreadsheets come back as floats: "17850.0" -> "17850"."""
    head, dot, tail = text.partition(".")
    if dot and head.isascii() and head.isdigit() and tail.strip("0") == "":
        return head
    return text


def parse_money_cents(text: str, decimal_separator: str = ".") -> int:
    """Exact conversion of a decimal amount to integer cents; never goes through float.

    Accepts thousands separators only in well-formed groups of three, so "1.234,56" in a
    dot-decimal feed is refused rather than read as 1.23456.
    """
    value = text.strip()
    if not value:
        raise FieldError("missing_value", "amount is empty")
    negative = value.startswith("-")
    if negative or value.startswith("+"):
        value = value[1:]
    value = _CURRENCY.sub("", value).replace(" ", "")
    if value.startswith("-") and not negative:  # "£-3.39"
        negative, value = True, value[1:]
    if not value and not negative:  # "R$" alone; a lone "-" is no amount either, below
        raise FieldError("missing_value", "amount is empty")
    pattern = _DOT_DECIMAL if decimal_separator == "." else _COMMA_DECIMAL
    if not pattern.match(value):
        other = _COMMA_DECIMAL if decimal_separator == "." else _DOT_DECIMAL
        if other.match(value) and any(mark in value for mark in ".,"):
            raise FieldError(
                "decimal_separator_mismatch",
                f"{text!r} is written with the other decimal separator than the mapping's "
                f"{decimal_separator!r}",
            )
        raise FieldError("invalid_money", f"{text!r} is not an amount")
    thousands = "," if decimal_separator == "." else "."
    whole, _, fraction = value.replace(thousands, "").partition(decimal_separator)
    if len(whole) > 15 or len(fraction) > 15:  # beyond any price; int() has limits of its own
        raise FieldError("amount_out_of_range", f"{text[:20]!r}... has too many digits")
    if len(fraction) > 2:
        if fraction[2:].strip("0"):
            raise FieldError("sub_cent_amount", f"{text!r} has fractions of a cent")
        fraction = fraction[:2]
    cents = int(whole or "0") * 100 + int(fraction.ljust(2, "0"))
    return -cents if negative else cents


def parse_quantity(text: str) -> int:
    value = text.strip()
    if len(value) > 40:  # int() refuses very long texts with an error of its own
        raise FieldError("invalid_quantity", f"{text[:20]!r}... is far too long for a quantity")
    # Regular expressions over ASCII digits, because int() would also take "1_000" and "٣".
    if _WHOLE_NUMBER.fullmatch(value):
        quantity = int(value)
    elif decimal := _DECIMAL_NUMBER.fullmatch(value):
        if decimal.group(2).strip("0"):
            raise FieldError("fractional_quantity", f"{text!r} is not a whole number")
        quantity = int(decimal.group(1))  # "6.0", as spreadsheets write whole numbers
    elif _HUGE_NUMBER.fullmatch(value):
        raise FieldError("quantity_out_of_range", f"{text[:20]!r}... is beyond ±{MAX_ABS_QUANTITY}")
    else:
        raise FieldError("invalid_quantity", f"{text!r} is not a number")
    if quantity == 0:
        raise FieldError("zero_quantity", "quantity is 0")
    if abs(quantity) > MAX_ABS_QUANTITY:
        raise FieldError("quantity_out_of_range", f"{quantity} is beyond ±{MAX_ABS_QUANTITY}")
    return quantity


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder: OSError
        raise FieldError("unknown_time_zone", f"{name!r} is not an IANA time zone") from None


def parse_event_time(text: str, time_zone: str, formats: tuple[str, ...]) -> datetime:
    """Parse a timestamp and return it in UTC.

    Text with an offset keeps its offset; naive text is local time of ``time_zone`` (an
    ambiguous hour at a daylight-saving change resolves to the first occurrence, fold=0).
    ISO-8601 is always tried first, then the mapping's ``formats`` in order.
    """
    value = text.strip()
    if not value:
        raise FieldError("missing_value", "event time is empty")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for date_format in formats:
            try:
                parsed = datetime.strptime(value, date_format)
                break
            except ValueError:
                continue
    if parsed is None:
        tried = ", ".join(("ISO-8601", *formats))
        raise FieldError("invalid_date", f"{text!r} matches none of: {tried}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(time_zone))
    try:
        moment = parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 shifted out of range
        raise FieldError("date_out_of_range", f"{text!r} is before 1990 or in the future") from None
    if moment < EARLIEST_EVENT or moment > datetime.now(UTC) + FUTURE_SLACK:
        raise FieldError("date_out_of_range", f"{text!r} is before 1990 or in the future")
    return moment


def mac_key(secret: bytes) -> bytes:
    """BLAKE2b takes keys of up to 64 bytes; a longer secret is hashed down, not cut."""
    return secret if len(secret) <= 64 else hashlib.blake2b(secret).digest()


def pseudonymize(customer_id: str, key: bytes) -> str:
    """A stable reference that cannot be turned back into the customer id without the key.

    Keyed BLAKE2b is a MAC in its own right (no HMAC construction needed) and several times
    faster than HMAC-SHA256, which matters once per line."""
    digest = hashlib.blake2b(customer_id.encode(), key=mac_key(key), digest_size=12).hexdigest()
    return f"c-{digest}"


def stable_id(*parts: object) -> str:
    """128-bit id of the parts, joined by a separator that cleaned text cannot contain."""
    text = (
        parts[0]
        if len(parts) == 1
        else "\x1f".join("" if part is None else str(part) for part in parts)
    )
    return hashlib.blake2b(str(text).encode(), digest_size=16).hexdigest()
