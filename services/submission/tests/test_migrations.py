"""The submission service's migrations build exactly the tables its code uses: the state tables, the key
tables of personal data (outside the state) and the log."""

from __future__ import annotations

from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Text
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import AutoString

from aireg_events.log.database import open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.tables import LOG_METADATA
from aireg_submission.app import MIGRATIONS
from aireg_submission.personal_data import key_metadata
from aireg_submission.store import metadata

pytestmark = pytest.mark.asyncio


def _unbounded_text_either_way(change: Any) -> bool:
    """The migrations write an unbounded ``str`` as TEXT, SQLModel as an AutoString without a length:
    the same column."""
    if not (isinstance(change, list) and len(change) == 1 and change[0][0] == "modify_type"):
        return False
    *_, stored, declared = change[0]
    return isinstance(stored, Text) and isinstance(declared, AutoString) and declared.length is None


async def test_the_migrations_build_the_tables_the_code_uses(database_url: str) -> None:
    database = open_database(database_url)
    try:
        await upgrade_to_head(database, MIGRATIONS)

        def differences(connection: Connection) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            found: list[Any] = compare_metadata(context, cast(Any, [metadata, key_metadata, LOG_METADATA]))
            return [change for change in found if not _unbounded_text_either_way(change)]

        async with database.writer.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await database.dispose()
