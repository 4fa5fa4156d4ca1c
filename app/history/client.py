"""One ClickHouse client from a DSN: embedded chDB by default, a server in production.

``chdb:///abs/path`` opens chDB in this process on that folder; ``http(s)://user:pass@host:port/db``
talks to a ClickHouse server. Both give a synchronous ``clickhouse_connect`` client, so every
query in ``app/history`` is written once for both.

chDB hosts one engine per process, on one folder: a second folder cannot be opened while any
client of the first is open, and a second process cannot open a folder another holds (chDB
locks it). The worker therefore holds its chDB for its whole life; see ``docs/history.md``.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_DATABASE = "default"
# A server that does not answer within these must not hang the worker's start.
CONNECT_TIMEOUT_S = 10
SEND_RECEIVE_TIMEOUT_S = 120


class HistoryUnavailableError(RuntimeError):
    """ClickHouse (embedded or server) cannot be opened, did not answer, or is not connected
    yet (``HistoryStore.connect_in_background``)."""


def backoff_delay(
    attempt: int, base: float = 0.2, cap: float = 30.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry ``attempt`` (1 for the first retry): the ceiling doubles
    from ``base`` up to ``cap``, and the wait is drawn in its upper half ("equal jitter"), so
    retries keep growing yet several workers do not hammer a recovering server in step."""
    exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * base is past any cap: no overflow
    ceiling = min(cap, base * 2**exponent)
    draw = (rng or random).random()
    return ceiling / 2 + draw * ceiling / 2


def connect(dsn: str) -> Client:
    """A client for ``dsn``; raises ``HistoryUnavailableError`` with the reason on failure."""
    scheme = urlsplit(dsn).scheme.lower()
    if scheme == "chdb":
        return _connect_chdb(dsn)
    if scheme in ("http", "https"):
        return _connect_server(dsn)
    raise HistoryUnavailableError(
        f"unsupported ClickHouse address {_redact(dsn)!r}: "
        "use chdb:///abs/path or http(s)://user:pass@host:port/db"
    )


def chdb_folder(dsn: str) -> Path:
    """The folder of a ``chdb:///abs/path`` DSN (absolute, so that two spellings of one
    folder are one engine to chDB)."""
    parts = urlsplit(dsn)
    if parts.netloc or not parts.path.startswith("/"):
        raise HistoryUnavailableError(
            f"a chDB address needs an absolute folder, chdb:///abs/path (got {dsn!r})"
        )
    return Path(unquote(parts.path))


def _connect_chdb(dsn: str) -> Client:
    folder = chdb_folder(dsn)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(interface="chdb", path=str(folder))
    except (ClickHouseError, OSError, RuntimeError) as error:
        raise HistoryUnavailableError(
            f"cannot open chDB at {folder} ({type(error).__name__}: {error}). chDB allows one "
            "folder per process and one process per folder: is another worker or test using "
            "it, or another chDB folder open in this process?"
        ) from error


def _connect_server(dsn: str) -> Client:
    parts = urlsplit(dsn)
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    if not _DATABASE_NAME.match(database):
        raise HistoryUnavailableError(f"not a ClickHouse database name: {database!r}")
    secure = parts.scheme.lower() == "https"
    try:
        client = clickhouse_connect.get_client(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
            secure=secure,
            connect_timeout=CONNECT_TIMEOUT_S,
            send_receive_timeout=SEND_RECEIVE_TIMEOUT_S,
            # Dedup queries carry thousands of ids: keep them out of the URL.
            form_encode_query_params=True,
        )
        # The name was checked against the identifier pattern above: safe to put in DDL.
        client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        client.database = database
        return client
    except (ClickHouseError, OSError) as error:
        raise HistoryUnavailableError(
            f"cannot reach ClickHouse at {_redact(dsn)} ({type(error).__name__}: {error})"
        ) from error


def _redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parts = urlsplit(dsn)
    if not parts.password:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
