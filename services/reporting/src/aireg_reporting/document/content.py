"""What the package document says, folded from the events that occurred up to its ``as_of``, and its
manifest: the ids of those events and the SHA-256 of the content's canonical JSON.

Content is a pure function of (events, ``as_of``): asked again with the same ``as_of``, the document is
byte-for-byte the same and so is its hash. Without ``as_of`` the document stands as of its latest
event, so that moment is named in it and can be asked for again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from aireg_events.canonical import canonical_json
from aireg_events.catalogue.analysis import MeasureAddedToPackage, MeasureForwardedToGovernment, Risk, Tally
from aireg_events.catalogue.common import Direction, Position, Question, UtcDateTime
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_reporting import domain
from aireg_reporting.domain import ProposalState, Received, ReviewState
from aireg_reporting.measures import fold_measures
from aireg_reporting.statistics import SET_ASIDE, Statistics, campaigns_of, tally
from aireg_reporting.tables import ReportedConsultationRow, ReportedProposalRow

CRITERIA = ("legal_soundness", "feasibility", "risk_reduction", "innovation_impact")
CANONICAL_FORM = (
    "JSON with keys sorted, no insignificant whitespace, UTF-8, timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ"
)


class ReviewLine(BaseModel):
    review_id: str
    reviewer: str
    organization: str
    recommendation: str
    scores: dict[str, int]
    rationale: str
    submitted_at: UtcDateTime
    event_id: str


class ReviewsSummary(BaseModel):
    count: int
    by_organization: dict[str, int]
    by_recommendation: dict[str, int]
    average_scores: dict[str, float] = Field(description="per criterion, 1..5, rounded to 2 decimals")


class Recommendation(BaseModel):
    """One proposal of the package: what it proposes, how it was assessed, and where that came from."""

    proposal_id: str
    registration_number: str
    title: str
    summary: str
    submitter_name: str
    submitter_kind: str
    late: bool = Field(description="submitted after the window closed (accepted and labelled late)")
    directions: list[str]
    questions: list[str]
    positions: dict[str, str]
    instrument: str
    approach: str
    cost_of_error: str
    application_areas: list[str]
    status: str
    outcome: str | None
    merged_into: str | None
    merged_into_registration_number: str | None
    rationale: str | None
    assessed_at: UtcDateTime | None
    assessment_late: bool
    forwarded_at: UtcDateTime | None
    forwarding_late: bool
    reviews: list[ReviewLine]
    reviews_summary: ReviewsSummary
    event_ids: list[str] = Field(description="every event this entry was folded from, in causal order")


class CampaignLine(BaseModel):
    """A campaign as a person knows it: its representative's title and number, and its size."""

    representative_title: str
    representative_registration_number: str
    size: int


class EvidenceLine(BaseModel):
    registration_number: str
    title: str
    submitter_kind: str
    stance: str
    note: str
    campaign: CampaignLine | None = Field(description="the campaign it stands for (one voice), if any")


class MeasureEntry(BaseModel):
    """One adopted measure of the package: what it regulates, where, how, the risks both ways, and the
    voices and signatories behind and against it."""

    measure_id: str
    title: str
    description: str
    directions: list[str]
    questions: list[str]
    instrument: str
    approach: str
    application_areas: list[str]
    min_cost_of_error: str
    risks_of_adoption: list[Risk]
    risks_of_rejection: list[Risk]
    status: str
    decision_rationale: str | None
    tallies: dict[str, Tally] | None = Field(description="per stance, as forwarded; null before submission")
    evidence: list[EvidenceLine] = Field(
        description="the proposals behind it that count, in the order linked"
    )
    event_ids: list[str]


class MeasureGroup(BaseModel):
    direction: str
    measure_ids: list[str] = Field(description="the measures whose first direction is this one")


class QuestionGroup(BaseModel):
    question: str
    registration_numbers: list[str]


class DirectionGroup(BaseModel):
    """The proposals whose first direction is this one, by their first question; and the others that
    also concern it."""

    direction: str
    questions: list[QuestionGroup]
    also_concerning: list[str]


class PackageInfo(BaseModel):
    package_id: str
    title: str
    status: Literal["open", "submitted"]
    opened_at: UtcDateTime
    submitted_at: UtcDateTime | None
    late: bool
    proposal_count: int
    event_ids: list[str]


class ConsultationInfo(BaseModel):
    consultation_id: str
    code: str
    title: str
    submission_closes_at: UtcDateTime
    analysis_due_at: UtcDateTime
    forwarding_due_at: UtcDateTime
    time_zone: str = Field(description="IANA name; the renderings show the deadlines in it")
    language: str = Field(description="the consultation's language (ru|en), the renderings' default")
    event_id: str


class DocumentContent(BaseModel):
    kind: Literal["aireg.government_package_document"] = "aireg.government_package_document"
    version: Literal[1] = 1
    as_of: UtcDateTime
    package: PackageInfo
    consultation: ConsultationInfo | None
    measure_groups: list[MeasureGroup] = Field(description="the measures by their first direction")
    measures: list[MeasureEntry] = Field(description="the package's measures, in the order of the groups")
    groups: list[DirectionGroup]
    recommendations: list[Recommendation] = Field(
        description="the annex: the package's proposals, in the order of the groups"
    )
    package_positions: dict[str, dict[str, int]] = Field(description="positions per question in the package")
    package_directions: dict[str, int]
    statistics: Statistics = Field(description="the statistics of the whole call as of as_of")


class Manifest(BaseModel):
    content_sha256: str = Field(description="SHA-256 of the canonical JSON of `document`")
    canonical_form: str = CANONICAL_FORM
    as_of: UtcDateTime
    event_count: int
    event_ids_sha256: str = Field(description="SHA-256 of the sorted event ids, one per line")
    event_ids: list[str] = Field(description="every event the document was built from, sorted")


class PackageDocument(BaseModel):
    document: DocumentContent
    manifest: Manifest


class PackageNotFound(LookupError):
    """No such package, or not yet opened at ``as_of``."""


def content_sha256(content: DocumentContent) -> str:
    return hashlib.sha256(canonical_json(content.model_dump(mode="json"))).hexdigest()


def _reviews_summary(reviews: list[ReviewState]) -> ReviewsSummary:
    averages = (
        {
            criterion: round(sum(review.scores[criterion] for review in reviews) / len(reviews), 2)
            for criterion in CRITERIA
        }
        if reviews
        else {}
    )
    return ReviewsSummary(
        count=len(reviews),
        by_organization=dict(sorted(Counter(review.organization for review in reviews).items())),
        by_recommendation=dict(sorted(Counter(review.recommendation for review in reviews).items())),
        average_scores=averages,
    )


def _recommendation(state: ProposalState, added_event: str | None, numbers: dict[str, str]) -> Recommendation:
    row = state.columns()
    reviews = sorted(state.reviews.values(), key=lambda review: (review.submitted_at, review.review_id))
    event_ids = list(state.event_ids)
    if added_event is not None and added_event not in event_ids:
        event_ids.append(added_event)
    return Recommendation(
        proposal_id=state.proposal_id,
        registration_number=row["registration_number"],
        title=row["title"],
        summary=row["summary"],
        submitter_name=row["submitter_name"],
        submitter_kind=row["submitter_kind"],
        late=state.late,
        directions=row["directions"],
        questions=row["questions"],
        positions=row["positions"],
        instrument=row["instrument"],
        approach=row["approach"],
        cost_of_error=row["cost_of_error"],
        application_areas=row["application_areas"],
        status=state.status,
        outcome=state.outcome,
        merged_into=state.merged_into,
        merged_into_registration_number=numbers.get(state.merged_into) if state.merged_into else None,
        rationale=state.assessment_rationale,
        assessed_at=state.assessed_at,
        assessment_late=state.assessment_late,
        forwarded_at=state.forwarded_at,
        forwarding_late=state.forwarding_late,
        reviews=[
            ReviewLine(
                review_id=review.review_id,
                reviewer=review.reviewer,
                organization=review.organization,
                recommendation=review.recommendation,
                scores=review.scores,
                rationale=review.rationale,
                submitted_at=review.submitted_at,
                event_id=review.event_id,
            )
            for review in reviews
        ],
        reviews_summary=_reviews_summary(reviews),
        event_ids=event_ids,
    )


def _measures(
    package_id: str, included: list[Received], states: dict[str, ProposalState]
) -> list[MeasureEntry]:
    """The package's measures (added, or forwarded with it), each with the evidence that counts."""
    order = list(
        dict.fromkeys(
            item.event.measure_id
            for item in included
            if isinstance(item.event, (MeasureAddedToPackage, MeasureForwardedToGovernment))
            and item.event.package_id == package_id
        )
    )
    folded = fold_measures(included)
    sizes = {campaign.campaign_id: campaign.size for campaign in campaigns_of(states.values())}
    entries = []
    for measure_id in order:
        measure = folded.get(measure_id)
        if measure is None or measure.terms is None:
            continue
        if measure.forwarded_at is not None:
            linked = [(e.proposal_id, e.stance.value, e.signatories) for e in measure.forwarded_evidence]
        else:
            linked = []
            for link in measure.evidence:
                state = states.get(link.proposal_id)
                if state is None or state.status in SET_ASIDE:
                    continue
                linked.append((link.proposal_id, link.stance.value, sizes.get(state.campaign_id or "", 1)))
        notes = {link.proposal_id: link.note for link in measure.evidence}
        evidence = []
        for proposal_id, stance, size in linked:
            state = states.get(proposal_id)
            if state is None or state.content is None:
                continue
            campaign = None
            representative = states.get(state.campaign_representative or "") if state.campaign_id else None
            if representative is not None and representative.content is not None:
                campaign = CampaignLine(
                    representative_title=representative.content.title,
                    representative_registration_number=representative.registration_number or "",
                    size=size,
                )
            evidence.append(
                EvidenceLine(
                    registration_number=state.registration_number or "",
                    title=state.content.title,
                    submitter_kind=state.content.submitter.kind.value,
                    stance=stance,
                    note=notes.get(proposal_id, ""),
                    campaign=campaign,
                )
            )
        terms = measure.terms
        entries.append(
            MeasureEntry(
                measure_id=measure_id,
                title=terms.title,
                description=terms.description,
                directions=[value.value for value in terms.directions],
                questions=[value.value for value in terms.questions],
                instrument=terms.instrument.value,
                approach=terms.approach.value,
                application_areas=[value.value for value in terms.application_areas],
                min_cost_of_error=terms.min_cost_of_error.value,
                risks_of_adoption=list(terms.risks_of_adoption),
                risks_of_rejection=list(terms.risks_of_rejection),
                status=measure.status,
                decision_rationale=measure.decision_rationale,
                tallies={stance.value: tally for stance, tally in measure.tallies.items()}
                if measure.tallies is not None
                else None,
                evidence=evidence,
                event_ids=list(measure.event_ids),
            )
        )
    directions = [member.value for member in Direction]
    entries.sort(key=lambda entry: directions.index(entry.directions[0]))
    return entries


def _measure_groups(entries: list[MeasureEntry]) -> list[MeasureGroup]:
    groups = []
    for direction in Direction:
        mine = [entry.measure_id for entry in entries if entry.directions[:1] == [direction.value]]
        if mine:
            groups.append(MeasureGroup(direction=direction.value, measure_ids=mine))
    return groups


def _order_key(recommendation: Recommendation) -> tuple[int, int, str]:
    directions = [member.value for member in Direction]
    questions = [member.value for member in Question]
    first_direction = recommendation.directions[0] if recommendation.directions else ""
    first_question = recommendation.questions[0] if recommendation.questions else ""
    return (
        directions.index(first_direction) if first_direction in directions else len(directions),
        questions.index(first_question) if first_question in questions else len(questions),
        recommendation.registration_number,
    )


def _groups(recommendations: list[Recommendation]) -> list[DirectionGroup]:
    groups = []
    for direction in Direction:
        primary = [entry for entry in recommendations if entry.directions[:1] == [direction.value]]
        also = [
            entry.registration_number for entry in recommendations if direction.value in entry.directions[1:]
        ]
        if not primary and not also:
            continue
        questions = []
        for question in Question:
            numbers = [
                entry.registration_number for entry in primary if entry.questions[:1] == [question.value]
            ]
            if numbers:
                questions.append(QuestionGroup(question=question.value, registration_numbers=numbers))
        groups.append(
            DirectionGroup(direction=direction.value, questions=questions, also_concerning=sorted(also))
        )
    return groups


def build_document(
    package_id: str, events: Iterable[Received], as_of: datetime | None = None
) -> PackageDocument:
    """The document of ``package_id`` from ``events`` (the package's and its consultation's).

    Raises :class:`PackageNotFound` when the package was not opened by ``as_of``.
    """
    included = [item for item in events if as_of is None or item.occurred_at <= as_of]
    included = domain.causal_order(included)
    package = domain.fold_package(package_id, included)
    if not package.is_opened or package.opened_at is None:
        raise PackageNotFound(package_id)
    moment = as_of if as_of is not None else max(item.occurred_at for item in included)
    consultation_id = package.consultation_id
    included = [item for item in included if domain.consultation_of(item.event) in (consultation_id, None)]

    opened = [item for item in included if isinstance(item.event, ConsultationOpened)]
    consultation: ConsultationInfo | None = None
    deadlines: dict[str, ReportedConsultationRow] = {}
    if opened:
        item = opened[-1]
        event = item.event
        assert isinstance(event, ConsultationOpened)
        consultation = ConsultationInfo(
            consultation_id=event.consultation_id,
            code=event.code,
            title=event.title,
            submission_closes_at=event.submission_closes_at,
            analysis_due_at=event.analysis_due_at,
            forwarding_due_at=event.forwarding_due_at,
            time_zone=event.time_zone,
            language=event.language,
            event_id=item.event_id,
        )
        deadlines[event.consultation_id] = ReportedConsultationRow(
            consultation_id=event.consultation_id,
            code=event.code,
            title=event.title,
            submission_closes_at=event.submission_closes_at,
            analysis_due_at=event.analysis_due_at,
            forwarding_due_at=event.forwarding_due_at,
        )

    states = domain.fold_consultation(included)
    numbers = {proposal_id: state.registration_number or "" for proposal_id, state in states.items()}
    rows = [ReportedProposalRow(**state.columns()) for state in states.values()]
    reviews = [review for state in states.values() for review in state.reviews.values()]
    statistics = tally(
        rows,
        reviews,
        deadlines,
        now=moment,
        consultation_id=consultation_id,
        campaigns=campaigns_of(states.values()),
    )

    recommendations = [
        _recommendation(states[item.proposal_id], item.event_id, numbers)
        for item in package.items
        if item.proposal_id in states
    ]
    recommendations.sort(key=_order_key)
    package_positions = {
        question.value: dict.fromkeys([p.value for p in Position], 0) for question in Question
    }
    package_directions = dict.fromkeys([d.value for d in Direction], 0)
    for entry in recommendations:
        for question, position in entry.positions.items():
            package_positions[question][position] += 1
        for direction in entry.directions:
            package_directions[direction] += 1

    measures = _measures(package_id, included, states)
    content = DocumentContent(
        as_of=moment,
        measure_groups=_measure_groups(measures),
        measures=measures,
        package=PackageInfo(
            package_id=package_id,
            title=package.title or "",
            status="submitted" if package.submitted_at is not None else "open",
            opened_at=package.opened_at,
            submitted_at=package.submitted_at,
            late=package.late,
            proposal_count=len(package.items),
            event_ids=package.event_ids,
        ),
        consultation=consultation,
        groups=_groups(recommendations),
        recommendations=recommendations,
        package_positions=package_positions,
        package_directions=package_directions,
        statistics=statistics,
    )
    event_ids = sorted(item.event_id for item in included)
    manifest = Manifest(
        content_sha256=content_sha256(content),
        as_of=moment,
        event_count=len(event_ids),
        event_ids_sha256=hashlib.sha256("\n".join(event_ids).encode()).hexdigest(),
        event_ids=event_ids,
    )
    return PackageDocument(document=content, manifest=manifest)


def document_json(document: PackageDocument) -> bytes:
    """The JSON rendering: ``{"document": ..., "manifest": ...}``, canonical, so the bytes are stable."""
    body: dict[str, Any] = document.model_dump(mode="json")
    return canonical_json(body)
