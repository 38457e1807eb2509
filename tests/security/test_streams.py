"""Live streams that hold: a token revoked while its stream is open gets a ``closed`` event and the end of
the stream within 5 seconds, never the next proposal's events; open streams are capped per token (429
``too_many_streams``) and in all (503 ``streams_at_capacity``), and a closed stream gives its place back.

Submission and reporting of their own, with small caps set the way an operator sets them (environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest

from aireg_cli.keys import KeyRing
from tests.support.sse import sse_events
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory, revoke_with_the_cli
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

MAX_PER_TOKEN = 2
MAX_TOTAL = 4
CLOSES_WITHIN_SECONDS = 5.0


@pytest.fixture(scope="module")
def streaming(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    system = build_system(
        backend="sqlite",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("streams"),
        names=["submission", "reporting"],
        extra_env={
            "reporting": {
                "AIREG_STREAM_MAX_PER_TOKEN": str(MAX_PER_TOKEN),
                "AIREG_STREAM_MAX_TOTAL": str(MAX_TOTAL),
            },
            "submission": {"AIREG_CHECKPOINT_INTERVAL_SECONDS": "86400"},
        },
    )
    try:
        yield system.start()
    finally:
        system.stop()


async def test_a_revoked_tokens_stream_closes_within_five_seconds_and_gets_no_new_event(
    streaming: System, tokens: TokenFactory, keys: KeyRing
) -> None:
    watcher = tokens("dashboard", f"wall-{uuid.uuid4().hex[:6]}")
    seen: list[dict[str, str]] = []
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream(
            "GET",
            f"{streaming.url('reporting')}/v1/stream",
            headers={"Authorization": f"Bearer {watcher}"},
        ) as stream:
            assert stream.status_code == 200
            opened = await client.post(
                f"{streaming.url('submission')}/v1/consultations",
                headers=streaming.admin,
                json=consultation_body(),
            )
            assert opened.status_code == 201, opened.text
            events = sse_events(stream)
            first = await asyncio.wait_for(anext(events), 60)
            assert orjson.loads(first["data"])["event_type"] == "ConsultationOpened"
            revoke_with_the_cli(watcher, keys)
            submitted = await client.post(
                f"{streaming.url('submission')}/v1/consultations/"
                f"{opened.json()['consultation_id']}/proposals",
                headers={**tokens.header("portal", "portal-s"), "Idempotency-Key": uuid.uuid4().hex},
                json=proposal_body("Sent after the revocation"),
            )
            assert submitted.status_code == 201, submitted.text

            async def rest() -> None:
                async for event in events:
                    seen.append(event)

            await asyncio.wait_for(rest(), CLOSES_WITHIN_SECONDS)
    assert [event.get("event") for event in seen] == ["closed"]
    assert orjson.loads(seen[0]["data"])["error"] == "token_revoked"


@contextlib.asynccontextmanager
async def open_stream(client: httpx.AsyncClient, url: str, token: str) -> AsyncIterator[httpx.Response]:
    async with client.stream(
        "GET", f"{url}/v1/stream", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        if response.status_code != 200:
            await response.aread()
        yield response


async def test_open_streams_are_capped_per_token_and_in_all_and_a_closed_one_frees_its_place(
    streaming: System, tokens: TokenFactory
) -> None:
    url = streaming.url("reporting")
    first, second, third = (tokens("dashboard", f"cap-{index}-{uuid.uuid4().hex[:6]}") for index in range(3))
    async with httpx.AsyncClient(timeout=30) as client, contextlib.AsyncExitStack() as held:
        mine = [await held.enter_async_context(open_stream(client, url, first)) for _ in range(MAX_PER_TOKEN)]
        async with open_stream(client, url, first) as over_token:
            pass
        others = [
            await held.enter_async_context(open_stream(client, url, second))
            for _ in range(MAX_TOTAL - MAX_PER_TOKEN)
        ]
        async with open_stream(client, url, third) as over_total:
            pass
        stats = await client.get(f"{url}/v1/stats", headers={"Authorization": f"Bearer {third}"})
        await mine[0].aclose()

        async def reopened() -> int:
            async with open_stream(client, url, third) as again:
                return again.status_code

        freed = await eventually(reopened, until=lambda status: status == 200, timeout=20)
    assert [response.status_code for response in mine + others] == [200] * MAX_TOTAL
    assert (over_token.status_code, over_token.json()["error"]) == (429, "too_many_streams")
    assert (over_total.status_code, over_total.json()["error"]) == (503, "streams_at_capacity")
    for refused in (over_token, over_total):
        assert int(refused.headers["retry-after"]) >= 1
    assert stats.status_code == 200, "other reads go on at the cap"
    assert freed == 200
