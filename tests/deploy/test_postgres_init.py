"""deploy/postgres/init-databases.sh, run as the postgres image runs it on first start, here against the
local PostgreSQL: one database per service, owned by that service's role, and no service can connect to
another's."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.deploy.deployment import DEPLOY
from tests.support.databases import POSTGRES_URL, require_postgres

SCRIPT = DEPLOY / "postgres/init-databases.sh"


def run_script(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    url = make_url(POSTGRES_URL)
    base = {
        "PATH": os.environ["PATH"],
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": url.database or "postgres",
    }
    if url.password:
        base["PGPASSWORD"] = url.password
    return subprocess.run(
        ["bash", str(SCRIPT)], env={**base, **environment}, capture_output=True, text=True, timeout=60
    )


async def admin(*statements: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def connect_as(role: str, database: str) -> asyncpg.Connection:
    url = make_url(POSTGRES_URL)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=role, password=f"pw-{role}", database=database, timeout=5
    )


@pytest.fixture
def service_names() -> Iterator[list[str]]:
    require_postgres("PostgreSQL is unreachable")
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL's client) is not installed")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_submission", f"{prefix}_analysis"]
    yield names
    for name in names:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{name}"'))


@pytest.mark.postgres
def test_each_service_gets_a_database_it_owns_and_cannot_connect_to_the_others(service_names):
    own, other = service_names
    result = run_script(
        {
            "AIREG_DATABASES": " ".join(service_names),
            **{f"AIREG_{name.upper()}_DB_PASSWORD": f"pw-{name}" for name in service_names},
        }
    )
    assert result.returncode == 0, result.stderr
    assert f"database {own}, owned by role {own}" in result.stdout

    async def check() -> None:
        connection = await connect_as(own, own)
        try:
            # The owner can create its schema (the migration does exactly that).
            await connection.execute("CREATE TABLE probe (id integer)")
            assert await connection.fetchval("SELECT current_user") == own
        finally:
            await connection.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connect_as(own, other)

    asyncio.run(check())


def test_refuses_a_database_name_that_is_not_a_plain_identifier():
    result = run_script({"AIREG_DATABASES": 'evil";DROP', "AIREG_EVIL_DB_PASSWORD": "x"})
    assert result.returncode == 1
    assert "refusing database name" in result.stderr


def test_refuses_to_create_a_role_without_its_password():
    result = run_script({"AIREG_DATABASES": "lonely"})
    assert result.returncode == 1
    assert "set AIREG_LONELY_DB_PASSWORD" in result.stderr
