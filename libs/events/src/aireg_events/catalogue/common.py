"""Value sets shared by the events of every producer (docs/contract.md), and the base class of all events."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, PlainSerializer

from aireg_events.canonical import format_timestamp


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]
"""A timestamp that must carry a zone, is kept in UTC, and serializes in the one canonical format."""


class Direction(StrEnum):
    regulation_and_barriers = "regulation_and_barriers"
    infrastructure_and_datacenters = "infrastructure_and_datacenters"
    data = "data"
    model_training = "model_training"
    information_security = "information_security"
    adoption = "adoption"
    support_measures = "support_measures"


class Question(StrEnum):
    definition_and_liability = "definition_and_liability"
    permitted_areas = "permitted_areas"
    quality_and_certification = "quality_and_certification"
    sovereign_and_foreign_models = "sovereign_and_foreign_models"
    training_data = "training_data"
    other = "other"


class Position(StrEnum):
    support = "support"
    oppose = "oppose"
    conditional = "conditional"


class SubmitterKind(StrEnum):
    government_body = "government_body"
    business = "business"
    industry_association = "industry_association"
    expert_community = "expert_community"
    academia = "academia"
    non_profit = "non_profit"
    citizen = "citizen"
    other = "other"


class Instrument(StrEnum):
    federal_law = "federal_law"
    government_decree = "government_decree"
    technical_standard = "technical_standard"
    certification = "certification"
    experimental_legal_regime = "experimental_legal_regime"
    self_regulation = "self_regulation"
    none = "none"


class Approach(StrEnum):
    comprehensive = "comprehensive"
    targeted = "targeted"
    mixed = "mixed"


class CostOfError(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ApplicationArea(StrEnum):
    healthcare = "healthcare"
    finance = "finance"
    transport = "transport"
    public_administration = "public_administration"
    education = "education"
    law_enforcement = "law_enforcement"
    industry = "industry"
    media = "media"
    defence = "defence"
    other = "other"


class LateSubmissions(StrEnum):
    reject = "reject"
    accept_and_label = "accept_and_label"


class Organization(StrEnum):
    """The two organizations whose reviewers assess proposals."""

    ministry = "ministry"
    analytical_center = "analytical_center"


class Recommendation(StrEnum):
    support = "support"
    support_with_changes = "support_with_changes"
    reject = "reject"
    needs_clarification = "needs_clarification"


class Outcome(StrEnum):
    recommended = "recommended"
    recommended_with_changes = "recommended_with_changes"
    not_recommended = "not_recommended"
    merged = "merged"


class DomainEvent(BaseModel):
    """A fact in the past tense. Subclasses name their type, version, producer and stream field.

    The class is the payload of an :class:`~aireg_events.envelope.Envelope`; the envelope carries
    identity, order and the hash chain.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    producer: ClassVar[str]
    stream_field: ClassVar[str]

    def stream_id(self) -> str:
        return str(getattr(self, self.stream_field))

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def BoundedText(max_length: int, min_length: int = 0) -> Any:
    """A string with bounds and without NUL characters (PostgreSQL text cannot hold NUL)."""
    from pydantic import StringConstraints

    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_refuse_nul)
    ]
