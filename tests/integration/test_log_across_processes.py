"""The foundation, as a user meets it: a decision appended by one service process is applied exactly once
by another, through the real broker (Apache Kafka and Tansu), on SQLite and on PostgreSQL, also after a
relay crash; a poison message goes to the DLQ and the consumer goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text

from aireg_cli.keys import KeyRing
from aireg_events.log.database import open_database
from aireg_events.topics import Topics
from tests.support.services import ServiceProcess, services_running
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.brokers("kafka", "tansu")]


@pytest.fixture
def services(
    new_database: Callable[[str], str], kafka_bootstrap: str, keys: KeyRing, namespace: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    with services_running(
        ("submission", "analysis"),
        database_url=new_database,
        bootstrap=kafka_bootstrap,
        keys=keys,
        namespace=namespace,
        log_dir=tmp_path,
    ) as running:
        yield running


def open_consultation(service: ServiceProcess, tokens: TokenFactory, code: str) -> str:
    now = datetime.now(UTC)
    response = httpx.post(
        f"{service.url}/v1/consultations",
        headers=tokens.header("admin"),
        json={
            "code": code,
            "title": f"Call {code}",
            "submission_opens_at": now.isoformat(),
            "submission_closes_at": (now + timedelta(days=30)).isoformat(),
            "analysis_due_at": (now + timedelta(days=60)).isoformat(),
            "forwarding_due_at": (now + timedelta(days=70)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


async def rows(url: str, query: str) -> list[tuple[object, ...]]:
    database = open_database(url)
    try:
        async with database.reader.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(query))).all()]
    finally:
        await database.dispose()


def metric(service: ServiceProcess, name: str) -> float:
    total = 0.0
    for line in httpx.get(f"{service.url}/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_an_event_appended_by_one_service_is_applied_once_by_another_even_after_a_relay_crash(
    services: dict[str, ServiceProcess], tokens: TokenFactory
) -> None:
    submission, analysis = services["submission"], services["analysis"]
    analysis_db = analysis.spec.env["DATABASE_URL"]
    first = open_consultation(submission, tokens, "first")
    applied = await eventually(
        lambda: rows(analysis_db, "SELECT consultation_id FROM consultation"),
        until=lambda found: len(found) == 1,
    )
    assert applied == [(first,)]

    # The relay published but died before remembering it: kill -9, and put its position back as if the
    # crash came between the broker's acknowledgement and the position's commit.
    submission.kill()
    submission_db = submission.spec.env["DATABASE_URL"]
    database = open_database(submission_db)
    async with database.writer.begin() as connection:
        await connection.execute(text("UPDATE relay_position SET log_position = 0"))
    await database.dispose()
    submission.start()
    second = open_consultation(submission, tokens, "second")

    applied = await eventually(
        lambda: rows(analysis_db, "SELECT consultation_id FROM consultation ORDER BY consultation_id"),
        until=lambda found: len(found) == 2,
    )
    assert sorted(applied) == sorted([(first,), (second,)])
    assert await rows(analysis_db, "SELECT count(*) FROM inbox") == [(2,)]
    duplicates = metric(analysis, "aireg_inbox_duplicates_skipped_total")
    assert duplicates == 1, "the first event arrived twice and was applied once"


async def test_a_poison_message_goes_to_the_dlq_and_the_consumer_goes_on(
    services: dict[str, ServiceProcess], tokens: TokenFactory, kafka_bootstrap: str, namespace: str
) -> None:
    submission, analysis = services["submission"], services["analysis"]
    topics = Topics(namespace)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topics.submission, value=b'{"event_type": "Nonsense"}', key=b"poison")
    finally:
        await producer.stop()
    after = open_consultation(submission, tokens, "after-poison")
    analysis_db = analysis.spec.env["DATABASE_URL"]
    await eventually(
        lambda: rows(analysis_db, "SELECT consultation_id FROM consultation"),
        until=lambda found: found == [(after,)],
    )
    consumer = AIOKafkaConsumer(
        topics.dlq(topics.submission), bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.value == b'{"event_type": "Nonsense"}'
    assert dict(record.headers)["dlq_reason"] == b"unparseable"
    assert metric(analysis, "aireg_dlq_messages_total") == 1
