"""Declaring the contract's topics on a broker: partitions, and ``retention.ms=-1`` (never expire)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

logger = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    attempts: int = 30,
) -> None:
    """Create the missing ``topics``; existing ones are left as they are. Waits for the broker."""
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
                                topic_configs={"retention.ms": "-1"},
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
