"""Event-time buckets: where a sale belongs, in the zone of the store that made it.

The zone comes from the sale itself (``source_time_zone``: for a store's sales, the store's
zone), never from the wall clock or a reference lookup that may not have arrived yet, so a
replay of old data lands every line in the same buckets as live traffic did.

Bucket labels are local and sortable: hour ``2026-11-29T14``, day ``2026-11-29``, month
``2026-11``. The live tables and ClickHouse (``local_date``, ``local_hour``) use the same
function, so the two agree on where a sale belongs.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

Grain = Literal["hour", "day", "month"]
GRAINS: tuple[Grain, ...] = ("hour", "day", "month")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(event_time: datetime, zone_name: str) -> datetime:
    """The wall-clock time at the store when the sale happened (naive-free: keeps its zone)."""
    return event_time.astimezone(zone(zone_name))


def local_buckets(event_time: datetime, zone_name: str) -> tuple[str, str, str]:
    """``(hour, day, month)`` labels of an aware UTC ``event_time`` in ``zone_name``."""
    local = event_time.astimezone(zone(zone_name))
    day = f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    return f"{day}T{local.hour:02d}", day, day[:7]
