"""The launcher against a real Kafka broker: start, reuse, stop, restart with data kept.

Each test starts its own broker in a tmp data dir on free ports, so these tests run next to a
developer's broker (or each other) without touching it; teardown always stops what was started.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from app.kafka.launcher import (
    KAFKA_VERSION,
    LauncherError,
    broker_down,
    broker_status,
    broker_up,
    ensure_jars,
    free_port,
    resolve_external,
)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(shutil.which("java") is None, reason="the Kafka broker needs java"),
]

CACHE_DIR = Path(os.environ.get("DATAAPP_CACHE_DIR", Path.home() / ".cache" / "dataapp"))
START_TIMEOUT = 120.0  # generous: CI has two cores and the session broker runs beside


@pytest.fixture
def data_dirs(tmp_path: Path) -> Iterator[list[Path]]:
    """Data dirs whose brokers must be stopped whatever the test did."""
    dirs: list[Path] = []
    yield dirs
    for data_dir in dirs:
        broker_down(data_dir, timeout=15.0)


def _alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie has an empty cmdline)."""
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


def _listening_hosts(port: int) -> set[str]:
    """Local addresses of sockets listening on the port, from /proc/net/tcp{,6}.

    Read from the kernel rather than by trying other addresses, so the check holds on machines
    whose only other interface is not reachable from the test.
    """
    hosts: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, state = fields[1], fields[3]
            host_hex, port_hex = address.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A = LISTEN
                continue
            if len(host_hex) == 8:
                hosts.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(host_hex)[::-1]))
            else:
                raw = b"".join(bytes.fromhex(host_hex[i : i + 8])[::-1] for i in range(0, 32, 8))
                host = socket.inet_ntop(socket.AF_INET6, raw)
                # Java listens on IPv6 sockets; 127.0.0.1 then shows as IPv4-mapped.
                hosts.add(host.removeprefix("::ffff:"))
    return hosts


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _consume_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        while len(values) < count:
            message = await asyncio.wait_for(consumer.getone(), timeout=15.0)
            assert message.value is not None
            values.append(message.value)
        return values
    finally:
        await consumer.stop()


def test_ensure_jars_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    libs = ensure_jars(CACHE_DIR)
    assert libs == CACHE_DIR / f"kafka-{KAFKA_VERSION}" / "libs"
    assert (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file()
    # Cached: the second call must not need Maven at all.
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert ensure_jars(CACHE_DIR) == libs


def test_lifecycle_keeps_data_across_restart(tmp_path: Path, data_dirs: list[Path]) -> None:
    data_dir = tmp_path / "kafka"
    data_dirs.append(data_dir)
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    topic = f"launcher-test-{uuid.uuid4().hex[:8]}"

    up = broker_up(data_dir, CACHE_DIR, port=port, timeout=START_TIMEOUT)
    assert up.running and not up.external
    assert up.bootstrap == bootstrap
    assert up.pid is not None and _alive(up.pid)
    assert (data_dir / "broker.pid").read_text().strip() == str(up.pid)
    assert up.log_file == data_dir / "broker.log"
    assert "KafkaConfig values" in up.log_file.read_text()  # the log4j config took effect

    status = broker_status(data_dir)
    assert status.running and status.pid == up.pid and status.bootstrap == bootstrap

    asyncio.run(_create_topic(bootstrap, topic))
    asyncio.run(_produce(bootstrap, topic, b"first"))
    assert asyncio.run(_consume_all(bootstrap, topic, 1)) == [b"first"]

    again = broker_up(data_dir, CACHE_DIR, port=port, timeout=START_TIMEOUT)
    assert again.running and again.pid == up.pid
    assert "already running" in again.message

    external = resolve_external(bootstrap, timeout=10.0)
    assert external.running and external.external and external.pid is None

    cluster_id = (data_dir / "logs" / "meta.properties").read_text()
    down = broker_down(data_dir)
    assert not down.running
    assert not _alive(up.pid)
    assert not (data_dir / "broker.pid").exists()
    assert not broker_status(data_dir).running

    down_again = broker_down(data_dir)
    assert not down_again.running and "not running" in down_again.message

    restarted = broker_up(data_dir, CACHE_DIR, port=port, timeout=START_TIMEOUT)
    assert restarted.running and restarted.pid != up.pid
    assert (data_dir / "logs" / "meta.properties").read_text() == cluster_id
    asyncio.run(_produce(bootstrap, topic, b"second"))
    assert asyncio.run(_consume_all(bootstrap, topic, 2)) == [b"first", b"second"]


def test_listens_on_loopback_only(tmp_path: Path, data_dirs: list[Path]) -> None:
    data_dir = tmp_path / "kafka"
    data_dirs.append(data_dir)
    port = free_port()
    up = broker_up(data_dir, CACHE_DIR, port=port, timeout=START_TIMEOUT)
    assert up.running

    props = dict(
        line.split("=", 1)
        for line in (data_dir / "server.properties").read_text().splitlines()
        if line and not line.startswith("#")
    )
    controller_port = int(props["listeners"].rsplit(":", 1)[1])
    assert props["listeners"] == (
        f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
    )
    assert props["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{port}"
    assert _listening_hosts(port) == {"127.0.0.1"}
    assert _listening_hosts(controller_port) == {"127.0.0.1"}


def test_reuses_a_saved_cluster_id_even_one_starting_with_a_dash(
    tmp_path: Path, data_dirs: list[Path]
) -> None:
    """Storage lost but launcher.json kept: the cluster id is kept; "-" ids once broke format."""
    data_dir = tmp_path / "kafka"
    data_dir.mkdir()
    data_dirs.append(data_dir)
    cluster_id = "-AbCdEfGhIjKlMnOpQrStU"
    (data_dir / "launcher.json").write_text(json.dumps({"cluster_id": cluster_id}))
    up = broker_up(data_dir, CACHE_DIR, port=free_port(), timeout=START_TIMEOUT)
    assert up.running
    meta = (data_dir / "logs" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}" in meta.splitlines()


def test_a_broker_that_dies_on_start_is_reported_with_its_log(
    tmp_path: Path, data_dirs: list[Path]
) -> None:
    """Storage of another node makes Kafka exit at once; the error must quote why."""
    data_dir = tmp_path / "kafka"
    data_dirs.append(data_dir)  # stopped even if, against expectations, it starts
    (data_dir / "logs").mkdir(parents=True)
    (data_dir / "logs" / "meta.properties").write_text(
        "version=1\nnode.id=2\ncluster.id=AbCdEfGhIjKlMnOpQrStUv\n"
        "directory.id=8jlvsrJuxjkggOIXag0RYQ\n"
    )
    with pytest.raises(LauncherError, match="exited with code") as failure:
        broker_up(data_dir, CACHE_DIR, port=free_port(), timeout=START_TIMEOUT)
    assert "Stored node id 2" in str(failure.value)
    assert not (data_dir / "broker.pid").exists()
    assert not broker_status(data_dir).running


def test_refuses_a_taken_port(tmp_path: Path, data_dirs: list[Path]) -> None:
    data_dir = tmp_path / "kafka"
    data_dirs.append(data_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(LauncherError, match=f"port {port} .* already in use"):
            broker_up(data_dir, CACHE_DIR, port=port, timeout=START_TIMEOUT)
    assert not (data_dir / "broker.pid").exists()
    assert not broker_status(data_dir).running


def test_down_ignores_a_reused_pid(tmp_path: Path) -> None:
    """A stale pid file naming someone else's process must not get that process killed."""
    data_dir = tmp_path / "kafka"
    data_dir.mkdir()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (data_dir / "broker.pid").write_text(f"{stranger.pid}\n")
        assert not broker_status(data_dir).running
        down = broker_down(data_dir, timeout=2.0)
        assert not down.running
        assert stranger.poll() is None
        assert not (data_dir / "broker.pid").exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_up_refuses_to_block_a_running_event_loop(tmp_path: Path) -> None:
    async def call_from_loop() -> None:
        broker_up(tmp_path / "kafka", CACHE_DIR, port=free_port())

    with pytest.raises(LauncherError, match="running event loop"):
        asyncio.run(call_from_loop())
    assert not (tmp_path / "kafka").exists()


def test_resolve_external_fails_clearly_when_nothing_answers() -> None:
    port = free_port()
    with pytest.raises(LauncherError, match="DATAAPP_KAFKA_BOOTSTRAP"):
        resolve_external(f"127.0.0.1:{port}", timeout=1.0)
