"""An in-process sink: ``dataapp ingest --dry-run`` validates files without a broker with it,
and unit tests read what the pipeline produced from it."""

from __future__ import annotations

from collections.abc import Sequence

from app.records import Rejection, Sale


class MemorySink:
    def __init__(self) -> None:
        self.sales: list[Sale] = []
        self.rejections: list[Rejection] = []
        self._line_ids: set[str] = set()
        self._rejection_ids: set[str] = set()
        self._pending: tuple[list[Sale], list[Rejection]] = ([], [])

    async def known_ids(self, line_ids: Sequence[str]) -> set[str]:
        return {line_id for line_id in line_ids if line_id in self._line_ids}

    async def submit(self, sales: list[Sale], rejections: list[Rejection]) -> None:
        self._pending = (sales, rejections)

    async def confirm(self) -> None:
        sales, rejections = self._pending
        self.sales.extend(sales)
        self._line_ids.update(line.line_id for sale in sales for line in sale.lines)
        for rejection in rejections:
            if rejection.rejection_id not in self._rejection_ids:
                self._rejection_ids.add(rejection.rejection_id)
                self.rejections.append(rejection)
        self._pending = ([], [])

    @property
    def line_count(self) -> int:
        return sum(len(sale.lines) for sale in self.sales)
