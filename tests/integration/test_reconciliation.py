"""Three months of Online Retail, end to end, reconciled to the cent three ways.

The shipped mapping ingests the raw files into Kafka; a worker folds them into its live tables
(RocksDB) and writes every line to ClickHouse (chDB). Then the same figures, for every store
(country), are taken from:

1. the lookup API answering from the live tables (``DATAAPP_LIVE_DAYS`` covering the data);
2. SQL over the ``sale_lines`` fact table, in a process of its own once the worker stopped
   (sums by ``local_date`` ranges, written here: neither the rollups nor ``HistoryStore``);
3. pandas, straight from the raw CSVs, with the mapping's rules written again here (slugs,
   skip rules, returns, exact-line dedupe, Europe/London local times, exact cents);
4. the lookup API answering from ClickHouse (a worker restarted with ``DATAAPP_LIVE_DAYS=0``).

Every figure must agree exactly: revenue, cost (0: the data has no costs), margin (0),
uncosted revenue (= revenue), units, returned units, lines and orders; per store by month,
over the whole range, by day and by hour; for the one seller "online", per store and over
all stores; and the top 20 products by revenue of the three biggest stores. The only
approximate figure is ``customers`` in the live tables (a sketch, exact up to 128 distinct
customers, about 2% off beyond): it is compared exactly up to 128 and within 5% beyond. The
ClickHouse side counts customers exactly, so SQL and the history-path API are held to
pandas' count exactly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.api.lookups import FIGURE_NAMES
from tests.recompute import api_figures
from tests.worker_tools import REPO, WorkerProcess, dataapp, worker_environment

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.data]

MONTHS: dict[str, tuple[str, str]] = {
    "2010-12": ("2010-12-01", "2010-12-31"),
    "2011-01": ("2011-01-01", "2011-01-31"),
    "2011-02": ("2011-02-01", "2011-02-28"),
}
WHOLE = ("2010-12-01", "2011-02-28")
EVERYTHING = {"DATAAPP_LIVE_DAYS": "100000", "DATAAPP_RETENTION_DAYS": "100000"}
# Customer references (and so the sketch's hashes) depend on the key: a fixed one makes the
# live tables' approximate customer counts the same on every run.
FIXED_KEY = {"DATAAPP_PSEUDONYM_KEY": "reconciliation-test-key"}
SELLER = "online"
TOP_PRODUCTS = 20
BIGGEST_STORES = 3
SKETCH_EXACT_UP_TO = 128
SKETCH_TOLERANCE = 0.05
PASSWORD = "admin-secret-pw"  # what WorkerProcess.add_user gives user "admin"

FIGURES = FIGURE_NAMES
Figures = dict[str, int]
Views = dict[tuple[str, ...], Any]
"""Every reconciled figure, by a key such as ("month", store, "2010-12"), ("day", store,
"2010-12-01"), ("seller-range", store), ("products", store): figures, or for products a
list of (sku, figures)."""


# --- 3. pandas, from the raw files ------------------------------------------------------------

# The mapping's rules, written again (app/mappings/online-retail.yaml).
NON_PRODUCTS = frozenset(
    {"POST", "DOT", "M", "S", "C2", "D", "CRUK", "PADS", "AMAZONFEE", "BANK CHARGES"}
    | {"ADJUST", "ADJUST2", "B"}
)
NON_PRODUCT_PATTERN = r"^(?:GIFT_|TEST)"  # the mapping's "^(GIFT_|TEST)"
MAX_ABS_QUANTITY = 100_000
MAX_UNIT_PRICE_CENTS = 1_000_000_000


def country_slug(name: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def cleaned_upper(column: pd.Series) -> pd.Series:
    return column.str.strip().str.replace(r"\s+", " ", regex=True).str.upper()


def decimal_cents(text: str) -> int | None:
    """Exact cents of a decimal text; None when it has fractions of a cent (or is no number)."""
    try:
        hundredths = Decimal(text.strip()) * 100
    except InvalidOperation:
        return None
    if hundredths != hundredths.to_integral_value():
        return None
    return int(hundredths)


def customer_id(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    head, dot, tail = text.partition(".")
    return head if dot and head.isdigit() and tail.strip("0") == "" else text


@dataclass
class Recomputed:
    read: int
    accepted: int
    duplicates: int
    rejected_by_reason: dict[str, int]
    lines: pd.DataFrame
    """One row per accepted line, in file order: store, order, sku, name, quantity (signed),
    revenue, returned, customer, day, hour, month, and the first-sold-line flags."""


def recompute_from_csv(folder: Path) -> Recomputed:
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        for path in sorted(folder.glob("*.csv.gz"))
    ]
    raw = pd.concat(frames, ignore_index=True)
    order = cleaned_upper(raw["InvoiceNo"])
    sku = cleaned_upper(raw["StockCode"])
    quantity_text = raw["Quantity"].str.strip()
    assert quantity_text.str.fullmatch(r"[+-]?[0-9]{1,9}").all(), "non-integer quantities"
    quantity = quantity_text.astype("int64")
    is_return = order.str.startswith("C")
    signed = quantity.where(~is_return, -quantity.abs())
    price_of = {text: decimal_cents(text) for text in raw["UnitPrice"].unique()}
    price = raw["UnitPrice"].map(price_of)

    # The first reason that applies, in the order the line parser checks them.
    reason = pd.Series(pd.NA, index=raw.index, dtype="object")

    def reject(where: pd.Series, why: str) -> None:
        reason.loc[where & reason.isna()] = why

    reject(quantity == 0, "zero_quantity")
    reject(quantity.abs() > MAX_ABS_QUANTITY, "quantity_out_of_range")
    reject(~is_return & (quantity < 0), "negative_quantity_not_return")
    reject(price.isna(), "sub_cent_amount")
    cents = price.fillna(0).astype("int64")
    reject(cents < 0, "negative_price")
    reject(cents > MAX_UNIT_PRICE_CENTS, "price_out_of_range")
    reject(sku.isin(NON_PRODUCTS), "non_product")
    reject(sku.str.contains(NON_PRODUCT_PATTERN, regex=True), "non_product")
    reject(cents == 0, "zero_price")
    valid = reason.isna()
    # Exact duplicate lines: the first is kept.
    duplicate = raw[valid].duplicated(keep="first").reindex(raw.index, fill_value=False)
    keep = valid & ~duplicate

    local = (
        pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
        .dt.tz_localize("Europe/London", ambiguous=True, nonexistent="raise")
        .dt.tz_convert("UTC")
        .dt.tz_convert("Europe/London")
    )
    lines = pd.DataFrame(
        {
            "store": raw["Country"].map(country_slug),
            "order": order,
            "sku": sku,
            "name": cleaned_upper(raw["Description"]),
            "quantity": signed,
            "revenue": signed * cents,  # int64: exact, and signed like the quantity
            "returned": (-signed).clip(lower=0),
            "customer": raw["CustomerID"].map(customer_id),
            "day": local.dt.strftime("%Y-%m-%d"),
            "hour": local.dt.strftime("%Y-%m-%dT%H"),
            "month": local.dt.strftime("%Y-%m"),
        }
    )[keep].reset_index(drop=True)
    sold = lines["quantity"] > 0
    lines["first_sold"] = sold & ~lines[sold].duplicated(["store", "order"]).reindex(
        lines.index, fill_value=True
    )
    lines["first_sold_of_product"] = sold & ~lines[sold].duplicated(
        ["store", "order", "sku"]
    ).reindex(lines.index, fill_value=True)
    counts = reason[~valid].value_counts()
    return Recomputed(
        read=len(raw),
        accepted=int(keep.sum()),
        duplicates=int(duplicate.sum()),
        rejected_by_reason={str(k): int(v) for k, v in counts.items()},
        lines=lines,
    )


def _figures(frame: pd.DataFrame, keys: list[str], orders_flag: str) -> dict[Any, Figures]:
    grouped = frame.groupby(keys, sort=False)
    table = pd.DataFrame(
        {
            "revenue": grouped["revenue"].sum(),
            "units": grouped["quantity"].sum(),
            "returned": grouped["returned"].sum(),
            "lines": grouped.size(),
            "orders": grouped[orders_flag].sum(),
            "customers": grouped["customer"].nunique(dropna=True),
        }
    )
    result = {}
    for key, row in table.iterrows():
        revenue = int(row["revenue"])
        result[key] = {
            "revenue_cents": revenue,
            "cost_cents": 0,
            "margin_cents": 0,
            "uncosted_revenue_cents": revenue,
            "units": int(row["units"]),
            "returned_units": int(row["returned"]),
            "lines": int(row["lines"]),
            "orders": int(row["orders"]),
            "customers": int(row["customers"]),
        }
    return result


def expected_views(recomputed: Recomputed) -> Views:
    lines = recomputed.lines
    views: Views = {}
    by_month = _figures(lines, ["store", "month"], "first_sold")
    for (store, month), figures in by_month.items():
        views["month", store, month] = figures
        views["seller-month", store, month] = figures
        views["month-point", store, month] = figures
    stores = sorted(lines["store"].unique())
    for store, month in ((s, m) for s in stores for m in MONTHS):
        # A month without sales: the summary is all zeros (and has no series point).
        views.setdefault(("month", store, month), dict.fromkeys(FIGURES, 0))
        views.setdefault(("seller-month", store, month), dict.fromkeys(FIGURES, 0))
    for store, figures in _figures(lines, ["store"], "first_sold").items():
        views["range", store] = figures
        views["seller-range", store] = figures
    for (store, day), figures in _figures(lines, ["store", "day"], "first_sold").items():
        views["day", store, day] = figures
    for (store, hour), figures in _figures(lines, ["store", "hour"], "first_sold").items():
        views["hour", store, hour] = figures
    # The seller over every store: the API adds the stores' figures (customers included).
    for month in MONTHS:
        views["seller-all-month", month] = _summed(views["month", store, month] for store in stores)
    views["seller-all-range",] = _summed(views["range", store] for store in stores)
    products = _figures(lines, ["store", "sku"], "first_sold_of_product")
    for store in biggest_stores(views):
        ranked = sorted(
            ((sku, figures) for (s, sku), figures in products.items() if s == store),
            key=lambda item: (-item[1]["revenue_cents"], item[0]),
        )
        views["products", store] = ranked[:TOP_PRODUCTS]
    return views


def _summed(parts: Iterable[Figures]) -> Figures:
    total = dict.fromkeys(FIGURES, 0)
    for part in parts:
        for name in FIGURES:
            total[name] += part[name]
    return total


def biggest_stores(views: Views) -> list[str]:
    ranges = [(key[1], figures) for key, figures in views.items() if key[0] == "range"]
    ranges.sort(key=lambda item: (-item[1]["revenue_cents"], item[0]))
    return [store for store, _ in ranges[:BIGGEST_STORES]]


def product_names(recomputed: Recomputed) -> dict[tuple[str, str], set[str]]:
    """Every (cleaned, upper-case) name a product had in a store's accepted lines."""
    lines = recomputed.lines[recomputed.lines["name"] != ""]
    return {
        key: set(names) for key, names in lines.groupby(["store", "sku"])["name"].unique().items()
    }


# --- 1 and 4. the lookup API ------------------------------------------------------------------


def api_views(worker: WorkerProcess, token: str, stores: list[str], top: list[str]) -> Views:
    def get(path: str) -> Any:
        return worker.get(path, token)

    def figures_of(body: dict[str, Any]) -> Figures:
        return {name: body[name] for name in FIGURES}

    whole = f"from={WHOLE[0]}&to={WHOLE[1]}"
    views: Views = {}
    names: dict[tuple[str, str], str | None] = {}
    for store in stores:
        base = f"/api/v1/stores/{store}"
        for month, (first, last) in MONTHS.items():
            span = f"from={first}&to={last}"
            views["month", store, month] = figures_of(get(f"{base}/summary?{span}"))
            views["seller-month", store, month] = figures_of(
                get(f"{base}/sellers/{SELLER}/summary?{span}")
            )
        views["range", store] = figures_of(get(f"{base}/summary?{whole}"))
        views["seller-range", store] = figures_of(get(f"{base}/sellers/{SELLER}/summary?{whole}"))
        for granularity, kind in (("day", "day"), ("hour", "hour"), ("month", "month-point")):
            series = get(f"{base}/timeseries?granularity={granularity}&{whole}")
            for point in series["points"]:
                views[kind, store, point["bucket"]] = figures_of(point)
        team = get(f"{base}/sellers?{whole}")["sellers"]
        assert [row["seller_id"] for row in team] == [SELLER], team
        assert figures_of(team[0]) == views["seller-range", store]
    for month, (first, last) in MONTHS.items():
        body = get(f"/api/v1/sellers/{SELLER}/summary?from={first}&to={last}")
        views["seller-all-month", month] = figures_of(body)
    views["seller-all-range",] = figures_of(get(f"/api/v1/sellers/{SELLER}/summary?{whole}"))
    for store in top:
        ranking = get(f"/api/v1/stores/{store}/products?by=revenue&limit={TOP_PRODUCTS}&{whole}")
        assert [row["rank"] for row in ranking["products"]] == list(
            range(1, len(ranking["products"]) + 1)
        )
        views["products", store] = [(row["sku"], figures_of(row)) for row in ranking["products"]]
        names.update({(store, row["sku"]): row["product_name"] for row in ranking["products"]})
    views["names",] = names
    return views


# --- 2. SQL over the fact table, in a process of its own ---------------------------------------

# Written here from the definitions of tables/totals.py, not taken from app/history.
SQL_SCRIPT = r"""
import json, sys
from app.history.client import connect
from app.settings import load_settings

METRICS = '''
    sum(revenue_cents),
    sum(ifNull(cost_cents, 0)),
    sumIf(revenue_cents, cost_cents IS NOT NULL),
    sum(toInt64(quantity)),
    sumIf(-toInt64(quantity), quantity < 0),
    count(),
    uniqExactIf(order_id, quantity > 0),
    uniqExactIf(customer_ref, customer_ref != ''),
    sum(toInt64(quantity) * unit_price_cents - sign(quantity) * discount_cents),
    uniqExact(line_id)'''

ranges = json.loads(sys.stdin.read())
client = connect(load_settings().clickhouse_dsn)


def rows(sql, **parameters):
    return [
        [v.isoformat() if hasattr(v, "isoformat") else v for v in row]
        for row in client.query(sql, parameters=parameters).result_rows
    ]


out = {"ranges": {}, "seller_ranges": {}}
for label, (first, last) in ranges["ranges"].items():
    where = "local_date BETWEEN {first:Date} AND {last:Date}"
    out["ranges"][label] = rows(
        f"SELECT store_id, {METRICS} FROM sale_lines WHERE {where} GROUP BY store_id",
        first=first, last=last,
    )
    out["seller_ranges"][label] = rows(
        f"SELECT store_id, seller_id, {METRICS} FROM sale_lines WHERE {where} "
        "GROUP BY store_id, seller_id",
        first=first, last=last,
    )
out["days"] = rows(
    f"SELECT store_id, toString(local_date), {METRICS} FROM sale_lines "
    "GROUP BY store_id, local_date"
)
out["hours"] = rows(
    "SELECT store_id, concat(toString(local_date), 'T', leftPad(toString(local_hour), 2, '0')), "
    f"{METRICS} FROM sale_lines GROUP BY store_id, local_date, local_hour"
)
out["products"] = rows(
    f"SELECT store_id, sku, {METRICS} FROM sale_lines "
    "WHERE store_id IN {stores:Array(String)} GROUP BY store_id, sku "
    "ORDER BY store_id, sum(revenue_cents) DESC, sku ASC LIMIT {top:UInt32} BY store_id",
    stores=ranges["stores"], top=ranges["top"],
)
out["time_zones"] = rows("SELECT DISTINCT time_zone FROM sale_lines")
client.close()
print(json.dumps(out))
"""


def sql_views(env: dict[str, str], top: list[str]) -> Views:
    ranges = {"ranges": {**MONTHS, "whole": WHOLE}, "stores": top, "top": TOP_PRODUCTS}
    done = subprocess.run(
        [sys.executable, "-c", SQL_SCRIPT],
        env=env,
        cwd=REPO,
        input=json.dumps(ranges),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["time_zones"] == [["Europe/London"]], out["time_zones"]

    def figures_of(values: list[int]) -> Figures:
        figures = api_figures(values[:7], values[7])
        recomputed_revenue, distinct_ids = values[8:]
        # The stored revenue of each line is quantity x price, signed, and each line is once.
        assert recomputed_revenue == figures["revenue_cents"]
        assert distinct_ids == figures["lines"]
        return figures

    views: Views = {}
    for label, found in out["ranges"].items():
        for store, *values in found:
            if label == "whole":
                views["range", store] = figures_of(values)
            else:
                views["month", store, label] = figures_of(values)
                views["month-point", store, label] = figures_of(values)
    stores = sorted(store for (kind, store, *_) in views if kind == "range")
    for label, found in out["seller_ranges"].items():
        assert {seller for _, seller, *_ in found} == {SELLER}
        for store, _, *values in found:
            if label == "whole":
                views["seller-range", store] = figures_of(values)
            else:
                views["seller-month", store, label] = figures_of(values)
    for store, month in ((s, m) for s in stores for m in MONTHS):
        views.setdefault(("month", store, month), dict.fromkeys(FIGURES, 0))
        views.setdefault(("seller-month", store, month), dict.fromkeys(FIGURES, 0))
    for store, day, *values in out["days"]:
        views["day", store, day] = figures_of(values)
    for store, hour, *values in out["hours"]:
        views["hour", store, hour] = figures_of(values)
    for month in MONTHS:
        views["seller-all-month", month] = _summed(views["month", s, month] for s in stores)
    views["seller-all-range",] = _summed(views["range", s] for s in stores)
    products: dict[str, list[tuple[str, Figures]]] = {store: [] for store in top}
    for store, sku, *values in out["products"]:
        products[store].append((sku, figures_of(values)))
    for store, ranked in products.items():
        views["products", store] = ranked  # ranked by the SQL itself
    return views


# --- comparing ----------------------------------------------------------------------------------

CustomersRule = Callable[[int, int], bool]


def exact(got: int, expected: int) -> bool:
    return got == expected


def sketch(got: int, expected: int) -> bool:
    """The live tables' customers: exact up to 128, within 5% beyond."""
    if expected <= SKETCH_EXACT_UP_TO:
        return got == expected
    return abs(got - expected) <= SKETCH_TOLERANCE * expected


def differences(got: Views, expected: Views, customers: CustomersRule, what: str) -> list[str]:
    """Every key whose figures differ, described; an empty list when all agree."""
    found: list[str] = []
    compared = [key for key in expected if key != ("names",)]
    missing = [key for key in compared if key not in got]
    extra = [key for key in got if key not in expected and key != ("names",)]
    if missing:
        found.append(f"{what}: {len(missing)} keys missing, e.g. {missing[:5]}")
    if extra:
        found.append(f"{what}: {len(extra)} unexpected keys, e.g. {extra[:5]}")

    def compare(key: Any, mine: Figures, theirs: Figures) -> None:
        wrong = {
            name: (mine[name], theirs[name])
            for name in FIGURES
            if name != "customers" and mine[name] != theirs[name]
        }
        if not customers(mine["customers"], theirs["customers"]):
            wrong["customers"] = (mine["customers"], theirs["customers"])
        if wrong:
            found.append(f"{what} {key}: (got, expected) {wrong}")

    for key in compared:
        if key not in got:
            continue
        if key[0] == "products":
            mine, theirs = got[key], expected[key]
            if [sku for sku, _ in mine] != [sku for sku, _ in theirs]:
                found.append(
                    f"{what} {key}: skus {[s for s, _ in mine]} != {[s for s, _ in theirs]}"
                )
            for (sku, a), (_, b) in zip(mine, theirs, strict=False):
                compare((*key, sku), a, b)
        else:
            compare(key, got[key], expected[key])
    return found


# --- the worker -----------------------------------------------------------------------------


def sign_in(worker: WorkerProcess) -> str:
    answer = worker.request(
        "POST", "/api/v1/auth/token", body={"username": "admin", "password": PASSWORD}
    )
    assert answer.status == 200, answer.body
    return answer.body["access_token"]


def wait_until_complete(worker: WorkerProcess, token: str, accepted: int) -> list[str]:
    """Every accepted line in the tables and the history sink at the end of the topics; the
    stores."""
    deadline = time.monotonic() + 180
    lines, caught_up = -1, 0.0
    while time.monotonic() < deadline:
        stores = worker.get("/api/v1/stores", token)["stores"]
        lines = sum(
            worker.get(f"/api/v1/stores/{s}/summary?from={WHOLE[0]}&to={WHOLE[1]}", token)["lines"]
            for s in stores
        )
        caught_up = worker.metric("dataapp_history_caught_up")
        if lines == accepted and caught_up == 1.0:
            return stores
        assert lines <= accepted, f"{lines} lines in the tables, only {accepted} accepted"
        time.sleep(0.5)
    raise AssertionError(
        f"incomplete: {lines} of {accepted} lines, history caught up: {caught_up}\n{worker.tail()}"
    )


def test_online_retail_reconciles_live_tables_clickhouse_and_pandas_to_the_cent(
    kafka_bootstrap: str, online_retail_dir: Path, tmp_path: Path
) -> None:
    env = worker_environment(kafka_bootstrap, tmp_path / "data", **EVERYTHING, **FIXED_KEY)
    recomputed = recompute_from_csv(online_retail_dir)
    expected = expected_views(recomputed)
    stores_expected = sorted({key[1] for key in expected if key[0] == "range"})
    top = biggest_stores(expected)
    names = product_names(recomputed)

    summary = json.loads(
        dataapp(
            env,
            "ingest",
            str(online_retail_dir),
            "--mapping",
            "online-retail",
            "--json",
            "--no-progress",
            timeout=180,
        ).splitlines()[-1]
    )
    # The ingestion agrees with pandas on what it accepted, dropped and refused, and why.
    assert summary["read"] == recomputed.read
    assert (summary["accepted"], summary["duplicates"]) == (
        recomputed.accepted,
        recomputed.duplicates,
    )
    assert summary["rejected_by_reason"] == recomputed.rejected_by_reason
    assert summary["failures"] == []

    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    try:
        worker.wait_ready()
        token = worker.add_user("admin", "admin")
        stores = wait_until_complete(worker, token, summary["accepted"])
        assert stores == stores_expected
        live = api_views(worker, token, stores, top)
    finally:
        worker.stop()

    history_sql = sql_views(env, top)

    # The same data folder, every day now older than the live window: ClickHouse answers.
    history_env = {**env, "DATAAPP_LIVE_DAYS": "0"}
    history_worker = WorkerProcess(history_env, tmp_path / "history-worker.log")
    history_worker.start()
    try:
        history_worker.wait_ready()
        token = sign_in(history_worker)
        assert history_worker.get("/api/v1/stores", token)["stores"] == stores_expected
        from_history = api_views(history_worker, token, stores_expected, top)
    finally:
        history_worker.stop()

    # Not vacuous: every kind of view was compared, and one cent off would be found.
    assert {key[0] for key in expected} <= {key[0] for key in live} & {
        key[0] for key in from_history
    }
    off_by_a_cent = dict(history_sql)
    off_by_a_cent["range", top[0]] = {
        **history_sql["range", top[0]],
        "revenue_cents": history_sql["range", top[0]]["revenue_cents"] + 1,
    }
    assert differences(off_by_a_cent, expected, exact, "check")

    # The history worker answered from ClickHouse: its customers are exact where the live
    # tables' sketch is not (the assertions below hold it to pandas' count exactly).
    found = [
        *differences(history_sql, expected, exact, "SQL vs pandas"),
        *differences(live, expected, sketch, "live API vs pandas"),
        *differences(from_history, expected, exact, "history API vs pandas"),
        *differences(live, history_sql, sketch, "live API vs SQL"),
    ]
    for what, views in (("live", live), ("history", from_history)):
        for (store, sku), name in views["names",].items():
            if name not in names.get((store, sku), set()):
                found.append(f"{what} name of {store}/{sku}: {name!r} never seen in the data")
    assert not found, f"{len(found)} differences:\n" + "\n".join(found[:40])
