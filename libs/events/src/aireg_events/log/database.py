"""Engines for a service's own database: SQLite (WAL, the embedded default) or PostgreSQL.

On SQLite, writes take the write lock at ``BEGIN IMMEDIATE`` so that two writers never deadlock
upgrading a read lock, while reads go through a second engine with plain deferred transactions
(WAL lets them run beside the writer). On PostgreSQL they are two pools of the same database.

SQLite runs on the event loop's own thread (:class:`InlineSqliteConnection`), not on aiosqlite's
thread per connection: a statement takes microseconds, while each of the three or four hand-overs to
that thread and back that SQLAlchemy makes per statement waits for the busy loop to come round
(measured: about 40 hand-overs per intake, 7 ms of a 14 ms request; ``bench/intake.py``). The writer
engine has a single connection, so the appender, the relay and the rebuilds of one process take turns
at the write lock through the pool (asynchronously) instead of sleeping in SQLite's busy handler on the
loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

BUSY_TIMEOUT_SECONDS = 30

IN_LIST_SIZE = 1000
"""Bound parameters one ``IN`` list carries: well under SQLite's and PostgreSQL's limits per statement
(32,766 and 32,767), so a statement with a few such lists still fits."""


def in_chunks(values: Iterable[Any], size: int = IN_LIST_SIZE) -> Iterable[list[Any]]:
    """``values`` in lists of at most ``size``, in their order: the ``IN`` lists of one look-up."""
    ordered = values if isinstance(values, Sequence) else list(values)
    for start in range(0, len(ordered), size):
        yield list(ordered[start : start + size])


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each call at once, on the caller's thread,
    and hands back an already finished future (awaiting it does not yield to the loop)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineSqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs every call on the event loop's thread: no worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=256)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()  # the base class would start its thread first


def _connect_sqlite(database: str) -> sqlite3.Connection:
    connection = sqlite3.connect(
        database,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,  # SQLAlchemy, not the driver, begins transactions
        uri=database.startswith("file:"),
    )
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    database = make_url(url).database or ":memory:"
    if database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    async def connect() -> InlineSqliteConnection:
        return await InlineSqliteConnection(partial(_connect_sqlite, database))

    # The writer is one connection: SQLite has one write lock per database anyway.
    pool = {"pool_size": 1, "max_overflow": 0} if immediate and database != ":memory:" else {}
    engine = create_async_engine(url, async_creator=connect, hide_parameters=True, **pool)

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

    @contextlib.asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for queries, on the reader engine (it never holds the write lock)."""
        async with AsyncSession(self.reader, expire_on_commit=False) as session:
            yield session

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


_SERVER_AWAY_SQLSTATES = ("08", "57P")
"""Connection exceptions, and a server shutting down, crashed or starting up (57P01, 57P02, 57P03)."""


def _server_away_is_a_disconnect(context: ExceptionContext) -> None:
    """asyncpg's "the database system is starting up" (or "shutting down") reaches SQLAlchemy as a plain
    DBAPIError, not as a lost connection. Say it is one: the pool drops its connections, and the error
    carries ``connection_invalidated``, so whoever retries on a lost database (the consumer) retries
    this too instead of giving the work up."""
    error: BaseException | None = context.original_exception
    while error is not None:
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_SERVER_AWAY_SQLSTATES):
            context.is_disconnect = True
            return
        error = error.__cause__


def open_database(url: str, *, pool_size: int = 10) -> Database:
    """Open engines for ``url`` (``sqlite+aiosqlite:///...`` or ``postgresql+asyncpg://...``).

    Their errors never quote a statement's parameters (``hide_parameters``): those hold proposal texts
    and contact addresses, and errors are logged."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return Database(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    if backend == "postgresql":
        # The writer has connections of its own (the appender's transaction, the relay's lock and its
        # position), so a group commit never queues behind a burst of requests' reads for the pool.
        writer = create_async_engine(
            url, pool_size=3, max_overflow=2, pool_pre_ping=True, hide_parameters=True
        )
        reader = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, hide_parameters=True
        )
        for engine in (writer, reader):
            event.listen(engine.sync_engine, "handle_error", _server_away_is_a_disconnect)
        return Database(url, writer, reader)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite+aiosqlite:// or postgresql+asyncpg://")
