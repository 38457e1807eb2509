"""Engines for a service's own database: SQLite (WAL, the embedded default) or PostgreSQL.

On SQLite, writes take the write lock at ``BEGIN IMMEDIATE`` so that two writers never deadlock
upgrading a read lock, while reads go through a second engine with plain deferred transactions
(WAL lets them run beside the writer). On PostgreSQL both are one engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """A service's database: ``writer`` for transactions that change state, ``reader`` for queries."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Open engines for ``url`` (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return Database(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    if backend == "postgresql":
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        return Database(url, engine, engine)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://")
