"""Small widgets of our own where Panel's do not fit a phone or a Brazilian reader."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import param
from panel.reactive import ReactiveHTML


class DateRange(ReactiveHTML):
    """A first and a last day as two native date inputs.

    The phone's own date picker is the one its owner knows, and the browser writes the date
    as its owner reads it (31/12/2026 in Brazil) with month names in that language; Panel's
    picker (flatpickr inside Bokeh) shows 2026-12-31 and English month names whatever the
    page's language."""

    first = param.String(default="", doc="ISO date")
    last = param.String(default="", doc="ISO date")
    first_label = param.String(default="")
    last_label = param.String(default="")

    _template = """
    <div class="date-range">
      <label><span id="first_caption">${first_label}</span>
        <input id="first" name="first" type="date" value="${first}"></input></label>
      <label><span id="last_caption">${last_label}</span>
        <input id="last" name="last" type="date" value="${last}"></input></label>
    </div>
    """
    _dom_events: ClassVar[dict[str, list[str]]] = {"first": ["change"], "last": ["change"]}
    _child_config: ClassVar[dict[str, str]] = {"first_label": "literal", "last_label": "literal"}

    _stylesheets: ClassVar[list[str]] = [
        """
        .date-range { display: flex; flex-wrap: wrap; gap: 12px; }
        .date-range label { display: flex; flex-direction: column; font-size: .9rem;
                            color: #1b1f24; }
        .date-range input { font-size: 1rem; padding: 6px 8px; border: 1px solid #8a94a1;
                            border-radius: 6px; min-height: 36px; }
        """
    ]

    def span(self) -> tuple[date, date] | None:
        """The days chosen, or None while either is empty or not a date."""
        try:
            return (date.fromisoformat(self.first), date.fromisoformat(self.last))
        except ValueError:
            return None
