"""Alembic, shared: every service's ``migrations/env.py`` is one call to :func:`run_alembic_env`.

Services migrate at start-up (:func:`upgrade_to_head`); the ``alembic`` command line works too, with
``DATABASE_URL`` set.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from aireg_events.log.database import Database, open_database

_MIGRATION_LOCK_KEY = 0x41495245_474D4947 & 0x7FFFFFFFFFFFFFFF  # "AIREGMIG"


def _configure_and_run(connection: Connection, target_metadata: MetaData | list[MetaData]) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str, target_metadata: MetaData | list[MetaData]) -> None:
    database = open_database(url)
    try:
        async with database.writer.begin() as connection:
            await connection.run_sync(_configure_and_run, target_metadata)
    finally:
        await database.dispose()


def run_alembic_env(target_metadata: MetaData | list[MetaData]) -> None:
    """The body of a service's ``env.py``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL (sqlite+aiosqlite:///... or postgresql+asyncpg://...)")
    asyncio.run(_run_from_url(url, target_metadata))


def alembic_config(migrations_dir: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    return config


async def upgrade_to_head(database: Database, migrations_dir: Path) -> None:
    """Apply every pending migration of ``migrations_dir`` (one replica at a time on PostgreSQL)."""
    config = alembic_config(migrations_dir)

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with database.writer.begin() as connection:
        await connection.run_sync(upgrade)
