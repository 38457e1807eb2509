"""Events produced by the analysis service (topic ``aireg.analysis.v1``)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from aireg_events.catalogue.common import (
    ApplicationArea,
    Approach,
    CostOfError,
    Direction,
    DomainEvent,
    Instrument,
    Organization,
    Outcome,
    Question,
    Recommendation,
)

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


class RiskSeverity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Risk(BaseModel):
    """A risk of adopting or of rejecting a proposal or a measure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(min_length=1, max_length=2_000)
    severity: RiskSeverity


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
    risks_of_adoption: list[Risk] = Field(default_factory=list)
    """What could go wrong if the government adopted the proposal (empty in events written before)."""
    risks_of_rejection: list[Risk] = Field(default_factory=list)
    """What could go wrong if it did not (empty in events written before)."""


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
    measure_ids: list[str] = Field(default_factory=list)
    """The adopted measures the package forwards (empty in events written before measures existed)."""


# --- measures: from proposals to a systemic set of measures ---------------------------------------------


class MeasureStance(StrEnum):
    """How a proposal bears on a measure."""

    supports = "supports"
    opposes = "opposes"
    informs = "informs"


class MeasureDecision(StrEnum):
    adopt = "adopt"
    drop = "drop"


class MeasureTerms(BaseModel):
    """What a measure regulates, where, by which instrument, and from which cost of an AI error on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20_000)
    directions: list[Direction] = Field(min_length=1)
    questions: list[Question] = Field(default_factory=list)
    instrument: Instrument
    approach: Approach
    application_areas: list[ApplicationArea] = Field(default_factory=list)
    min_cost_of_error: CostOfError
    risks_of_adoption: list[Risk] = Field(default_factory=list)
    risks_of_rejection: list[Risk] = Field(default_factory=list)


class MeasureDrafted(DomainEvent):
    event_type: ClassVar[str] = "MeasureDrafted"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "measure_id"

    measure_id: str
    consultation_id: str
    terms: MeasureTerms


class ProposalLinkedToMeasure(DomainEvent):
    """A lead names a proposal as evidence for or against a measure. A campaign member stands for its
    campaign (``campaign_id`` as triage had grouped it when linked)."""

    event_type: ClassVar[str] = "ProposalLinkedToMeasure"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "measure_id"

    measure_id: str
    consultation_id: str
    proposal_id: str
    stance: MeasureStance
    note: str = ""
    campaign_id: str | None = None


class MeasureRevised(DomainEvent):
    event_type: ClassVar[str] = "MeasureRevised"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "measure_id"

    measure_id: str
    consultation_id: str
    terms: MeasureTerms
    rationale: str = ""


class MeasureDecided(DomainEvent):
    event_type: ClassVar[str] = "MeasureDecided"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "measure_id"

    measure_id: str
    consultation_id: str
    decision: MeasureDecision
    rationale: str


class MeasureAddedToPackage(DomainEvent):
    event_type: ClassVar[str] = "MeasureAddedToPackage"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "package_id"

    package_id: str
    consultation_id: str
    measure_id: str


class Tally(BaseModel):
    """Voices (a campaign once, a proposal in no campaign once) and signatories (every member)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    voices: int = Field(ge=0)
    signatories: int = Field(ge=0)


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    proposal_id: str
    stance: MeasureStance
    campaign_id: str | None = None
    signatories: int = Field(default=1, ge=0)
    """Members of the campaign it stands for when forwarded (1 outside a campaign)."""


class MeasureForwardedToGovernment(DomainEvent):
    event_type: ClassVar[str] = "MeasureForwardedToGovernment"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "measure_id"

    measure_id: str
    consultation_id: str
    package_id: str
    terms: MeasureTerms
    evidence: list[Evidence]
    """The proposals behind it that still count (neither withdrawn nor misattributed)."""
    tallies: dict[MeasureStance, Tally]
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
    MeasureDrafted,
    ProposalLinkedToMeasure,
    MeasureRevised,
    MeasureDecided,
    MeasureAddedToPackage,
    MeasureForwardedToGovernment,
)
