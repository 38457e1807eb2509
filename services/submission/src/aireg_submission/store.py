"""The submission service's state tables (SQLModel) and their queries. The log tables are shared
machinery (``aireg_events.log.tables``); everything here can be rebuilt from the log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.log.columns import UtcTimestamp
from aireg_events.log.runtime import LogRuntime


class StateTable(SQLModel, registry=registry(metadata=MetaData())):
    """Base of this service's tables: their own metadata, apart from other services' tables."""


class ConsultationRow(StateTable, table=True):
    __tablename__ = "consultation"

    consultation_id: str = Field(primary_key=True, max_length=36)
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=300)
    description: str
    submission_opens_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    submission_closes_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    analysis_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    forwarding_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    late_submissions: str = Field(max_length=32)
    opened_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


metadata = StateTable.metadata


async def consultation_by_code(session: AsyncSession, code: str) -> ConsultationRow | None:
    return (await session.exec(select(ConsultationRow).where(ConsultationRow.code == code))).first()


@asynccontextmanager
async def read_session(runtime: LogRuntime) -> AsyncIterator[AsyncSession]:
    """A session for queries, on the reader engine (never holds the write lock)."""
    async with AsyncSession(runtime.database.reader, expire_on_commit=False) as session:
        yield session
