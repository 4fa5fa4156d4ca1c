"""Shared fixtures: one real Kafka broker per test session, and the shared data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online-retail"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker for the whole session: DATAAPP_KAFKA_BOOTSTRAP's, else one started here."""
    existing = os.environ.get("DATAAPP_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    from app.kafka.launcher import broker_down, broker_up, free_port
    from app.settings import load_settings

    data_dir = tmp_path_factory.mktemp("kafka")
    status = broker_up(data_dir, load_settings().cache_dir, port=free_port())
    assert status.bootstrap
    try:
        yield status.bootstrap
    finally:
        broker_down(data_dir)


@pytest.fixture(scope="session")
def online_retail_dir() -> Path:
    if not ONLINE_RETAIL.is_dir():
        pytest.skip(f"real data absent: {ONLINE_RETAIL} (see ../shared/data/README.md)")
    return ONLINE_RETAIL


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private DATAAPP_DATA_DIR, so no test sees another's ledger or keys."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DATAAPP_DATA_DIR", str(folder))
    return folder
