"""Every Kafka topic DataApp uses, declared once with its partitions and configuration.

Keys decide co-partitioning: sales are keyed by ``store_id`` so that one worker owns a store
and all its sellers' aggregates (Faust assigns partitions, not keys, to workers).
Reference data lives on compacted topics keyed by its id: the latest value per key is the
truth, and a new consumer rebuilds the whole catalogue by reading the topic from the start.
Commission plans too (``ref.plans``), keyed by store, each value the store's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    description: str
    configs: dict[str, str] = field(default_factory=dict)

    @property
    def compacted(self) -> bool:
        return self.configs.get("cleanup.policy") == "compact"


COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}

SALES = TopicSpec(
    name="sales",
    partitions=8,
    key="store_id",
    description="Validated, normalized sales (one message per order or part of one).",
    # Kept long enough to rebuild every table and the ClickHouse history from scratch.
    configs={"retention.ms": str(400 * DAY_MS), "compression.type": "producer"},
)
SALES_REJECTED = TopicSpec(
    name="sales.rejected",
    partitions=2,
    key="source",
    description="Dead letters: rows that were read but not accepted, with file, line and reason.",
    configs={"retention.ms": str(90 * DAY_MS)},
)
STORES = TopicSpec(
    name="ref.stores",
    partitions=1,
    key="store_id",
    description="Store reference data: name, city, time zone.",
    configs=COMPACTED,
)
SELLERS = TopicSpec(
    name="ref.sellers",
    partitions=1,
    key="seller_id",
    description="Seller reference data: store, display name, commission plan.",
    configs=COMPACTED,
)
PRODUCTS = TopicSpec(
    name="ref.products",
    partitions=1,
    key="sku",
    description="Product catalogue: name, category, cost and price in cents.",
    configs=COMPACTED,
)

PLANS = TopicSpec(
    name="ref.plans",
    partitions=1,
    key="store_id",
    description="Commission plans: per store, its whole versioned plan history (docs/pay.md).",
    # The value is the store's whole history, so the latest message per key is all there is
    # to know and compaction loses nothing: a save never removes an earlier version.
    configs=COMPACTED,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (SALES, SALES_REJECTED, STORES, SELLERS, PRODUCTS, PLANS)


@dataclass(frozen=True, slots=True)
class TopicSet:
    """The topics of one deployment. A prefix (``DATAAPP_TOPIC_PREFIX``) lets several
    environments, or test runs, share one cluster without seeing each other's data."""

    sales: TopicSpec
    sales_rejected: TopicSpec
    stores: TopicSpec
    sellers: TopicSpec
    products: TopicSpec
    plans: TopicSpec

    @property
    def all(self) -> tuple[TopicSpec, ...]:
        return (
            self.sales,
            self.sales_rejected,
            self.stores,
            self.sellers,
            self.products,
            self.plans,
        )


def topic_set(prefix: str = "") -> TopicSet:
    named = [replace(spec, name=f"{prefix}{spec.name}") for spec in ALL_TOPICS]
    return TopicSet(*named)
