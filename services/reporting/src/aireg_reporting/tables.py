"""The reporting service's tables (SQLModel): read models, all rebuildable from the topics. What the
projector reads back is :mod:`aireg_reporting.loaders`; what the routes read, :mod:`aireg_reporting.views`.

``received_event`` keeps every envelope received, numbered gap-free in the order it was applied (the live
stream's ids) and linked to the proposals and packages it concerns (``event_subject``); ``placement``
and ``campaign`` hold the campaign book (:mod:`aireg_events.campaigns`), ``counter`` the statistics'
figures; the other tables are what :mod:`aireg_reporting.domain` folds those events into.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, MetaData, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import registry
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel

from aireg_events.canonical import canonical_json, loads
from aireg_events.log.columns import UtcTimestamp


class CanonicalJson(TypeDecorator[Any]):
    """A JSON value stored as canonical JSON text: the same bytes on SQLite and PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else canonical_json(value).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else loads(value)


class StateTable(SQLModel, registry=registry(metadata=MetaData())):
    """Base of this service's tables: their own metadata, apart from other services' tables."""


class ReportedConsultationRow(StateTable, table=True):
    """A consultation and its deadlines, as the submission service announced them."""

    __tablename__ = "consultation"

    consultation_id: str = Field(primary_key=True, max_length=36)
    code: str = Field(max_length=64)
    title: str = Field(max_length=300)
    submission_opens_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    submission_closes_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    analysis_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    forwarding_due_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    late_submissions: str | None = Field(default=None, max_length=32)
    opened_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    event_id: str | None = Field(default=None, max_length=36)
    # last, as the migration that added them put them
    time_zone: str = Field(default="UTC", max_length=64)
    language: str = Field(default="en", max_length=8)


class ReceivedEventRow(StateTable, table=True):
    """Every envelope received from either topic, exactly once, numbered in the order it was applied."""

    __tablename__ = "received_event"
    __table_args__ = (
        Index("ix_received_event_seq", "seq", unique=True),
        Index("ix_received_event_consultation", "consultation_id", "occurred_at"),
        Index("ix_received_event_producer_position", "producer", "log_position"),
    )

    event_id: str = Field(primary_key=True, max_length=36)
    seq: int = Field(sa_column=Column(BigInteger(), nullable=False))
    """Gap-free, in apply order: the id of the event on the live stream. Not a fact: a rebuild renumbers."""
    producer: str = Field(max_length=100)
    log_position: int = Field(sa_column=Column(BigInteger(), nullable=False))
    event_type: str = Field(max_length=100)
    stream_id: str = Field(max_length=200)
    stream_version: int
    occurred_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    consultation_id: str | None = Field(default=None, max_length=36)
    received_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    body: str = Field(sa_column=Column(Text(), nullable=False))
    """The canonical JSON envelope, as received."""


class EventSubjectRow(StateTable, table=True):
    """Which proposals and packages an event concerns (a timeline is the events of one subject)."""

    __tablename__ = "event_subject"

    subject_kind: str = Field(primary_key=True, max_length=16)
    subject_id: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=36)


class PlacementRow(StateTable, table=True):
    """Where analysis's latest decisions put a proposal (its campaign as named then, its original) and
    the facts of its own that count for its campaign: :class:`aireg_events.campaigns.Placement`.
    There may be one before the proposal's submission arrives."""

    __tablename__ = "placement"
    __table_args__ = (Index("ix_placement_campaign", "consultation_id", "campaign_id", "received_at"),)

    proposal_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    campaign_id: str | None = Field(default=None, max_length=100)
    placed_at: int = Field(sa_column=Column(BigInteger(), nullable=False))
    duplicate_of: str | None = Field(default=None, max_length=36)
    duplicate_at: int = Field(sa_column=Column(BigInteger(), nullable=False))
    withdrawn: bool
    received_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))


class ReportedCampaignRow(StateTable, table=True):
    """A campaign analysis named: ``parent`` is the campaign that absorbed it (itself while it survives);
    a survivor counts its members and keeps its representative (:class:`aireg_events.campaigns.Campaign`)."""

    __tablename__ = "campaign"
    __table_args__ = (Index("ix_campaign_parent", "consultation_id", "parent"),)

    consultation_id: str = Field(primary_key=True, max_length=36)
    campaign_id: str = Field(primary_key=True, max_length=100)
    parent: str = Field(max_length=100)
    members: int
    representative: str | None = Field(default=None, max_length=36)
    representative_received_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))


class CounterRow(StateTable, table=True):
    """One figure of a consultation's statistics (``dimension``/``key``, e.g. ``status``/``assessed``),
    kept current per event (:func:`aireg_reporting.statistics.proposal_counts`): ``/v1/stats`` reads
    these rows, never the proposals."""

    __tablename__ = "counter"

    consultation_id: str = Field(primary_key=True, max_length=36)
    dimension: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=100)
    value: int = Field(sa_column=Column(BigInteger(), nullable=False))


class ReportedProposalRow(StateTable, table=True):
    """A proposal as every event about it, from both producers, left it."""

    __tablename__ = "proposal"
    __table_args__ = (Index("ix_proposal_consultation_status", "consultation_id", "status"),)

    proposal_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    registration_number: str = Field(max_length=64)
    portal: str = Field(max_length=200)
    status: str = Field(max_length=32)
    title: str = Field(max_length=300)
    summary: str = Field(sa_column=Column(Text(), nullable=False))
    submitter_name: str = Field(max_length=300)
    submitter_kind: str = Field(max_length=32)
    submitter_registration_number: str | None = Field(default=None, max_length=64)
    directions: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    questions: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    positions: dict[str, str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    instrument: str = Field(max_length=32)
    approach: str = Field(max_length=32)
    cost_of_error: str = Field(max_length=32)
    application_areas: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    attachments: int
    late: bool
    received_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    version: int
    amended_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    withdrawal_reason: str | None = Field(default=None, sa_column=Column(Text()))
    triaged_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    complete: bool | None = None
    missing: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    exact_duplicate_of: str | None = Field(default=None, max_length=36)
    is_analysis_work: bool
    """Expected to be assessed: not withdrawn, not an exact duplicate, not a campaign member that its
    campaign's representative stands for."""
    reviewers_assigned: int
    outcome: str | None = Field(default=None, max_length=32)
    merged_into: str | None = Field(default=None, max_length=36)
    assessment_rationale: str | None = Field(default=None, sa_column=Column(Text()))
    assessed_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    assessment_late: bool
    package_id: str | None = Field(default=None, max_length=36)
    forwarded_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    forwarding_late: bool
    measure_count: int = 0
    """The measures it is linked to as evidence (coverage counts the proposals linked to none)."""
    last_event_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_ids: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    """The events this row was folded from, in causal order."""


class ReportedReviewRow(StateTable, table=True):
    __tablename__ = "review"
    __table_args__ = (Index("ix_review_proposal", "proposal_id"),)

    review_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(max_length=36)
    consultation_id: str = Field(max_length=36)
    reviewer: str = Field(max_length=200)
    organization: str = Field(max_length=32)
    proposal_version: int
    legal_soundness: int
    feasibility: int
    risk_reduction: int
    innovation_impact: int
    recommendation: str = Field(max_length=32)
    rationale: str = Field(sa_column=Column(Text(), nullable=False))
    submitted_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


class ReportedPackageRow(StateTable, table=True):
    """A package of recommendations for the government."""

    __tablename__ = "package"

    package_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    title: str = Field(max_length=300)
    status: str = Field(max_length=16)
    opened_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp()))
    late: bool
    counts: dict[str, int] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    proposal_count: int
    event_ids: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))


class ReportedMeasureRow(StateTable, table=True):
    """A measure's directions, questions and status: what the coverage counters count it under."""

    __tablename__ = "measure"

    measure_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    title: str = Field(max_length=300)
    status: str = Field(max_length=16)
    directions: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))
    questions: list[str] = Field(sa_column=Column(CanonicalJson(), nullable=False))


class ReportedPackageItemRow(StateTable, table=True):
    __tablename__ = "package_item"

    package_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(primary_key=True, max_length=36)
    position: int
    event_id: str | None = Field(default=None, max_length=36)


class ReportedPortalRow(StateTable, table=True):
    """Whether a portal is suspended (the latest of its suspensions and resumptions)."""

    __tablename__ = "portal"

    portal: str = Field(primary_key=True, max_length=200)
    suspended: bool
    reason: str = Field(sa_column=Column(Text(), nullable=False))
    since: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    stream_version: int
    event_id: str = Field(max_length=36)


class CheckpointRow(StateTable, table=True):
    """The latest signed chain checkpoint received from each producer."""

    __tablename__ = "checkpoint"

    producer: str = Field(primary_key=True, max_length=100)
    head_position: int = Field(sa_column=Column(BigInteger(), nullable=False))
    head_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    key_id: str = Field(max_length=100)
    event_id: str = Field(max_length=36)


class StreamMetaRow(StateTable, table=True):
    """Facts about the live stream itself: its ``epoch`` changes when a rebuild renumbers the events."""

    __tablename__ = "stream_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(String(200), nullable=False))


metadata = StateTable.metadata

PROJECTION_TABLES = [
    table for table in metadata.sorted_tables if table.name not in (StreamMetaRow.__tablename__,)
]
"""What a rebuild drops and refills, and what the state digest covers."""

VOLATILE_COLUMNS = ("received_event.seq", "received_event.received_at")
"""Columns that record when and in which order this copy received events, not what the events say."""
