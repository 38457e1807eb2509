"""Slow uploads hold nothing: a request without a verified token is refused before its body is read, and
a body that does not arrive within the body deadline is refused without ever taking a request slot, so a
thousand slow uploads leave an authenticated request its answer.

A submission service of its own with few request slots and a short body deadline, set the way an operator
sets them (environment); the uploads are raw sockets that send their headers and a few bytes of a body
that they announce much longer, then wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from aireg_cli.keys import KeyRing
from tests.support.system import System, build_system
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

SLOW_UPLOADS = 1000
MAX_IN_PROGRESS = 20
BODY_DEADLINE_SECONDS = 2


@pytest.fixture(scope="module")
def service(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    system = build_system(
        backend="sqlite",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("slow-uploads"),
        names=["submission"],
        extra_env={
            "submission": {
                "AIREG_MAX_CONCURRENT_REQUESTS": str(MAX_IN_PROGRESS),
                "AIREG_BODY_READ_TIMEOUT_SECONDS": str(BODY_DEADLINE_SECONDS),
                "AIREG_CHECKPOINT_INTERVAL_SECONDS": "86400",
            }
        },
    )
    try:
        yield system.start()
    finally:
        system.stop()


async def start_slow_upload(
    url: str, authorization: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST that announces 100 kB of body, sends 10 bytes of it and waits."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    headers = [
        "POST /v1/consultations HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        "Content-Length: 100000",
    ]
    if authorization:
        headers.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + b'{"title":')
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader, timeout: float) -> int | None:
    """The status of the answer on a connection, or None when none came within ``timeout`` seconds."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError:
        return None
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 else None


async def close_all(connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    for _reader, writer in connections:
        writer.close()
    for _reader, writer in connections:
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def test_a_thousand_slow_unauthenticated_uploads_are_refused_at_once_and_others_are_answered(
    service: System, tokens: TokenFactory
) -> None:
    url = service.url("submission")
    uploads = [await start_slow_upload(url) for _ in range(SLOW_UPLOADS)]
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answer = await client.get("/v1/consultations", headers=tokens.header("auditor", "patient"))
        statuses = await asyncio.gather(*(status_of(reader, 20) for reader, _writer in uploads))
    finally:
        await close_all(uploads)
    assert answer.status_code == 200, answer.text
    assert statuses == [401] * SLOW_UPLOADS


async def test_an_authenticated_upload_slower_than_the_deadline_gets_408_and_holds_no_request_slot(
    service: System, tokens: TokenFactory
) -> None:
    url = service.url("submission")
    admin = f"Bearer {tokens('admin', 'slow-admin')}"
    uploads = [await start_slow_upload(url, admin) for _ in range(MAX_IN_PROGRESS * 2)]
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answer = await client.get("/v1/consultations", headers=tokens.header("auditor", "patient-2"))
        statuses = await asyncio.gather(
            *(status_of(reader, BODY_DEADLINE_SECONDS * 10) for reader, _writer in uploads)
        )
    finally:
        await close_all(uploads)
    assert answer.status_code == 200, answer.text
    assert statuses == [408] * len(uploads)
