"""The brokers the tests run on: Apache Kafka (one node per session, or a cluster of three for the
failover test) and the embedded Tansu; which one a test got, and who leads a topic's partitions."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import NoReturn

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

BROKER_KINDS = ("kafka", "tansu")
"""Apache Kafka, and the embedded Tansu."""


@dataclass(frozen=True)
class Broker:
    """The broker a test runs on: its kind (one of :data:`BROKER_KINDS`) and bootstrap address."""

    kind: str
    bootstrap: str


def kafka_unavailable(reason: str) -> NoReturn:
    """Skips the Apache Kafka tests with ``reason``, or fails them where they must run (CI)."""
    if os.environ.get("AIREG_REQUIRE_KAFKA") == "1":
        pytest.fail(f"Apache Kafka cannot run and AIREG_REQUIRE_KAFKA=1: {reason}")
    pytest.skip(f"Apache Kafka cannot run here: {reason}")


@dataclass(frozen=True)
class PartitionState:
    leader: int
    """The node id leading the partition (-1: none)."""
    in_sync: frozenset[int]
    """The node ids holding every acknowledged record of it."""


async def partition_states(
    bootstrap: str, topics: list[str], timeout: float = 30.0
) -> dict[tuple[str, int], PartitionState]:
    """(topic, partition) → who leads it and who is in sync, as the cluster's metadata says now (asked
    again while a node that was just killed is still the one the client tries)."""
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
        try:
            await admin.start()
            described = await admin.describe_topics(topics)
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
    return {
        (topic["topic"], partition["partition"]): PartitionState(
            partition["leader"], frozenset(partition["isr"])
        )
        for topic in described
        for partition in topic["partitions"]
    }
