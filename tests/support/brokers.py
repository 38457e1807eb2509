"""The brokers the tests run on: Apache Kafka (one node per session, or a cluster of three for the
failover test) and the embedded Tansu; which one a test got, and who leads a topic's partitions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NoReturn

import pytest
from aiokafka.admin import AIOKafkaAdminClient

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


async def partition_leaders(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) → the node id leading it now, as the cluster's metadata says."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {
        (topic["topic"], partition["partition"]): partition["leader"]
        for topic in described
        for partition in topic["partitions"]
    }
