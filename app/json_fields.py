"""How refusals of a JSON document (a plan, an alert rule) show the value at fault."""

from __future__ import annotations

import json
from decimal import Decimal


def show(value: object) -> str:
    """A value as the person who sent the JSON wrote it, shortened."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Decimal):
        text = repr(decimal_text(value))
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def decimal_text(value: Decimal) -> str:
    """Positional notation: ``str()`` would write 1E-7, which the parser refuses."""
    return f"{value:f}"
