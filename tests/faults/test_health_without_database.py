"""``/health`` is liveness: it answers from what the process knows, without a query, so a database that
cannot answer (here: a proxy in front of PostgreSQL that plays a server starting up) does not make the
orchestrator kill a service that is alive. Requests that need the database meanwhile get 503
``database_unavailable``, and everything answers again once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aireg_cli.keys import KeyRing
from tests.faults.postgres_proxy import ProxyThread
from tests.support.databases import POSTGRES_URL, DatabaseFactory, require_postgres
from tests.support.system import System, build_system
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.faults, pytest.mark.postgres]

UNREACHABLE_SECONDS = 6.0


@dataclass
class ThroughProxy:
    """Databases on the local server, reached through ``proxy``."""

    factory: DatabaseFactory
    proxy: ProxyThread
    upstream: int

    def create(self, name: str) -> str:
        return self.factory.create(name).replace(f":{self.upstream}/", f":{self.proxy.port}/")

    def drop_all(self) -> None:
        self.factory.drop_all()


@pytest.fixture
def proxied(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path: Path
) -> Iterator[tuple[System, ProxyThread]]:
    require_postgres()
    upstream = int(POSTGRES_URL.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = ProxyThread(upstream).start()
    system = build_system(
        backend="postgresql",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path,
        names=["submission"],
        databases=ThroughProxy(DatabaseFactory("postgresql", tmp_path), proxy, upstream),
    )
    try:
        yield system.start(), proxy
    finally:
        system.stop()
        proxy.stop()


async def test_health_answers_while_the_database_cannot(
    proxied: tuple[System, ProxyThread], tokens: TokenFactory
) -> None:
    system, proxy = proxied
    url = system.url("submission")
    reader = tokens.header("auditor", "health-watcher")
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        before = await client.get("/health")
        assert before.status_code == 200, before.text
        restarting = asyncio.create_task(proxy.restart(UNREACHABLE_SECONDS))
        await asyncio.sleep(0.2)  # every connection is cut; new ones are refused as "starting up"
        during = [await client.get("/health") for _ in range(5)]
        read = await client.get("/v1/consultations", headers=reader)
        await restarting
        after = await client.get("/v1/consultations", headers=reader)
    assert [answer.status_code for answer in during] == [200] * 5, [a.text for a in during]
    assert {answer.json()["status"] for answer in during} == {"ok"}
    assert during[-1].json()["log_position"] == before.json()["log_position"]
    assert (read.status_code, read.json()["error"]) == (503, "database_unavailable")
    assert after.status_code == 200, after.text
