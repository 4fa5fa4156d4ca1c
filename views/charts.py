"""What the dashboards' charts show, as pure functions: which buckets a period has (every one
of them, so a quiet day is a zero and not a missing bar), how each bucket is labelled in the
reader's language, the KPI cards' sparklines, and the money axis.

The API answers only the buckets that had sales, labelled as sortable ISO strings (hour
``2026-11-29T14``, day ``2026-11-29``, month ``2026-11``); the pages turn them into what a
person reads: ``29/11``, ``14h``, ``dez. 2026``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from babel.dates import format_skeleton

from views import i18n
from views.i18n import resolve_locale
from views.periods import Span, average_ticket_cents

Grain = Literal["hour", "day", "week", "month"]
SERIES_FIGURES = ("revenue_cents", "margin_cents", "orders", "units")
"""The figures of a series that add up bucket by bucket (an order counts on the day of its
first line, as in the API)."""
MONTHLY_AFTER_DAYS = 92
"""Past about three months a daily chart has too many bars to read on a phone."""


def grain_for(span: Span) -> Grain:
    """The natural grain of a period's chart: hours for one day, months for long ranges."""
    if span.days == 1:
        return "hour"
    if span.days > MONTHLY_AFTER_DAYS:
        return "month"
    return "day"


def api_grain(grain: Grain) -> Literal["hour", "day", "month"]:
    """The API's granularity for a chart's grain (weeks are summed from days here)."""
    return "day" if grain == "week" else grain


def buckets(span: Span, grain: Grain) -> list[str]:
    """Every bucket of ``span`` at ``grain``, in order, labelled as the API labels them
    (weeks by their Monday)."""
    if grain == "hour":
        return [f"{day.isoformat()}T{hour:02d}" for day in _days(span) for hour in range(24)]
    if grain == "day":
        return [day.isoformat() for day in _days(span)]
    if grain == "week":
        mondays = {day - timedelta(days=day.weekday()) for day in _days(span)}
        return [monday.isoformat() for monday in sorted(mondays)]
    return sorted({day.isoformat()[:7] for day in _days(span)})


def _days(span: Span) -> list[date]:
    return [span.first + timedelta(days=n) for n in range(span.days)]


def bucket_of(api_bucket: str, grain: Grain) -> str:
    """The chart bucket an API bucket falls in (a day's week is its Monday)."""
    if grain != "week":
        return api_bucket
    day = date.fromisoformat(api_bucket[:10])
    return (day - timedelta(days=day.weekday())).isoformat()


@dataclass(frozen=True, slots=True)
class Series:
    """A period's figures bucket by bucket, zeros included."""

    grain: Grain
    buckets: tuple[str, ...]
    figures: Mapping[str, tuple[int, ...]]
    """``SERIES_FIGURES`` name -> one value per bucket."""

    def values(self, name: str) -> tuple[int, ...]:
        if name == "average_ticket":
            return tuple(
                average_ticket_cents(revenue, orders)
                for revenue, orders in zip(
                    self.figures["revenue_cents"], self.figures["orders"], strict=True
                )
            )
        return self.figures[name]


def dense_series(points: Sequence[Mapping[str, Any]], span: Span, grain: Grain) -> Series:
    """The API's points (only buckets with sales) spread over every bucket of ``span``."""
    labels = buckets(span, grain)
    position = {label: n for n, label in enumerate(labels)}
    figures = {name: [0] * len(labels) for name in SERIES_FIGURES}
    for point in points:
        n = position.get(bucket_of(str(point["bucket"]), grain))
        if n is None:
            continue  # a bucket outside the period (the API answers whole months)
        for name in SERIES_FIGURES:
            figures[name][n] += int(point[name])
    return Series(grain, tuple(labels), {k: tuple(v) for k, v in figures.items()})


def bucket_label(bucket: str, grain: Grain, locale: str, with_year: bool = False) -> str:
    """A bucket as a person reads it on an axis: ``14h`` / ``2 PM``, ``29/11`` / ``Nov 29``,
    ``sem. 24/11`` / ``wk Nov 24``, ``dez. 2026`` / ``Dec 2026``."""
    name = resolve_locale(locale)
    if grain == "hour":
        hour = int(bucket[11:13])
        if name == "pt_BR":
            return f"{hour}h"
        return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"
    if grain == "month":
        first = date.fromisoformat(f"{bucket}-01")
        return _plain(format_skeleton("yMMM", first, locale=name))
    day = date.fromisoformat(bucket)
    if with_year:
        shown = _plain(format_skeleton("yMd", day, locale=name))
    else:
        shown = i18n.short_day(day, name)
    if grain == "week":
        return f"{'sem.' if name == 'pt_BR' else 'wk'} {shown}"
    return shown


def axis_labels(series: Series, locale: str) -> list[str]:
    """Unique, readable labels for the buckets of a series (the year shown when the series
    crosses one, so two 29/11 are never the same bar)."""
    years = {bucket[:4] for bucket in series.buckets}
    with_year = len(years) > 1 and series.grain in ("day", "week")
    return [bucket_label(b, series.grain, locale, with_year) for b in series.buckets]


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def sparkline_svg(values: Sequence[int], label: str, width: int = 120, height: int = 28) -> str:
    """A small line of ``values`` as inline SVG (no script, scales with its card).

    Empty when there are fewer than two points: one point is not a trend."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    spread = (high - low) or 1
    step = width / (len(values) - 1)
    points = " ".join(
        f"{n * step:.1f},{height - 2 - (value - low) / spread * (height - 4):.1f}"
        for n, value in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{label}">'
        f'<polyline fill="none" stroke="#1f5fbf" stroke-width="1.6" '
        f'vector-effect="non-scaling-stroke" points="{points}"/></svg>'
    )


def money_axis_code(locale: str) -> str:
    """A Bokeh tick formatter's JavaScript: reais in the reader's locale (``R$ 40 mil`` /
    ``R$40K`` for large ticks, so the axis stays narrow on a phone)."""
    tag = "pt-BR" if resolve_locale(locale) == "pt_BR" else "en-US"
    return (
        f"const big = Math.abs(tick) >= 10000;"
        f"return new Intl.NumberFormat('{tag}', {{style: 'currency', currency: 'BRL', "
        f"notation: big ? 'compact' : 'standard', maximumFractionDigits: big ? 1 : 0}})"
        f".format(tick).replace(/\\u00a0/g, ' ');"
    )


def period_dates_label(span: Span, locale: str) -> str:
    """A period's days in words for a chart title: ``01/12/2026 – 04/12/2026``."""
    if span.days == 1:
        return i18n.day(span.first, locale)
    return f"{i18n.day(span.first, locale)} – {i18n.day(span.last, locale)}"
