"""Malformed input through the whole ingestion pipeline (readers -> mapping -> pipeline) with
the in-memory sink: each kind of bad row is rejected with its exact reason code, the rows around
it are still accepted, and the summary balances (read == accepted + duplicates + rejected)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.ingest.mapping import SalesMapping, load_mapping, mapping_from_dict
from app.ingest.memory import MemorySink
from app.ingest.normalize import pseudonymize
from app.ingest.pipeline import IngestPipeline, IngestSummary
from app.ingest.readers import Source
from app.records import CANONICAL_COLUMNS

KEY = b"test-key"

# --- builders ------------------------------------------------------------------------------

COLUMNS = CANONICAL_COLUMNS
HEADER = ",".join(COLUMNS) + "\n"
GOOD = {
    "order_id": "G1",
    "store_id": "loja-01",
    "seller_id": "v-01",
    "customer_id": "C-1",
    "event_time": "2026-11-01 10:00:00",
    "time_zone": "",
    "channel": "loja",
    "sku": "sku-1",
    "product_name": "Café",
    "quantity": "2",
    "unit_price": "10.50",
    "unit_cost": "4.00",
    "discount": "",
}


def line(**overrides: str) -> str:
    """One canonical CSV line, quoted where the csv module would quote."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([{**GOOD, **overrides}[c] for c in COLUMNS])
    return out.getvalue()


def canonical_csv(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(lines)).encode()


def around(bad: str) -> bytes:
    """A good row, the bad one, another good row."""
    return canonical_csv(line(order_id="G1"), bad, line(order_id="G2"))


RETAIL_HEADER = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
)


def retail_line(invoice: str, **overrides: str) -> str:
    values = {
        "StockCode": "85123A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": "6",
        "InvoiceDate": "12/1/2010 8:26",
        "UnitPrice": "2.55",
        "CustomerID": "17850.0",
        "Country": "United Kingdom",
        **overrides,
    }
    cells = [invoice, *values.values()]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def retail_around(**bad: str) -> bytes:
    return (
        RETAIL_HEADER + retail_line("G1") + retail_line("BAD", **bad) + retail_line("G2")
    ).encode()


RECORD: dict[str, Any] = {
    "order_id": "G1",
    "store_id": "loja-01",
    "seller_id": "v-01",
    "event_time": "2026-11-01T10:00:00-03:00",
    "sku": "SKU-1",
    "quantity": 2,
    "unit_price": "10.50",
}


def record(order_id: str, **overrides: Any) -> dict[str, Any]:
    return {**RECORD, "order_id": order_id, **overrides}


def jsonl(*items: Any) -> bytes:
    return b"".join(
        item if isinstance(item, bytes) else json.dumps(item).encode() + b"\n" for item in items
    )


def jsonl_around(bad: Any) -> bytes:
    return jsonl(record("G1"), bad, record("G2"))


def shipped(name: str) -> dict[str, Any]:
    text = resources.files("app.mappings").joinpath(f"{name}.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def canonical_with(**source: str) -> SalesMapping:
    data = shipped("canonical")
    data["source"] = {**data["source"], **source}
    return mapping_from_dict(data, "canonical-variant")


FLAG_MAPPING = {
    "name": "till",
    "source": {"format": "csv", "decimal_separator": ",", "time_zone": "America/Sao_Paulo"},
    "fields": {
        "order_id": "ticket",
        "store_id": "loja",
        "seller_id": "vendedor",
        "event_time": "data",
        "channel": {"value": "loja"},
        "sku": {"column": "sku", "case": "upper"},
        "quantity": "qtd",
        "unit_price": "preco",
    },
    "returns": {"flag_column": "tipo", "flag_values": ["D", "devolucao"]},
}

MAPPINGS = {
    "canonical": lambda: load_mapping("canonical"),
    "online-retail": lambda: load_mapping("online-retail"),
    "canonical-utf8": lambda: canonical_with(encoding="utf-8"),
    "flags": lambda: mapping_from_dict(FLAG_MAPPING, "flags"),
}


async def ingest(
    data: bytes,
    name: str = "sales.csv",
    mapping: str | SalesMapping = "canonical",
    sink: MemorySink | None = None,
    **options: Any,
) -> tuple[IngestSummary, MemorySink]:
    sink = MemorySink() if sink is None else sink
    compiled = MAPPINGS[mapping]() if isinstance(mapping, str) else mapping
    pipeline = IngestPipeline(compiled, sink, KEY, **options)
    summary = await pipeline.ingest([Source(name=name, data=data)])
    assert summary.read == summary.accepted + summary.duplicates + summary.rejected
    assert summary.balanced
    for sale in sink.sales:
        for sale_line in sale.lines:
            for money in (sale_line.unit_price_cents, sale_line.discount_cents):
                assert type(money) is int
            assert sale_line.unit_cost_cents is None or type(sale_line.unit_cost_cents) is int
            assert type(sale_line.quantity) is int
    return summary, sink


def orders(sink: MemorySink) -> set[str]:
    return {sale.order_id for sale in sink.sales}


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    data: bytes
    reason: str
    accepted: frozenset[str] = frozenset({"G1", "G2"})
    name: str = "sales.csv"
    mapping: str = "canonical"
    fatal: bool = False
    raw_has: str | None = "BAD"  # text the rejection's raw row must carry


def bad_value(reason: str, **overrides: str) -> Case:
    return Case(around(line(order_id="BAD", **overrides)), reason)


def _unterminated_mid_file() -> Case:
    bad = line(order_id="BAD").replace(",sku-1,", ',"sku-1,')
    data = canonical_csv(line(order_id="G1"), bad, line(order_id="G2"), line(order_id="G3"))
    # Only the line with the open quote is lost: the lines it swallowed are read again.
    return Case(data, "broken_quoting", frozenset({"G1", "G2", "G3"}))


def _unterminated_at_end() -> Case:
    bad = line(order_id="BAD").replace(",sku-1,", ',"sku-1,')
    data = canonical_csv(line(order_id="G1"), line(order_id="G2"), bad)
    return Case(data, "broken_quoting")


GZIP_BODY = canonical_csv(*(line(order_id=f"G{i}", unit_price=f"{i}.25") for i in range(1, 80)))
GZIP_PACKED = gzip.compress(GZIP_BODY, mtime=0)
GZIP_CUT = GZIP_PACKED[: len(GZIP_PACKED) * 2 // 3]


def _complete_rows(truncated_gzip: bytes) -> frozenset[str]:
    """Order ids of the rows whose whole line survives in the decompressible prefix."""
    prefix = zlib.decompressobj(wbits=31).decompress(truncated_gzip)
    complete = prefix.split(b"\n")[1:-1]
    return frozenset(row.split(b",")[0].decode() for row in complete)


def _json_array_cut() -> Case:
    text = json.dumps([record("G1"), record("G2"), record("BAD")], indent=1)
    cut = text.index('"BAD"') + 12
    return Case(text[:cut].encode(), "invalid_json", name="sales.json", fatal=True)


FUTURE = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")

CASES = [
    # required values
    pytest.param(bad_value("missing_value", sku=""), id="missing-sku"),
    pytest.param(bad_value("missing_value", store_id="  "), id="blank-store"),
    pytest.param(bad_value("missing_value", event_time=""), id="missing-event-time"),
    pytest.param(bad_value("missing_value", unit_price=""), id="missing-price"),
    pytest.param(bad_value("missing_value", quantity=""), id="missing-quantity"),
    pytest.param(Case(around(",,,,,,,,,,,,\n"), "missing_value", raw_has=",,,"), id="empty-cells"),
    # CSV structure
    pytest.param(
        Case(around(line(order_id="BAD").rstrip("\n") + ",extra\n"), "wrong_column_count"),
        id="too-many-columns",
    ),
    pytest.param(
        Case(around(",".join(line(order_id="BAD").split(",")[:9]) + "\n"), "wrong_column_count"),
        id="too-few-columns",
    ),
    pytest.param(_unterminated_mid_file(), id="unterminated-quote-mid-file"),
    pytest.param(_unterminated_at_end(), id="unterminated-quote-at-end"),
    pytest.param(
        Case(around(line(order_id="BAD").replace(",sku-1,", ',"sku"-1,')), "broken_quoting"),
        id="text-after-closing-quote",
    ),
    pytest.param(
        Case(
            around(line(order_id="BAD")).replace(b"BAD,loja-01", b"BAD,loja-\xff"),
            "invalid_encoding",
            mapping="canonical-utf8",
        ),
        id="invalid-utf8-line",
    ),
    # quantities
    pytest.param(bad_value("invalid_quantity", quantity="dois"), id="quantity-in-words"),
    pytest.param(bad_value("zero_quantity", quantity="0"), id="zero-quantity"),
    pytest.param(bad_value("fractional_quantity", quantity="1.5"), id="fractional-quantity"),
    pytest.param(bad_value("quantity_out_of_range", quantity="1000001"), id="huge-quantity"),
    pytest.param(bad_value("invalid_quantity", quantity="1_000"), id="quantity-with-underscores"),
    # money
    pytest.param(bad_value("negative_price", unit_price="-10.50"), id="negative-price"),
    pytest.param(bad_value("invalid_money", unit_price="ten"), id="letters-in-price"),
    pytest.param(bad_value("invalid_money", unit_price="10.5O"), id="letter-o-in-price"),
    pytest.param(
        bad_value("decimal_separator_mismatch", unit_price="1.234,56"), id="brazilian-price"
    ),
    pytest.param(
        bad_value("decimal_separator_mismatch", unit_price="R$ 10,50"), id="reais-in-dot-feed"
    ),
    pytest.param(bad_value("sub_cent_amount", unit_price="1.005"), id="sub-cent-price"),
    pytest.param(bad_value("price_out_of_range", unit_price="10000000.01"), id="absurd-price"),
    pytest.param(bad_value("discount_exceeds_line", discount="21.01"), id="discount-over-line"),
    pytest.param(bad_value("negative_discount", discount="-1.00"), id="negative-discount"),
    pytest.param(bad_value("negative_cost", unit_cost="-4.00"), id="negative-cost"),
    pytest.param(bad_value("invalid_money", unit_cost="n/a"), id="cost-not-money"),
    # time
    pytest.param(bad_value("invalid_date", event_time="2026-13-45 10:00:00"), id="invalid-date"),
    pytest.param(bad_value("invalid_date", event_time="ontem"), id="date-in-words"),
    pytest.param(bad_value("date_out_of_range", event_time="1900-01-01 10:00:00"), id="year-1900"),
    pytest.param(bad_value("date_out_of_range", event_time="2999-01-01 10:00:00"), id="year-2999"),
    pytest.param(bad_value("date_out_of_range", event_time=FUTURE), id="next-month"),
    pytest.param(bad_value("unknown_time_zone", time_zone="Mars/Olympus"), id="unknown-zone"),
    pytest.param(
        bad_value("unknown_time_zone", time_zone="Mars/Olympus", event_time="2026-11-01T10:00Z"),
        id="unknown-zone-despite-offset",
    ),
    pytest.param(bad_value("date_out_of_range", event_time="9999-12-31 23:59:59"), id="year-9999"),
    pytest.param(bad_value("unknown_time_zone", time_zone="America"), id="zone-is-a-folder"),
    # text
    pytest.param(bad_value("control_characters", product_name="Caf\x07e"), id="control-character"),
    pytest.param(bad_value("control_characters", sku="SKU\x00"), id="nul-in-sku"),
    pytest.param(bad_value("value_too_long", sku="X" * 65), id="too-long-sku"),
    pytest.param(bad_value("value_too_long", product_name="N" * 201), id="too-long-name"),
    # online-retail rules
    pytest.param(
        Case(retail_around(Quantity="-1"), "negative_quantity_not_return", mapping="online-retail"),
        id="negative-quantity-not-return",
    ),
    pytest.param(
        Case(retail_around(StockCode="POST"), "non_product", mapping="online-retail"),
        id="postage-skipped",
    ),
    pytest.param(
        Case(retail_around(StockCode="gift_0001_20"), "non_product", mapping="online-retail"),
        id="gift-voucher-skipped",
    ),
    pytest.param(
        Case(retail_around(UnitPrice="0.00"), "zero_price", mapping="online-retail"),
        id="zero-price-skipped",
    ),
    pytest.param(
        Case(retail_around(InvoiceDate="13/45/2010 8:26"), "invalid_date", mapping="online-retail"),
        id="retail-invalid-date",
    ),
    # JSON Lines
    pytest.param(
        Case(jsonl_around(b'{"order_id": "BAD", "sku": \n'), "invalid_json", name="s.jsonl"),
        id="invalid-json-line",
    ),
    pytest.param(
        Case(jsonl_around(["BAD", 1]), "not_an_object", name="s.jsonl"), id="json-array-line"
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", lines="x")), "invalid_lines", name="s.jsonl"),
        id="lines-not-a-list",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", lines=[])), "invalid_lines", name="s.jsonl"),
        id="lines-empty",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", lines=[42])), "not_an_object", name="s.jsonl"),
        id="line-not-an-object",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", quantity=True)), "invalid_quantity", name="s.jsonl"),
        id="bool-quantity",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", unit_price=[10, 50])), "invalid_money", name="s.jsonl"),
        id="list-price",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", unit_price={"v": 1})), "invalid_money", name="s.jsonl"),
        id="object-price",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", unit_price=19.999)), "sub_cent_amount", name="s.jsonl"),
        id="float-price-sub-cent",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", quantity=2.5)), "fractional_quantity", name="s.jsonl"),
        id="float-quantity",
    ),
    pytest.param(
        Case(jsonl_around(record("BAD", sku=None)), "missing_value", name="s.jsonl"),
        id="null-sku",
    ),
    pytest.param(
        Case(jsonl_around({}), "missing_value", name="s.jsonl", raw_has="{}"), id="empty-object"
    ),
    pytest.param(
        Case(
            jsonl_around(record("BAD", sku="CAFE")).replace(b'"CAFE"', b'"Caf\xff"'),
            "invalid_encoding",
            name="s.jsonl",
            mapping="canonical-utf8",
        ),
        id="jsonl-invalid-utf8",
    ),
    # JSON arrays
    pytest.param(_json_array_cut(), id="json-array-truncated"),
    pytest.param(
        Case(
            json.dumps(record("BAD")).encode(),
            "invalid_json",
            frozenset(),
            name="s.json",
            fatal=True,
        ),
        id="json-object-not-array",
    ),
    pytest.param(
        Case(
            json.dumps([record("G1"), ["BAD"], record("G2")]).encode(),
            "not_an_object",
            name="s.json",
        ),
        id="json-element-not-object",
    ),
    pytest.param(
        Case(
            b"[" + json.dumps(record("G1")).encode() + b","
            b'{"order_id": "BAD", "store_id": "s", "seller_id": "v", "quantity": 1, '
            b'"event_time": "2026-11-01 10:00:00", "sku": "\\ud800", "unit_price": 1},'
            + json.dumps(record("G2")).encode()
            + b"]",
            "control_characters",
            name="s.json",
        ),
        id="json-lone-surrogate",
    ),
    # gzip
    pytest.param(
        Case(gzip.compress(around(line(order_id="BAD", quantity="x"))), "invalid_quantity"),
        id="bad-row-inside-gzip",
    ),
    pytest.param(
        Case(
            GZIP_CUT, "corrupt_file", _complete_rows(GZIP_CUT), "s.csv.gz", fatal=True, raw_has=None
        ),
        id="gzip-truncated",
    ),
    pytest.param(
        Case(
            b"\x1f\x8b\x08\x00" + bytes(range(40, 120)),
            "corrupt_file",
            frozenset(),
            "s.csv.gz",
            fatal=True,
            raw_has=None,
        ),
        id="corrupt-gzip",
    ),
    pytest.param(
        Case(b"\x1f\x8b", "corrupt_file", frozenset(), "s.csv", fatal=True, raw_has=None),
        id="gzip-magic-only",
    ),
]


@pytest.mark.parametrize("case", CASES)
async def test_malformed_input_is_rejected_with_its_reason(case: Case) -> None:
    summary, sink = await ingest(case.data, case.name, case.mapping)
    assert dict(summary.rejected_by_reason) == {case.reason: 1}
    assert summary.rejected == 1
    assert summary.duplicates == 0
    assert "BAD" not in orders(sink)
    assert orders(sink) == case.accepted
    assert summary.accepted == sink.line_count == len(case.accepted)
    assert summary.read == len(case.accepted) + 1
    [rejection] = sink.rejections
    assert rejection.reason == case.reason
    assert rejection.source == case.name
    assert rejection.detail
    assert rejection.line_number >= 1
    if case.raw_has is not None:
        assert case.raw_has in rejection.raw
    if case.fatal:
        [failure] = summary.failures
        assert failure.source == case.name
        assert failure.line_number == rejection.line_number
        assert rejection.detail in failure.message
    else:
        assert summary.failures == []


def test_the_table_covers_at_least_thirty_kinds() -> None:
    assert len({param.id for param in CASES}) == len(CASES) >= 30
    assert len({param.values[0].reason for param in CASES}) >= 20


# --- where a rejection points --------------------------------------------------------------


async def test_rejection_carries_source_line_and_raw_text() -> None:
    bad = line(order_id="BAD", quantity="dois")
    summary, sink = await ingest(canonical_csv(bad, line(order_id="G1")), name="loja-01.csv")
    [rejection] = sink.rejections
    assert rejection.source == "loja-01.csv"
    assert rejection.line_number == 2  # the header is line 1
    assert rejection.raw.rstrip("\r\n") == bad.rstrip("\n")
    assert rejection.reason == "invalid_quantity"
    assert "dois" in rejection.detail
    assert summary.first_rejections == [rejection]
    assert orders(sink) == {"G1"}


async def test_rejection_line_number_of_a_later_row() -> None:
    bad = line(order_id="BAD", quantity="dois")
    data = canonical_csv(line(order_id="G1"), line(order_id="G2"), bad)
    _, sink = await ingest(data)
    [rejection] = sink.rejections
    assert rejection.raw.rstrip("\n") == bad.rstrip("\n")
    assert rejection.line_number == 4


async def test_unterminated_quote_failure_names_the_line_where_the_quote_opens() -> None:
    _, sink = await ingest(_unterminated_mid_file().data)
    [rejection] = sink.rejections
    assert rejection.line_number == 3
    assert "line 3" in rejection.detail


async def test_jsonl_rejection_line_numbers_count_blank_lines() -> None:
    data = jsonl(record("G1"), b"\n", b"   \n", record("BAD", quantity="x"))
    _, sink = await ingest(data, name="s.jsonl")
    [rejection] = sink.rejections
    assert rejection.line_number == 4
    assert json.loads(rejection.raw)["order_id"] == "BAD"


async def test_json_array_rejection_points_at_the_element_line() -> None:
    text = json.dumps([record("G1"), record("BAD", quantity="x")], indent=1)
    _, sink = await ingest(text.encode(), name="s.json")
    [rejection] = sink.rejections
    element_start = text.rindex("{", 0, text.index('"BAD"'))
    expected = text.count("\n", 0, element_start) + 1
    assert expected > 2  # the second element, not the array's first line
    assert rejection.line_number == expected
    assert json.loads(rejection.raw)["order_id"] == "BAD"


# --- grouping and money --------------------------------------------------------------------


async def test_lines_of_an_order_become_one_sale_with_exact_cents() -> None:
    data = canonical_csv(
        line(order_id="O1", sku="a-1", quantity="3", unit_price="19.99", unit_cost="7.35"),
        line(order_id="O2", sku="a-1", quantity="1", unit_price="0.29"),
        line(order_id="O1", sku="b-2", quantity="1", unit_price="1,234.56", discount="0.56"),
        line(order_id="O1", sku="c-3", quantity="-1", unit_price="4.35", unit_cost=""),
    )
    summary, sink = await ingest(data)
    assert summary.accepted == 4
    assert summary.sales_messages == 2
    by_order = {sale.order_id: sale for sale in sink.sales}
    assert set(by_order) == {"O1", "O2"}
    sale = by_order["O1"]
    assert [item.sku for item in sale.lines] == ["A-1", "B-2", "C-3"]
    assert [item.quantity for item in sale.lines] == [3, 1, -1]
    assert [item.unit_price_cents for item in sale.lines] == [1999, 123456, 435]
    assert [item.discount_cents for item in sale.lines] == [0, 56, 0]
    assert [item.unit_cost_cents for item in sale.lines] == [735, 400, None]
    assert sale.revenue_cents == 5997 + 123400 - 435
    assert by_order["O2"].lines[0].unit_price_cents == 29
    assert sale.store_id == "loja-01" and sale.seller_id == "v-01" and sale.channel == "loja"
    assert sale.event_time == datetime(2026, 11, 1, 13, tzinfo=UTC)
    assert sale.source_time_zone == "America/Sao_Paulo"
    assert sale.customer_ref == pseudonymize("C-1", KEY)
    assert "C-1" not in json.dumps(sale.to_dict())
    assert len({item.line_id for item in sale.lines}) == 3


async def test_row_time_zone_overrides_the_mapping_zone() -> None:
    data = canonical_csv(
        line(order_id="O1", time_zone="Europe/London", event_time="2026-06-01 12:00:00")
    )
    _, sink = await ingest(data)
    [sale] = sink.sales
    assert sale.event_time == datetime(2026, 6, 1, 11, tzinfo=UTC)
    assert sale.source_time_zone == "Europe/London"


async def test_nested_lines_are_expanded_into_one_sale() -> None:
    order = {
        "order_id": "N1",
        "store_id": "loja-02",
        "seller_id": "v-9",
        "customer_id": 42,
        "event_time": "29/11/2026 10:15",
        "lines": [
            {"sku": "x-1", "quantity": 2, "unit_price": 0.29},
            {"sku": "x-2", "quantity": 1.0, "unit_price": 10, "discount": "1.00"},
        ],
    }
    summary, sink = await ingest(jsonl(order), name="orders.jsonl")
    assert (summary.read, summary.accepted, summary.rejected) == (2, 2, 0)
    [sale] = sink.sales
    assert sale.order_id == "N1" and sale.store_id == "loja-02"
    assert sale.event_time == datetime(2026, 11, 29, 13, 15, tzinfo=UTC)
    assert sale.customer_ref == pseudonymize("42", KEY)
    assert [(x.sku, x.quantity, x.unit_price_cents, x.discount_cents) for x in sale.lines] == [
        ("X-1", 2, 29, 0),
        ("X-2", 1, 1000, 100),
    ]


async def test_negative_quantity_without_return_rules_is_a_return() -> None:
    _, sink = await ingest(canonical_csv(line(order_id="R1", quantity="-2")))
    [sale] = sink.sales
    assert sale.lines[0].quantity == -2
    assert sale.lines[0].is_return
    assert sale.revenue_cents == -2100


# --- duplicates ----------------------------------------------------------------------------


async def test_duplicate_rows_within_a_file_count_once() -> None:
    data = canonical_csv(line(order_id="D1"), line(order_id="D2"), line(order_id="D1"))
    summary, sink = await ingest(data)
    assert (summary.read, summary.accepted, summary.duplicates, summary.rejected) == (3, 2, 1, 0)
    assert sink.line_count == 2


async def test_product_name_spelling_does_not_make_a_new_line() -> None:
    data = canonical_csv(line(order_id="D1"), line(order_id="D1", product_name="CAFE"))
    summary, _ = await ingest(data)
    assert (summary.accepted, summary.duplicates) == (1, 1)


async def test_a_different_price_is_a_different_line() -> None:
    data = canonical_csv(line(order_id="D1"), line(order_id="D1", unit_price="10.51"))
    summary, _ = await ingest(data)
    assert (summary.accepted, summary.duplicates) == (2, 0)


async def test_duplicates_across_batches() -> None:
    rows = [line(order_id=f"B{i % 3}") for i in range(7)]
    summary, sink = await ingest(canonical_csv(*rows), batch_rows=1)
    assert (summary.read, summary.accepted, summary.duplicates) == (7, 3, 4)
    assert sink.line_count == 3


async def test_the_same_data_twice_accepts_nothing_the_second_time() -> None:
    data = canonical_csv(
        line(order_id="T1"), line(order_id="T2", quantity="x"), line(order_id="T3")
    )
    sink = MemorySink()
    first, _ = await ingest(data, sink=sink)
    assert (first.accepted, first.rejected) == (2, 1)
    second, _ = await ingest(data, sink=sink)
    assert second.accepted == 0
    assert second.duplicates == 2
    assert second.rejected == 1
    assert sink.line_count == 2
    assert len(sink.rejections) == 1  # the same dead letter is not stored twice


# --- returns -------------------------------------------------------------------------------


async def test_online_retail_cancellations_are_returns() -> None:
    data = (
        RETAIL_HEADER
        + retail_line("536365")
        + retail_line("C536379", Quantity="-1")
        + retail_line("c536380", Quantity="2")  # the sign is implied by the C
    ).encode()
    summary, sink = await ingest(data, mapping="online-retail")
    assert (summary.accepted, summary.rejected) == (3, 0)
    quantities = {sale.order_id: sale.lines[0].quantity for sale in sink.sales}
    assert quantities == {"536365": 6, "C536379": -1, "C536380": -2}
    sale = next(s for s in sink.sales if s.order_id == "536365")
    assert sale.store_id == "united-kingdom"
    assert sale.seller_id == "online" and sale.channel == "online"
    assert sale.customer_ref == pseudonymize("17850", KEY)
    assert sale.event_time == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert sale.lines[0].unit_price_cents == 255
    assert sale.lines[0].product_name == "WHITE HANGING HEART T-LIGHT HOLDER"


async def test_online_retail_summer_time_is_bst() -> None:
    data = (RETAIL_HEADER + retail_line("540000", InvoiceDate="6/1/2011 12:00")).encode()
    _, sink = await ingest(data, mapping="online-retail")
    assert sink.sales[0].event_time == datetime(2011, 6, 1, 11, tzinfo=UTC)


async def test_flag_column_negates_quantity() -> None:
    header = "ticket;loja;vendedor;data;sku;qtd;preco;tipo\n"
    rows = [
        "T1;l1;v1;29/11/2026 10:15;a;2;R$ 10,50;V\n",
        "T2;l1;v1;2026-11-01 09:00:00;a;2;1.234,56;D\n",
        "T3;l1;v1;2026-11-01 09:00:00;a;-3;10;devolucao\n",
        "T4;l1;v1;2026-11-01 09:00:00;a;-3;10;V\n",
    ]
    mapping = mapping_from_dict(
        {**FLAG_MAPPING, "source": {**FLAG_MAPPING["source"], "date_formats": ["%d/%m/%Y %H:%M"]}}
    )
    summary, sink = await ingest((header + "".join(rows)).encode(), mapping=mapping)
    assert (summary.accepted, summary.rejected) == (3, 1)
    assert dict(summary.rejected_by_reason) == {"negative_quantity_not_return": 1}
    lines = {sale.order_id: sale.lines[0] for sale in sink.sales}
    assert {k: (v.quantity, v.unit_price_cents) for k, v in lines.items()} == {
        "T1": (2, 1050),
        "T2": (-2, 123456),
        "T3": (-3, 1000),
    }


async def test_flag_column_is_a_required_column() -> None:
    data = b"ticket;loja;vendedor;data;sku;qtd;preco\nT1;l1;v1;2026-11-01 09:00:00;a;2;10\n"
    summary, sink = await ingest(data, mapping="flags")
    assert summary.read == 0
    [failure] = summary.failures
    assert "tipo" in failure.message
    assert sink.sales == []


# --- headers -------------------------------------------------------------------------------


async def test_missing_required_columns_stop_the_file_before_any_row() -> None:
    header = "order_id,store_id,seller_id,event_time,sku,product_name\n"
    data = (header + "O1,l,v,2026-11-01 10:00:00,a,x\n" * 3).encode()
    summary, sink = await ingest(data, name="short.csv")
    assert (summary.read, summary.accepted, summary.rejected) == (0, 0, 0)
    [failure] = summary.failures
    assert failure.source == "short.csv"
    assert failure.line_number == 1
    assert "quantity" in failure.message and "unit_price" in failure.message
    assert "product_name" in failure.message  # what the header does have
    assert sink.sales == [] and sink.rejections == []


def test_preflight_reports_missing_columns(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(canonical_csv(line()))
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,store_id,seller_id,event_time,sku\nO1,l,v,2026-11-01 10:00:00,a\n")
    pipeline = IngestPipeline(load_mapping("canonical"), MemorySink(), KEY)
    sources = [
        Source(name=str(good), path=good),
        Source(name=str(bad), path=bad),
        Source(name="<stdin>", data=b"nothing,useful\n"),  # no path: checked while read
    ]
    [problem] = pipeline.preflight(sources)
    assert problem.startswith(f"{bad}: missing required column(s) quantity, unit_price;")
    assert "the header has: order_id, store_id, seller_id, event_time, sku" in problem
    assert pipeline.preflight([Source(name=str(good), path=good)]) == []


def test_preflight_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,sku\nO1,a\n")
    pipeline = IngestPipeline(load_mapping("canonical"), MemorySink(), KEY)
    [problem] = pipeline.preflight([Source(name=str(bad), path=bad)])
    assert problem.startswith(f"{bad}: missing required column(s)")


def test_preflight_reports_a_header_that_cannot_be_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"order_id,sku\rx,quantity\n")  # a bare CR: the csv module refuses
    pipeline = IngestPipeline(load_mapping("canonical"), MemorySink(), KEY)
    [problem] = pipeline.preflight([Source(name=str(bad), path=bad)])
    assert problem.startswith(f"{bad}:1: the header line cannot be read as CSV")


def test_missing_columns_are_reported_as_the_file_spells_them(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ORDER_ID,Store_Id\nO1,l\n")
    pipeline = IngestPipeline(load_mapping("canonical"), MemorySink(), KEY)
    [problem] = pipeline.preflight([Source(name=str(bad), path=bad)])
    assert "the header has: ORDER_ID, Store_Id" in problem
    assert "missing required column(s) seller_id, event_time" in problem


async def test_header_case_differences_are_accepted_consistently() -> None:
    data = canonical_csv(line(order_id="O1"), header=HEADER.upper())
    summary, _ = await ingest(data)
    assert summary.failures == [] and summary.accepted == 1


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            canonical_csv(line(order_id="M1"), line(order_id="M2")).replace(b"\n", b"\r"),
            id="classic-mac-line-endings",
        ),
        pytest.param(b"x" * (1 << 20 | 1) + b"\n" + line().encode(), id="header-over-1-MiB"),
    ],
)
async def test_csv_header_the_csv_module_refuses(data: bytes) -> None:
    summary, sink = await ingest(data)
    assert summary.rejected_by_reason == {"broken_header": 1}
    [failure] = summary.failures
    assert failure.line_number == 1 and "header line cannot be read" in failure.message
    assert sink.line_count == 0


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty-file"),
        pytest.param(HEADER.encode(), id="header-only"),
        pytest.param(HEADER.replace("\n", "\r\n").encode() + b"\r\n\r\n", id="header-blank-lines"),
    ],
)
async def test_files_without_rows(data: bytes) -> None:
    summary, sink = await ingest(data)
    assert (summary.read, summary.accepted, summary.rejected, summary.failures) == (0, 0, 0, [])
    assert summary.sources == 1
    assert sink.sales == []


@pytest.mark.parametrize(("data", "name"), [(b"[]", "s.json"), (b"\n\n", "s.jsonl")])
async def test_json_files_without_records(data: bytes, name: str) -> None:
    summary, _ = await ingest(data, name=name)
    assert (summary.read, summary.failures) == (0, [])


# --- encodings, delimiters, line endings ---------------------------------------------------


def _latin1() -> bytes:
    return (
        canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar"))
        .decode()
        .encode("latin-1")
    )


FORMAT_VARIANTS = [
    pytest.param(_latin1(), "sales.csv", id="latin-1-auto-detected"),
    pytest.param(
        b"\xef\xbb\xbf" + canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar")),
        "sales.csv",
        id="utf-8-bom",
    ),
    pytest.param(
        canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar")).replace(b",", b";"),
        "sales.csv",
        id="semicolon",
    ),
    pytest.param(
        canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar")).replace(
            b",", b"\t"
        ),
        "sales.tsv",
        id="tab",
    ),
    pytest.param(
        canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar")).replace(b",", b"|"),
        "sales.txt",
        id="pipe",
    ),
    pytest.param(
        canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar")).replace(
            b"\n", b"\r\n"
        ),
        "sales.csv",
        id="crlf",
    ),
    pytest.param(
        canonical_csv("\n", line(order_id="E1", sku="açúcar", product_name="Açúcar"), "\n\n"),
        "sales.csv",
        id="blank-lines",
    ),
    pytest.param(
        gzip.compress(canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar"))),
        "sales.csv.gz",
        id="gzip",
    ),
    pytest.param(
        gzip.compress(canonical_csv(line(order_id="E1", sku="açúcar", product_name="Açúcar"))),
        "-",
        id="gzip-without-suffix",
    ),
    pytest.param(
        jsonl(record("E1", sku="açúcar", product_name="Açúcar")), "sales.jsonl", id="jsonl"
    ),
    pytest.param(
        jsonl(record("E1", sku="açúcar", product_name="Açúcar")), "<stdin>", id="jsonl-sniffed"
    ),
    pytest.param(
        json.dumps([record("E1", sku="açúcar", product_name="Açúcar")]).encode(),
        "<stdin>",
        id="json-sniffed",
    ),
]


@pytest.mark.parametrize(("data", "name"), FORMAT_VARIANTS)
async def test_format_variants_read_the_same_sale(data: bytes, name: str) -> None:
    summary, sink = await ingest(data, name=name)
    assert (summary.read, summary.accepted, summary.rejected, summary.failures) == (1, 1, 0, [])
    [sale] = sink.sales
    [item] = sale.lines
    assert sale.order_id == "E1"
    assert item.sku == "AÇÚCAR"
    assert item.product_name == "Açúcar"
    assert item.quantity == 2 and item.unit_price_cents == 1050


async def test_quote_inside_an_unquoted_field_is_kept_literally() -> None:
    raw = line(order_id="Q1").replace("Café", 'Monitor 24"')
    summary, sink = await ingest(canonical_csv(raw))
    assert (summary.accepted, summary.rejected) == (1, 0)
    assert sink.sales[0].lines[0].product_name == 'Monitor 24"'


async def test_quoted_field_with_delimiter_and_newline() -> None:
    raw = line(order_id="Q1", product_name="Caixa, 2\nunidades")
    summary, sink = await ingest(canonical_csv(raw, line(order_id="Q2")))
    assert (summary.accepted, summary.rejected) == (2, 0)
    names = {sale.order_id: sale.lines[0].product_name for sale in sink.sales}
    assert names["Q1"] == "Caixa, 2 unidades"


async def test_one_bad_byte_does_not_turn_a_utf8_file_into_latin1() -> None:
    data = (
        canonical_csv(line(order_id="U1", product_name="São Paulo"))
        + line(order_id="BAD").encode().replace("Café".encode(), b"Caf\xe9")
        + line(order_id="U2", product_name="Açúcar").encode()
    )
    summary, sink = await ingest(data)
    names = {sale.order_id: sale.lines[0].product_name for sale in sink.sales}
    assert names == {"U1": "São Paulo", "U2": "Açúcar"}
    assert dict(summary.rejected_by_reason) == {"invalid_encoding": 1}


# --- JSON specifics ------------------------------------------------------------------------


async def test_json_numbers_become_exact_values() -> None:
    records = [
        record("J1", unit_price=0.29, quantity=3),
        record("J2", unit_price=10, quantity=2.0),
        record("J3", unit_price="1,234.56", quantity="1"),
    ]
    summary, sink = await ingest(json.dumps(records).encode(), name="s.json")
    assert summary.accepted == 3
    lines = {sale.order_id: sale.lines[0] for sale in sink.sales}
    assert {k: (v.quantity, v.unit_price_cents) for k, v in lines.items()} == {
        "J1": (3, 29),
        "J2": (2, 1000),
        "J3": (1, 123456),
    }


async def test_json_array_truncated_keeps_elements_before_the_cut() -> None:
    case = _json_array_cut()
    summary, sink = await ingest(case.data, name=case.name)
    assert orders(sink) == {"G1", "G2"}
    [failure] = summary.failures
    assert "file not read to its end" in failure.message


async def test_ingest_records_for_the_http_endpoint() -> None:
    sink = MemorySink()
    pipeline = IngestPipeline(load_mapping("canonical"), sink, KEY)
    summary = await pipeline.ingest_records([record("H1"), record("BAD", quantity=0)], "http")
    assert (summary.accepted, summary.rejected) == (1, 1)
    assert dict(summary.rejected_by_reason) == {"zero_quantity": 1}
    assert sink.rejections[0].source == "http"


async def test_data_after_the_json_array_is_not_silently_dropped() -> None:
    data = (json.dumps([record("A1")]) + "\n" + json.dumps([record("A2")])).encode()
    summary, sink = await ingest(data, name="s.json")
    assert orders(sink) == {"A1"}
    assert summary.rejected_by_reason == {"invalid_json": 1}
    [failure] = summary.failures
    assert failure.line_number == 2 and "after the end of the array" in failure.message


async def test_each_rejected_nested_line_reaches_the_sink() -> None:
    order = record(
        "N1",
        lines=[
            {"sku": "a", "quantity": "x", "unit_price": 1},
            {"sku": "b", "quantity": "y", "unit_price": 1},
            {"sku": "c", "quantity": 1, "unit_price": 1},
        ],
    )
    summary, sink = await ingest(jsonl(order), name="s.jsonl")
    assert (summary.accepted, summary.rejected) == (1, 2)
    assert len(sink.rejections) == summary.rejected


async def test_garbage_after_a_gzip_member_keeps_the_rows() -> None:
    data = gzip.compress(canonical_csv(line(order_id="Z1"), line(order_id="Z2"))) + b"garbage"
    summary, sink = await ingest(data, name="s.csv.gz")
    assert orders(sink) == {"Z1", "Z2"}
    assert len(summary.failures) == 1


async def test_json_array_element_with_undecodable_bytes_is_rejected_not_garbled() -> None:
    bad = json.dumps(record("BAD", sku="CAFE")).encode().replace(b"CAFE", b"CAF\xc3")
    data = b"[" + json.dumps(record("G1")).encode() + b"," + bad + b"]"
    summary, sink = await ingest(data, name="s.json", mapping="canonical-utf8")
    assert summary.rejected_by_reason == {"invalid_encoding": 1}
    assert orders(sink) == {"G1"}
    assert "\ufffd" not in "".join(line.sku for sale in sink.sales for line in sale.lines)


async def test_data_after_an_empty_json_array_is_reported() -> None:
    summary, _ = await ingest(b"[] x", name="s.json")
    assert summary.rejected_by_reason == {"invalid_json": 1}
    assert len(summary.failures) == 1


async def test_one_line_gzipped_json_array_cut_keeps_the_whole_elements() -> None:
    whole = json.dumps([record(f"G{i}") for i in range(200)]).encode()
    packed = gzip.compress(whole)
    summary, sink = await ingest(packed[: len(packed) * 3 // 4], name="s.json.gz")
    assert 0 < len(orders(sink)) < 200
    assert summary.rejected_by_reason == {"corrupt_file": 1}
    assert "truncated" in summary.failures[0].message
