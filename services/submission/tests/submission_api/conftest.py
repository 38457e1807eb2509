"""Fixtures of the submission service's tests: one service per backend (real broker, SQLite and
PostgreSQL) that the tests of this package share, with a clock each test may move."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from aireg_cli.keys import KeyRing
from aireg_events.topics import Topics
from aireg_submission.app import create_app
from aireg_submission.settings import Settings
from services.submission.tests.harness import AnalysisProducer, MovableClock, Submission
from tests.support.databases import DatabaseFactory, backend_or_skip
from tests.support.tokens import TokenFactory

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="package", params=BACKENDS)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per backend for the service these tests share (the same factory as ``new_database``).

    Starting the service costs seconds (its consumer joins a group on the broker), so the tests of this
    folder share one instance per backend and keep apart by their own consultations and portals.
    """
    factory = DatabaseFactory(backend_or_skip(request.param), tmp_path_factory.mktemp("submission"))
    try:
        yield factory.create("submission")
    finally:
        factory.drop_all()


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def shared_submission(
    shared_database_url: str, kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory
) -> AsyncIterator[Submission]:
    namespace = f"t{uuid.uuid4().hex[:12]}."
    settings = Settings(
        database_url=shared_database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=namespace,
        token_public_key_file=keys.token_public,
        revoked_tokens_file=keys.revoked_tokens,
        signing_key_file=keys.signing_private("submission"),
    )
    clock = MovableClock()
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://submission") as client:
            yield Submission(app, client, clock, tokens, keys, namespace, shared_database_url)


@pytest.fixture
def submission(shared_submission: Submission) -> Iterator[Submission]:
    """The shared service, its clock on the tenth of January of a year no earlier test used."""
    start = shared_submission.start.replace(year=shared_submission.start.year + 1)
    shared_submission.start = start
    shared_submission.clock.move_to(start)
    yield shared_submission


@pytest_asyncio.fixture(loop_scope="package")
async def analysis(shared_submission: Submission, kafka_bootstrap: str) -> AsyncIterator[AnalysisProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        yield AnalysisProducer(producer, Topics(shared_submission.namespace).analysis)
    finally:
        await producer.stop()
