"""Fixtures every test layer shares: real Kafka-protocol brokers, one of each kind per session, unique
topic namespaces, SQLite and PostgreSQL databases per test, key pairs and tokens.

Which broker: a test that uses ``kafka_bootstrap`` (or ``broker``) runs on Apache Kafka, a single KRaft
node whose jars ``aireg_cli.stack`` fetches from Maven Central and runs on the machine's Java; a test or
module marked ``@pytest.mark.brokers("kafka", "tansu")`` runs on both, and ``brokers("tansu")`` on the
embedded Tansu alone. Without Java 17 or Maven the Apache Kafka tests skip and say why, unless
``AIREG_REQUIRE_KAFKA=1`` (CI), which makes them fail instead. ``AIREG_TEST_KAFKA_BOOTSTRAP`` points the
Apache Kafka tests at a broker of your own, and ``AIREG_TEST_KAFKA=testcontainers`` starts one in Docker.
PostgreSQL is the local server (``AIREG_TEST_POSTGRES_URL``, default postgres@127.0.0.1:5432); when it
is unreachable its tests skip, unless ``AIREG_REQUIRE_POSTGRES=1`` (CI), which makes them fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aireg_cli.keys import KeyRing, ensure_keys
from aireg_cli.stack import KafkaCluster, KafkaUnavailable, free_port, start_broker, stop_process
from tests.support.brokers import BROKER_KINDS, Broker, kafka_unavailable
from tests.support.databases import DatabaseFactory, backend_or_skip
from tests.support.tokens import TokenFactory


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "brokers(*kinds): the brokers a test runs on ('kafka', 'tansu'; default: Apache Kafka)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("brokers")
        kinds = marker.args if marker else ("kafka",)
        unknown = set(kinds) - set(BROKER_KINDS)
        if unknown:
            raise pytest.UsageError(f"unknown broker kinds {sorted(unknown)} on {metafunc.definition.nodeid}")
        metafunc.parametrize("broker", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Apache Kafka node for the session (or ``AIREG_TEST_KAFKA_BOOTSTRAP``): its bootstrap address."""
    external = os.environ.get("AIREG_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    if os.environ.get("AIREG_TEST_KAFKA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    try:
        cluster = KafkaCluster.prepare(tmp_path_factory.mktemp("apache-kafka"))
    except KafkaUnavailable as reason:
        kafka_unavailable(str(reason))
    cluster.start()
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def tansu() -> Iterator[str]:
    """The embedded Tansu for the session, started only when a test asks for it: its bootstrap address."""
    port = free_port()
    process = start_broker(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_process(process)


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> Broker:
    """The broker this test runs on (parametrized by ``pytest_generate_tests``)."""
    kind: str = request.param
    return Broker(kind, request.getfixturevalue("apache_kafka" if kind == "kafka" else "tansu"))


@pytest.fixture(scope="session")
def kafka_bootstrap(broker: Broker) -> str:
    return broker.bootstrap


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A unique topic prefix (and consumer-group prefix) for one test."""
    import uuid

    return f"t{uuid.uuid4().hex[:12]}."


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    backend_or_skip(backend)
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
