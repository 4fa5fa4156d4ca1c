"""The three months of Online Retail through the shipped mapping, into a real broker."""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.kafka_tools import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.data, pytest.mark.slow]


def run_ingest(bootstrap: str, data_dir: Path, prefix: str, *args: str) -> dict:
    env = os.environ | {
        "DATAAPP_KAFKA_BOOTSTRAP": bootstrap,
        "DATAAPP_DATA_DIR": str(data_dir),
        "DATAAPP_TOPIC_PREFIX": prefix,
        # Machines of one deployment share the key: customer references and line ids
        # depend on it.
        "DATAAPP_PSEUDONYM_KEY": "integration-test-key",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app", "ingest", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_data_rows(folder: Path) -> int:
    """Rows as an independent reader sees them (the csv module, header excluded)."""
    total = 0
    for path in sorted(folder.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


def test_online_retail_reconciles_exactly_and_reingests_nothing(
    kafka_bootstrap: str, online_retail_dir: Path, tmp_path: Path
) -> None:
    prefix = f"it-{uuid.uuid4().hex[:8]}."
    data_dir = tmp_path / "data"
    first = run_ingest(
        kafka_bootstrap, data_dir, prefix, "--mapping", "online-retail", str(online_retail_dir)
    )

    assert first["read"] == count_data_rows(online_retail_dir) == 105_335
    assert first["accepted"] + first["duplicates"] + first["rejected"] == first["read"]
    assert first["accepted"] > 100_000
    assert first["duplicates"] > 0, "the data set has exact duplicate lines"
    assert sum(first["rejected_by_reason"].values()) == first["rejected"]
    assert {"non_product", "zero_price", "negative_quantity_not_return"} <= set(
        first["rejected_by_reason"]
    )

    sales = asyncio.run(read_topic(kafka_bootstrap, f"{prefix}sales"))
    line_ids = [line["line_id"] for sale in sales for line in sale["lines"]]
    assert len(line_ids) == first["accepted"]
    assert len(set(line_ids)) == len(line_ids)
    assert all(
        isinstance(line["unit_price_cents"], int) for sale in sales for line in sale["lines"]
    )
    returns = [line for sale in sales if sale["order_id"].startswith("C") for line in sale["lines"]]
    assert returns and all(line["quantity"] < 0 for line in returns)

    rejected = asyncio.run(read_topic(kafka_bootstrap, f"{prefix}sales.rejected"))
    assert len(rejected) == first["rejected"]
    assert Counter(r["reason"] for r in rejected) == Counter(first["rejected_by_reason"])
    assert all(r["source"].endswith(".csv.gz") and r["line_number"] > 1 for r in rejected)

    second = run_ingest(
        kafka_bootstrap, data_dir, prefix, "--mapping", "online-retail", str(online_retail_dir)
    )
    assert second["accepted"] == 0
    assert second["duplicates"] == first["accepted"] + first["duplicates"]
    assert second["rejected"] == first["rejected"]
    assert len(asyncio.run(read_topic(kafka_bootstrap, f"{prefix}sales"))) == len(sales)
    assert len(asyncio.run(read_topic(kafka_bootstrap, f"{prefix}sales.rejected"))) == len(
        rejected
    ), "a rejection dead-lettered once is not sent again"

    # A new machine (empty data dir) rebuilds its ledger from the topics: still nothing new.
    third = run_ingest(
        kafka_bootstrap,
        tmp_path / "other-machine",
        prefix,
        "--mapping",
        "online-retail",
        str(online_retail_dir),
    )
    assert third["accepted"] == 0
