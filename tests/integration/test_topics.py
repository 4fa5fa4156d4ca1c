"""Topics exist exactly as app/topics.py declares them, and nowhere else."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaTimeoutError, UnknownTopicOrPartitionError

from app.kafka.admin import TopicCreationError, ensure_topics, partitions_of
from app.topics import topic_set

pytestmark = pytest.mark.kafka


async def topic_configs(bootstrap: str, name: str) -> dict[str, str]:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await client.start()
    try:
        [response] = await client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    finally:
        await client.close()
    [(_, _, _, _, entries)] = response.resources
    return {entry[0]: entry[1] for entry in entries}


def test_topics_are_created_as_declared_and_only_once(kafka_bootstrap: str) -> None:
    topics = topic_set(f"decl-{uuid.uuid4().hex[:6]}.")
    created = asyncio.run(ensure_topics(kafka_bootstrap, topics.all))
    assert created == [spec.name for spec in topics.all]
    assert asyncio.run(ensure_topics(kafka_bootstrap, topics.all)) == []

    layout = asyncio.run(partitions_of(kafka_bootstrap, [spec.name for spec in topics.all]))
    for spec in topics.all:
        assert len(layout[spec.name]) == spec.partitions
    assert asyncio.run(topic_configs(kafka_bootstrap, topics.stores.name))["cleanup.policy"] == (
        "compact"
    )
    sales = asyncio.run(topic_configs(kafka_bootstrap, topics.sales.name))
    assert sales["retention.ms"] == topics.sales.configs["retention.ms"]


def test_a_topic_the_broker_refuses_is_an_error_not_a_silent_success(kafka_bootstrap: str) -> None:
    topics = topic_set(f"refused-{uuid.uuid4().hex[:6]}.")
    with pytest.raises(TopicCreationError, match="replication factor"):
        asyncio.run(ensure_topics(kafka_bootstrap, [topics.sales], replication_factor=3))


def test_the_broker_does_not_create_undeclared_topics(kafka_bootstrap: str) -> None:
    typo = f"sales-typo-{uuid.uuid4().hex[:6]}"

    async def produce_to_a_typo() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=3000)
        await producer.start()
        try:
            await producer.send_and_wait(typo, b"x")
        finally:
            await producer.stop()

    # Kafka answers "unknown topic" (or aiokafka gives up waiting for it): either way, no topic.
    with pytest.raises((UnknownTopicOrPartitionError, KafkaTimeoutError)):
        asyncio.run(produce_to_a_typo())
    assert asyncio.run(partitions_of(kafka_bootstrap, [typo])) == {}
