"""Messages and locale formatting for the dashboards: pt-BR first, English second.

Every word a dashboard shows comes from ``views/locales/<locale>.json`` through ``text``, and
every figure goes through the formatters below, so that the two languages cannot drift apart
and a manager reading on a phone sees ``R$ 1.234,56`` where an English reader sees
``R$1,234.56``. The functions are pure (no Panel, no I/O beyond reading the two catalogues
once), so the views can call them anywhere and the tests can pin their exact output.

Babel does the locale work (grouping, decimal marks, currency and date patterns from CLDR).
Two house rules sit on top of it:

- no-break spaces (U+00A0, U+202F) that CLDR puts between ``R$`` and the number or before
  ``PM`` become plain spaces, so the text is the same whether a test, a screen reader or a
  copy-and-paste reads it;
- money is integer cents turned into ``Decimal`` (never ``float``), so a formatted figure is
  always exactly the cents the API sent.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import string
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from babel import Locale as BabelLocale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import NumberPattern, format_currency

Locale = Literal["pt_BR", "en"]
LOCALES: tuple[Locale, ...] = get_args(Locale)
DEFAULT_LOCALE: Locale = "pt_BR"

CURRENCY = "BRL"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"

# How a calendar day is written: Brazilians read 29/11/2026 at a glance, while the
# all-numeric English short form (11/29/26) is ambiguous, hence "Nov 29, 2026" there.
_DATE_STYLE: dict[Locale, str] = {"pt_BR": "short", "en": "medium"}
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})
_PLACEHOLDER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MINUS_SIGN = "\u2212"


def resolve_locale(locale: str | None) -> Locale:
    """The supported locale for whatever the caller has (a setting, a browser's ``en-US``).

    Exact names win; otherwise the language alone decides (``en_GB`` -> ``en``, ``pt`` ->
    ``pt_BR``); anything else falls back to pt-BR, the dashboards' first language, so a
    stray value never breaks a page.
    """
    if not locale:
        return DEFAULT_LOCALE
    name = locale.replace("-", "_")
    for known in LOCALES:
        if name == known:
            return known
    language = name.split("_", 1)[0].lower()
    for known in LOCALES:
        if known.split("_", 1)[0].lower() == language:
            return known
    return DEFAULT_LOCALE


def placeholders(message: str) -> frozenset[str]:
    """The ``{name}`` fields of a message; raises ValueError on anything but plain names.

    Format specs, conversions and attribute lookups (``{n:.2f}``, ``{x.y}``) are refused:
    numbers must reach ``text`` already formatted by ``money``/``number``/``percent`` so
    that each language writes them its own way.
    """
    names: set[str] = set()
    for _literal, field, spec, conversion in string.Formatter().parse(message):
        if field is None:
            continue
        if not _PLACEHOLDER.match(field) or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} in {message!r} is not a plain name")
        names.add(field)
    return frozenset(names)


def _parse_catalogue(raw: str, source: str) -> dict[str, str]:
    """A catalogue's JSON as a flat key -> text mapping, rejecting what json.loads forgives.

    A duplicated key would silently keep the last text, and a nested object or a number
    would only fail when a page shows it; both are caught here, when the catalogue loads.
    """

    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"{source}: key {key!r} appears twice")
            seen[key] = value
        return seen

    data = json.loads(raw, object_pairs_hook=no_duplicates)
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a catalogue is a JSON object of key -> text")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ValueError(f"{source}: {key!r} is not a text")
        placeholders(value)
    return data


@functools.cache
def catalogue(locale: str) -> Mapping[str, str]:
    """Every message of a locale, read once per process and read-only after that."""
    name = resolve_locale(locale)
    path = LOCALES_DIR / f"{name}.json"
    return MappingProxyType(_parse_catalogue(path.read_text(encoding="utf-8"), str(path)))


def text(key: str, locale: str, **params: object) -> str:
    """The message ``key`` in ``locale``, with its ``{name}`` placeholders filled.

    An unknown key raises KeyError rather than showing the key: a missing text is a bug
    to catch in tests, not something to put in front of a store manager. A placeholder
    without its parameter raises KeyError for the same reason; extra parameters are ignored.
    """
    messages = catalogue(locale)
    try:
        message = messages[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in the {resolve_locale(locale)} catalogue") from None
    return message.format_map(params)


def tour_steps(role: Literal["manager", "seller"], locale: str) -> list[tuple[str, str]]:
    """The first-visit tour of a role as (title, body) pairs, in order.

    The steps are ``tour.<role>.<n>.title``/``.body`` from 1 up to the first gap, so a
    step is added or removed in the catalogues alone, without touching the views.
    """
    messages = catalogue(locale)
    steps: list[tuple[str, str]] = []
    while f"tour.{role}.{len(steps) + 1}.title" in messages:
        n = len(steps) + 1
        steps.append((messages[f"tour.{role}.{n}.title"], messages[f"tour.{role}.{n}.body"]))
    return steps


@functools.cache
def _babel_locale(locale: Locale) -> BabelLocale:
    return BabelLocale.parse(locale)


def _plain_spaces(formatted: str) -> str:
    return formatted.translate(_NO_BREAK_SPACES)


def _with_decimals(
    pattern_kind: Literal["decimal", "percent"], locale: Locale, decimals: int
) -> NumberPattern:
    """The locale's own number or percent pattern with exactly ``decimals`` fraction digits.

    Starting from the locale's pattern (rather than writing ``#,##0.0%``) keeps whatever
    CLDR says about grouping and where the ``%`` goes.
    """
    if decimals < 0:
        raise ValueError(f"decimals must be 0 or more, not {decimals}")
    babel_locale = _babel_locale(locale)
    formats = (
        babel_locale.decimal_formats if pattern_kind == "decimal" else babel_locale.percent_formats
    )
    pattern = copy.copy(formats[None])
    pattern.frac_prec = (decimals, decimals)
    return pattern


def money(cents: int, locale: str) -> str:
    """Integer cents as reais: ``R$ 1.234,56`` (pt-BR), ``R$1,234.56`` (en), sign kept.

    The API's figures are integer cents; ``Decimal`` scaling keeps every cent exact at any
    size, where a float holds most cent amounts only approximately and loses whole cents
    past about 90 trillion reais.
    """
    amount = Decimal(cents).scaleb(-2)
    return _plain_spaces(
        format_currency(amount, CURRENCY, locale=_babel_locale(resolve_locale(locale)))
    )


def number(value: int | float, locale: str, decimals: int = 0) -> str:
    """A count or measure with the locale's grouping: ``1.234`` (pt-BR), ``1,234`` (en).

    Exactly ``decimals`` fraction digits are shown (rounded half to even, like Babel), so
    the figures of a column line up.
    """
    name = resolve_locale(locale)
    pattern = _with_decimals("decimal", name, decimals)
    return _plain_spaces(pattern.apply(value, _babel_locale(name)))


def percent(fraction: float | Decimal, locale: str, decimals: int = 1) -> str:
    """A fraction (0.123) as a percentage: ``12,3%`` (pt-BR), ``12.3%`` (en)."""
    name = resolve_locale(locale)
    pattern = _with_decimals("percent", name, decimals)
    return _plain_spaces(pattern.apply(fraction, _babel_locale(name)))


def signed_change(fraction: float | None, locale: str, decimals: int = 1) -> str:
    """A change against the previous period, always signed: ``+12,3%``, ``−4,0%``.

    The sign is explicit because "12,3%" next to a KPI does not say up or down; the minus is
    U+2212, as wide as the plus, so the column does not jump. A change that rounds to zero
    shows no sign (``0,0%``). None means there is no previous figure to compare with (a new
    store, a first day), which the catalogue words as ``common.no_comparison``; so do NaN and
    infinity, what a division by a previous figure of zero gives.
    """
    if fraction is None or not math.isfinite(fraction):
        return text("common.no_comparison", locale)
    step = Decimal(1).scaleb(-(decimals + 2))
    rounded = Decimal(str(fraction)).quantize(step, rounding=ROUND_HALF_EVEN)
    magnitude = percent(abs(rounded), locale, decimals)
    if rounded > 0:
        return f"+{magnitude}"
    if rounded < 0:
        return f"{_MINUS_SIGN}{magnitude}"
    return magnitude


def day(d: date, locale: str) -> str:
    """A calendar day: ``29/11/2026`` (pt-BR), ``Nov 29, 2026`` (en)."""
    name = resolve_locale(locale)
    return _plain_spaces(format_date(d, _DATE_STYLE[name], locale=_babel_locale(name)))


def day_time(dt: datetime, locale: str) -> str:
    """A sale's moment in the live feed: ``29/11/2026 14:05`` (pt-BR), ``Nov 29, 2026, 2:05 PM``.

    The wall time of ``dt`` is shown as it is (no time-zone conversion): the caller passes
    the store's local time, which is what the people in the store see on the till.
    """
    name = resolve_locale(locale)
    babel_locale = _babel_locale(name)
    day_part = format_date(dt.date(), _DATE_STYLE[name], locale=babel_locale)
    time_part = format_time(dt.time(), "short", locale=babel_locale)
    joined = babel_locale.datetime_formats[_DATE_STYLE[name]].format(time_part, day_part)
    return _plain_spaces(joined)


def clock(dt: datetime, locale: str, seconds: bool = False) -> str:
    """A time of day: ``14:05`` (pt-BR), ``2:05 PM`` (en); with ``seconds``, ``14:05:09``
    and ``2:05:09 PM``."""
    name = resolve_locale(locale)
    style = "medium" if seconds else "short"
    return _plain_spaces(format_time(dt.time(), style, locale=_babel_locale(name)))


def short_day(d: date, locale: str) -> str:
    """A day of this year without the year: ``03/12`` (pt-BR), ``Dec 3`` (en)."""
    name = resolve_locale(locale)
    return _plain_spaces(format_skeleton("Md" if name == "pt_BR" else "MMMd", d, locale=name))
