"""An event the broker always takes: the appender refuses one whose canonical JSON is over the limit
before it is appended (a refusal naming its largest field), the topics are created with an explicit
``max.message.bytes`` above that limit and the relay compresses, so an event over Apache Kafka's default
of 1 MiB reaches the topic; and a row the broker refuses all the same (a topic made elsewhere with a
smaller limit) is reported, once, and does not stop the rows after it.

On Apache Kafka: its default ``max.message.bytes`` (1 MiB) is what the issue met.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from aireg_events.catalogue.submission import ProposalWithdrawn
from aireg_events.envelope import Actor, Envelope
from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.appender import EventTooLarge, LogAppender, UnitOfWork
from aireg_events.log.database import Database, open_database
from aireg_events.log.relay import Relay
from aireg_events.log.tables import event_log, install_log_schema
from aireg_events.topics import Topics, topic_max_message_bytes

ACTOR = Actor.system("test")
LIMIT = 2 * 1024 * 1024
"""The appender's limit in these tests: twice Apache Kafka's default for a topic."""


def withdrawn(reason: str, proposal_id: str = "p1") -> ProposalWithdrawn:
    return ProposalWithdrawn(proposal_id=proposal_id, consultation_id="c", portal="p", reason=reason)


def incompressible(size: int) -> str:
    """Text that gzip cannot make much smaller (random base64)."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()[:size]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    async with db.writer.begin() as connection:
        await connection.run_sync(install_log_schema)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def appender(database: Database) -> AsyncIterator[LogAppender]:
    log = LogAppender(database, "submission", max_event_bytes=LIMIT)
    await log.start()
    try:
        yield log
    finally:
        await log.stop()


async def append(appender: LogAppender, *events: ProposalWithdrawn) -> None:
    async def work(uow: UnitOfWork) -> None:
        for event in events:
            await uow.append(event, actor=ACTOR)

    await appender.run(work)


async def log_size(database: Database) -> int:
    async with database.reader.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(event_log))).scalar_one())


async def consume(bootstrap: str, topic: str, expected: int, timeout: float = 30) -> list[Envelope]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    envelopes: list[Envelope] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(envelopes) < expected and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                envelopes.extend(Envelope.from_json(record.value) for record in batch)
    finally:
        await consumer.stop()
    return sorted(envelopes, key=lambda envelope: envelope.log_position)


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    return {name: value for name, value, *_rest in described[0].resources[0][4]}


async def test_an_event_over_the_limit_is_refused_naming_its_largest_field_and_nothing_is_recorded(
    database: Database, appender: LogAppender
) -> None:
    await append(appender, withdrawn("a first, ordinary withdrawal"))
    # A control character is six bytes in canonical JSON (\u0001): 400,000 of them are 2.4 MB.
    with pytest.raises(EventTooLarge) as refused:
        await append(appender, withdrawn("ordinary", "p2"), withdrawn("\x01" * 400_000, "p3"))
    assert refused.value.code == "event_too_large"
    assert refused.value.kind == "invalid"
    assert refused.value.extra["field"] == "reason"
    assert refused.value.extra["max_bytes"] == LIMIT
    assert refused.value.extra["bytes"] > LIMIT
    assert "reason" in refused.value.detail
    assert await log_size(database) == 1, "the whole work is refused, the event beside it too"


@pytest.mark.kafka
async def test_an_event_over_a_mebibyte_reaches_the_topic_made_with_an_explicit_limit(
    database: Database, appender: LogAppender, kafka_bootstrap: str, namespace: str
) -> None:
    topic = Topics(namespace).submission
    await ensure_topics(
        kafka_bootstrap, [topic], partitions=1, max_message_bytes=topic_max_message_bytes(LIMIT)
    )
    assert int((await topic_config(kafka_bootstrap, topic))["max.message.bytes"]) == topic_max_message_bytes(
        LIMIT
    )
    large = withdrawn(incompressible(1_800_000))
    await append(appender, large, withdrawn("after it", "p2"))
    relay = Relay(database, topic, kafka_bootstrap, max_event_bytes=LIMIT)
    await relay.start()
    try:
        await asyncio.wait_for(relay.caught_up.wait(), 60)
    finally:
        await relay.stop()
    envelopes = await consume(kafka_bootstrap, topic, 2)
    assert [envelope.log_position for envelope in envelopes] == [1, 2]
    assert envelopes[0].payload["reason"] == large.reason
    assert relay.unpublishable == []


@pytest.mark.kafka
async def test_a_row_the_broker_refuses_is_reported_once_and_the_rows_after_it_are_published(
    database: Database,
    appender: LogAppender,
    kafka_bootstrap: str,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = Topics(namespace).submission
    # A topic made elsewhere, before this limit existed, with a smaller one of its own.
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, max_message_bytes=100_000)
    await append(appender, withdrawn("before"), withdrawn(incompressible(400_000), "p2"))
    await append(appender, *(withdrawn(f"after {index}", f"p{index + 3}") for index in range(5)))
    relay = Relay(database, topic, kafka_bootstrap, max_event_bytes=LIMIT, wake=appender.committed)
    with caplog.at_level(logging.ERROR, logger="aireg_events.log.relay"):
        await relay.start()
        try:
            await asyncio.wait_for(relay.caught_up.wait(), 60)
            await append(appender, withdrawn("later", "p9"))
            envelopes = await consume(kafka_bootstrap, topic, 7)
        finally:
            await relay.stop()
    assert [envelope.log_position for envelope in envelopes] == [1, 3, 4, 5, 6, 7, 8]
    assert [(row.log_position, row.event_type) for row in relay.unpublishable] == [(2, "ProposalWithdrawn")]
    assert relay.position == 8
    refusals = [record for record in caplog.records if "cannot publish" in record.getMessage()]
    assert len(refusals) == 1 and "log position 2" in refusals[0].getMessage()
    assert REGISTRY.get_sample_value("aireg_relay_unpublishable_events_total", {"topic": topic}) == 1.0
