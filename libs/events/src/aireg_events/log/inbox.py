"""The inbox: ids of applied events, written in the same transaction as their effect (exactly once)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.envelope import Envelope
from aireg_events.log.tables import inbox


async def already_applied(session: AsyncSession, event_id: str) -> bool:
    found = await session.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id))
    return found.first() is not None


async def record_applied(
    session: AsyncSession, envelope: Envelope, *, topic: str, partition: int, offset: int, own_log_head: int
) -> None:
    await session.execute(
        insert(inbox).values(
            event_id=envelope.event_id,
            producer=envelope.producer,
            log_position=envelope.log_position,
            event_type=envelope.event_type,
            topic=topic,
            partition=partition,
            offset=offset,
            applied_at=datetime.now(UTC),
            own_log_head=own_log_head,
            body=envelope.to_canonical().decode(),
        )
    )
