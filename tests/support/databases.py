"""Fresh databases for tests: a SQLite file in the test's folder, or a new PostgreSQL database; and the
fixture of one migrated to a service's head."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from aireg_events.log.database import Database, open_database
from aireg_events.log.migrations import upgrade_to_head

POSTGRES_URL = os.environ.get("AIREG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


@cache
def postgres_reachable() -> bool:
    try:
        _run(_admin("SELECT 1"))
    except Exception:
        return False
    return True


def require_postgres(
    why: str = "PostgreSQL is unreachable (set AIREG_TEST_POSTGRES_URL, or start it)",
) -> None:
    """Skip the test when PostgreSQL is unreachable, saying ``why``; under ``AIREG_REQUIRE_POSTGRES=1`` (CI)
    fail it instead."""
    if postgres_reachable():
        return
    if os.environ.get("AIREG_REQUIRE_POSTGRES") == "1":
        pytest.fail("PostgreSQL is unreachable and AIREG_REQUIRE_POSTGRES=1")
    pytest.skip(why)


def backend_or_skip(backend: str) -> str:
    """``backend`` (``sqlite`` or ``postgresql``), once it can run: see :func:`require_postgres`."""
    if backend == "postgresql":
        require_postgres()
    return backend


class DatabaseFactory:
    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self.created: list[str] = []

    def create(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.folder / (name + '.db')}"
        database = f"aireg_test_{name}_{uuid.uuid4().hex[:10]}"
        _run(_admin(f'CREATE DATABASE "{database}"'))
        self.created.append(database)
        base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base}/{database}"

    def drop_all(self) -> None:
        for database in self.created:
            with contextlib.suppress(Exception):  # a leftover test database is not worth a failure
                _run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        self.created.clear()


def migrated_database(migrations: Path) -> Any:
    """A pytest fixture: this test's ``database_url`` (SQLite or PostgreSQL, from the root conftest's
    ``db_backend``) opened and migrated to ``migrations``' head, disposed after the test. A test module
    takes it as ``database = migrated_database(MIGRATIONS)``."""

    @pytest.fixture
    async def database(database_url: str) -> AsyncIterator[Database]:
        opened = open_database(database_url)
        await upgrade_to_head(opened, migrations)
        try:
            yield opened
        finally:
            await opened.dispose()

    return database
