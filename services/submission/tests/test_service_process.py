"""The service as a process on a real port, over real HTTP, with the real broker, on SQLite and PostgreSQL.

Deadline day: 200 portals' submissions at once get 200 proposals with gap-free registration numbers and
log positions, and reach the topic in log order; 50 retries at once with one key get one proposal. And
``aireg rebuild submission``, with the service stopped, gives back its state row for row."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text

from aireg_cli.keys import KeyRing
from aireg_events.catalogue.analysis import ProposalAssessed, ProposalTriaged
from aireg_events.catalogue.common import Outcome
from aireg_events.envelope import Envelope
from aireg_events.log.database import open_database
from aireg_events.topics import Topics
from aireg_submission.rebuild import rebuild
from services.submission.tests.harness import METHOD, AnalysisProducer, proposal_body
from tests.support.databases import DatabaseFactory, backend_or_skip
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

AIREG = [str(Path(sys.executable).parent / "aireg")]
"""The command line, as a user runs it."""


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
    service: ServiceProcess, tokens: TokenFactory, keys: KeyRing, kafka_bootstrap: str, tmp_path: Path
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

    receipt = tmp_path / "answer.json"
    receipt.write_bytes(responses[0].content)
    command = [
        *AIREG,
        "audit",
        "receipt",
        str(receipt),
        "--json",
        "--bootstrap",
        kafka_bootstrap,
        "--namespace",
        service.spec.env["AIREG_TOPIC_NAMESPACE"],
        "--keys",
        str(keys.directory),
    ]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["ok"] is True, "aireg audit receipt finds the signed receipt's event in the topic"
    assert (verdict["signature_valid"], verdict["in_log"], verdict["before_deadline"]) == (True, True, True)


STATE_TABLES = {
    "consultation": "consultation_id",
    "registration_counter": "consultation_id",
    "proposal": "proposal_id",
    "portal": "portal",
}


async def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    database = open_database(database_url)
    try:
        async with database.reader.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in await connection.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
                ]
                for table, key in STATE_TABLES.items()
            }
    finally:
        await database.dispose()


async def a_day_of_decisions(
    service: ServiceProcess, tokens: TokenFactory, kafka_bootstrap: str
) -> list[str]:
    """Proposals submitted, amended, withdrawn; a portal suspended; analysis events consumed."""
    namespace = service.spec.env["AIREG_TOPIC_NAMESPACE"]
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        consultation_id = await open_consultation(client, tokens)
        ids = []
        for portal in ("rebuild-a", "rebuild-a", "rebuild-b"):
            response = await client.post(
                f"/v1/consultations/{consultation_id}/proposals",
                headers={**tokens.header("portal", portal), "Idempotency-Key": uuid.uuid4().hex},
                json=proposal_body(),
            )
            ids.append(response.json()["proposal_id"])
        amended, withdrawn, merged = ids
        portal_a = tokens.header("portal", "rebuild-a")
        await client.post(
            f"/v1/proposals/{amended}/amendments",
            headers=portal_a,
            json={
                "changes": {"title": "Sharper", "positions": {"permitted_areas": "oppose"}},
                "reason": "typo",
            },
        )
        await client.post(f"/v1/proposals/{withdrawn}/withdrawal", headers=portal_a, json={"reason": "no"})
        admin = tokens.header("admin")
        await client.post("/v1/portals/rebuild-b/suspension", headers=admin, json={"reason": "flood"})
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            analysis = AnalysisProducer(producer, Topics(namespace).analysis)
            for proposal_id in (merged, withdrawn):
                await analysis.publish(
                    ProposalTriaged(
                        proposal_id=proposal_id,
                        consultation_id=consultation_id,
                        proposal_version=1,
                        complete=True,
                        method=METHOD,
                    )
                )
            await analysis.publish(
                ProposalAssessed(
                    proposal_id=merged,
                    consultation_id=consultation_id,
                    outcome=Outcome.merged,
                    merged_into=amended,
                    rationale="the same",
                    review_ids=[],
                )
            )
        finally:
            await producer.stop()
        await eventually(
            lambda: client.get(f"/v1/proposals/{merged}", headers=admin),
            until=lambda response: response.json()["status"] == "rejected_as_duplicate",
        )
    return ids


async def test_aireg_rebuild_gives_back_the_state_row_for_row_and_repairs_a_damaged_one(
    service: ServiceProcess, tokens: TokenFactory, kafka_bootstrap: str
) -> None:
    amended, withdrawn, merged = await a_day_of_decisions(service, tokens, kafka_bootstrap)
    database_url = service.spec.env["DATABASE_URL"]
    service.stop()
    before = await snapshot(database_url)
    try:
        command = [
            *AIREG,
            "rebuild",
            "submission",
            "--json",
            "--bootstrap",
            kafka_bootstrap,
            "--database-url",
            database_url,
            "--namespace",
            service.spec.env["AIREG_TOPIC_NAMESPACE"],
        ]
        result = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["identical"] is True
        assert await snapshot(database_url) == before

        database = open_database(database_url)
        try:
            async with database.writer.begin() as connection:
                await connection.execute(text("UPDATE proposal SET status = 'submitted', version = 7"))
                await connection.execute(text("DELETE FROM portal"))
            await rebuild(database)
        finally:
            await database.dispose()
        assert await snapshot(database_url) == before
    finally:
        service.start()

    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        admin = tokens.header("admin")
        statuses = [
            (await client.get(f"/v1/proposals/{proposal_id}", headers=admin)).json()["status"]
            for proposal_id in (amended, withdrawn, merged)
        ]
        suspended = await client.get("/v1/consultations", headers=tokens.header("portal", "rebuild-b"))
    assert statuses == ["submitted", "withdrawn", "rejected_as_duplicate"]
    assert (suspended.status_code, suspended.json()["error"]) == (403, "portal_suspended")
