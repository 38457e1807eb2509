"""The log machinery, one suite run on SQLite and on PostgreSQL, against both real brokers (Apache Kafka
and the embedded Tansu).

Append-only is enforced by the database; concurrent appends share transactions and still get gap-free
positions and a valid chain; the relay publishes in log order; the consumer applies each event once,
and sends what it cannot read to the DLQ and goes on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from sqlalchemy import Column, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from aireg_events.catalogue.submission import ProposalWithdrawn
from aireg_events.chain import verify_chain
from aireg_events.envelope import Actor, Envelope
from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.appender import LogAppender, NewEvent, StreamVersionConflict, UnitOfWork
from aireg_events.log.consumer import Delivery, EventConsumer
from aireg_events.log.database import Database, open_database
from aireg_events.log.dead_letters import DeadLetters
from aireg_events.log.relay import Relay
from aireg_events.log.tables import event_log, install_log_schema
from aireg_events.topics import Topics
from tests.support.brokers import Broker

pytestmark = [pytest.mark.kafka, pytest.mark.brokers("kafka", "tansu")]

STATE = MetaData()
applied = Table(
    "applied", STATE, Column("event_id", String(36), primary_key=True), Column("stream_id", String(200))
)
ACTOR = Actor.system("test")


def withdrawn(proposal_id: str, reason: str = "test") -> ProposalWithdrawn:
    return ProposalWithdrawn(proposal_id=proposal_id, consultation_id="c", portal="p", reason=reason)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    async with db.writer.begin() as connection:
        await connection.run_sync(install_log_schema)
        await connection.run_sync(STATE.create_all)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def appender(database: Database) -> AsyncIterator[LogAppender]:
    log = LogAppender(database, "submission")
    await log.start()
    try:
        yield log
    finally:
        await log.stop()


async def read_log(database: Database) -> list[Envelope]:
    async with database.reader.connect() as connection:
        rows = (await connection.execute(select(event_log.c.body).order_by(event_log.c.log_position))).all()
    return [Envelope.from_json(body) for (body,) in rows]


async def test_the_event_log_refuses_update_and_delete(database: Database, appender: LogAppender) -> None:
    async def work(uow: UnitOfWork) -> Envelope:
        return await uow.append(withdrawn("p1"), actor=ACTOR)

    await appender.run(work)
    for statement in ("UPDATE event_log SET event_type = 'Forged'", "DELETE FROM event_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.writer.begin() as connection:
                await connection.execute(text(statement))
    [envelope] = await read_log(database)
    assert envelope.event_type == "ProposalWithdrawn"


async def test_concurrent_appends_share_transactions_and_stay_gap_free(
    database: Database, appender: LogAppender
) -> None:
    async def work_for(index: int) -> Any:
        async def work(uow: UnitOfWork) -> int:
            envelope = await uow.append(withdrawn(f"p{index % 20}", reason=str(index)), actor=ACTOR)
            return envelope.log_position

        return work

    positions = await asyncio.gather(*[appender.run(await work_for(index)) for index in range(200)])
    assert sorted(positions) == list(range(1, 201))
    log = await read_log(database)
    report = verify_chain("submission", log)
    assert report.ok, report.faults
    assert report.head_position == 200
    assert appender.batches < 200, "group commit: fewer transactions than appends"


async def test_a_stale_expected_version_is_a_conflict_and_records_nothing(
    database: Database, appender: LogAppender
) -> None:
    async def first(uow: UnitOfWork) -> None:
        await uow.append(withdrawn("p1"), actor=ACTOR, expected_version=0)

    async def stale(uow: UnitOfWork) -> None:
        await uow.append(withdrawn("p1", "second"), actor=ACTOR, expected_version=0)

    async def stale_after_reading(uow: UnitOfWork) -> None:
        await uow.stream_version("p1")  # the version is known: checked before the insert
        await uow.append(withdrawn("p1", "third"), actor=ACTOR, expected_version=0)

    await appender.run(first)
    # A new stream's version is not read: the unique (stream_id, stream_version) refuses the insert.
    with pytest.raises(StreamVersionConflict, match="'p1' is not at version 0"):
        await appender.run(stale)
    with pytest.raises(StreamVersionConflict, match="'p1' is at version 1, not 0"):
        await appender.run(stale_after_reading)
    assert [envelope.payload["reason"] for envelope in await read_log(database)] == ["test"]


async def test_a_failing_work_is_rolled_back_alone(database: Database, appender: LogAppender) -> None:
    async def good(uow: UnitOfWork) -> None:
        await uow.append(withdrawn("good"), actor=ACTOR)
        await uow.session.execute(insert(applied).values(event_id=str(uuid.uuid4()), stream_id="good"))

    async def bad(uow: UnitOfWork) -> None:
        await uow.append(withdrawn("bad"), actor=ACTOR)
        await uow.session.execute(insert(applied).values(event_id="x", stream_id="bad"))
        raise RuntimeError("rule broken after writing")

    results = await asyncio.gather(
        appender.run(good), appender.run(bad), appender.run(good), return_exceptions=True
    )
    assert isinstance(results[1], RuntimeError)
    log = await read_log(database)
    assert [envelope.stream_id for envelope in log] == ["good", "good"]
    assert [envelope.log_position for envelope in log] == [1, 2]
    async with database.reader.connect() as connection:
        streams = (await connection.execute(select(applied.c.stream_id))).scalars().all()
    assert streams == ["good", "good"]


async def consume_all(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_the_relay_publishes_the_log_in_order_and_remembers_its_position(
    database: Database, appender: LogAppender, broker: Broker, kafka_bootstrap: str, namespace: str
) -> None:
    topic = Topics(namespace).submission
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)

    async def work(uow: UnitOfWork) -> None:
        for index in range(30):
            await uow.append(withdrawn(f"p{index % 4}", reason=str(index)), actor=ACTOR)

    await appender.run(work)
    relay = Relay(database, topic, kafka_bootstrap, wake=appender.committed)
    await relay.start()
    await asyncio.wait_for(relay.caught_up.wait(), 20)
    await relay.stop()
    assert relay.position == 30
    # Apache Kafka grants the idempotent producer; Tansu refuses InitProducerId and the relay goes without.
    assert relay.idempotent is (broker.kind == "kafka")
    records = await consume_all(kafka_bootstrap, topic, 30)
    envelopes = [Envelope.from_json(record.value) for record in records]
    assert sorted(envelope.log_position for envelope in envelopes) == list(range(1, 31))
    for stream in {envelope.stream_id for envelope in envelopes}:
        versions = [envelope.stream_version for envelope in envelopes if envelope.stream_id == stream]
        assert versions == sorted(versions), "per-stream order survives the partitioning"
    assert all(record.key.decode() == Envelope.from_json(record.value).stream_id for record in records)
    assert {dict(record.headers)["event_type"] for record in records} == {b"ProposalWithdrawn"}
    restarted = Relay(database, topic, kafka_bootstrap)
    await restarted.start()
    await asyncio.wait_for(restarted.caught_up.wait(), 20)
    await restarted.stop()
    assert restarted.position == 30
    assert len(await consume_all(kafka_bootstrap, topic, 31, timeout=3)) == 30, "nothing published twice"


async def test_the_consumer_applies_each_event_once_and_dead_letters_what_it_cannot_read(
    database: Database, appender: LogAppender, kafka_bootstrap: str, namespace: str
) -> None:
    from faststream.kafka import KafkaBroker

    topics = Topics(namespace)
    await ensure_topics(kafka_bootstrap, topics.all(), partitions=2)

    async def record_effect(uow: UnitOfWork, delivery: Delivery) -> None:
        await uow.session.execute(
            insert(applied).values(event_id=delivery.envelope.event_id, stream_id=delivery.envelope.stream_id)
        )

    async def produce(uow: UnitOfWork) -> list[Envelope]:
        return [await uow.append(withdrawn(f"p{index}"), actor=ACTOR) for index in range(5)]

    envelopes = await appender.run(produce)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.submission, value=b"\xff not an envelope", key=b"junk")
        for envelope in envelopes + envelopes[:2]:  # the first two are delivered twice
            await producer.send_and_wait(
                topics.submission, value=envelope.to_canonical(), key=envelope.stream_id.encode()
            )
    finally:
        await producer.stop()

    dead_letters = DeadLetters(kafka_bootstrap, consumer_group=namespace + "consumer")
    await dead_letters.start()
    consumer = EventConsumer(
        group_id=namespace + "consumer", appender=appender, apply=record_effect, dead_letters=dead_letters
    )
    broker = KafkaBroker(kafka_bootstrap)
    consumer.subscribe(broker, topics.submission)
    await broker.start()
    try:
        for _ in range(300):
            if consumer.applied + consumer.duplicates >= 7:
                break
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
        await dead_letters.stop()
    async with database.reader.connect() as connection:
        effects = (await connection.execute(select(func.count()).select_from(applied))).scalar_one()
        inbox_rows = (await connection.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
    assert (consumer.applied, consumer.duplicates, effects, inbox_rows) == (5, 2, 5, 5)
    [dead] = await consume_all(kafka_bootstrap, topics.dlq(topics.submission), 1)
    headers = dict(dead.headers)
    assert dead.value == b"\xff not an envelope"
    assert headers["dlq_reason"] == b"unparseable"
    assert headers["dlq_source_topic"] == topics.submission.encode()


async def test_appending_many_at_once_chains_exactly_as_appending_them_one_by_one(
    database: Database, appender: LogAppender
) -> None:
    async def one_then_many(uow: UnitOfWork) -> list[Envelope]:
        first = await uow.append(withdrawn("many-a"), actor=ACTOR)
        return [
            first,
            *await uow.append_many(
                [
                    NewEvent(withdrawn("many-a", "again"), actor=ACTOR, expected_version=1),
                    NewEvent(withdrawn("many-b"), actor=ACTOR, expected_version=0, traceparent="00-t-s-01"),
                    NewEvent(withdrawn("many-a", "third"), actor=ACTOR, causation_id=first.event_id),
                ]
            ),
        ]

    envelopes = await appender.run(one_then_many)
    assert [(e.stream_id, e.stream_version) for e in envelopes] == [
        ("many-a", 1),
        ("many-a", 2),
        ("many-b", 1),
        ("many-a", 3),
    ]
    log = await read_log(database)
    assert [e.log_position for e in log] == list(range(1, len(log) + 1))
    assert verify_chain("submission", log).ok
    assert [e.event_id for e in log[-4:]] == [e.event_id for e in envelopes]

    async def stale(uow: UnitOfWork) -> None:
        await uow.append_many(
            [
                NewEvent(withdrawn("many-c"), actor=ACTOR),
                NewEvent(withdrawn("many-b"), actor=ACTOR, expected_version=0),
            ]
        )

    with pytest.raises(StreamVersionConflict):
        await appender.run(stale)
    assert len(await read_log(database)) == len(log), "nothing of a conflicting append_many is recorded"


def _record(envelope: Envelope, offset: int) -> ConsumerRecord:
    value = envelope.to_canonical()
    return ConsumerRecord("input", 0, offset, 0, 0, None, value, None, 0, len(value), ())


class _NoDeadLetters:
    async def send(self, record: ConsumerRecord, *, reason: str, error: str) -> None:
        raise AssertionError(f"dead-lettered: {reason}: {error}")


@pytest.mark.parametrize("hook_fails", [False, True])
async def test_a_batch_hook_applies_the_new_events_and_each_inbox_row_keeps_the_head_before_its_own_appends(
    database: Database, appender: LogAppender, hook_fails: bool
) -> None:
    """Delivery i appends i % 3 events; a redelivered event is not applied again; a batch that fails as a
    whole is applied again one delivery at a time through the same hook, with the same inbox."""

    async def produce(uow: UnitOfWork) -> list[Envelope]:
        return [await uow.append(withdrawn(f"input-{uuid.uuid4()}"), actor=ACTOR) for _ in range(6)]

    inputs = await appender.run(produce)  # sealed events to deliver (their ids are not in the inbox)
    given: list[list[str]] = []

    async def apply_batch(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[int]:
        given.append([delivery.envelope.event_id for delivery in deliveries])
        if hook_fails and len(deliveries) > 1:
            raise RuntimeError("the hook fails on a batch")
        news = [
            NewEvent(
                withdrawn(f"effect-{uuid.uuid4()}"),
                actor=ACTOR,
                causation_id=delivery.envelope.event_id,
                traceparent=delivery.traceparent,
            )
            for delivery in deliveries
            for _ in range(int(delivery.envelope.payload["reason"]) % 3)
        ]
        await uow.append_many(news)
        return [int(delivery.envelope.payload["reason"]) % 3 for delivery in deliveries]

    deliverable = [
        Envelope.seal(
            event_id=str(uuid.uuid4()),
            event_type=envelope.event_type,
            schema_version=envelope.schema_version,
            stream_id=envelope.stream_id,
            stream_version=1,
            log_position=index + 1,
            occurred_at=envelope.occurred_at,
            producer="submission",
            correlation_id=envelope.event_id,
            causation_id=None,
            actor=ACTOR,
            payload={**envelope.payload, "reason": str(index)},
            prev_hash=envelope.prev_hash,
        )
        for index, envelope in enumerate(inputs)
    ]
    consumer = EventConsumer(
        group_id="hook",
        appender=appender,
        apply=None,
        apply_batch=apply_batch,
        dead_letters=_NoDeadLetters(),
    )
    await consumer.handle([_record(envelope, offset) for offset, envelope in enumerate(deliverable[:2])])
    head_before = len(await read_log(database))
    records = [_record(envelope, offset) for offset, envelope in enumerate(deliverable)]
    await consumer.handle([*records, records[3]])  # 0 and 1 again, 3 twice in the batch

    if hook_fails:
        assert given[-5:] == [
            [envelope.event_id for envelope in deliverable[2:]],
            *([envelope.event_id] for envelope in deliverable[2:]),
        ]
    else:
        assert given[-1] == [envelope.event_id for envelope in deliverable[2:]]
    assert (consumer.applied, consumer.duplicates) == (6, 3)
    async with database.reader.connect() as connection:
        rows = (await connection.execute(text("SELECT event_id, own_log_head FROM inbox"))).all()
    heads: dict[str, int] = {event_id: head for event_id, head in rows}
    log = await read_log(database)
    assert verify_chain("submission", log).ok
    caused = [e.causation_id for e in log[head_before:]]
    assert caused == [
        envelope.event_id for envelope in deliverable[2:] for _ in range(deliverable.index(envelope) % 3)
    ]
    expected = head_before
    for index, envelope in enumerate(deliverable[2:], start=2):
        assert heads[envelope.event_id] == expected  # a rebuild replays it right after that event
        expected += index % 3
