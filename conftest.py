"""Fixtures every test layer shares: one real Kafka-protocol broker per session, unique topic
namespaces, SQLite and PostgreSQL databases per test, key pairs and tokens.

The broker is the embedded Tansu by default; ``AIREG_TEST_KAFKA_BOOTSTRAP`` points the tests at another
one, and ``AIREG_TEST_KAFKA=testcontainers`` starts Apache Kafka where a Docker engine answers.
PostgreSQL is the local server (``AIREG_TEST_POSTGRES_URL``, default postgres@127.0.0.1:5432); when it
is unreachable its tests skip, unless ``AIREG_REQUIRE_POSTGRES=1`` (CI), which makes them fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aireg_cli.keys import KeyRing, ensure_keys
from aireg_cli.stack import free_port, start_broker, stop_process
from tests.support.databases import DatabaseFactory, postgres_reachable
from tests.support.tokens import TokenFactory


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("AIREG_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    if os.environ.get("AIREG_TEST_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    port = free_port()
    process = start_broker(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A unique topic prefix (and consumer-group prefix) for one test."""
    import uuid

    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql" and not postgres_reachable():
        if os.environ.get("AIREG_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is unreachable and AIREG_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL is unreachable (set AIREG_TEST_POSTGRES_URL, or start it)")
    return backend


@pytest.fixture
def new_database(db_backend: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``new_database(name)`` → a fresh, empty database URL of this test's backend."""
    factory = DatabaseFactory(db_backend, tmp_path)
    try:
        yield factory.create
    finally:
        factory.drop_all()


@pytest.fixture
def database_url(new_database: Callable[[str], str]) -> str:
    return new_database("main")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return ensure_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def tokens(keys: KeyRing) -> TokenFactory:
    return TokenFactory(keys)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots, documents)."""
    path = Path(os.environ.get("AIREG_TEST_ARTIFACTS", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
