"""Limits a hostile or broken client meets: a budget of requests per token (429 with ``Retry-After``) that
nobody else can spend, a deadline for every answer and a cap on requests in progress (503 with
``Retry-After``, JSON), each refusal recording nothing, and a retry with the same key recording once.

A submission service of its own, with small limits set the way an operator sets them (environment),
on PostgreSQL: a test holds a lock on its log to make requests slow on purpose.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import jwt
import pytest
import pytest_asyncio

from aireg_cli.keys import KeyRing
from aireg_events.signing import generate_private_key
from aireg_http.observability import SECURITY_HEADERS
from tests.security.conftest import json_of
from tests.support.databases import require_postgres
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.postgres]

PER_MINUTE = 6
TIMEOUT_SECONDS = 2
MAX_IN_PROGRESS = 4


@pytest.fixture(scope="module")
def limited(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    require_postgres("PostgreSQL is unreachable: the slow answers need a lock on its log")
    system = build_system(
        backend="postgresql",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("limits"),
        names=["submission"],
        extra_env={
            "submission": {
                "AIREG_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
                "AIREG_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": str(PER_MINUTE),
                "AIREG_REQUEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
                "AIREG_MAX_CONCURRENT_REQUESTS": str(MAX_IN_PROGRESS),
                "AIREG_CHECKPOINT_INTERVAL_SECONDS": "86400",
            }
        },
    )
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(scope="module")
def consultation_id(limited: System) -> str:
    response = httpx.post(
        f"{limited.url('submission')}/v1/consultations", headers=limited.admin, json=consultation_body()
    )
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


@pytest_asyncio.fixture
async def client(limited: System) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=limited.url("submission"), timeout=30) as http:
        yield http


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert response.headers.get("cache-control") == "no-store"
    assert response.headers.get("x-correlation-id")


def forged(token: str, **changes: object) -> str:
    """``token``'s claims (``changes`` applied), signed by a key that is not the issuer's."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, generate_private_key(), algorithm="EdDSA")


async def test_a_token_over_its_budget_gets_429_with_retry_after_and_other_tokens_go_on(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    busy = tokens.header("auditor", "busy")
    answers = [await client.get("/v1/consultations", headers=busy) for _ in range(PER_MINUTE + 2)]
    assert [a.status_code for a in answers] == [200] * PER_MINUTE + [429, 429]
    refused = answers[-1]
    assert json_of(refused)["error"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert_security_headers(refused)
    assert (
        await client.get("/v1/consultations", headers=tokens.header("auditor", "calm"))
    ).status_code == 200


async def test_forged_tokens_cannot_spend_another_tokens_budget(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    victim = tokens("portal", "victim-portal")
    # Tokens that carry the victim's id but do not verify: another key, expired, or tampered with.
    stolen_ids = [
        forged(victim),
        forged(victim, exp=int(time.time()) - 10),
        victim.rsplit(".", 1)[0] + ".AAAA",
    ]
    attacks = [
        await client.get("/v1/consultations", headers={"Authorization": f"Bearer {token}"})
        for token in stolen_ids * PER_MINUTE
    ]
    assert {a.status_code for a in attacks} == {401, 429}, "they share the attacker's address budget"
    own = [
        await client.get("/v1/consultations", headers={"Authorization": f"Bearer {victim}"})
        for _ in range(PER_MINUTE)
    ]
    assert [a.status_code for a in own] == [200] * PER_MINUTE


async def head(limited: System) -> int:
    rows = await limited.rows("submission", "SELECT count(*) FROM event_log")
    return int(rows[0][0])


async def submit(
    client: httpx.AsyncClient, consultation_id: str, token: str, key: str, title: str
) -> httpx.Response:
    return await client.post(
        f"/v1/consultations/{consultation_id}/proposals",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        json=proposal_body(title),
    )


async def hold_log_lock(limited: System) -> asyncpg.Connection:
    """A transaction that holds an exclusive lock on the service's log: every append waits for it."""
    url = limited.database_url("submission").replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    await connection.execute("BEGIN; LOCK TABLE event_log IN ACCESS EXCLUSIVE MODE")
    return connection


async def test_slow_answers_time_out_and_excess_requests_are_shed_with_503_and_retries_record_once(
    client: httpx.AsyncClient, limited: System, tokens: TokenFactory, consultation_id: str
) -> None:
    before = await head(limited)
    portals = [tokens("portal", f"shed-portal-{index}") for index in range(MAX_IN_PROGRESS + 2)]
    keys = [uuid.uuid4().hex for _ in portals]
    lock = await hold_log_lock(limited)
    try:
        in_progress = [
            asyncio.create_task(submit(client, consultation_id, token, key, f"Slow {index}"))
            for index, (token, key) in enumerate(zip(portals[:MAX_IN_PROGRESS], keys, strict=False))
        ]
        await asyncio.sleep(0.5)  # they are waiting for the log; the next ones find no free slot
        shed = [
            await submit(client, consultation_id, token, key, f"Slow {MAX_IN_PROGRESS + index}")
            for index, (token, key) in enumerate(
                zip(portals[MAX_IN_PROGRESS:], keys[MAX_IN_PROGRESS:], strict=True)
            )
        ]
        # /metrics (and /health) are never shed or limited: probes and scrapers must get through
        metrics = await client.get("/metrics", timeout=5.0)
        timed_out = await asyncio.gather(*in_progress)
    finally:
        await lock.execute("ROLLBACK")
        await lock.close()
    assert metrics.status_code == 200
    assert [(a.status_code, json_of(a)["error"]) for a in shed] == [(503, "overloaded")] * 2
    assert [(a.status_code, json_of(a)["error"]) for a in timed_out] == [
        (503, "request_timeout")
    ] * MAX_IN_PROGRESS
    for answer in shed + timed_out:
        assert int(answer.headers["retry-after"]) >= 1
        assert_security_headers(answer)

    # A client retries each with its key: one proposal each, whatever the cancelled attempt had done.
    retried = [
        await submit(client, consultation_id, token, key, f"Slow {index}")
        for index, (token, key) in enumerate(zip(portals, keys, strict=True))
    ]
    assert [a.status_code for a in retried] == [201] * len(portals)
    again = [
        await submit(client, consultation_id, token, key, f"Slow {index}")
        for index, (token, key) in enumerate(zip(portals, keys, strict=True))
    ]
    assert [a.json() for a in again] == [a.json() for a in retried]
    assert await head(limited) == before + len(portals)
