"""Rebuilding a service's state from its own log and the inputs its inbox recorded, and the digest that
shows a rebuilt state is the state it replaced.

The replay interleaves exactly as things happened: an inbox row recorded when the own log's head was at
``h`` is applied after own event ``h`` and before ``h + 1`` (and inbox rows among themselves in ``seq``
order). Each event goes through the same projection code the live service uses.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.canonical import (
    NotCanonicalizable,
    canonical_json,
    canonical_json_of_decoded,
    format_timestamp,
)
from aireg_events.catalogue import CATALOGUE, EventRegistry
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Envelope
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log, inbox

Projection = Callable[[AsyncSession, Envelope, DomainEvent], Awaitable[None]]
Progress = Callable[[int, int], None]


async def _own_events(connection: AsyncConnection) -> AsyncIterator[tuple[int, str]]:
    result = await connection.stream(
        select(event_log.c.log_position, event_log.c.body).order_by(event_log.c.log_position)
    )
    async for position, body in result:
        yield int(position), body


async def _inputs(connection: AsyncConnection) -> AsyncIterator[tuple[int, str]]:
    result = await connection.stream(select(inbox.c.own_log_head, inbox.c.body).order_by(inbox.c.seq))
    async for head, body in result:
        yield int(head), body


async def _merged(
    own: AsyncIterator[tuple[int, str]] | None, inputs: AsyncIterator[tuple[int, str]] | None
) -> AsyncIterator[tuple[bool, str]]:
    """(is_own, body) in the order the service applied them."""
    next_own = await anext(own, None) if own is not None else None
    next_input = await anext(inputs, None) if inputs is not None else None
    while next_own is not None or next_input is not None:
        if next_input is None or (next_own is not None and next_own[0] <= next_input[0]):
            assert next_own is not None
            yield True, next_own[1]
            next_own = await anext(own, None) if own is not None else None
        else:
            yield False, next_input[1]
            next_input = await anext(inputs, None) if inputs is not None else None


async def rebuild_state(
    database: Database,
    state: MetaData,
    *,
    project_own: Projection | None,
    project_input: Projection | None,
    registry: EventRegistry = CATALOGUE,
    progress: Progress | None = None,
    batch_size: int = 1000,
) -> int:
    """Drop and recreate the tables of ``state``, then replay own log and inbox into them.

    The log, the inbox and the relay position are left as they are. Returns the events replayed.
    """
    async with database.writer.begin() as connection:
        await connection.run_sync(state.drop_all)
        await connection.run_sync(state.create_all)
        total = 0
        if project_own is not None:
            total += (await connection.execute(select(func.count()).select_from(event_log))).scalar_one()
        if project_input is not None:
            total += (await connection.execute(select(func.count()).select_from(inbox))).scalar_one()
    done = 0
    async with database.reader.connect() as own_connection, database.reader.connect() as input_connection:
        sequence = _merged(
            _own_events(own_connection) if project_own is not None else None,
            _inputs(input_connection) if project_input is not None else None,
        )
        session = AsyncSession(database.writer, expire_on_commit=False)
        try:
            async for is_own, body in sequence:
                envelope = Envelope.from_json(body)
                event = registry.read(envelope)
                projection = project_own if is_own else project_input
                assert projection is not None
                await projection(session, envelope, event)
                done += 1
                if done % batch_size == 0:
                    await session.commit()
                    if progress is not None:
                        progress(done, total)
            await session.commit()
        finally:
            await session.close()
    if progress is not None:
        progress(done, total)
    return done


def _cell(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most cells: as they are
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonicalizable("non-finite float")
        return value
    if isinstance(value, datetime):
        return format_timestamp(value) if value.tzinfo else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (str, int)):
        return value
    if isinstance(value, (dict, list)):
        return canonical_json(value).decode()  # JSON columns: key order is not content
    return str(value)


async def state_digest(database: Database, state: MetaData, *, exclude: Iterable[str] = ()) -> str:
    """SHA-256 over every row of every table of ``state``, in a fixed order, minus ``exclude`` columns
    (``table.column`` or a bare column name)."""
    excluded = set(exclude)
    digest = hashlib.sha256()
    async with database.reader.connect() as connection:
        for table in sorted(state.sorted_tables, key=lambda item: item.name):
            columns = [
                column
                for column in table.columns
                if column.name not in excluded and f"{table.name}.{column.name}" not in excluded
            ]
            order = _order_of(table)
            digest.update(f"\x00{table.name}\x00".encode())
            result = await connection.stream(select(*columns).order_by(*order))
            async for row in result:
                # The cells are JSON-native and checked (_cell): the fast canonical form, same bytes.
                digest.update(canonical_json_of_decoded([_cell(value) for value in row]))
                digest.update(b"\n")
    return digest.hexdigest()


def _order_of(table: Table) -> list[Any]:
    primary = list(table.primary_key.columns)
    return primary if primary else list(table.columns)
