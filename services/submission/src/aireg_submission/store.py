"""The submission service's state tables (SQLModel) and their queries. The log tables are shared
machinery (``aireg_events.log.tables``); everything here can be rebuilt from the log and the inbox."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, MetaData, UniqueConstraint, bindparam
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue.common import LateSubmissions
from aireg_events.catalogue.submission import ProposalContent
from aireg_events.log.columns import UtcTimestamp
from aireg_events.log.runtime import LogRuntime
from aireg_submission import domain


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
    # last, as the migration that added them put them
    time_zone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=8)

    def window(self) -> domain.SubmissionWindow:
        return domain.SubmissionWindow(
            opens_at=self.submission_opens_at,
            closes_at=self.submission_closes_at,
            late_submissions=LateSubmissions(self.late_submissions),
        )


class RegistrationCounterRow(StateTable, table=True):
    """The registration numbers of one consultation that registered proposals: its year and series, and
    the last number given (updated in the transaction that gives the next one)."""

    __tablename__ = "registration_counter"
    __table_args__ = (UniqueConstraint("year", "series", name="uq_registration_counter_year_series"),)

    consultation_id: str = Field(primary_key=True, max_length=36)
    year: int
    series: int
    last_number: int = 0

    def numbering(self) -> domain.Numbering:
        return domain.Numbering(year=self.year, series=self.series, last_number=self.last_number)


class ProposalRow(StateTable, table=True):
    __tablename__ = "proposal"
    __table_args__ = (
        UniqueConstraint("portal", "idempotency_key", name="uq_proposal_portal_idempotency_key"),
    )

    proposal_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36, index=True)
    registration_number: str = Field(max_length=32, unique=True)
    portal: str = Field(max_length=200, index=True)
    idempotency_key: str = Field(max_length=domain.MAX_IDEMPOTENCY_KEY_LENGTH)
    request_sha256: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    late: bool
    submitted_event_id: str = Field(max_length=36)
    submitted_log_position: int = Field(sa_column=Column(BigInteger(), nullable=False))
    submitted_event_hash: str = Field(max_length=64)
    content: dict[str, Any] = Field(sa_column=Column(JSON(), nullable=False))
    version: int = 1
    """1 as submitted, +1 per amendment."""
    stream_version: int
    """The proposal stream's version in this service's log (submitted, amended..., withdrawn)."""
    status: str = Field(max_length=32)
    status_changed_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    amended_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    withdrawal_reason: str | None = None
    last_event_id: str = Field(max_length=36)

    def state(self, window: domain.SubmissionWindow) -> domain.Proposal:
        return domain.Proposal(
            proposal_id=self.proposal_id,
            consultation_id=self.consultation_id,
            portal=self.portal,
            content=ProposalContent.model_validate(self.content),
            status=domain.ProposalStatus(self.status),
            stream_version=self.stream_version,
            window=window,
        )


class PortalRow(StateTable, table=True):
    """A portal an admin suspended at least once, and whether it is suspended now."""

    __tablename__ = "portal"

    portal: str = Field(primary_key=True, max_length=200)
    suspended: bool
    reason: str
    changed_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


class SealedValueUseRow(StateTable, table=True):
    """Which proposals carry values sealed under which data subject key (from the key ids the sealed
    values name): what an erasure lists."""

    __tablename__ = "sealed_value_use"

    key_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(primary_key=True, max_length=36)


class ErasureRow(StateTable, table=True):
    """A ``PersonalDataErased``: the answer a repeated erasure request gets again."""

    __tablename__ = "personal_data_erasure"

    erasure_id: str = Field(primary_key=True, max_length=36)
    subject_digest: str = Field(max_length=64, index=True)
    proposals: list[str] = Field(sa_column=Column(JSON(), nullable=False))
    erased_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


class AttributionDisputeRow(StateTable, table=True):
    """A complaint that a proposal was filed in someone's name without their consent, and its outcome.
    ``complainant`` and ``statement`` hold sealed values only."""

    __tablename__ = "attribution_dispute"

    dispute_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(max_length=36, index=True)
    consultation_id: str = Field(max_length=36)
    complainant: dict[str, Any] = Field(sa_column=Column(JSON(), nullable=False))
    statement: dict[str, Any] = Field(sa_column=Column(JSON(), nullable=False))
    status: str = Field(max_length=16, index=True)
    """open | resolved"""
    outcome: str | None = Field(default=None, max_length=16)
    rationale: str | None = None
    opened_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    event_id: str = Field(max_length=36)
    resolution_event_id: str | None = Field(default=None, max_length=36)

    def state(self) -> domain.Dispute:
        return domain.Dispute(
            dispute_id=self.dispute_id,
            proposal_id=self.proposal_id,
            consultation_id=self.consultation_id,
            resolved=self.status == "resolved",
        )


metadata = StateTable.metadata


async def consultation_by_code(session: AsyncSession, code: str) -> ConsultationRow | None:
    return (await session.exec(select(ConsultationRow).where(ConsultationRow.code == code))).first()


async def series_taken(session: AsyncSession, year: int) -> list[int]:
    """The registration series already taken by consultations that open in ``year``."""
    query = select(RegistrationCounterRow.series).where(RegistrationCounterRow.year == year)
    return list((await session.exec(query)).all())


@dataclass
class Registration:
    """The facts of an accepted submission as its proposal row records them: what the answer to the
    submission (and to every retry of it) is built from."""

    proposal_id: str
    consultation_id: str
    registration_number: str
    request_sha256: str
    received_at: datetime
    late: bool
    submitted_event_id: str
    submitted_log_position: int
    submitted_event_hash: str


_proposals = ProposalRow.__table__  # type: ignore[attr-defined]
_REGISTRATION_BY_KEY = select(*(_proposals.c[item.name] for item in fields(Registration))).where(
    _proposals.c.portal == bindparam("portal"), _proposals.c.idempotency_key == bindparam("key")
)
"""Built once (the intake's hot path): only the columns of the answer, not the whole row and content."""


async def registration_by_idempotency_key(
    session: AsyncSession, portal: str, key: str
) -> Registration | None:
    result = await session.execute(_REGISTRATION_BY_KEY, {"portal": portal, "key": key})
    row = result.first()
    return Registration(*row) if row is not None else None


async def portal_is_suspended(session: AsyncSession, portal: str) -> bool:
    row = await session.get(PortalRow, portal)
    return row is not None and row.suspended


class SuspensionCache:
    """Whether a portal is suspended, as the routes' first check sees it: read from the store at most once
    a ``ttl`` per portal (a read per request was a tenth of an intake's time, ``bench/intake.py``).

    Only that early refusal uses it. Every work that records something for a portal checks the store
    itself inside the transaction, so a suspension holds for writes the moment it commits; this process
    forgets its answer for a portal when it suspends or resumes it, and another replica's answer is at
    most ``ttl`` old for reads.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self._known: dict[str, tuple[bool, float]] = {}

    async def is_suspended(self, runtime: LogRuntime, portal: str) -> bool:
        now = time.monotonic()
        known = self._known.get(portal)
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        async with runtime.database.read_session() as session:
            suspended = await portal_is_suspended(session, portal)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[portal] = (suspended, now)
        return suspended

    def forget(self, portal: str) -> None:
        self._known.pop(portal, None)


def proposals_query(
    *, portal: str | None, consultation_id: str | None, status: str | None, after: str | None, limit: int
) -> Any:
    """Proposals in id order (UUIDv7: the order they arrived), filtered; ``limit`` rows."""
    query = select(ProposalRow).order_by(col(ProposalRow.proposal_id)).limit(limit)
    if portal is not None:
        query = query.where(ProposalRow.portal == portal)
    if consultation_id is not None:
        query = query.where(ProposalRow.consultation_id == consultation_id)
    if status is not None:
        query = query.where(ProposalRow.status == status)
    if after is not None:
        query = query.where(col(ProposalRow.proposal_id) > after)
    return query


async def proposals_sealed_under(session: AsyncSession, key_id: str) -> list[str]:
    query = select(SealedValueUseRow.proposal_id).where(SealedValueUseRow.key_id == key_id)
    return sorted((await session.exec(query)).all())


async def latest_erasure(session: AsyncSession, subject_digest: str) -> ErasureRow | None:
    query = (
        select(ErasureRow)
        .where(ErasureRow.subject_digest == subject_digest)
        .order_by(col(ErasureRow.erasure_id).desc())
    )
    return (await session.exec(query)).first()


def disputes_query(*, status: str | None, after: str | None, limit: int) -> Any:
    query = select(AttributionDisputeRow).order_by(col(AttributionDisputeRow.dispute_id)).limit(limit)
    if status is not None:
        query = query.where(AttributionDisputeRow.status == status)
    if after is not None:
        query = query.where(col(AttributionDisputeRow.dispute_id) > after)
    return query
