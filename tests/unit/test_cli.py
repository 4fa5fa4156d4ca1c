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
