"""The sales history in ClickHouse: schema migrations, row conversion and the store.

Written by ``agents/clickhouse_sink.py`` from the ``sales`` topic; read by the API for the
days older than the live tables keep. See ``docs/history.md``.
"""

from app.history.client import HistoryUnavailableError, connect
from app.history.rows import REJECTION_COLUMNS, SALE_LINE_COLUMNS, rejection_row, sale_rows
from app.history.store import METRIC_KEYS, HistoryStore

__all__ = [
    "METRIC_KEYS",
    "REJECTION_COLUMNS",
    "SALE_LINE_COLUMNS",
    "HistoryStore",
    "HistoryUnavailableError",
    "connect",
    "rejection_row",
    "sale_rows",
]
