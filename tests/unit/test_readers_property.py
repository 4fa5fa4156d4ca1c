"""Whatever the bytes, ingestion ends with a balanced summary and never raises.

Arbitrary bytes rarely get past a CSV header, so most examples are built near-valid (a canonical
CSV, JSON Lines or JSON array) and then corrupted: random cells, quotes, delimiters, newlines,
bytes that are not UTF-8, truncation, gzip cut short. Each example runs twice through a fresh
``MemorySink``; the second run must accept nothing.

The pools include the inputs that once escaped as exceptions (years 1 and 9999, a time zone
that names a folder, "1_000", a carriage return inside the header), so the properties guard
against their return.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest.mapping import load_mapping
from app.ingest.memory import MemorySink
from app.ingest.pipeline import IngestPipeline, IngestSummary
from app.ingest.readers import Source
from app.records import CANONICAL_COLUMNS

KEY = b"property-key"
MAPPING = load_mapping("canonical")
REASON = re.compile(r"[a-z][a-z0-9_]*")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

COLUMNS = CANONICAL_COLUMNS
OPTIONAL = {"customer_id", "time_zone", "channel", "product_name", "unit_cost", "discount"}
# Values the canonical mapping accepts, and values it refuses.
GOOD: dict[str, list[str]] = {
    "order_id": ["O1", "O2", "O3"],
    "store_id": ["loja-01", "São Paulo"],
    "seller_id": ["v1", "v2"],
    "customer_id": ["", "C1", "17850.0"],
    "event_time": [
        "2026-11-01 10:00:00",
        "29/11/2025 10:15",
        "01/02/2020 10:00:30",
        "2024-03-10T12:00:00Z",
        "2026-11-01T10:00:00-03:00",
        "2026-10-25 01:30:00",
    ],
    "time_zone": ["", "UTC", "Europe/London", "America/Sao_Paulo"],
    "channel": ["", "loja", "ONLINE"],
    "sku": ["a-1", "B-2", "POST"],
    "product_name": ["", "Café", "Açúcar", 'Monitor 24"'],
    "quantity": ["1", "2", "-1", "6.0", "12"],
    "unit_price": ["10.50", "0.29", "19.99", "£3.39", "0", "1234.5"],
    "unit_cost": ["", "4.00"],
    "discount": ["", "0.50", "0"],
}
BAD: dict[str, list[str]] = {
    "order_id": [""],
    "store_id": ["", "X" * 65],
    "seller_id": ["  "],
    "customer_id": ["C\x07"],
    "event_time": [
        "1900-01-01 00:00:00",
        "2999-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "0001-01-01T00:00:00+01:00",
        "2026-02-30 10:00:00",
        "ontem",
        "",
    ],
    "time_zone": ["Mars/Olympus", "Etc/Nowhere", "America"],
    "channel": ["\x1b[31m"],
    "sku": ["", "S" * 65],
    "product_name": ["N" * 201, "a\x00b"],
    "quantity": ["0", "1.5", "dois", "100001", "", "true", "1_000", "٣"],
    "unit_price": ["1.234,56", "-1.00", "1.005", "R$ 10,00", "10000000.01", "", "[1]"],
    "unit_cost": ["-1", "x", "1.001"],
    "discount": ["100000.00", "-1", "0,5"],
}
NASTY = [
    '"',
    '""',
    '"x',
    'x"y',
    ",",
    ";",
    "\t",
    "|",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\x07",
    "\x7f",
    "   ",
    "X" * 70,
    "\ufeff",
    "{",
    "[",
]


def run(data: bytes, name: str, batch_rows: int) -> tuple[IngestSummary, IngestSummary, MemorySink]:
    sink = MemorySink()

    async def twice() -> tuple[IngestSummary, IngestSummary]:
        pipeline = IngestPipeline(MAPPING, sink, KEY, batch_rows=batch_rows)
        first = await pipeline.ingest([Source(name=name, data=data)])
        again = IngestPipeline(MAPPING, sink, KEY, batch_rows=batch_rows)
        second = await again.ingest([Source(name=name, data=data)])
        return first, second

    first, second = asyncio.run(twice())
    return first, second, sink


def check(data: bytes, name: str, batch_rows: int = 5_000) -> None:
    first, second, sink = run(data, name, batch_rows)
    for summary in (first, second):
        assert summary.read == summary.accepted + summary.duplicates + summary.rejected
        assert summary.balanced
        assert summary.rejected == sum(summary.rejected_by_reason.values())
        assert summary.sources == 1
        assert len(summary.failures) <= 1
        for rejection in summary.first_rejections:
            assert REASON.fullmatch(rejection.reason)
            assert rejection.detail
    # the sink holds exactly what the first run accepted, with integer money
    assert sink.line_count == first.accepted
    line_ids = [item.line_id for sale in sink.sales for item in sale.lines]
    assert len(line_ids) == len(set(line_ids))
    for sale in sink.sales:
        assert sale.lines
        assert sale.event_time.utcoffset() is not None
        assert not sale.event_time.utcoffset()
        for item in sale.lines:
            assert type(item.quantity) is int and item.quantity != 0
            assert type(item.unit_price_cents) is int and item.unit_price_cents >= 0
            assert type(item.discount_cents) is int and item.discount_cents >= 0
            assert item.unit_cost_cents is None or type(item.unit_cost_cents) is int
    assert first.sales_messages <= first.accepted
    # dead letters: a reason code, a detail, where it came from
    assert len(sink.rejections) == first.rejected, "every rejection reaches the sink, once"
    for rejection in sink.rejections:
        assert REASON.fullmatch(rejection.reason)
        assert rejection.detail
        assert rejection.source == name
        assert rejection.line_number >= 1
    rejected_at = {(r.source, r.line_number) for r in sink.rejections}
    for failure in first.failures:
        if "missing required column" in failure.message:
            assert first.read == 0  # a refused header stops the file before any row
        else:
            assert "file not read to its end" in failure.message
            assert (failure.source, failure.line_number) in rejected_at
    # the same bytes again: nothing new, everything counted the same way
    assert second.accepted == 0
    assert second.read == first.read
    assert second.rejected == first.rejected
    assert second.duplicates == first.accepted + first.duplicates
    assert len(second.failures) == len(first.failures)


# --- strategies ----------------------------------------------------------------------------

NAMES = st.sampled_from(["x.csv", "x.tsv", "x.jsonl", "x.json", "x.csv.gz", "x.json.gz", "-"])
BATCH = st.sampled_from([1, 3, 5_000])


@st.composite
def cell(draw: st.DrawFn, column: str, clean: bool) -> str:
    """Mostly a good value; in a dirty row, sometimes a refused value or plain noise."""
    roll = 0 if clean else draw(st.integers(0, 9))
    if roll < 7:
        return draw(st.sampled_from(GOOD[column]))
    if roll < 9:
        return draw(st.sampled_from(BAD[column]))
    return draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=12)))


def sometimes(chance: int) -> st.SearchStrategy[bool]:
    """True once in ``chance`` draws."""
    return st.integers(0, chance - 1).map(lambda n: n == 0)


@st.composite
def corrupted(draw: st.DrawFn, text: str) -> bytes:
    """Text with random edits, encoded with random non-UTF-8 bytes, maybe gzipped and cut."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if edit == "insert":
            noise = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)))
            text = text[:at] + noise + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        else:
            end = draw(st.integers(at, len(text)))
            text = text[:end] + text[at:end] + text[end:]
    if draw(sometimes(4)):
        text = text.replace("\n", "\r\n")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "utf-8-sig"]))
    data = text.encode(encoding, errors="replace")
    if draw(sometimes(4)):
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9", b"\x80\x80"])) + data[at:]
        )
    if draw(sometimes(5)):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(sometimes(4)):
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def near_valid_csv(draw: st.DrawFn) -> bytes:
    columns = [c for c in COLUMNS if c not in OPTIONAL or draw(st.booleans())]
    columns = draw(st.permutations(columns))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 8))):
        if rows and draw(sometimes(5)):
            rows.append(draw(st.sampled_from(rows)))  # an exact duplicate
            continue
        clean = draw(st.booleans())
        rows.append([draw(cell(column, clean)) for column in columns])
    for cells in rows:
        if draw(sometimes(4)):
            out.write(delimiter.join(cells) + "\n")  # naive export: no quoting at all
        else:
            writer.writerow(cells)
        if draw(sometimes(6)):
            out.write("\n")
    return draw(corrupted(out.getvalue()))


@st.composite
def json_value(draw: st.DrawFn, column: str, clean: bool) -> Any:
    roll = 0 if clean else draw(st.integers(0, 9))
    if roll < 6:
        return draw(st.sampled_from(GOOD[column]))
    if roll < 7 and column in ("quantity", "unit_price", "unit_cost", "discount"):
        return draw(st.one_of(st.integers(1, 50), st.sampled_from([0.29, 19.99, 2.0, 10])))
    if roll < 8:
        return draw(st.sampled_from(BAD[column]))
    return draw(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(10**6), 10**6),
            st.floats(allow_nan=False, allow_infinity=False),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
            st.text(max_size=8),
        )
    )


LINE_KEYS = ("sku", "product_name", "quantity", "unit_price", "unit_cost", "discount")


@st.composite
def json_record(draw: st.DrawFn) -> Any:
    clean = draw(st.booleans())
    keys = [c for c in COLUMNS if (c not in OPTIONAL and clean) or draw(st.integers(0, 9)) > 0]
    record = {key: draw(json_value(key, clean)) for key in keys}
    if draw(sometimes(4)):
        for key in LINE_KEYS:
            record.pop(key, None)
        line = st.fixed_dictionaries({key: json_value(key, clean) for key in LINE_KEYS[:4]})
        record["lines"] = (
            draw(st.lists(line, min_size=1, max_size=3))
            if clean
            else draw(st.one_of(st.lists(st.one_of(line, st.integers()), max_size=3), st.text()))
        )
    if not clean and draw(sometimes(8)):
        return draw(st.sampled_from([[record], "text", 1, None]))
    return record


@st.composite
def near_valid_jsonl(draw: st.DrawFn) -> bytes:
    records = draw(st.lists(json_record(), max_size=6))
    if records and draw(sometimes(4)):
        records.append(records[0])
    lines = [json.dumps(record, ensure_ascii=draw(st.booleans())) for record in records]
    return draw(corrupted("\n".join(lines) + "\n"))


@st.composite
def near_valid_json_array(draw: st.DrawFn) -> bytes:
    records = draw(st.lists(json_record(), max_size=5))
    text = json.dumps(records, indent=draw(st.sampled_from([None, 1])))
    return draw(corrupted(text))


@st.composite
def truncated_gzip(draw: st.DrawFn) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for _ in range(draw(st.integers(1, 30))):
        writer.writerow([draw(st.sampled_from(GOOD[column])) for column in COLUMNS])
    packed = gzip.compress(out.getvalue().encode())
    return packed[: draw(st.one_of(st.integers(0, len(packed)), st.just(len(packed))))]


# --- properties ----------------------------------------------------------------------------


@SETTINGS
@given(data=st.binary(max_size=3_000), name=NAMES)
def test_arbitrary_bytes(data: bytes, name: str) -> None:
    check(data, name)


@SETTINGS
@given(body=st.binary(max_size=400), name=NAMES)
def test_arbitrary_bytes_behind_a_canonical_header(body: bytes, name: str) -> None:
    check(",".join(COLUMNS).encode() + b"\n" + body, name)


@SETTINGS
@given(data=st.binary(max_size=600), cut=st.integers(0, 700), name=NAMES)
def test_gzip_of_arbitrary_bytes_cut_anywhere(data: bytes, cut: int, name: str) -> None:
    check(gzip.compress(data)[:cut], name)


@SETTINGS
@given(data=near_valid_csv(), name=st.sampled_from(["x.csv", "x.csv.gz", "-"]), batch=BATCH)
def test_near_valid_csv(data: bytes, name: str, batch: int) -> None:
    check(data, name, batch)


@SETTINGS
@given(data=near_valid_jsonl(), name=st.sampled_from(["x.jsonl", "x.jsonl.gz", "-"]), batch=BATCH)
def test_near_valid_jsonl(data: bytes, name: str, batch: int) -> None:
    check(data, name, batch)


@SETTINGS
@given(data=near_valid_json_array(), name=st.sampled_from(["x.json", "-"]), batch=BATCH)
def test_near_valid_json_array(data: bytes, name: str, batch: int) -> None:
    check(data, name, batch)


@SETTINGS
@given(data=truncated_gzip(), name=st.sampled_from(["x.csv.gz", "x.csv"]))
def test_truncated_gzip_of_valid_csv(data: bytes, name: str) -> None:
    check(data, name)


def test_the_checks_can_fail() -> None:
    """The harness sees accepted rows: a valid file is accepted, then all duplicates."""
    text = ",".join(COLUMNS) + "\nO1,l1,v1,,2026-11-01 10:00:00,,loja,a-1,,2,10.50,,\n"
    first, second, sink = run(text.encode(), "x.csv", 5_000)
    assert (first.accepted, second.accepted, second.duplicates) == (1, 0, 1)
    assert sink.sales[0].lines[0].unit_price_cents == 1050
