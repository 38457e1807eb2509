"""Events produced by the submission service (topic ``aireg.submission.v1``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from aireg_events.catalogue.common import (
    ApplicationArea,
    Approach,
    BoundedText,
    CostOfError,
    Direction,
    DomainEvent,
    Instrument,
    LateSubmissions,
    Position,
    Question,
    SubmitterKind,
    UtcDateTime,
)

PRODUCER = "submission"

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Submitter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: BoundedText(300, min_length=1)  # type: ignore[valid-type]
    kind: SubmitterKind
    registration_number: BoundedText(64) | None = None  # type: ignore[valid-type]
    contact_email: EmailStr = Field(max_length=320)


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: BoundedText(255, min_length=1)  # type: ignore[valid-type]
    media_type: BoundedText(127, min_length=3)  # type: ignore[valid-type]
    size_bytes: int = Field(ge=0, le=1024**3)
    sha256: Sha256Hex


class ProposalContent(BaseModel):
    """What an organization proposes: the body a portal posts, minus nothing, plus nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    submitter: Submitter
    title: BoundedText(300, min_length=1)  # type: ignore[valid-type]
    summary: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]
    text: BoundedText(100_000, min_length=1)  # type: ignore[valid-type]
    directions: list[Direction] = Field(min_length=1, max_length=7)
    questions: list[Question] = Field(min_length=1, max_length=6)
    positions: dict[Question, Position] = Field(default_factory=dict, max_length=6)
    instrument: Instrument
    approach: Approach
    cost_of_error: CostOfError
    application_areas: list[ApplicationArea] = Field(min_length=1, max_length=10)
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _consistent(self) -> ProposalContent:
        for name in ("directions", "questions", "application_areas"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice")
        stray = set(self.positions) - set(self.questions)
        if stray:
            raise ValueError(f"positions on questions the proposal does not answer: {sorted(stray)}")
        names = [attachment.filename for attachment in self.attachments]
        if len(set(names)) != len(names):
            raise ValueError("two attachments share a filename")
        return self


class ConsultationLanguage(StrEnum):
    """The languages a consultation's documents and dashboard speak."""

    ru = "ru"
    en = "en"


class ConsultationOpened(DomainEvent):
    event_type: ClassVar[str] = "ConsultationOpened"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "consultation_id"

    consultation_id: str
    code: str
    title: str
    description: str
    submission_opens_at: UtcDateTime
    submission_closes_at: UtcDateTime
    analysis_due_at: UtcDateTime
    forwarding_due_at: UtcDateTime
    late_submissions: LateSubmissions = LateSubmissions.reject
    time_zone: str = Field(default="UTC", max_length=64)
    """IANA name: the zone people read the deadlines in (the deadlines themselves are UTC instants).
    Events recorded before the field existed read as UTC."""
    language: ConsultationLanguage = ConsultationLanguage.en
    """The language of the call (documents and the dashboard default to it); older events read as en."""


class ProposalSubmitted(DomainEvent):
    event_type: ClassVar[str] = "ProposalSubmitted"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    registration_number: str
    portal: str
    received_at: UtcDateTime
    late: bool = False
    idempotency_key: str
    request_sha256: Sha256Hex
    content: ProposalContent


class ProposalAmended(DomainEvent):
    event_type: ClassVar[str] = "ProposalAmended"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    portal: str
    changes: dict[str, object]
    """The fields of :class:`ProposalContent` that changed, with their new values."""
    content: ProposalContent
    """The whole content after the amendment, so that a reader needs no earlier event to know it."""
    reason: str
    late: bool = False


class ProposalWithdrawn(DomainEvent):
    event_type: ClassVar[str] = "ProposalWithdrawn"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    portal: str
    reason: str


class PortalSuspended(DomainEvent):
    event_type: ClassVar[str] = "PortalSuspended"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "stream"

    portal: str
    reason: str

    @property
    def stream(self) -> str:
        return f"portal:{self.portal}"


class PortalResumed(DomainEvent):
    event_type: ClassVar[str] = "PortalResumed"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "stream"

    portal: str
    reason: str = ""

    @property
    def stream(self) -> str:
        return f"portal:{self.portal}"


EVENTS: tuple[type[DomainEvent], ...] = (
    ConsultationOpened,
    ProposalSubmitted,
    ProposalAmended,
    ProposalWithdrawn,
    PortalSuspended,
    PortalResumed,
)
