"""The worker's figures, and their Prometheus text exposition (format 0.0.4).

Plain counters that the agent and the sink bump; rendering happens only when ``/metrics`` is
scraped. No client library: a dozen series do not need one.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


@dataclass(slots=True)
class Histogram:
    """Counts per upper bound (the last one unbounded), their sum and count."""

    buckets: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.buckets) + 1)

    def copy(self) -> Histogram:
        return Histogram(self.buckets, list(self.counts), self.total, self.count)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        rendered = []
        cumulative = 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            sep = "," if labels else ""
            rendered.append(f'{name}_bucket{{{labels}{sep}le="{le}"}} {cumulative}')
        suffix = f"{{{labels}}}" if labels else ""
        rendered.append(f"{name}_sum{suffix} {self.total}")
        rendered.append(f"{name}_count{suffix} {self.count}")
        return rendered


@dataclass(slots=True)
class WorkerMetrics:
    events_processed: int = 0
    events_dropped: int = 0
    rebalances: int = 0
    lines_processed: int = 0
    table_writes: int = 0
    batches: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    batch_seconds: Histogram = field(default_factory=Histogram)
    latest_event_time: float = 0.0
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    request_seconds: Histogram = field(default_factory=Histogram)
    started_at: float = field(default_factory=time.time)
    reference_records: dict[str, int] = field(default_factory=dict)
    """Messages of each reference topic applied to the catalogue (tombstones included)."""
    reference_invalid: dict[tuple[str, str], int] = field(default_factory=dict)
    """Messages of a reference topic refused, by (topic, reason): logged and dead-lettered."""
    reference_entries: dict[str, int] = field(default_factory=dict)
    """Entries of the reference catalogue, by kind (store, seller, product)."""

    def note_event_time(self, timestamp: float) -> None:
        if timestamp > self.latest_event_time:
            self.latest_event_time = timestamp

    def note_request(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.request_seconds.observe(seconds)


def render(
    metrics: WorkerMetrics,
    consumer_lag: Mapping[str, Mapping[int, int]],
    sink: Mapping[str, float],
    sink_latency: Histogram | None,
) -> str:
    """The exposition text. ``consumer_lag`` is topic -> partition -> messages behind;
    ``sink`` the history sink's counters by name."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(samples)

    family(
        "dataapp_events_processed_total",
        "counter",
        "Messages of the sales topic processed by the aggregation agent.",
        [f"dataapp_events_processed_total {metrics.events_processed}"],
    )
    family(
        "dataapp_events_dropped_total",
        "counter",
        "Messages of the sales topic delivered again (after a rebalance, or of a partition no "
        "longer owned) and dropped, not counted.",
        [f"dataapp_events_dropped_total {metrics.events_dropped}"],
    )
    family(
        "dataapp_rebalances_total",
        "counter",
        "Consumer group rebalances this worker went through, the first assignment included.",
        [f"dataapp_rebalances_total {metrics.rebalances}"],
    )
    family(
        "dataapp_lines_processed_total",
        "counter",
        "Sale lines added to the live aggregates.",
        [f"dataapp_lines_processed_total {metrics.lines_processed}"],
    )
    family(
        "dataapp_table_writes_total",
        "counter",
        "Keys written to the live tables.",
        [f"dataapp_table_writes_total {metrics.table_writes}"],
    )
    family(
        "dataapp_rejections_total",
        "counter",
        "Messages of the sales topic the worker sent to the dead-letter topic, by reason.",
        [
            f'dataapp_rejections_total{{reason="{reason}"}} {count}'
            for reason, count in sorted(metrics.rejections.items())
        ],
    )
    family(
        "dataapp_reference_records_total",
        "counter",
        "Messages of the reference topics applied to the worker's catalogue of names.",
        [
            f'dataapp_reference_records_total{{topic="{topic}"}} {count}'
            for topic, count in sorted(metrics.reference_records.items())
        ],
    )
    family(
        "dataapp_reference_invalid_total",
        "counter",
        "Messages of the reference topics that are not valid records, by topic and reason "
        "(logged, sent to the dead-letter topic, not applied).",
        [
            f'dataapp_reference_invalid_total{{topic="{topic}",reason="{reason}"}} {count}'
            for (topic, reason), count in sorted(metrics.reference_invalid.items())
        ],
    )
    family(
        "dataapp_reference_entries",
        "gauge",
        "Entries of the worker's reference catalogue, by kind.",
        [
            f'dataapp_reference_entries{{kind="{kind}"}} {count}'
            for kind, count in sorted(metrics.reference_entries.items())
        ],
    )
    family(
        "dataapp_consumer_lag",
        "gauge",
        "Messages not yet processed, per topic and partition.",
        [
            f'dataapp_consumer_lag{{topic="{topic}",partition="{partition}"}} {lag}'
            for topic, partitions in sorted(consumer_lag.items())
            for partition, lag in sorted(partitions.items())
        ],
    )
    family(
        "dataapp_latest_event_time_seconds",
        "gauge",
        "Event time of the newest sale aggregated (Unix seconds).",
        [f"dataapp_latest_event_time_seconds {metrics.latest_event_time}"],
    )
    family(
        "dataapp_batch_seconds",
        "histogram",
        "Time to aggregate one batch.",
        metrics.batch_seconds.lines("dataapp_batch_seconds"),
    )
    for name, value in sorted(sink.items()):
        family(
            f"dataapp_history_{name}",
            "gauge" if name in {"healthy", "caught_up"} else "counter",
            f"ClickHouse history sink: {name.replace('_', ' ')}.",
            [f"dataapp_history_{name} {value}"],
        )
    if sink_latency is not None:
        family(
            "dataapp_history_batch_seconds",
            "histogram",
            "Time to write one batch to ClickHouse (dedup query and insert).",
            sink_latency.lines("dataapp_history_batch_seconds"),
        )
    family(
        "dataapp_http_requests_total",
        "counter",
        "API requests by route and status.",
        [
            f'dataapp_http_requests_total{{route="{route}",status="{status}"}} {count}'
            for (route, status), count in sorted(metrics.requests.items())
        ],
    )
    family(
        "dataapp_http_request_seconds",
        "histogram",
        "API request latency.",
        metrics.request_seconds.lines("dataapp_http_request_seconds"),
    )
    return "\n".join(out) + "\n"
