"""Reference data (stores, sellers, products) onto its compacted topics, keyed by id."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from aiokafka import AIOKafkaProducer

from app.records import Product, Seller, Store
from app.topics import TopicSet


async def publish_reference(
    bootstrap: str,
    topics: TopicSet,
    stores: Iterable[Store],
    sellers: Iterable[Seller],
    products: Iterable[Product],
) -> int:
    """Idempotent by construction: compaction keeps the latest value per key."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    count = 0
    try:
        batches = (
            (topics.stores.name, ((s.store_id, s.to_dict()) for s in stores)),
            (topics.sellers.name, ((s.seller_id, s.to_dict()) for s in sellers)),
            (topics.products.name, ((p.sku, p.to_dict()) for p in products)),
        )
        for topic, records in batches:
            for key, value in records:
                await producer.send(topic, orjson.dumps(value), key=key.encode())
                count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count
