"""docker-compose.yml cannot be started here (no Docker engine): it is checked statically,
against the settings of the broker the launcher runs in development."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.kafka.launcher import KAFKA_VERSION, _server_properties

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_broker_image_is_the_version_the_launcher_runs() -> None:
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"


def test_the_broker_is_published_on_loopback_only() -> None:
    ports = compose()["services"]["kafka"]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports)


def test_compose_sets_what_the_development_broker_sets(tmp_path: Path) -> None:
    environment = compose()["services"]["kafka"]["environment"]
    paths = {"logs": tmp_path / "logs"}
    development = dict(
        line.split("=", 1)
        for line in _server_properties(paths, 9092, 9093).splitlines()
        if line and not line.startswith("#")
    )
    for key in (
        "process.roles",
        "group.initial.rebalance.delay.ms",
        "auto.create.topics.enable",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "controller.listener.names",
    ):
        variable = "KAFKA_" + key.upper().replace(".", "_")
        assert str(environment[variable]) == development[key], variable
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_service_has_a_healthcheck_and_named_volumes_exist() -> None:
    spec = compose()
    for name, service in spec["services"].items():
        assert "healthcheck" in service, name
        for volume in service.get("volumes", []):
            assert volume.split(":", 1)[0] in spec["volumes"], volume
