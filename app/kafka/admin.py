"""Topic creation and cluster identity, on top of aiokafka's admin client."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from app.topics import TopicSpec


class KafkaUnavailableError(RuntimeError):
    pass


class TopicCreationError(RuntimeError):
    """The broker refused a topic (say, a replication factor above its broker count)."""


async def _admin(bootstrap: str, timeout_ms: int) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    try:
        await client.start()
    except Exception as error:
        await client.close()
        raise KafkaUnavailableError(
            f"cannot reach Kafka at {bootstrap} ({type(error).__name__}: {error}); "
            "start it with 'dataapp kafka up' or set DATAAPP_KAFKA_BOOTSTRAP"
        ) from error
    return client


async def cluster_id(bootstrap: str, timeout_ms: int = 10_000) -> str:
    client = await _admin(bootstrap, timeout_ms)
    try:
        description = await client.describe_cluster()
    finally:
        await client.close()
    return str(description["cluster_id"])


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec],
    timeout_ms: int = 15_000,
    replication_factor: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    client = await _admin(bootstrap, timeout_ms)
    try:
        existing = set(await client.list_topics())
        wanted = [spec for spec in specs if spec.name not in existing]
        if not wanted:
            return []
        new_topics = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_factor,
                topic_configs=dict(spec.configs),
            )
            for spec in wanted
        ]
        # Another process may win the race to create; the topic is there, all we need.
        with contextlib.suppress(TopicAlreadyExistsError):
            response = await client.create_topics(new_topics, timeout_ms=timeout_ms)
            problems = [
                f"{entry[0]}: {entry[2] if len(entry) > 2 and entry[2] else f'error {entry[1]}'}"
                for entry in response.topic_errors
                if entry[1] not in (0, TopicAlreadyExistsError.errno)
            ]
            if problems:
                raise TopicCreationError("could not create topics: " + "; ".join(problems))
        return [spec.name for spec in wanted]
    finally:
        await client.close()


async def partitions_of(
    bootstrap: str, topics: Iterable[str], timeout_ms: int = 10_000
) -> dict[str, list[int]]:
    """Partition numbers of each existing topic (a consumer's own metadata only knows the
    topics it subscribed to, so ask the admin API)."""
    client = await _admin(bootstrap, timeout_ms)
    try:
        described = await client.describe_topics(list(topics))
    finally:
        await client.close()
    return {
        entry["topic"]: sorted(p["partition"] for p in entry["partitions"])
        for entry in described
        if entry.get("error_code") == 0
    }
