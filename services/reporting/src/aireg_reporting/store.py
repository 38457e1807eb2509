"""The reporting service's read models (SQLModel) and their queries; all rebuildable from the topics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.log.columns import UtcTimestamp
from aireg_events.log.runtime import LogRuntime


class StateTable(SQLModel, registry=registry(metadata=MetaData())):
    """Base of this service's tables: their own metadata, apart from other services' tables."""


class ConsultationRow(StateTable, table=True):
    """The deadlines of a consultation, as the submission service announced them."""

    __tablename__ = "consultation"

    consultation_id: str = Field(primary_key=True, max_length=36)
    code: str = Field(max_length=64)
    title: str = Field(max_length=300)
    submission_closes_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    analysis_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    forwarding_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))


metadata = StateTable.metadata


@asynccontextmanager
async def read_session(runtime: LogRuntime) -> AsyncIterator[AsyncSession]:
    """A session for queries, on the reader engine (never holds the write lock)."""
    async with AsyncSession(runtime.database.reader, expire_on_commit=False) as session:
        yield session
