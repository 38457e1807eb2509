"""The inbox: ids of applied events, written in the same transaction as their effect (exactly once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.envelope import Envelope
from aireg_events.log.tables import inbox


async def already_applied(session: AsyncSession, event_id: str) -> bool:
    found = await session.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id))
    return found.first() is not None


async def applied_among(session: AsyncSession, event_ids: list[str]) -> set[str]:
    """Those of ``event_ids`` the inbox holds (one query per 500)."""
    found: set[str] = set()
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        rows = await session.execute(select(inbox.c.event_id).where(inbox.c.event_id.in_(chunk)))
        found.update(event_id for (event_id,) in rows)
    return found


async def record_applied(
    session: AsyncSession, envelope: Envelope, *, topic: str, partition: int, offset: int, own_log_head: int
) -> None:
    row = inbox_row(envelope, topic=topic, partition=partition, offset=offset, own_log_head=own_log_head)
    await session.execute(insert(inbox), [row])  # parameters, not .values(): compiled once


def inbox_row(
    envelope: Envelope,
    *,
    topic: str,
    partition: int,
    offset: int,
    own_log_head: int,
    applied_at: datetime | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """The inbox row of an applied event (``body``: its canonical envelope, if the caller has it)."""
    return {
        "event_id": envelope.event_id,
        "producer": envelope.producer,
        "log_position": envelope.log_position,
        "event_type": envelope.event_type,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "applied_at": applied_at or datetime.now(UTC),
        "own_log_head": own_log_head,
        "body": body if body is not None else envelope.to_canonical().decode(),
    }
