"""Rebuild the state tables from the service's own log and its inbox, interleaved as they happened.

The inbox records, for each consumed event, this service's log head just before applying it; replaying
each input right after that own event, through the same ``project_own`` and ``project_input`` the live
service uses, gives back the tables exactly (``aireg rebuild submission`` runs it with the service
stopped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue import CATALOGUE, EventRegistry
from aireg_events.envelope import Envelope
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log, inbox
from aireg_submission.projections import project_input, project_own
from aireg_submission.store import STATE_TABLES

_PAGE = 500


@dataclass(frozen=True)
class RebuildCounts:
    own_events: int
    inputs: int


async def _rows(
    session: AsyncSession, query: Select[Any], key: ColumnElement[Any]
) -> AsyncIterator[tuple[int, int, str]]:
    """``(order, position or own log head, body)`` rows, fetched a page at a time by keyset on ``order``."""
    after = -1
    while True:
        page = (await session.execute(query.where(key > after).limit(_PAGE))).all()
        for row in page:
            yield row[0], row[1], row[2]
        if len(page) < _PAGE:
            return
        after = page[-1][0]


async def rebuild_state(database: Database, registry: EventRegistry = CATALOGUE) -> RebuildCounts:
    """Empty the state tables and replay the log and the inputs into them, in one transaction."""
    own_events = inputs = 0
    async with AsyncSession(database.writer, expire_on_commit=False) as session:

        async def apply(body: str, *, own: bool) -> None:
            envelope = Envelope.from_json(body)
            event = registry.read(envelope)
            if own:
                await project_own(session, envelope, event)
            else:
                await project_input(session, envelope, event)
            if (own_events + inputs) % _PAGE == 0:  # keep the identity map small on long logs
                await session.flush()
                session.expunge_all()

        async with session.begin():
            for table in STATE_TABLES:
                await session.execute(delete(table))
            own = _rows(
                session,
                select(event_log.c.log_position, event_log.c.log_position, event_log.c.body).order_by(
                    event_log.c.log_position
                ),
                event_log.c.log_position,
            )
            consumed = _rows(
                session,
                select(inbox.c.seq, inbox.c.own_log_head, inbox.c.body).order_by(inbox.c.seq),
                inbox.c.seq,
            )
            pending = await anext(consumed, None)
            async for _, position, body in own:
                while pending is not None and pending[1] < position:
                    inputs += 1
                    await apply(pending[2], own=False)
                    pending = await anext(consumed, None)
                own_events += 1
                await apply(body, own=True)
            while pending is not None:
                inputs += 1
                await apply(pending[2], own=False)
                pending = await anext(consumed, None)
    return RebuildCounts(own_events=own_events, inputs=inputs)
