"""Sales and dead letters to ClickHouse rows: pure conversion, the live tables' buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.history.migrations import load_migrations, split_statements
from app.history.rows import (
    REJECTION_COLUMNS,
    SALE_LINE_COLUMNS,
    UnstorableError,
    local_date_and_hour,
    rejection_row,
    sale_rows,
)
from app.records import Rejection, Sale, SaleLine
from tables.buckets import local_buckets


def make_sale(
    event_time: datetime,
    zone: str = "America/Sao_Paulo",
    lines: tuple[SaleLine, ...] | None = None,
    customer_ref: str | None = "c-1",
) -> Sale:
    return Sale(
        order_id="o-1",
        store_id="s-1",
        seller_id="v-1",
        event_time=event_time,
        source_time_zone=zone,
        channel="loja",
        lines=lines or (SaleLine("l-1", "sku-1", 1, 1000),),
        customer_ref=customer_ref,
    )


def as_dict(row: tuple) -> dict:
    assert len(row) == len(SALE_LINE_COLUMNS)
    return dict(zip(SALE_LINE_COLUMNS, row, strict=True))


def test_a_sale_gives_one_row_per_line_with_money_in_cents() -> None:
    moment = datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    sale = make_sale(
        moment,
        lines=(
            SaleLine(
                "l-1",
                "sku-1",
                3,
                1990,
                discount_cents=170,
                unit_cost_cents=800,
                product_name="Camiseta",
            ),
            SaleLine("l-2", "sku-2", 1, 5000),
        ),
    )
    first, second = (as_dict(row) for row in sale_rows(sale, partition=3, offset=41))
    assert first == {
        "line_id": "l-1",
        "order_id": "o-1",
        "store_id": "s-1",
        "seller_id": "v-1",
        "customer_ref": "c-1",
        "channel": "loja",
        "sku": "sku-1",
        "product_name": "Camiseta",
        "event_time": moment,
        "time_zone": "America/Sao_Paulo",
        "local_date": date(2026, 5, 4),
        "local_hour": 12,
        "quantity": 3,
        "unit_price_cents": 1990,
        "discount_cents": 170,
        "unit_cost_cents": 800,
        "revenue_cents": 3 * 1990 - 170,
        "cost_cents": 2400,
        "kafka_partition": 3,
        "kafka_offset": 41,
    }
    assert second["line_id"] == "l-2"
    assert (second["kafka_partition"], second["kafka_offset"]) == (3, 41)


def test_a_return_has_negative_quantity_revenue_and_cost() -> None:
    line = SaleLine("l-9", "sku-1", -2, 1990, discount_cents=100, unit_cost_cents=800)
    [row] = sale_rows(make_sale(datetime(2026, 5, 4, 15, tzinfo=UTC), lines=(line,)), 0, 0)
    values = as_dict(row)
    assert values["quantity"] == -2
    assert values["revenue_cents"] == -(2 * 1990 - 100)
    assert values["cost_cents"] == -1600
    assert values["discount_cents"] == 100


def test_unknown_cost_stays_unknown_and_missing_texts_are_empty() -> None:
    line = SaleLine("l-1", "sku-1", 1, 1000, unit_cost_cents=None, product_name=None)
    sale = make_sale(datetime(2026, 5, 4, 15, tzinfo=UTC), lines=(line,), customer_ref=None)
    values = as_dict(sale_rows(sale, 0, 0)[0])
    assert values["unit_cost_cents"] is None
    assert values["cost_cents"] is None
    assert values["revenue_cents"] == 1000
    assert values["customer_ref"] == ""
    assert values["product_name"] == ""


@pytest.mark.parametrize(
    ("utc", "zone", "local_date", "local_hour"),
    [
        # 23:30 in São Paulo is already the next day in UTC.
        (datetime(2026, 1, 2, 2, 30), "America/Sao_Paulo", date(2026, 1, 1), 23),
        (datetime(2026, 1, 2, 2, 30), "America/Manaus", date(2026, 1, 1), 22),
        (datetime(2026, 1, 2, 2, 30), "America/Noronha", date(2026, 1, 2), 0),
        # A month and a year change in local time, not in UTC.
        (datetime(2026, 1, 1, 1, 0), "America/Sao_Paulo", date(2025, 12, 31), 22),
    ],
)
def test_local_date_and_hour_are_the_stores(
    utc: datetime, zone: str, local_date: date, local_hour: int
) -> None:
    [row] = sale_rows(make_sale(utc.replace(tzinfo=UTC), zone), 0, 0)
    values = as_dict(row)
    assert (values["local_date"], values["local_hour"]) == (local_date, local_hour)
    assert values["time_zone"] == zone


@pytest.mark.parametrize(
    ("utc", "zone", "local_date", "local_hour"),
    [
        # New York springs forward at 02:00 local: 01:59 EST is followed by 03:00 EDT.
        (datetime(2026, 3, 8, 6, 59), "America/New_York", date(2026, 3, 8), 1),
        (datetime(2026, 3, 8, 7, 0), "America/New_York", date(2026, 3, 8), 3),
        # And falls back at 02:00 EDT: two different UTC hours are both local hour 1.
        (datetime(2026, 11, 1, 5, 30), "America/New_York", date(2026, 11, 1), 1),
        (datetime(2026, 11, 1, 6, 30), "America/New_York", date(2026, 11, 1), 1),
        # Brazil's last DST start (2018): midnight became 01:00, so the day has no hour 0.
        (datetime(2018, 11, 4, 2, 59), "America/Sao_Paulo", date(2018, 11, 3), 23),
        (datetime(2018, 11, 4, 3, 0), "America/Sao_Paulo", date(2018, 11, 4), 1),
    ],
)
def test_local_hour_across_a_dst_boundary(
    utc: datetime, zone: str, local_date: date, local_hour: int
) -> None:
    assert local_date_and_hour(utc.replace(tzinfo=UTC), zone) == (local_date, local_hour)


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(
        ["America/Sao_Paulo", "America/Manaus", "America/Rio_Branco", "America/New_York", "UTC"]
    ),
)
def test_buckets_are_the_live_tables_buckets(moment: datetime, zone: str) -> None:
    hour_label, day_label, _ = local_buckets(moment, zone)
    local_date, local_hour = local_date_and_hour(moment, zone)
    assert local_date.isoformat() == day_label
    assert f"{day_label}T{local_hour:02d}" == hour_label


def test_rejection_row_follows_the_column_order() -> None:
    at = datetime(2026, 5, 4, 15, tzinfo=UTC) - timedelta(minutes=1)
    rejection = Rejection("r-1", "vendas.csv", 17, "quantity_zero", "quantity is 0", "a;b;0", at)
    row = rejection_row(rejection)
    assert dict(zip(REJECTION_COLUMNS, row, strict=True)) == {
        "rejection_id": "r-1",
        "source": "vendas.csv",
        "line_number": 17,
        "reason": "quantity_zero",
        "detail": "quantity is 0",
        "raw": "a;b;0",
        "rejected_at": at,
    }


@pytest.mark.parametrize(
    ("sale", "problem"),
    [
        (make_sale(datetime(1969, 12, 31, 12, tzinfo=UTC), "UTC"), "local date"),
        (make_sale(datetime(2150, 1, 1, tzinfo=UTC), "UTC"), "local date"),
        (
            make_sale(datetime(2026, 5, 4, tzinfo=UTC), lines=(SaleLine("l", "k", 2**31, 1),)),
            "quantity",
        ),
        (
            make_sale(datetime(2026, 5, 4, tzinfo=UTC), lines=(SaleLine("l", "k", 2, 2**62),)),
            "revenue_cents",
        ),
        (
            make_sale(
                datetime(2026, 5, 4, tzinfo=UTC),
                lines=(SaleLine("l", "k", 1, 1, product_name=7),),  # type: ignore[arg-type]
            ),
            "product_name",
        ),
    ],
)
def test_values_the_columns_cannot_hold_are_refused(sale: Sale, problem: str) -> None:
    with pytest.raises(UnstorableError, match=problem):
        sale_rows(sale, 0, 0)


def test_a_rejection_the_columns_cannot_hold_is_refused() -> None:
    at = datetime(2026, 5, 4, tzinfo=UTC)
    with pytest.raises(UnstorableError, match="line_number"):
        rejection_row(Rejection("r", "f", 2**63, "x", "d", "raw", at))
    with pytest.raises(UnstorableError, match="rejected_at"):
        rejection_row(Rejection("r", "f", 1, "x", "d", "raw", datetime(2400, 1, 1, tzinfo=UTC)))
    with pytest.raises(UnstorableError, match="detail"):
        rejection_row(Rejection("r", "f", 1, "x", None, "raw", at))  # type: ignore[arg-type]


def test_migration_files_split_into_statements_and_take_the_retention() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    assert migrations[0].version == 1
    for migration in migrations:
        statements = migration.statements(retention_days=42)
        assert statements
        assert all(not s.endswith(";") and "$retention_days" not in s for s in statements)
    rollups = next(m for m in migrations if m.name == "daily_rollups")
    kinds = [s.split("(")[0].split(" AS")[0].strip() for s in rollups.statements(42)]
    assert sum("MATERIALIZED VIEW" in kind for kind in kinds) == 3
    assert "INTERVAL 42 DAY" in migrations[0].statements(42)[0]


def test_split_statements_ignores_comment_lines_and_keeps_inner_semicolons() -> None:
    sql = "-- a comment; not a statement\nSELECT ';'\n  , 1;\n\nSELECT 2;\nSELECT 3"
    assert split_statements(sql) == ["SELECT ';'\n  , 1", "SELECT 2", "SELECT 3"]
