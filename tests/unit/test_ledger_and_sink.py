"""The pieces of exactly-once ingestion that need no broker: the ledger, the sink's retries,
reading ids back from topic records, and how orders become messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from app.ingest.kafka_sink import BrokerUnavailableError, KafkaSalesSink, _collect_ids
from app.ingest.ledger import LINE, REJECTION, Ledger, LedgerBusyError
from app.ingest.mapping import ParsedLine
from app.ingest.pipeline import MAX_LINES_PER_SALE, IngestSummary, group_into_sales
from app.records import SaleLine

A, B, C = "a" * 32, "b" * 32, "c" * 32


def test_ledger_remembers_ids_and_offsets_across_reopening(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, "cluster-1")
    ledger.record([A, B], [C], {("sales", 3): 42})
    assert ledger.known(LINE, [A, B, C]) == {A, B}
    assert ledger.known(REJECTION, [A, C]) == {C}
    assert ledger.offset("sales", 3) == 42 and ledger.offset("sales", 4) == 0
    ledger.close()

    again = Ledger(tmp_path, "cluster-1")
    assert again.known(LINE, [A]) == {A}
    again.reset()
    assert again.known(LINE, [A]) == set() and again.offset("sales", 3) == 0
    again.close()


def test_ledgers_of_different_clusters_are_separate(tmp_path: Path) -> None:
    first = Ledger(tmp_path, "cluster-1")
    first.record([A])
    second = Ledger(tmp_path, "cluster-2")
    assert second.known(LINE, [A]) == set()
    first.close()
    second.close()


def test_one_ingest_at_a_time_per_ledger(tmp_path: Path) -> None:
    holder = Ledger(tmp_path, "cluster-1")
    with pytest.raises(LedgerBusyError, match="another ingest is running"):
        Ledger(tmp_path, "cluster-1")
    holder.close()
    Ledger(tmp_path, "cluster-1").close()  # released with close()


def sink(tmp_path: Path, attempts: int = 3) -> KafkaSalesSink:
    return KafkaSalesSink("127.0.0.1:9", tmp_path, max_attempts=attempts, first_backoff_s=0.001)


def test_retries_are_bounded_and_end_in_a_clear_error(tmp_path: Path) -> None:
    calls = []

    async def always_fails() -> None:
        calls.append(1)
        raise OSError("connection refused")

    with pytest.raises(BrokerUnavailableError) as raised:
        asyncio.run(sink(tmp_path)._with_retries("connect", always_fails))
    assert len(calls) == 3
    assert "did not answer after 3 attempts" in str(raised.value)
    assert "run the same command again" in str(raised.value)


def test_a_passing_failure_is_retried(tmp_path: Path) -> None:
    calls = []

    async def fails_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError

    asyncio.run(sink(tmp_path)._with_retries("deliver", fails_once))
    assert len(calls) == 2


def test_errors_that_retrying_cannot_fix_are_not_retried(tmp_path: Path) -> None:
    calls = []

    async def broken() -> None:
        calls.append(1)
        raise ValueError("a bug, not a broker")

    with pytest.raises(ValueError):
        asyncio.run(sink(tmp_path)._with_retries("deliver", broken))
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("value", "is_sale", "ids"),
    [
        (orjson.dumps({"lines": [{"line_id": A}, {"line_id": B}]}), True, [A, B]),
        (orjson.dumps({"rejection_id": C}), False, [C]),
        (b"not json", True, None),
        (orjson.dumps([1, 2]), True, None),
        (orjson.dumps({"lines": [{"sku": "x"}]}), True, None),
        (orjson.dumps({"lines": [{"line_id": "not-hex"}]}), True, None),
        (None, False, None),
    ],
)
def test_ids_are_read_back_from_records_and_foreign_records_are_skipped(
    value: bytes | None, is_sale: bool, ids: list[str] | None
) -> None:
    found: list[str] = []
    assert _collect_ids(value, found, is_sale) is (ids is not None)
    assert found == (ids or [])


def test_a_huge_order_is_split_into_messages_under_the_size_limit() -> None:
    header = ("loja-01", "O1", "v1", None, datetime(2026, 11, 2, tzinfo=UTC), "UTC", "loja")
    lines = [ParsedLine(header, SaleLine(f"{n:032x}", "SKU", 1, 100)) for n in range(2_500)]
    sales = group_into_sales(lines)
    assert [len(sale.lines) for sale in sales] == [MAX_LINES_PER_SALE] * 2 + [500]
    assert {sale.order_id for sale in sales} == {"O1"}
    assert max(len(orjson.dumps(sale.to_dict())) for sale in sales) < 1 << 20


def test_summaries_add_up() -> None:
    total, part = IngestSummary(read=3, accepted=2, rejected=1), IngestSummary(read=2, duplicates=2)
    total.rejected_by_reason["invalid_date"] += 1
    total.add(part)
    assert (total.read, total.accepted, total.duplicates, total.rejected) == (5, 2, 2, 1)
    assert total.balanced
