"""Declaring the contract's topics on a broker: partitions, copies (replication factor and
``min.insync.replicas``), ``retention.ms=-1`` (never expire) and ``max.message.bytes``; and asking a broker which partitions
topics have."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from aireg_events.topics import MAX_EVENT_BYTES, topic_max_message_bytes

logger = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    max_message_bytes: int = topic_max_message_bytes(MAX_EVENT_BYTES),
    attempts: int = 30,
) -> None:
    """Create the missing ``topics``; existing ones are left as they are. Waits for the broker.

    With ``acks=all`` a write is acknowledged once ``min_insync_replicas`` copies hold it (3 and 2 in a
    cluster of three: one broker may be lost without losing or refusing an acknowledged event).
    ``max_message_bytes`` is set explicitly, above the largest event an appender takes (the broker's own
    default, 1 MiB, refused a legitimate event the log held, and stopped the relay on it)."""
    if not 1 <= min_insync_replicas <= replication_factor:
        raise ValueError(
            f"min.insync.replicas {min_insync_replicas} must be between 1 and the replication factor "
            f"{replication_factor}"
        )
    for attempt in range(1, attempts + 1):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in topics if name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(
                                name,
                                num_partitions=partitions,
                                replication_factor=replication_factor,
                                topic_configs={
                                    "retention.ms": "-1",
                                    "min.insync.replicas": str(min_insync_replicas),
                                    "max.message.bytes": str(max_message_bytes),
                                },
                            )
                            for name in missing
                        ]
                    )
            return
        except KafkaConnectionError:
            if attempt == attempts:
                raise
            logger.info("broker %s not reachable yet (attempt %d)", bootstrap_servers, attempt)
            await asyncio.sleep(1.0)
        finally:
            await admin.close()


async def topic_partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """The partitions of those of ``topics`` that exist, in topic then partition order, asked of the
    broker: a consumer that subscribes to nothing knows no topic's partitions (``partitions_for_topic``
    stays empty on Apache Kafka, which answers a metadata request for no topic with none, where the
    embedded Tansu answers with all of them)."""
    cluster = await consumer._client.fetch_all_metadata()
    return [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in sorted(cluster.partitions_for_topic(topic) or ())
    ]
