"""The analysis service's state tables (SQLModel), all rebuildable from its log and its inbox-recorded
inputs (``projector.py`` is the only writer); the loaders read them (``loaders.py``), and so do the views
(``views.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, MetaData, Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import domain
from aireg_events.catalogue.analysis import MeasureTerms
from aireg_events.catalogue.submission import ProposalContent
from aireg_events.log.columns import UtcTimestamp


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


class ProposalRow(StateTable, table=True):
    """A proposal as received (its latest version) and where it stands in the analysis workflow."""

    __tablename__ = "proposal"
    __table_args__ = (
        Index("ix_proposal_queue", "consultation_id", "status", "received_at", "proposal_id"),
        Index("ix_proposal_fingerprint", "consultation_id", "text_sha256"),
        Index("ix_proposal_received", "received_at", "proposal_id"),
        Index("ix_proposal_campaign", "campaign_id", "received_at", "proposal_id"),
    )

    proposal_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    registration_number: str = Field(max_length=64)
    portal: str = Field(max_length=200)
    received_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    late: bool = False
    title: str = Field(max_length=300)
    submitter_name: str = Field(max_length=300)
    submitter_kind: str = Field(max_length=32)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    text_sha256: str = Field(max_length=64)
    status: str = Field(max_length=32, default=domain.WorkflowStatus.received.value)
    withdrawn: bool = False
    misattributed: bool = False
    """An upheld attribution dispute set it aside: out of the queue."""
    triaged_version: int | None = None
    complete: bool | None = None
    missing: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    exact_duplicate_of: str | None = Field(default=None, max_length=36)
    campaign_id: str | None = Field(default=None, max_length=36)
    released_from_campaign: bool = False
    assessed_version: int | None = None
    outcome: str | None = Field(default=None, max_length=32)
    package_id: str | None = Field(default=None, max_length=36)
    forwarded_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    triage_event_id: str | None = Field(default=None, max_length=36)

    def proposal_content(self) -> ProposalContent:
        return ProposalContent.model_validate(self.content)


class ProposalDirectionRow(StateTable, table=True):
    """The directions a proposal names (the queue filters by them)."""

    __tablename__ = "proposal_direction"
    __table_args__ = (Index("ix_proposal_direction_direction", "direction", "proposal_id"),)

    proposal_id: str = Field(primary_key=True, max_length=36)
    direction: str = Field(primary_key=True, max_length=64)


class SignatureRow(StateTable, table=True):
    """The MinHash signature of a proposal's current text, kept for comparison with later proposals."""

    __tablename__ = "proposal_signature"

    proposal_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    proposal_version: int
    method_key: str = Field(max_length=200)
    hashvalues: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class BandRow(StateTable, table=True):
    """The LSH index: one row per band of each signature; proposals sharing a key are candidates."""

    __tablename__ = "lsh_band"
    __table_args__ = (Index("ix_lsh_band_lookup", "consultation_id", "bucket", "band"),)

    proposal_id: str = Field(primary_key=True, max_length=36)
    band: int = Field(primary_key=True)
    consultation_id: str = Field(max_length=36)
    bucket: int = Field(sa_column=Column(BigInteger, nullable=False))


class SimilarityRow(StateTable, table=True):
    """The near-duplicates the latest triage of a proposal found, with the estimated similarity."""

    __tablename__ = "proposal_similarity"
    __table_args__ = (Index("ix_proposal_similarity_similar", "similar_id"),)

    proposal_id: str = Field(primary_key=True, max_length=36)
    similar_id: str = Field(primary_key=True, max_length=36)
    similarity: float
    rank: int


class CampaignRow(StateTable, table=True):
    """A mass campaign: a connected group of near-duplicates of one consultation."""

    __tablename__ = "campaign"

    campaign_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36, index=True)
    representative_id: str = Field(max_length=36)
    size: int
    opened_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    method: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class AssignmentRow(StateTable, table=True):
    __tablename__ = "assignment"

    proposal_id: str = Field(primary_key=True, max_length=36)
    reviewer: str = Field(primary_key=True, max_length=200)
    organization: str = Field(max_length=32)
    assigned_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    assigned_by: str = Field(max_length=200)
    event_id: str = Field(max_length=36)


class ReviewRow(StateTable, table=True):
    __tablename__ = "review"

    review_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(max_length=36, index=True)
    reviewer: str = Field(max_length=200)
    organization: str = Field(max_length=32)
    proposal_version: int
    legal_soundness: int
    feasibility: int
    risk_reduction: int
    innovation_impact: int
    recommendation: str = Field(max_length=32)
    rationale: str
    submitted_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


class AssessmentRow(StateTable, table=True):
    """Every assessment of a proposal (a new one after an amendment made the earlier one stale)."""

    __tablename__ = "assessment"

    event_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(max_length=36, index=True)
    proposal_version: int
    outcome: str = Field(max_length=32)
    merged_into: str | None = Field(default=None, max_length=36)
    rationale: str
    review_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    late: bool
    risks_of_adoption: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    risks_of_rejection: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    assessed_by: str = Field(max_length=200)
    assessed_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))


class PackageRow(StateTable, table=True):
    __tablename__ = "package"

    package_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36, index=True)
    title: str = Field(max_length=300)
    status: str = Field(max_length=16)
    opened_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    late: bool = False
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    event_id: str = Field(max_length=36)


class PackageItemRow(StateTable, table=True):
    __tablename__ = "package_item"

    package_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(primary_key=True, max_length=36)
    position: int
    added_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    event_id: str = Field(max_length=36)


class MeasureRow(StateTable, table=True):
    """A measure a lead drafted: its current terms, its decision, and the package that carries it."""

    __tablename__ = "measure"
    __table_args__ = (
        Index("ix_measure_consultation", "consultation_id", "status", "drafted_at", "measure_id"),
    )

    measure_id: str = Field(primary_key=True, max_length=36)
    consultation_id: str = Field(max_length=36)
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=16)
    revision: int = 1
    drafted_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    drafted_by: str = Field(max_length=200)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))
    decided_by: str | None = Field(default=None, max_length=200)
    decision_rationale: str | None = None
    package_id: str | None = Field(default=None, max_length=36)
    package_position: int | None = None
    forwarded_at: datetime | None = Field(default=None, sa_column=Column(UtcTimestamp(), nullable=True))

    def measure_terms(self) -> MeasureTerms:
        return MeasureTerms.model_validate(self.terms)


class MeasureEvidenceRow(StateTable, table=True):
    """A proposal linked to a measure as supporting, opposing or informing evidence."""

    __tablename__ = "measure_evidence"
    __table_args__ = (Index("ix_measure_evidence_proposal", "proposal_id"),)

    measure_id: str = Field(primary_key=True, max_length=36)
    proposal_id: str = Field(primary_key=True, max_length=36)
    stance: str = Field(max_length=16)
    note: str = ""
    campaign_id: str | None = Field(default=None, max_length=36)
    """The campaign triage had put it in when it was linked (the tallies read the current one)."""
    linked_at: datetime = Field(sa_column=Column(UtcTimestamp(), nullable=False))
    linked_by: str = Field(max_length=200)
    event_id: str = Field(max_length=36)


metadata = StateTable.metadata

PROPOSALS: Table = ProposalRow.__table__  # type: ignore[attr-defined]
DIRECTIONS: Table = ProposalDirectionRow.__table__  # type: ignore[attr-defined]
SIGNATURES: Table = SignatureRow.__table__  # type: ignore[attr-defined]
BANDS: Table = BandRow.__table__  # type: ignore[attr-defined]
SIMILARITIES: Table = SimilarityRow.__table__  # type: ignore[attr-defined]
CAMPAIGNS: Table = CampaignRow.__table__  # type: ignore[attr-defined]
ASSIGNMENTS: Table = AssignmentRow.__table__  # type: ignore[attr-defined]


async def plain_sql(session: AsyncSession) -> AsyncConnection:
    """The session's connection for statements on the tables themselves, once the ORM has written what
    it holds (plain SQL does not flush the session as ORM queries do)."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return await session.connection()
