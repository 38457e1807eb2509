"""deploy/migrate.py, the step that runs before a service starts (compose one-shot, Kubernetes Job and
init container): it brings a fresh database to the service's schema, says whether one is there, and the
service then starts on it without migrating."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from aireg_events.log.database import open_database
from tests.deploy.deployment import SERVICES, load_script

migrate = load_script("migrate")


async def tables(url: str) -> set[str]:
    database = open_database(url)
    try:
        async with database.reader.connect() as connection:
            return set(await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await database.dispose()


@pytest.fixture
def fresh_databases(new_database) -> dict[str, str]:
    """One empty database per service (made outside the test's event loop)."""
    return {service: new_database(service) for service in SERVICES}


async def test_each_services_migration_brings_a_fresh_database_to_the_head(fresh_databases):
    for service, url in fresh_databases.items():
        assert await migrate.pending_heads(service, url), f"{service}: a fresh database is behind"
        assert not await migrate.wait_for_head(service, url, timeout=0, every=0)

        await migrate.upgrade(service, url)

        assert await migrate.pending_heads(service, url) == set()
        assert await migrate.wait_for_head(service, url, timeout=0, every=0)
        produced = {"event_log", "relay_position"} if service != "reporting" else set()
        assert {"alembic_version", "inbox", *produced} <= await tables(url)
        await migrate.upgrade(service, url)  # again: nothing to do, no error
        assert await migrate.pending_heads(service, url) == set()


def test_migrate_command_exits_3_while_behind_then_0_once_migrated(new_database, monkeypatch, capsys):
    # The command line as the containers run it (`python deploy/migrate.py submission [--check|--wait N]`).
    monkeypatch.setenv("DATABASE_URL", new_database("submission"))
    assert migrate.main(["submission", "--check"]) == 3
    assert "submission: behind" in capsys.readouterr().out
    assert migrate.main(["submission", "--wait", "0"]) == 3
    assert migrate.main(["submission"]) == 0
    assert "submission: migrated to head" in capsys.readouterr().out
    assert migrate.main(["submission", "--check"]) == 0
    assert migrate.main(["submission", "--wait", "5"]) == 0


def test_migrate_command_refuses_without_a_database_url(monkeypatch, capsys):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert migrate.main(["submission", "--check"]) == 2
    assert "set DATABASE_URL" in capsys.readouterr().err
