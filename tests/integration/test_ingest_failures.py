"""Ingestion under failure, on real brokers: a killed ingest, a broker that dies mid-way, a
truncated file. In every case the re-run completes and the topic holds each accepted line once.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app.generator.stream import write_history
from app.kafka.launcher import broker_down, broker_status, broker_up, free_port
from app.settings import load_settings
from tests.kafka_tools import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 200,000 generated rows: long enough to interrupt an ingest half-way."""
    folder = tmp_path_factory.mktemp("generated")
    return write_history(folder, 11, 8, 22, "2026-01-05", 4000)["sales"]


@pytest.fixture(scope="module")
def expected_accepted(big_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    env = {"DATAAPP_DATA_DIR": str(tmp_path_factory.mktemp("dry"))}
    summary = ingest(env, "--dry-run", str(big_csv))
    assert summary["read"] > 150_000
    return summary["accepted"]


def environment(bootstrap: str, data_dir: Path, prefix: str = "") -> dict[str, str]:
    return {
        "DATAAPP_KAFKA_BOOTSTRAP": bootstrap,
        "DATAAPP_DATA_DIR": str(data_dir),
        "DATAAPP_TOPIC_PREFIX": prefix,
        "DATAAPP_KAFKA_ATTEMPTS": "2",
        "DATAAPP_KAFKA_TIMEOUT_MS": "4000",
    }


def start_ingest(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "ingest", "--json", "--no-progress", *args],
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait for an ingest; one that hangs is killed, never left running after the test."""
    try:
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def ingest(env: dict[str, str], *args: str, expect: int = 0) -> dict:
    process = start_ingest(env, *args)
    out, err = finish(process, 300)
    assert process.returncode == expect, err
    return json.loads(out.strip().splitlines()[-1]) if expect == 0 else {"stderr": err}


def wait_for_messages(bootstrap: str, topic: str, at_least: int, timeout: float = 60) -> None:
    from aiokafka import TopicPartition

    from app.kafka.admin import partitions_of

    async def count() -> int:
        from aiokafka import AIOKafkaConsumer

        from app.ingest.kafka_sink import stop_consumer

        parts = (await partitions_of(bootstrap, [topic])).get(topic, [])
        # read_committed: end offsets stop at the last committed transaction, so the run
        # really got part of the way before it is interrupted.
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
        await consumer.start()
        try:
            ends = await consumer.end_offsets([TopicPartition(topic, p) for p in parts])
            return sum(ends.values())
        finally:
            await stop_consumer(consumer)

    deadline = time.monotonic() + timeout
    while asyncio.run(count()) < at_least:
        assert time.monotonic() < deadline, f"{topic} never reached {at_least} messages"
        time.sleep(0.05)


def assert_exactly_once(bootstrap: str, topic: str, expected: int) -> None:
    sales = asyncio.run(read_topic(bootstrap, topic))
    line_ids = [line["line_id"] for sale in sales for line in sale["lines"]]
    assert len(set(line_ids)) == len(line_ids), "a line reached the topic twice"
    assert len(line_ids) == expected, "a line was lost"
    dead_letters = asyncio.run(read_topic(bootstrap, f"{topic}.rejected"))
    rejection_ids = [letter["rejection_id"] for letter in dead_letters]
    assert rejection_ids, "the generated data has bad rows"
    assert len(set(rejection_ids)) == len(rejection_ids), "a dead letter was sent twice"


def test_killed_ingest_resumes_without_loss_or_double_count(
    kafka_bootstrap: str, big_csv: Path, expected_accepted: int, tmp_path: Path
) -> None:
    prefix = f"kill-{uuid.uuid4().hex[:8]}."
    env = environment(kafka_bootstrap, tmp_path / "data", prefix)
    process = start_ingest(env, str(big_csv))
    try:
        wait_for_messages(kafka_bootstrap, f"{prefix}sales", at_least=2_000)
        process.send_signal(signal.SIGKILL)
    finally:
        finish(process, 30)

    second = ingest(env, str(big_csv))
    assert 0 < second["accepted"] < expected_accepted, "the first run got part of the way"
    assert_exactly_once(kafka_bootstrap, f"{prefix}sales", expected_accepted)


def test_broker_dying_mid_way_gives_a_clear_error_and_a_clean_rerun(
    big_csv: Path, expected_accepted: int, tmp_path: Path
) -> None:
    broker_dir = tmp_path / "broker"
    status = broker_up(broker_dir, load_settings().cache_dir, port=free_port())
    assert status.bootstrap and status.pid
    try:
        env = environment(status.bootstrap, tmp_path / "data")
        process = start_ingest(env, str(big_csv))
        try:
            wait_for_messages(status.bootstrap, "sales", at_least=2_000)
            os.kill(status.pid, signal.SIGKILL)
            started = time.monotonic()
        finally:
            _, err = finish(process, 120)
        assert process.returncode == 1
        assert "did not answer" in err and "run the same command again" in err
        assert time.monotonic() - started < 90, "retries are bounded"

        restarted = broker_up(
            broker_dir, load_settings().cache_dir, port=int(status.bootstrap.split(":")[1])
        )
        assert restarted.running
        rerun = ingest(env, str(big_csv))
        assert rerun["accepted"] < expected_accepted
        assert_exactly_once(status.bootstrap, "sales", expected_accepted)
    finally:
        broker_down(broker_dir)
        assert not broker_status(broker_dir).running


def test_truncated_gzip_keeps_what_was_read_and_the_fixed_file_adds_the_rest(
    kafka_bootstrap: str, big_csv: Path, expected_accepted: int, tmp_path: Path
) -> None:
    prefix = f"trunc-{uuid.uuid4().hex[:8]}."
    env = environment(kafka_bootstrap, tmp_path / "data", prefix)
    whole = gzip.compress(big_csv.read_bytes())
    damaged = tmp_path / "sales.csv.gz"
    damaged.write_bytes(whole[: len(whole) * 3 // 5])

    failed = start_ingest(env, str(damaged))
    out, err = finish(failed, 300)
    assert failed.returncode == 1
    assert f"{damaged}:" in err and "truncated" in err
    partial = json.loads(out.strip().splitlines()[-1])
    assert 0 < partial["accepted"] < expected_accepted
    assert partial["read"] == partial["accepted"] + partial["duplicates"] + partial["rejected"]

    damaged.write_bytes(whole)
    fixed = ingest(env, str(damaged))
    assert fixed["accepted"] == expected_accepted - partial["accepted"]
    assert_exactly_once(kafka_bootstrap, f"{prefix}sales", expected_accepted)
