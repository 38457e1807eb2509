"""Events produced by the submission service (topic ``aireg.submission.v1``)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, ClassVar

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
from aireg_events.sealed import SealedValue

PRODUCER = "submission"

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Submitter(BaseModel):
    """Who submits, as a portal posts it. Never recorded like this: the submission service seals the
    personal data (:class:`SealedSubmitter`) before anything is written."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: BoundedText(300, min_length=1)  # type: ignore[valid-type]
    kind: SubmitterKind
    registration_number: BoundedText(64) | None = None  # type: ignore[valid-type]
    contact_email: EmailStr = Field(max_length=320)


class SealedSubmitter(BaseModel):
    """Who submitted, as the log, the topics and every store hold it: ``contact_email`` always sealed,
    ``name`` and ``registration_number`` sealed when ``kind`` is ``citizen`` (docs/contract.md,
    "Personal data"); an organization's name and registration number stay readable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: BoundedText(300, min_length=1) | SealedValue = Field(  # type: ignore[valid-type]
        description="the organization's name; sealed when `kind` is `citizen`"
    )
    kind: SubmitterKind
    registration_number: BoundedText(64) | SealedValue | None = Field(  # type: ignore[valid-type]
        default=None, description="sealed when `kind` is `citizen`"
    )
    contact_email: SealedValue = Field(description="always sealed")

    @model_validator(mode="after")
    def _sealed_where_personal(self) -> SealedSubmitter:
        citizen = self.kind is SubmitterKind.citizen
        for name in ("name", "registration_number"):
            value = getattr(self, name)
            if value is None:
                continue
            if citizen and not isinstance(value, SealedValue):
                raise ValueError(f"a citizen's {name} is personal data and travels sealed only")
            if not citizen and isinstance(value, SealedValue):
                raise ValueError(f"an organization's {name} is not sealed")
        return self

    @property
    def public_name(self) -> str:
        """What analysis, reporting and their documents show: the organization's name, or "citizen"."""
        return self.name if isinstance(self.name, str) else SubmitterKind.citizen.value

    @property
    def public_registration_number(self) -> str | None:
        """An organization's registration number; None for a citizen (personal data) or when none."""
        return self.registration_number if isinstance(self.registration_number, str) else None


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: BoundedText(255, min_length=1)  # type: ignore[valid-type]
    media_type: BoundedText(127, min_length=3)  # type: ignore[valid-type]
    size_bytes: int = Field(ge=0, le=1024**3)
    sha256: Sha256Hex


class ProposalFields(BaseModel):
    """What an organization proposes, but for who it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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
    def _consistent(self) -> ProposalFields:
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


class ProposalBody(ProposalFields):
    """The body a portal posts (plain submitter). Never recorded like this: see :class:`ProposalContent`."""

    submitter: Submitter


class ProposalContent(ProposalFields):
    """A proposal as the log records it: the body with its personal data sealed."""

    submitter: SealedSubmitter


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
    """v2: the submitter's personal data is sealed, and ``request_sha256`` is keyed (HMAC-SHA-256 under
    the submission service's digest secret), so the body's fingerprint cannot be tried against guesses."""

    event_type: ClassVar[str] = "ProposalSubmitted"
    schema_version: ClassVar[int] = 2
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    proposal_id: str
    consultation_id: str
    registration_number: str
    portal: str
    received_at: UtcDateTime
    late: bool = False
    idempotency_key: str
    request_sha256: Sha256Hex = Field(
        description="HMAC-SHA-256, under the submission service's digest secret, of the canonical JSON of "
        "the parsed body (plain values): tells a retry from another body, and reveals nothing"
    )
    content: ProposalContent


class ProposalAmended(DomainEvent):
    """v2: the submitter, in ``changes`` and ``content``, is sealed as in ``ProposalSubmitted``."""

    event_type: ClassVar[str] = "ProposalAmended"
    schema_version: ClassVar[int] = 2
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


class PersonalDataErased(DomainEvent):
    """A data subject's key was destroyed: every value sealed under it reads ``{"erased": true}`` from
    now on, in every event that carries it. Names the subject only by its keyed digest."""

    event_type: ClassVar[str] = "PersonalDataErased"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "stream"

    erasure_id: str
    subject_digest: Sha256Hex = Field(
        description="HMAC-SHA-256 of the normalized contact e-mail under the service's digest secret"
    )
    key_ids: list[str] = Field(description="the destroyed keys (the key id each sealed value names)")
    proposals: list[str] = Field(description="the proposals whose personal data is now unreadable")
    reason: str
    legal_basis: str

    @property
    def stream(self) -> str:
        return f"erasure:{self.erasure_id}"


class DisputeOutcome(StrEnum):
    upheld = "upheld"
    rejected = "rejected"


class AttributionDisputed(DomainEvent):
    """Someone complains that the proposal was filed in their name without their consent (recorded by an
    admin). The complainant and the statement are personal data: sealed under the proposal's data subject."""

    event_type: ClassVar[str] = "AttributionDisputed"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    dispute_id: str
    proposal_id: str
    consultation_id: str
    complainant: SealedValue
    statement: SealedValue


class AttributionDisputeResolved(DomainEvent):
    """An admin's decision on a dispute; ``upheld`` sets the proposal aside as ``misattributed``
    everywhere (it stays in the log)."""

    event_type: ClassVar[str] = "AttributionDisputeResolved"
    producer: ClassVar[str] = PRODUCER
    stream_field: ClassVar[str] = "proposal_id"

    dispute_id: str
    proposal_id: str
    consultation_id: str
    outcome: DisputeOutcome
    rationale: str


EVENTS: tuple[type[DomainEvent], ...] = (
    ConsultationOpened,
    ProposalSubmitted,
    ProposalAmended,
    ProposalWithdrawn,
    PortalSuspended,
    PortalResumed,
    PersonalDataErased,
    AttributionDisputed,
    AttributionDisputeResolved,
)


def erase_plain_submitter_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 → v2 of ``ProposalSubmitted`` and ``ProposalAmended``: v1 carried the submitter's personal data
    in plain text. No reader may see it any more, and no key seals it: it reads as erased."""
    upcast = dict(payload)
    for holder in ("content", "changes"):
        part = upcast.get(holder)
        if isinstance(part, dict) and isinstance(part.get("submitter"), dict):
            submitter = dict(part["submitter"])
            gone = SealedValue.gone().model_dump(mode="json")
            submitter["contact_email"] = gone
            if submitter.get("kind") == SubmitterKind.citizen.value:
                submitter["name"] = gone
                if submitter.get("registration_number") is not None:
                    submitter["registration_number"] = gone
            upcast[holder] = {**part, "submitter": submitter}
    return upcast


UPCASTERS: tuple[tuple[str, int, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (ProposalSubmitted.event_type, 1, erase_plain_submitter_v1),
    (ProposalAmended.event_type, 1, erase_plain_submitter_v1),
)
"""``(event_type, from_version, upcaster)`` of this producer's old versions."""
