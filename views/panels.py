"""What the suggestion panels (``views/cross_sell.py``, ``margins.py``, ``trends.py``) share:
a measure with its help on hover or long-press, a note, and ``Throttled``, the last answer of
a costly read asked again at most once in a while."""

from __future__ import annotations

import html
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Translate = Callable[..., str]
T = TypeVar("T")

REFETCH_SECONDS = 60.0
"""How often a page asks a costly answer again, at most (a history query, or an answer that
changes only when a day closes)."""


def measure(help_text: str, value: str, css: str) -> str:
    """A measure with its explanation on hover or long-press, as the KPI cards' labels."""
    return (
        f'<span class="{css}" title="{html.escape(help_text)}">{html.escape(value)} '
        f'<span class="help-mark" aria-hidden="true">?</span></span>'
    )


def note(key: str, t: Translate, id_: str, **params: object) -> str:
    return f'<p class="note" id="{id_}">{html.escape(t(key, **params))}</p>'


class Throttled(Generic[T]):
    """The last answer of a costly read, asked again at most every ``seconds``: between two
    asks, ``get`` gives the answer kept. A read that fails (None) keeps the answer before it
    and is tried again only after ``seconds`` too."""

    def __init__(
        self,
        read: Callable[[], Awaitable[T | None]],
        seconds: float = REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.seconds = seconds
        self.clock = clock
        self.answer: T | None = None
        self.asked_at: float | None = None
        self.reads = 0

    def due(self) -> bool:
        return self.asked_at is None or self.clock() - self.asked_at >= self.seconds

    async def get(self) -> T | None:
        if self.due():
            # Marked before the read: a refresh meanwhile gets the answer kept.
            self.asked_at = self.clock()
            self.reads += 1
            answer = await self.read()
            if answer is not None:
                self.answer = answer
        return self.answer
