"""The ``dataapp ingest`` command as a person uses it, on dry runs (no broker needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEADER = "order_id,store_id,seller_id,event_time,sku,quantity,unit_price\n"
GOOD = "A1,loja-01,v1,2026-11-02T10:00:00-03:00,SKU-1,2,10.50\n"
BAD = "A2,loja-01,v1,2026-11-02T10:00:00-03:00,SKU-1,dois,10.50\n"


def dataapp(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATAAPP_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
    )


def test_dry_run_prints_a_json_summary_as_its_last_line(tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(HEADER + GOOD + BAD + GOOD)
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", "--json", str(sales))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["read"] == 3
    assert summary["accepted"] == 1
    assert summary["duplicates"] == 1
    assert summary["rejected_by_reason"] == {"invalid_quantity": 1}
    assert f"{sales}:3: invalid_quantity" in done.stderr


def test_stdin_is_a_source(tmp_path: Path) -> None:
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", "--json", "-", stdin=HEADER + GOOD)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["accepted"] == 1


def test_human_summary_without_json(tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(HEADER + GOOD + BAD)
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", str(sales))
    assert done.returncode == 0
    assert "read 2 rows from 1 source(s): 1 accepted, 0 duplicates, 1 rejected" in done.stdout
    assert "invalid_quantity: 1" in done.stdout


def test_missing_columns_stop_everything_before_a_row_is_read(tmp_path: Path) -> None:
    good = tmp_path / "a.csv"
    good.write_text(HEADER + GOOD)
    lacking = tmp_path / "b.csv"
    lacking.write_text("order_id,store_id,event_time,sku\nA9,loja-01,2026-11-02,SKU-1\n")
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", "--json", str(good), str(lacking))
    assert done.returncode == 2
    assert f"{lacking}: missing required column(s) seller_id, quantity, unit_price" in done.stderr
    assert "nothing was sent" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mapping", "no-such-mapping"], "shipped mappings: canonical, online-retail"),
        (["/no/such/file.csv"], "no such file or folder"),
    ],
)
def test_usage_errors_exit_2_with_a_message(tmp_path: Path, args: list[str], message: str) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(HEADER + GOOD)
    paths = [] if args[0].startswith("/") else [str(sales)]
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", *args, *paths)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_truncated_file_exits_1_and_names_file_and_line(tmp_path: Path) -> None:
    import gzip

    body = HEADER + "".join(
        f"A{i},loja-01,v1,2026-11-02T10:00:00-03:00,SKU-{i},1,{i}.00\n" for i in range(2000)
    )
    packed = gzip.compress(body.encode())
    cut = tmp_path / "sales.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    done = dataapp(tmp_path / "data", "ingest", "--dry-run", "--json", str(cut))
    assert done.returncode == 1
    assert f"error: {cut}:" in done.stderr and "truncated" in done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["accepted"] > 0
    assert summary["read"] == summary["accepted"] + summary["duplicates"] + summary["rejected"]


def test_an_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text(HEADER + GOOD)
    done = subprocess.run(
        [sys.executable, "-m", "app", "ingest", str(sales)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "DATAAPP_DATA_DIR": str(tmp_path / "data"),
            "DATAAPP_KAFKA_BOOTSTRAP": "127.0.0.1:9",
            "DATAAPP_KAFKA_ATTEMPTS": "2",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert done.returncode == 1
    assert "did not answer after 2 attempts" in done.stderr
    assert "Traceback" not in done.stderr


# --- dataapp run's banner ------------------------------------------------------------------


@pytest.mark.parametrize("backfilling", [True, False])
def test_the_banner_names_everything_ctrl_c_stops(backfilling: bool) -> None:
    from app.cli import _stop_hint

    hint = _stop_hint(started_here=True, backfilling=backfilling)
    for part in ("the live generator", "the dashboards", "the worker", "the broker"):
        assert part in hint
    assert ("the history backfill" in hint) is backfilling
    elsewhere = _stop_hint(started_here=False, backfilling=backfilling)
    assert "the dashboards and the worker;" in elsewhere
    assert "keeps running (`dataapp kafka down` stops it)" in elsewhere


def test_the_banner_says_whether_the_history_is_being_published(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from unittest import mock

    from app.cli import _history_line
    from app.generator.stream import DemoStart, plan_history

    moment = datetime(2026, 11, 28, 21, 30, tzinfo=UTC)
    plan = plan_history(tmp_path, "c/sales", 7, 8, 2_500, moment)
    settings = mock.Mock(data_dir=tmp_path)
    first = _history_line(DemoStart(plan, moment, 2_500, "pace"), settings)
    assert first.startswith("first start: publishing the 90 days before 2026-11-28 21:30 UTC")
    assert "(about 225,000 orders)" in first and str(tmp_path / "demo-history.json") in first
    resumed = _history_line(DemoStart(plan, moment, 2_500, "pace", resumed=True), settings)
    assert resumed.startswith("resuming what an interrupted start began")
    later = _history_line(DemoStart(None, moment, 2_500, "pace", existing=plan), settings)
    assert later.startswith("90 days up to 2026-11-28 21:30 UTC, published at an earlier start")
    assert _history_line(DemoStart(None, moment, 2_500, "pace"), settings).startswith("none")


def test_run_paces_by_the_model_unless_given_a_rate() -> None:
    from app.cli import _parser

    args = _parser().parse_args(["run"])
    assert args.rate is None and args.history_days == 90 and args.orders_per_day is None
    assert _parser().parse_args(["run", "--rate", "20"]).rate == 20.0
    assert _parser().parse_args(["generate", "--rate", "50"]).rate == 50.0
