"""PostgreSQL restarted under a load of submissions: the requests caught by it fail cleanly (503 with a
JSON body and Retry-After, never a 500), none is half-applied (a proposal is recorded with its event,
its registration number and its counter, or not at all), the portals' retries with the same key record
each submission once, and every service carries on by itself once the database is back.

And a slow start-up: each service reaches the database through a proxy that can answer "the database
system is starting up" for as long as the test says (a real restart shows that only for a moment); the
consumers must wait for their database, not give events up to the DLQ.

The server restarted is one of the test's own (initdb on a free port), never the machine's shared one:
other tests may be running against that."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES
from tests.faults.delivery import count_deliveries
from tests.faults.load import SubmissionLoad
from tests.faults.postgres_proxy import ProxyThread
from tests.faults.private_postgres import PrivatePostgres, server_binaries
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.faults, pytest.mark.postgres]

RESTARTS = 3
SLOW_RESTART_SECONDS = 5.0


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    binaries = server_binaries()
    if binaries is None:
        if os.environ.get("AIREG_REQUIRE_POSTGRES") == "1":
            pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl) and AIREG_REQUIRE_POSTGRES=1")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) to run a server of the test's own")
    private = PrivatePostgres(binaries)
    try:
        yield private.start()
    finally:
        private.stop()


@dataclass
class ThroughProxies:
    """Databases made on ``server``, each service reaching its own through a proxy of its own."""

    server: PrivatePostgres
    proxies: dict[str, ProxyThread]

    def create(self, name: str) -> str:
        return self.server.create(name).replace(f":{self.server.port}/", f":{self.proxies[name].port}/")

    def drop_all(self) -> None:
        self.server.drop_all()


@pytest.fixture(scope="module")
def proxied(
    server: PrivatePostgres,
    kafka_bootstrap: str,
    keys: KeyRing,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[System, dict[str, ProxyThread]]]:
    """The three services on the private server, each through a proxy that can play a slow restart."""
    proxies = {name: ProxyThread(server.port).start() for name in SERVICES}
    running = build_system(
        backend="postgresql",
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("database-faults"),
        databases=ThroughProxies(server, proxies),
    )
    try:
        yield running.start(), proxies
    finally:
        running.stop()
        for proxy in proxies.values():
            proxy.stop()


@pytest.mark.timeout(600)
async def test_a_database_restart_under_load_fails_requests_cleanly_and_applies_none_by_half(
    proxied: tuple[System, dict[str, ProxyThread]], server: PrivatePostgres, artifacts_dir: Path
) -> None:
    system, _ = proxied
    async with httpx.AsyncClient(base_url=system.url("submission"), timeout=30) as client:
        opened = await client.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert opened.status_code == 201, opened.text
    consultation_id = opened.json()["consultation_id"]
    load = SubmissionLoad(system, consultation_id, label="pg-restart", rate=15.0, max_count=300)
    load.start()
    try:
        await load.wait_accepted(5)
        for _ in range(RESTARTS):
            await asyncio.to_thread(server.restart)
            await asyncio.sleep(2.0)
    finally:
        await load.stop()

    figures, problems = await count_deliveries(system, load, f"PostgreSQL restarted x{RESTARTS} under load")
    # Nothing half-applied in the submission store: one row, one event and one counted number each.
    rows = await system.rows(
        "submission", "SELECT count(*) FROM proposal WHERE consultation_id = :c", c=consultation_id
    )
    counter = await system.rows(
        "submission",
        "SELECT last_number FROM registration_counter WHERE consultation_id = :c",
        c=consultation_id,
    )
    dead_lettered = {name: system.metric(name, "aireg_dlq_messages_total") for name in SERVICES}
    figures.extra.update(restarts=RESTARTS, proposal_rows=rows[0][0], counter=counter[0][0])
    figures.report(artifacts_dir)
    assert problems == []
    assert dead_lettered == dict.fromkeys(SERVICES, 0.0), "no event is given up because of an outage"
    assert figures.sent == figures.accepted
    assert rows[0][0] == counter[0][0] == figures.accepted
    assert figures.lost == 0 and figures.duplicates == 0
    assert "500" not in figures.answers
    # The outage's errors were logged without what the requests carried.
    body = proposal_body("x")
    for name in SERVICES:
        log = "\n".join(system.log_lines(name))
        assert body["submitter"]["contact_email"] not in log and "certify diagnostic AI" not in log, name


@pytest.mark.timeout(600)
async def test_a_slow_restart_of_the_consumers_databases_loses_no_event(
    proxied: tuple[System, dict[str, ProxyThread]], artifacts_dir: Path
) -> None:
    """Analysis's and reporting's databases say "starting up" for a few seconds while intake goes on:
    their consumers must wait for them, not give the events up (to the DLQ, as they did while that error
    did not count as a lost connection)."""
    system, proxies = proxied
    async with httpx.AsyncClient(base_url=system.url("submission"), timeout=30) as client:
        opened = await client.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert opened.status_code == 201, opened.text
    load = SubmissionLoad(
        system, opened.json()["consultation_id"], label="pg-starting", rate=5.0, max_count=100
    )
    load.start()
    try:
        await load.wait_accepted(5)
        await asyncio.gather(
            *(proxies[name].restart(SLOW_RESTART_SECONDS) for name in ("analysis", "reporting"))
        )
        await asyncio.sleep(1.0)
    finally:
        await load.stop()
    refused = {name: proxy.proxy.refused for name, proxy in proxies.items()}
    dead_lettered = {name: system.metric(name, "aireg_dlq_messages_total") for name in SERVICES}
    assert refused["analysis"] > 0 and refused["reporting"] > 0
    assert dead_lettered == dict.fromkeys(SERVICES, 0.0), "events were given up while the database started"
    figures, problems = await count_deliveries(
        system, load, f"analysis and reporting databases starting up for {SLOW_RESTART_SECONDS}s"
    )
    figures.extra.update(refused_connections=refused)
    figures.report(artifacts_dir)
    assert problems == []
    assert figures.lost == 0 and figures.duplicates == 0
