"""Configuration from the environment, read in one place.

Every variable is optional: the defaults run everything embedded on one machine.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from app.topics import TopicSet, topic_set

DEFAULT_KAFKA_PORT = 9092


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    cache_dir: Path
    kafka_bootstrap: str | None
    """An existing broker to use instead of the one the launcher starts (``host:port``)."""
    topic_prefix: str = ""
    kafka_attempts: int = 5
    """How often a Kafka operation is tried before a command gives up with an error."""
    kafka_timeout_ms: int = 15_000
    kafka_replication: int = 1
    """Replication factor of the topics DataApp creates (3 on a production cluster)."""
    clickhouse: str = ""
    """Where history lives: ``chdb:///abs/path`` (embedded) or ``http(s)://user:pass@host:port/db``.
    Empty means chDB under the data dir."""
    web_port: int = 6066
    retention_days: int = 1825
    """How long history is kept (ClickHouse TTL) and how far back the API answers."""
    live_days: int = 35
    """Days (counted back from today, in the store's zone) that the API answers from the live
    tables; older days come from ClickHouse."""
    basket_days: int = 90
    """Days of bought-together counts kept per store, up to its newest sale (the window of
    ``/cross-sell``, ``tables/baskets.py``); 0 counts none."""

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse or f"chdb://{self.data_dir / 'clickhouse'}"

    @property
    def worker_dir(self) -> Path:
        """Faust's own data dir (RocksDB tables) for this worker."""
        return self.data_dir / "worker"

    @property
    def users_file(self) -> Path:
        return self.data_dir / "secrets" / "users.json"

    @property
    def topics(self) -> TopicSet:
        return topic_set(self.topic_prefix)

    @property
    def kafka_data_dir(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def ingest_dir(self) -> Path:
        return self.data_dir / "ingest"

    def pseudonym_key(self) -> bytes:
        """The secret that turns customer ids into pseudonymous references.

        ``DATAAPP_PSEUDONYM_KEY`` wins; otherwise one random key is made per data dir and kept
        there (mode 0600), so references stay stable across runs without a key in the code.
        """
        return self._secret("DATAAPP_PSEUDONYM_KEY", "pseudonym.key")

    def token_key(self) -> bytes:
        """The secret that signs API bearer tokens (``DATAAPP_TOKEN_KEY``, else per data dir).
        Every worker of one deployment must share it, so production sets the variable."""
        return self._secret("DATAAPP_TOKEN_KEY", "token.key")

    def _secret(self, variable: str, file_name: str) -> bytes:
        from_env = os.environ.get(variable)
        if from_env:
            return from_env.encode()
        key_file = self.data_dir / "secrets" / file_name
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()


def load_settings() -> Settings:
    data_dir = Path(os.environ.get("DATAAPP_DATA_DIR", ".data")).expanduser().resolve()
    cache_dir = Path(
        os.environ.get("DATAAPP_CACHE_DIR", Path.home() / ".cache" / "dataapp")
    ).expanduser()
    bootstrap = os.environ.get("DATAAPP_KAFKA_BOOTSTRAP") or None
    return Settings(
        data_dir=data_dir,
        cache_dir=cache_dir,
        kafka_bootstrap=bootstrap,
        topic_prefix=os.environ.get("DATAAPP_TOPIC_PREFIX", ""),
        kafka_attempts=int(os.environ.get("DATAAPP_KAFKA_ATTEMPTS", "5")),
        kafka_timeout_ms=int(os.environ.get("DATAAPP_KAFKA_TIMEOUT_MS", "15000")),
        kafka_replication=int(os.environ.get("DATAAPP_KAFKA_REPLICATION", "1")),
        clickhouse=os.environ.get("DATAAPP_CLICKHOUSE", ""),
        web_port=int(os.environ.get("DATAAPP_WEB_PORT", "6066")),
        retention_days=int(os.environ.get("DATAAPP_RETENTION_DAYS", "1825")),
        live_days=int(os.environ.get("DATAAPP_LIVE_DAYS", "35")),
        basket_days=int(os.environ.get("DATAAPP_BASKET_DAYS", "90")),
    )
