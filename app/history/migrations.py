"""Versioned schema migrations for the history, applied at every start.

Each ``migrations/NNNN_name.sql`` runs once, in version order, and is then recorded in
``schema_migrations`` (version, name, applied_at). ClickHouse DDL is not transactional, so
every statement is written to be re-runnable (``IF NOT EXISTS``): a start that died half-way
through a migration finishes it the next time. A migration that adds a rollup must also fill
it from ``sale_lines`` (materialized views only see rows inserted after them).

Statements end with ``;`` at the end of a line. ``$retention_days`` in a file is replaced by
the configured retention (an integer, never user input). A later change of the retention is
applied by ``apply_retention`` with ``ALTER TABLE ... MODIFY TTL``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "app.history"
MIGRATIONS_FOLDER = "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# engine_full spells "TTL local_date + INTERVAL 30 DAY" as "TTL local_date + toIntervalDay(30)".
_TTL_CLAUSE = re.compile(r"\bTTL (?P<expr>.+?) \+ toIntervalDay\((?P<days>\d+)\)")

RETENTION_TABLES: tuple[str, ...] = (
    "sale_lines",
    "rejections",
    "daily_store",
    "daily_seller",
    "daily_product",
)
"""Tables whose TTL follows ``Settings.retention_days``."""

_CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, retention_days: int) -> list[str]:
        text = Template(self.sql).substitute(retention_days=int(retention_days))
        return split_statements(text)


def load_migrations() -> list[Migration]:
    """Every migration shipped in the package, by version; duplicate versions are an error."""
    folder = resources.files(MIGRATIONS_PACKAGE).joinpath(MIGRATIONS_FOLDER)
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"two migrations with version {version}: {entry.name}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Statements of a migration file: full-line ``--`` comments dropped, split at a ``;``
    that ends a line (the files' convention, so a ``;`` inside a string stays put)."""
    statements: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).rstrip().rstrip(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return [statement for statement in statements if statement]


def applied_versions(client: Client) -> set[int]:
    client.command(_CREATE_SCHEMA_MIGRATIONS)
    result = client.query("SELECT DISTINCT version FROM schema_migrations")
    return {int(row[0]) for row in result.result_rows}


def apply_migrations(
    client: Client, retention_days: int, migrations: list[Migration] | None = None
) -> list[Migration]:
    """Apply the migrations not recorded yet, in order; return those applied now."""
    if retention_days <= 0:
        raise ValueError(f"retention_days must be positive, got {retention_days}")
    pending_source = load_migrations() if migrations is None else migrations
    done = applied_versions(client)
    applied: list[Migration] = []
    for migration in pending_source:
        if migration.version in done:
            continue
        log.info("applying history migration %04d_%s", migration.version, migration.name)
        for statement in migration.statements(retention_days):
            client.command(statement)
        # Recorded only once every statement went through: a failure re-runs the whole file.
        client.insert(
            "schema_migrations",
            [(migration.version, migration.name)],
            column_names=("version", "name"),
        )
        applied.append(migration)
    return applied


def current_retention(client: Client) -> dict[str, tuple[str, int]]:
    """Per table of ``RETENTION_TABLES`` that exists: its TTL expression and days."""
    result = client.query(
        "SELECT name, engine_full FROM system.tables "
        "WHERE database = currentDatabase() AND name IN {names:Array(String)}",
        parameters={"names": list(RETENTION_TABLES)},
    )
    found: dict[str, tuple[str, int]] = {}
    for name, engine_full in result.result_rows:
        match = _TTL_CLAUSE.search(engine_full)
        if match:
            found[name] = (match.group("expr"), int(match.group("days")))
    return found


def apply_retention(client: Client, retention_days: int) -> list[str]:
    """Bring every TTL to ``retention_days``; return the tables changed. ClickHouse then
    drops expired rows in the background (a mutation), so a start is not held up by it."""
    changed: list[str] = []
    for table, (expression, days) in sorted(current_retention(client).items()):
        if days == retention_days:
            continue
        log.info("history retention of %s: %d -> %d days", table, days, retention_days)
        # Table and expression come from our own schema, the days from an int setting.
        client.command(
            f"ALTER TABLE {table} MODIFY TTL {expression} + INTERVAL {int(retention_days)} DAY"
        )
        changed.append(table)
    return changed


def migrate(client: Client, retention_days: int) -> list[Migration]:
    """What a start runs: pending migrations, then the retention setting."""
    applied = apply_migrations(client, retention_days)
    apply_retention(client, retention_days)
    return applied
