"""The ingestion pipeline: rows in, validated sales and dead letters out, every row counted.

It knows nothing of the CLI or of Kafka: it reads :class:`~app.ingest.readers.Source`s (or
records handed to it by the HTTP endpoint), parses rows with a compiled mapping, and hands
batches to a :class:`SalesSink`. The sink decides what "already accepted" means and makes a
batch durable; the pipeline only guarantees that each row it read ends up counted exactly once
as accepted, duplicate or rejected.

Batches are pipelined: batch *n + 1* is parsed while the broker acknowledges batch *n*, and
the pipeline waits for that acknowledgement only before submitting batch *n + 1*.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from app.ingest.mapping import LineParser, OrderHeader, ParsedLine, SalesMapping
from app.ingest.normalize import FieldError, stable_id
from app.ingest.readers import RawRow, Source, read_rows
from app.records import Rejection, Sale, SaleLine

BATCH_ROWS = 5_000
MAX_LINES_PER_SALE = 1_000  # about 300 KB of JSON


def tune_gc_for_ingest() -> None:
    """Process-wide, for entry points that run ingestion: collect young objects less often.

    Ingestion allocates several short-lived objects per row, which makes the cyclic collector
    run every few hundred rows; a larger first threshold makes ingestion a few per cent faster
    (docs/benchmarks.md has the figures before and after). Ingestion forms no reference cycles
    that would wait longer for their memory because of it."""
    gc.set_threshold(100_000, 50, 100)


class SalesSink(Protocol):
    """Where accepted sales and rejections go. Implementations: Kafka (with a ledger), memory."""

    async def known_ids(self, line_ids: Sequence[str]) -> set[str]:
        """The ids among ``line_ids`` that an earlier batch or run already accepted."""
        ...

    async def submit(self, sales: list[Sale], rejections: list[Rejection]) -> None:
        """Start making a batch durable; ``confirm`` waits for it."""
        ...

    async def confirm(self) -> None:
        """Wait until everything submitted is durable; raise if it cannot be made so."""
        ...


class MissingColumnsError(ValueError):
    def __init__(self, source: str, missing: Sequence[str], header: Sequence[str]) -> None:
        self.source = source
        self.missing = tuple(missing)
        super().__init__(
            f"{source}: missing required column(s) {', '.join(self.missing)}; "
            f"the header has: {', '.join(header) or '(nothing)'}"
        )


@dataclass(slots=True)
class SourceFailure:
    source: str
    line_number: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line_number}: {self.message}"


@dataclass(slots=True)
class IngestSummary:
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    sales_messages: int = 0
    sources: int = 0
    failures: list[SourceFailure] = field(default_factory=list)
    first_rejections: list[Rejection] = field(default_factory=list)

    def add(self, other: IngestSummary) -> None:
        """Fold the summary of a later run into this one (a live stream sums its ticks)."""
        self.read += other.read
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.rejected_by_reason.update(other.rejected_by_reason)
        self.sales_messages += other.sales_messages
        self.sources += other.sources
        self.failures.extend(other.failures)

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.duplicates + self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "sales_messages": self.sales_messages,
            "sources": self.sources,
            "failures": [str(failure) for failure in self.failures],
        }


@dataclass(slots=True)
class _Batch:
    lines: list[ParsedLine] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    rows: int = 0


def rejection_for(row: RawRow, reason: str, detail: str) -> Rejection:
    # JSON escapes can smuggle lone surrogates into text; they cannot be encoded as UTF-8.
    raw = row.raw[:10_000].encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return Rejection(
        rejection_id=stable_id(row.source, row.index, row.line_number, row.part, reason, raw),
        source=row.source,
        line_number=row.line_number,
        reason=reason,
        detail=detail,
        raw=raw,
    )


def group_into_sales(lines: Iterable[ParsedLine]) -> list[Sale]:
    """Lines of the same order header become one Sale, in the order they were first seen."""
    orders: dict[OrderHeader, list[SaleLine]] = {}
    for parsed in lines:
        found = orders.get(parsed.header)
        if found is None:
            orders[parsed.header] = [parsed.line]
        else:
            found.append(parsed.line)
    # A huge order is sent in parts, each well under Kafka's 1 MiB message limit.
    return [
        Sale(
            store_id=header[0],
            order_id=header[1],
            seller_id=header[2],
            customer_ref=header[3],
            event_time=header[4],
            source_time_zone=header[5],
            channel=header[6],
            lines=tuple(sale_lines[start : start + MAX_LINES_PER_SALE]),
        )
        for header, sale_lines in orders.items()
        for start in range(0, len(sale_lines), MAX_LINES_PER_SALE)
    ]


class IngestPipeline:
    def __init__(
        self,
        mapping: SalesMapping,
        sink: SalesSink,
        pseudonym_key: bytes,
        batch_rows: int = BATCH_ROWS,
        on_bytes: Callable[[int], None] | None = None,
        keep_first_rejections: int = 20,
    ) -> None:
        self.mapping = mapping
        self.sink = sink
        self.parser: LineParser = mapping.parser(pseudonym_key)
        self.batch_rows = batch_rows
        self.on_bytes = on_bytes
        self.keep_first_rejections = keep_first_rejections

    def check_header(self, source: str, header: list[str]) -> list[str]:
        """Refuse a CSV whose header lacks a column the mapping needs, before any row is sent.

        Column names match exactly or, failing that, ignoring case; the header is returned
        with such names spelled as the mapping spells them."""
        wanted = self.mapping.columns()
        by_folded = {column.casefold(): column for column in wanted}
        respelled = [
            name if name in wanted else by_folded.get(name.casefold(), name) for name in header
        ]
        missing = [column for column in self.mapping.required_columns() if column not in respelled]
        if missing:
            raise MissingColumnsError(source, missing, header)
        return respelled

    def preflight(self, sources: Sequence[Source]) -> list[str]:
        """Header check of every file before anything of any of them is sent: the problems
        found (missing columns, a header that cannot be read), one message each."""
        problems = []
        for source in sources:
            if source.path is None:
                continue  # stdin is checked as it is read, still before its first row is sent

            def header_only(header: list[str], name: str = source.name) -> list[str]:
                self.check_header(name, header)
                raise _HeaderSeen

            try:
                for row in read_rows(source, self.mapping.source, on_header=header_only):
                    if row.fatal and row.problem:  # the file broke before its header was read
                        problems.append(f"{source.name}:{row.line_number}: {row.problem[1]}")
                    break
            except MissingColumnsError as error:
                problems.append(str(error))
            except _HeaderSeen:
                pass
        return problems

    async def ingest(self, sources: Sequence[Source]) -> IngestSummary:
        summary = IngestSummary()
        batch_ids: set[str] = set()
        pending_ids: set[str] = set()
        in_flight = False
        for source in sources:
            summary.sources += 1
            rows = self._rows_of(source, summary)
            for batch in self._batches(rows):
                summary.read += batch.rows
                accepted_lines = await self._dedupe(batch, batch_ids, pending_ids, summary)
                sales = group_into_sales(accepted_lines)
                self._count_rejections(batch.rejections, summary)
                summary.failures.extend(batch.failures)
                if in_flight:
                    await self.sink.confirm()
                    pending_ids.clear()
                pending_ids |= batch_ids
                batch_ids = set()
                await self.sink.submit(sales, batch.rejections)
                in_flight = True
                summary.accepted += len(accepted_lines)
                summary.sales_messages += len(sales)
        if in_flight:
            await self.sink.confirm()
        return summary

    async def ingest_records(self, records: list[Any], source_name: str) -> IngestSummary:
        """The same pipeline for records already decoded (the HTTP endpoint, the generator):
        one JSON line per record, so a dead letter's line number is the record's number."""
        data = b"\n".join(orjson.dumps(record) for record in records)
        return await self.ingest([Source(name=source_name, data=data)])

    def _rows_of(self, source: Source, summary: IngestSummary) -> Iterator[RawRow]:
        def on_header(header: list[str]) -> list[str]:
            return self.check_header(source.name, header)

        try:
            yield from read_rows(source, self.mapping.source, self.on_bytes, on_header)
        except MissingColumnsError as error:
            summary.failures.append(SourceFailure(source.name, 1, str(error)))

    def _batches(self, rows: Iterator[RawRow]) -> Iterator[_Batch]:
        batch = _Batch()
        parse = self.parser.parse
        for row in rows:
            batch.rows += 1
            if row.problem is not None:
                reason, detail = row.problem
                batch.rejections.append(rejection_for(row, reason, detail))
                if row.fatal:
                    message = f"file not read to its end: {detail}"
                    batch.failures.append(SourceFailure(row.source, row.line_number, message))
            else:
                try:
                    batch.lines.append(parse(row.fields or {}))
                except FieldError as error:
                    batch.rejections.append(rejection_for(row, error.reason, error.detail))
            if batch.rows >= self.batch_rows:
                yield batch
                batch = _Batch()
        if batch.rows:
            yield batch

    async def _dedupe(
        self, batch: _Batch, batch_ids: set[str], pending_ids: set[str], summary: IngestSummary
    ) -> list[ParsedLine]:
        if not self.mapping.dedupe:
            return batch.lines
        known = await self.sink.known_ids([parsed.line.line_id for parsed in batch.lines])
        accepted: list[ParsedLine] = []
        for parsed in batch.lines:
            line_id = parsed.line.line_id
            if line_id in known or line_id in batch_ids or line_id in pending_ids:
                summary.duplicates += 1
                continue
            batch_ids.add(line_id)
            accepted.append(parsed)
        return accepted

    def _count_rejections(self, rejections: list[Rejection], summary: IngestSummary) -> None:
        for rejection in rejections:
            summary.rejected += 1
            summary.rejected_by_reason[rejection.reason] += 1
            if len(summary.first_rejections) < self.keep_first_rejections:
                summary.first_rejections.append(rejection)


class _HeaderSeen(Exception):
    pass
