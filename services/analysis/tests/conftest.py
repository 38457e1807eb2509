"""The analysis service under test: its app in-process (real lifespan, real broker, SQLite or PostgreSQL),
an HTTP client, a stand-in for the submission service's topic, and a clock the test sets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from aireg_cli.keys import KeyRing
from services.analysis.tests.harness import AnalysisUnderTest, SetClock, start_analysis
from tests.support.databases import DatabaseFactory, backend_or_skip
from tests.support.tokens import TokenFactory


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def module_backend(request: pytest.FixtureRequest) -> str:
    """Like ``db_backend``, for state that a module's tests share (one service per module and backend)."""
    backend: str = request.param
    backend_or_skip(backend)
    return backend


@pytest.fixture(scope="module")
def module_databases(
    module_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(module_backend, tmp_path_factory.mktemp("databases"))
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="module")
def module_database_url(module_databases: DatabaseFactory) -> str:
    return module_databases.create("analysis")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def analysis(
    module_database_url: str, kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory
) -> AsyncIterator[AnalysisUnderTest]:
    """One analysis service per module and backend; tests keep apart by opening consultations of their own."""
    async with start_analysis(
        database_url=module_database_url,
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        namespace=f"t{uuid.uuid4().hex[:12]}.",
        clock=SetClock(),
    ) as service:
        yield service
