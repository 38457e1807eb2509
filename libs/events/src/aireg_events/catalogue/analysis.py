"""Events produced by the analysis service (topic ``aireg.analysis.v1``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from aireg_events.catalogue.common import DomainEvent, Organization, Outcome, Recommendation

PRODUCER = "analysis"


class SimilarProposal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal_id: str
    similarity: float = Field(ge=0.0, le=1.0)


class TriageMethod(BaseModel):
    """Which rule grouped what: name, version and parameters, so an auditor can reproduce it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    parameters: dict[str, float | int | str | bool]


class ProposalTriaged(DomainEvent):
    event_type: ClassVar[str] = "ProposalTriaged"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    proposal_version: int = Field(ge=1)
    """How many submitted/amended versions of the proposal triage has seen (1 = as submitted)."""
    complete: bool
    missing: list[str] = Field(default_factory=list)
    exact_duplicate_of: str | None = None
    campaign_id: str | None = None
    campaign_representative: str | None = None
    similar: list[SimilarProposal] = Field(default_factory=list)
    method: TriageMethod
    grouped_with: list[str] = Field(default_factory=list)
    """Proposals that were in no campaign and join ``campaign_id`` with this one (its near-duplicates)."""
    merged_campaigns: list[str] = Field(default_factory=list)
    """Campaigns this proposal links to ``campaign_id``: their members now belong to ``campaign_id``."""
    exact_duplicates: list[str] = Field(default_factory=list)
    """Proposals received after this one with the same text that triage saw first (topic partitions do
    not keep the order received): from now on they are exact duplicates of this one."""


class ProposalReleasedFromCampaign(DomainEvent):
    """A lead took a proposal out of the campaign triage put it in; it is reviewed on its own."""

    event_type: ClassVar[str] = "ProposalReleasedFromCampaign"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    campaign_id: str
    reason: str


class ReviewerAssigned(DomainEvent):
    event_type: ClassVar[str] = "ReviewerAssigned"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    reviewer: str
    organization: Organization


class CriteriaScores(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    legal_soundness: int = Field(ge=1, le=5)
    feasibility: int = Field(ge=1, le=5)
    risk_reduction: int = Field(ge=1, le=5)
    innovation_impact: int = Field(ge=1, le=5)


class ReviewSubmitted(DomainEvent):
    event_type: ClassVar[str] = "ReviewSubmitted"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    review_id: str
    reviewer: str
    organization: Organization
    proposal_version: int = Field(ge=1)
    scores: CriteriaScores
    recommendation: Recommendation
    rationale: str


class ProposalAssessed(DomainEvent):
    event_type: ClassVar[str] = "ProposalAssessed"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    outcome: Outcome
    merged_into: str | None = None
    rationale: str
    review_ids: list[str]
    late: bool = False
    proposal_version: int | None = Field(default=None, ge=1)
    """The version of the proposal the assessment is about (absent in events written before it was added)."""


class GovernmentPackageOpened(DomainEvent):
    event_type: ClassVar[str] = "GovernmentPackageOpened"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "package_id"

    package_id: str
    consultation_id: str
    title: str


class ProposalAddedToPackage(DomainEvent):
    event_type: ClassVar[str] = "ProposalAddedToPackage"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "package_id"

    package_id: str
    consultation_id: str
    proposal_id: str


class ProposalRemovedFromPackage(DomainEvent):
    """A lead took a proposal out of a package that was not submitted yet."""

    event_type: ClassVar[str] = "ProposalRemovedFromPackage"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "package_id"

    package_id: str
    consultation_id: str
    proposal_id: str
    reason: str = ""


class ProposalForwardedToGovernment(DomainEvent):
    event_type: ClassVar[str] = "ProposalForwardedToGovernment"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    package_id: str
    late: bool = False


class GovernmentPackageSubmitted(DomainEvent):
    event_type: ClassVar[str] = "GovernmentPackageSubmitted"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "package_id"

    package_id: str
    consultation_id: str
    title: str
    proposal_ids: list[str]
    counts: dict[str, int]
    late: bool = False


EVENTS: tuple[type[DomainEvent], ...] = (
    ProposalTriaged,
    ProposalReleasedFromCampaign,
    ReviewerAssigned,
    ReviewSubmitted,
    ProposalAssessed,
    GovernmentPackageOpened,
    ProposalAddedToPackage,
    ProposalRemovedFromPackage,
    ProposalForwardedToGovernment,
    GovernmentPackageSubmitted,
)
