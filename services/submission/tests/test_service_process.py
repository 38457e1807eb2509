"""Deadline day over real HTTP: the service as a process on a real port, the real broker, SQLite and
PostgreSQL. 200 portals' submissions at once get 200 proposals with gap-free registration numbers and log
positions, and reach the topic in log order; 50 retries at once with one key get one proposal."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from aireg_cli.keys import KeyRing
from aireg_events.envelope import Envelope
from aireg_events.topics import Topics
from services.submission.tests.harness import backend_or_skip, proposal_body
from tests.support.databases import DatabaseFactory
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    keys: KeyRing,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    folder = tmp_path_factory.mktemp("deadline-day")
    databases = DatabaseFactory(backend_or_skip(request.param), folder)
    process = service_process(
        "submission",
        database_url=databases.create("submission"),
        bootstrap=kafka_bootstrap,
        keys=keys,
        namespace=f"t{uuid.uuid4().hex[:12]}.",
        log_dir=folder,
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()
        databases.drop_all()


async def open_consultation(client: httpx.AsyncClient, tokens: TokenFactory) -> str:
    now = datetime.now(UTC)
    response = await client.post(
        "/v1/consultations",
        headers=tokens.header("admin"),
        json={
            "code": f"deadline-{uuid.uuid4().hex[:8]}",
            "title": "Deadline day",
            "submission_opens_at": (now - timedelta(days=1)).isoformat(),
            "submission_closes_at": (now + timedelta(days=1)).isoformat(),
            "analysis_due_at": (now + timedelta(days=40)).isoformat(),
            "forwarding_due_at": (now + timedelta(days=50)).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


async def whole_log(client: httpx.AsyncClient, tokens: TokenFactory) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/events", headers=tokens.header("auditor"), params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def read_topic(bootstrap: str, topic: str, until: int, timeout: float = 30.0) -> list[Envelope]:
    """Every envelope on ``topic`` from offset 0, until ``until`` log positions arrived (no group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    envelopes: list[Envelope] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(envelopes) < until and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                envelopes += [Envelope.from_json(record.value) for record in records]
    finally:
        await consumer.stop()
    return envelopes


async def test_200_concurrent_submissions_get_gap_free_numbers_and_positions_and_reach_the_topic_in_order(
    service: ServiceProcess, tokens: TokenFactory, kafka_bootstrap: str
) -> None:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as client:
        consultation_id = await open_consultation(client, tokens)
        portals = [tokens.header("portal", f"portal-{index % 20}") for index in range(200)]
        responses = await asyncio.gather(
            *[
                client.post(
                    f"/v1/consultations/{consultation_id}/proposals",
                    headers={**portal, "Idempotency-Key": f"deadline-{index}"},
                    json=proposal_body(title=f"Proposal {index}"),
                )
                for index, portal in enumerate(portals)
            ]
        )
        assert [response.status_code for response in responses] == [201] * 200
        answers = [response.json() for response in responses]
        log = await whole_log(client, tokens)

    prefix = answers[0]["registration_number"][:-6]
    assert sorted(answer["registration_number"] for answer in answers) == [
        f"{prefix}{number:06d}" for number in range(1, 201)
    ]
    assert len({answer["proposal_id"] for answer in answers}) == 200
    assert [event["log_position"] for event in log] == list(range(1, len(log) + 1))
    submitted = [event for event in log if event["event_type"] == "ProposalSubmitted"]
    assert sorted(event["payload"]["registration_number"] for event in submitted) == sorted(
        answer["registration_number"] for answer in answers
    )
    assert {answer["receipt"]["log_position"] for answer in answers} == {
        event["log_position"] for event in submitted
    }

    topic = Topics(service.spec.env["AIREG_TOPIC_NAMESPACE"]).submission
    published = await read_topic(kafka_bootstrap, topic, until=len(log))
    assert sorted(envelope.log_position for envelope in published) == list(range(1, len(log) + 1))
    assert {envelope.event_id for envelope in published} == {event["event_id"] for event in log}
    assert all(envelope.hash_is_valid() for envelope in published)


async def test_50_concurrent_retries_with_one_idempotency_key_make_one_proposal_and_50_identical_answers(
    service: ServiceProcess, tokens: TokenFactory
) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        consultation_id = await open_consultation(client, tokens)
        headers = {**tokens.header("portal", "retrying-portal"), "Idempotency-Key": "network-flaky"}
        responses = await asyncio.gather(
            *[
                client.post(
                    f"/v1/consultations/{consultation_id}/proposals", headers=headers, json=proposal_body()
                )
                for _ in range(50)
            ]
        )
        log = await whole_log(client, tokens)

    assert {response.status_code for response in responses} == {201}
    assert len({response.content for response in responses}) == 1, "50 byte-identical answers"
    answer = responses[0].json()
    assert answer["registration_number"].endswith("00001")
    submitted = [
        event
        for event in log
        if event["event_type"] == "ProposalSubmitted"
        and event["payload"]["consultation_id"] == consultation_id
    ]
    assert [event["event_id"] for event in submitted] == [answer["event_id"]]
