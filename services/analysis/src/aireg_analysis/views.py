"""The read side as the API shows it: the queue, one proposal in full, campaigns and packages.

Each view is one pydantic model and a function that reads it from the store (reader engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import loaders, measures
from aireg_analysis.domain import WorkflowStatus
from aireg_analysis.tables import (
    AssessmentRow,
    AssignmentRow,
    CampaignRow,
    ConsultationRow,
    MeasureRow,
    PackageItemRow,
    PackageRow,
    ProposalDirectionRow,
    ProposalRow,
    ReviewRow,
    SimilarityRow,
)
from aireg_events.catalogue.analysis import CriteriaScores, MeasureStance, MeasureTerms, Risk, Tally
from aireg_events.catalogue.common import Direction, Organization, Outcome, Recommendation


class CampaignMembership(BaseModel):
    campaign_id: str
    representative_id: str
    size: int
    is_representative: bool


class ReviewCount(BaseModel):
    current: int = Field(description="reviews of the proposal's current version")
    stale: int = Field(description="reviews of an earlier version (the proposal was amended since)")


class AssignmentBrief(BaseModel):
    reviewer: str
    organization: Organization


class QueueItem(BaseModel):
    proposal_id: str
    consultation_id: str
    registration_number: str
    title: str
    submitter_kind: str
    directions: list[Direction]
    received_at: datetime
    late_submission: bool
    version: int = Field(description="1 as submitted, +1 per amendment")
    status: WorkflowStatus
    complete: bool | None = Field(description="triage: every required answer present (None before triage)")
    missing: list[str]
    exact_duplicate_of: str | None
    campaign: CampaignMembership | None
    released_from_campaign: bool
    assignments: list[AssignmentBrief]
    reviews: dict[Organization, ReviewCount]
    outcome: Outcome | None = Field(description="the outcome of the current assessment")
    package_id: str | None
    analysis_due_at: datetime | None
    time_left_seconds: int | None = Field(description="until analysis_due_at, 0 once passed")
    overdue: bool = Field(description="not assessed and analysis_due_at has passed")


class SimilarPublic(BaseModel):
    proposal_id: str
    similarity: float


class ReviewPublic(BaseModel):
    review_id: str
    proposal_id: str
    reviewer: str
    organization: Organization
    proposal_version: int
    current: bool
    scores: CriteriaScores
    recommendation: Recommendation
    rationale: str
    submitted_at: datetime
    event_id: str


class AssessmentPublic(BaseModel):
    proposal_id: str
    proposal_version: int
    current: bool
    outcome: Outcome
    merged_into: str | None
    rationale: str
    review_ids: list[str]
    late: bool
    risks_of_adoption: list[Risk] = Field(default_factory=list)
    risks_of_rejection: list[Risk] = Field(default_factory=list)
    assessed_by: str
    assessed_at: datetime
    event_id: str


class ProposalDetail(QueueItem):
    content: dict[str, Any]
    similar: list[SimilarPublic] = Field(
        description="near-duplicates found when this proposal was triaged, or when they were; closest first"
    )
    triage_event_id: str | None
    review_list: list[ReviewPublic]
    assessments: list[AssessmentPublic]
    forwarded_at: datetime | None


class AssignmentPublic(BaseModel):
    proposal_id: str
    reviewer: str
    organization: Organization
    assigned_at: datetime
    assigned_by: str
    event_id: str


class CampaignPublic(BaseModel):
    campaign_id: str
    consultation_id: str
    representative_id: str
    size: int
    members: list[str] = Field(description="every member, the earliest received first")
    opened_at: datetime
    method: dict[str, Any] = Field(description="the triage method that started the campaign")


class PackageItemPublic(BaseModel):
    proposal_id: str
    position: int
    added_at: datetime
    outcome: Outcome | None
    status: WorkflowStatus


class PackagePublic(BaseModel):
    package_id: str
    consultation_id: str
    title: str
    status: str = Field(description="open or submitted")
    opened_at: datetime
    submitted_at: datetime | None
    late: bool
    counts: dict[str, int]
    items: list[PackageItemPublic]
    measure_ids: list[str] = Field(
        default_factory=list, description="the adopted measures it carries, in order"
    )


def time_left(due: datetime | None, now: datetime) -> int | None:
    if due is None:
        return None
    return max(0, int((due - now).total_seconds()))


class OwnWork(StrEnum):
    """The staff's own work: what is assigned to the caller and not yet reviewed by them, what they
    reviewed, and what is overdue."""

    assigned = "assigned"
    reviewed = "reviewed"
    overdue = "overdue"


async def queue_page(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    cursor: list[Any] | None,
    consultation_id: str | None = None,
    status: WorkflowStatus | None = None,
    direction: Direction | None = None,
    work: OwnWork | None = None,
    caller: str | None = None,
) -> list[QueueItem]:
    """Up to ``limit`` proposals in the order received; withdrawn and misattributed ones only when asked
    for by status. With ``work``, the caller's own work, the least time left first (then as received)."""
    if work is not None:
        return await _own_work_page(
            session,
            now=now,
            limit=limit,
            cursor=cursor,
            consultation_id=consultation_id,
            direction=direction,
            work=work,
            caller=caller or "",
        )
    query = (
        select(ProposalRow).order_by(col(ProposalRow.received_at), col(ProposalRow.proposal_id)).limit(limit)
    )
    if consultation_id is not None:
        query = query.where(ProposalRow.consultation_id == consultation_id)
    if status is not None:
        query = query.where(ProposalRow.status == status.value)
    else:
        query = query.where(
            col(ProposalRow.status).not_in(
                [WorkflowStatus.withdrawn.value, WorkflowStatus.misattributed.value]
            )
        )
    if direction is not None:
        query = query.where(
            col(ProposalRow.proposal_id).in_(
                select(ProposalDirectionRow.proposal_id).where(
                    ProposalDirectionRow.direction == direction.value
                )
            )
        )
    if cursor:
        received_at, proposal_id = datetime.fromisoformat(str(cursor[0])), str(cursor[1])
        query = query.where(
            or_(
                col(ProposalRow.received_at) > received_at,
                and_(col(ProposalRow.received_at) == received_at, col(ProposalRow.proposal_id) > proposal_id),
            )
        )
    rows = (await session.exec(query)).all()
    return await queue_items(session, rows, now=now)


async def _own_work_page(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    cursor: list[Any] | None,
    consultation_id: str | None,
    direction: Direction | None,
    work: OwnWork,
    caller: str,
) -> list[QueueItem]:
    due = col(ConsultationRow.analysis_due_at)
    order = (due, col(ProposalRow.received_at), col(ProposalRow.proposal_id))
    query = (
        select(ProposalRow)
        .join(ConsultationRow, col(ConsultationRow.consultation_id) == col(ProposalRow.consultation_id))
        .where(col(ProposalRow.status).not_in(_SET_ASIDE))
        .order_by(*order)
        .limit(limit)
    )
    reviewed_now = select(ReviewRow.proposal_id).where(
        ReviewRow.reviewer == caller,
        col(ReviewRow.proposal_id) == col(ProposalRow.proposal_id),
        col(ReviewRow.proposal_version) == col(ProposalRow.version),
    )
    if work == OwnWork.assigned:
        query = query.where(
            col(ProposalRow.proposal_id).in_(
                select(AssignmentRow.proposal_id).where(AssignmentRow.reviewer == caller)
            ),
            ~reviewed_now.exists(),
            col(ProposalRow.status).not_in([WorkflowStatus.forwarded.value]),
        )
    elif work == OwnWork.reviewed:
        query = query.where(
            col(ProposalRow.proposal_id).in_(
                select(ReviewRow.proposal_id).where(ReviewRow.reviewer == caller)
            )
        )
    else:
        query = query.where(
            due < now,
            col(ProposalRow.status).in_(
                [
                    WorkflowStatus.received.value,
                    WorkflowStatus.triaged.value,
                    WorkflowStatus.under_review.value,
                ]
            ),
        )
    if consultation_id is not None:
        query = query.where(ProposalRow.consultation_id == consultation_id)
    if direction is not None:
        query = query.where(
            col(ProposalRow.proposal_id).in_(
                select(ProposalDirectionRow.proposal_id).where(
                    ProposalDirectionRow.direction == direction.value
                )
            )
        )
    if cursor:
        received_at, proposal_id = datetime.fromisoformat(str(cursor[0])), str(cursor[1])
        last = await session.get(ProposalRow, proposal_id)
        consultation = await session.get(ConsultationRow, last.consultation_id) if last else None
        if consultation is not None:
            after = consultation.analysis_due_at
            query = query.where(
                or_(
                    due > after,
                    and_(
                        due == after,
                        or_(
                            col(ProposalRow.received_at) > received_at,
                            and_(
                                col(ProposalRow.received_at) == received_at,
                                col(ProposalRow.proposal_id) > proposal_id,
                            ),
                        ),
                    ),
                )
            )
    rows = (await session.exec(query)).all()
    return await queue_items(session, rows, now=now)


_SET_ASIDE = [WorkflowStatus.withdrawn.value, WorkflowStatus.misattributed.value]


def queue_position(item: QueueItem) -> list[Any]:
    return [item.received_at.isoformat(), item.proposal_id]


async def queue_items(
    session: AsyncSession, rows: Sequence[ProposalRow], *, now: datetime
) -> list[QueueItem]:
    ids = [row.proposal_id for row in rows]
    if not ids:
        return []
    directions: dict[str, list[Direction]] = {proposal_id: [] for proposal_id in ids}
    for proposal_id, direction in (
        await session.exec(
            select(ProposalDirectionRow.proposal_id, ProposalDirectionRow.direction).where(
                col(ProposalDirectionRow.proposal_id).in_(ids)
            )
        )
    ).all():
        directions[proposal_id].append(Direction(direction))
    versions = {row.proposal_id: row.version for row in rows}
    reviews = {
        proposal_id: {org: ReviewCount(current=0, stale=0) for org in Organization} for proposal_id in ids
    }
    for proposal_id, organization, version in (
        await session.exec(
            select(ReviewRow.proposal_id, ReviewRow.organization, ReviewRow.proposal_version).where(
                col(ReviewRow.proposal_id).in_(ids)
            )
        )
    ).all():
        count = reviews[proposal_id][Organization(organization)]
        if version == versions[proposal_id]:
            count.current += 1
        else:
            count.stale += 1
    assignments: dict[str, list[AssignmentBrief]] = {proposal_id: [] for proposal_id in ids}
    for assignment in (
        await session.exec(
            select(AssignmentRow)
            .where(col(AssignmentRow.proposal_id).in_(ids))
            .order_by(col(AssignmentRow.assigned_at), col(AssignmentRow.reviewer))
        )
    ).all():
        assignments[assignment.proposal_id].append(
            AssignmentBrief(reviewer=assignment.reviewer, organization=Organization(assignment.organization))
        )
    campaign_ids = {row.campaign_id for row in rows if row.campaign_id}
    campaigns = {
        campaign.campaign_id: campaign
        for campaign in (
            await session.exec(select(CampaignRow).where(col(CampaignRow.campaign_id).in_(campaign_ids)))
        ).all()
    }
    consultation_ids = {row.consultation_id for row in rows}
    due = {
        consultation.consultation_id: consultation.analysis_due_at
        for consultation in (
            await session.exec(
                select(ConsultationRow).where(col(ConsultationRow.consultation_id).in_(consultation_ids))
            )
        ).all()
    }
    items = []
    for row in rows:
        campaign = campaigns.get(row.campaign_id) if row.campaign_id else None
        analysis_due_at = due.get(row.consultation_id)
        status = WorkflowStatus(row.status)
        assessment_current = row.assessed_version is not None and row.assessed_version == row.version
        items.append(
            QueueItem(
                proposal_id=row.proposal_id,
                consultation_id=row.consultation_id,
                registration_number=row.registration_number,
                title=row.title,
                submitter_kind=row.submitter_kind,
                directions=directions[row.proposal_id],
                received_at=row.received_at,
                late_submission=row.late,
                version=row.version,
                status=status,
                complete=row.complete,
                missing=list(row.missing),
                exact_duplicate_of=row.exact_duplicate_of,
                campaign=CampaignMembership(
                    campaign_id=campaign.campaign_id,
                    representative_id=campaign.representative_id,
                    size=campaign.size,
                    is_representative=campaign.representative_id == row.proposal_id,
                )
                if campaign is not None
                else None,
                released_from_campaign=row.released_from_campaign,
                assignments=assignments[row.proposal_id],
                reviews=reviews[row.proposal_id],
                outcome=Outcome(row.outcome) if row.outcome and assessment_current else None,
                package_id=row.package_id,
                analysis_due_at=analysis_due_at,
                time_left_seconds=time_left(analysis_due_at, now),
                overdue=analysis_due_at is not None
                and now > analysis_due_at
                and status in (WorkflowStatus.received, WorkflowStatus.triaged, WorkflowStatus.under_review),
            )
        )
    return items


async def proposal_detail(session: AsyncSession, proposal_id: str, *, now: datetime) -> ProposalDetail | None:
    row = await session.get(ProposalRow, proposal_id)
    if row is None:
        return None
    (item,) = await queue_items(session, [row], now=now)
    closest: dict[str, float] = {}
    for entry in (
        await session.exec(
            select(SimilarityRow).where(
                or_(
                    col(SimilarityRow.proposal_id) == proposal_id,
                    col(SimilarityRow.similar_id) == proposal_id,
                )
            )
        )
    ).all():
        other = entry.similar_id if entry.proposal_id == proposal_id else entry.proposal_id
        closest[other] = max(entry.similarity, closest.get(other, 0.0))
    similar = sorted(closest.items(), key=lambda pair: (-pair[1], pair[0]))
    reviews = (
        await session.exec(
            select(ReviewRow)
            .where(ReviewRow.proposal_id == proposal_id)
            .order_by(col(ReviewRow.submitted_at), col(ReviewRow.review_id))
        )
    ).all()
    assessments = (
        await session.exec(
            select(AssessmentRow)
            .where(AssessmentRow.proposal_id == proposal_id)
            .order_by(col(AssessmentRow.assessed_at), col(AssessmentRow.event_id))
        )
    ).all()
    return ProposalDetail(
        **item.model_dump(),
        content=row.content,
        similar=[SimilarPublic(proposal_id=other, similarity=value) for other, value in similar],
        triage_event_id=row.triage_event_id,
        review_list=[review_public(review, current_version=row.version) for review in reviews],
        assessments=[
            assessment_public(assessment, current_version=row.version) for assessment in assessments
        ],
        forwarded_at=row.forwarded_at,
    )


def review_public(review: ReviewRow, *, current_version: int) -> ReviewPublic:
    return ReviewPublic(
        review_id=review.review_id,
        proposal_id=review.proposal_id,
        reviewer=review.reviewer,
        organization=Organization(review.organization),
        proposal_version=review.proposal_version,
        current=review.proposal_version == current_version,
        scores=CriteriaScores(
            legal_soundness=review.legal_soundness,
            feasibility=review.feasibility,
            risk_reduction=review.risk_reduction,
            innovation_impact=review.innovation_impact,
        ),
        recommendation=Recommendation(review.recommendation),
        rationale=review.rationale,
        submitted_at=review.submitted_at,
        event_id=review.event_id,
    )


def assessment_public(assessment: AssessmentRow, *, current_version: int) -> AssessmentPublic:
    return AssessmentPublic(
        proposal_id=assessment.proposal_id,
        proposal_version=assessment.proposal_version,
        current=assessment.proposal_version == current_version,
        outcome=Outcome(assessment.outcome),
        merged_into=assessment.merged_into,
        rationale=assessment.rationale,
        review_ids=list(assessment.review_ids),
        late=assessment.late,
        risks_of_adoption=[Risk.model_validate(risk) for risk in assessment.risks_of_adoption],
        risks_of_rejection=[Risk.model_validate(risk) for risk in assessment.risks_of_rejection],
        assessed_by=assessment.assessed_by,
        assessed_at=assessment.assessed_at,
        event_id=assessment.event_id,
    )


def assignment_public(assignment: AssignmentRow) -> AssignmentPublic:
    return AssignmentPublic(
        proposal_id=assignment.proposal_id,
        reviewer=assignment.reviewer,
        organization=Organization(assignment.organization),
        assigned_at=assignment.assigned_at,
        assigned_by=assignment.assigned_by,
        event_id=assignment.event_id,
    )


async def campaigns_page(
    session: AsyncSession, *, limit: int, cursor: list[Any] | None, consultation_id: str | None
) -> list[CampaignPublic]:
    query = (
        select(CampaignRow).order_by(col(CampaignRow.opened_at), col(CampaignRow.campaign_id)).limit(limit)
    )
    if consultation_id is not None:
        query = query.where(CampaignRow.consultation_id == consultation_id)
    if cursor:
        opened_at, campaign_id = datetime.fromisoformat(str(cursor[0])), str(cursor[1])
        query = query.where(
            or_(
                col(CampaignRow.opened_at) > opened_at,
                and_(col(CampaignRow.opened_at) == opened_at, col(CampaignRow.campaign_id) > campaign_id),
            )
        )
    campaigns = (await session.exec(query)).all()
    members: dict[str, list[str]] = {campaign.campaign_id: [] for campaign in campaigns}
    if campaigns:
        for proposal_id, member_of in (
            await session.exec(
                select(ProposalRow.proposal_id, ProposalRow.campaign_id)
                .where(col(ProposalRow.campaign_id).in_(list(members)))
                .order_by(col(ProposalRow.received_at), col(ProposalRow.proposal_id))
            )
        ).all():
            assert member_of is not None
            members[member_of].append(proposal_id)
    return [
        CampaignPublic(
            campaign_id=campaign.campaign_id,
            consultation_id=campaign.consultation_id,
            representative_id=campaign.representative_id,
            size=campaign.size,
            members=members[campaign.campaign_id],
            opened_at=campaign.opened_at,
            method=campaign.method,
        )
        for campaign in campaigns
    ]


def campaign_position(campaign: CampaignPublic) -> list[Any]:
    return [campaign.opened_at.isoformat(), campaign.campaign_id]


async def package_view(session: AsyncSession, package_id: str) -> PackagePublic | None:
    package = await session.get(PackageRow, package_id)
    if package is None:
        return None
    rows = (
        await session.exec(
            select(PackageItemRow, ProposalRow)
            .join(ProposalRow, col(ProposalRow.proposal_id) == col(PackageItemRow.proposal_id))
            .where(PackageItemRow.package_id == package_id)
            .order_by(col(PackageItemRow.position))
        )
    ).all()
    return PackagePublic(
        package_id=package.package_id,
        consultation_id=package.consultation_id,
        title=package.title,
        status=package.status,
        opened_at=package.opened_at,
        submitted_at=package.submitted_at,
        late=package.late,
        counts=dict(package.counts),
        measure_ids=[measure.measure_id for measure in await loaders.package_measures(session, package_id)],
        items=[
            PackageItemPublic(
                proposal_id=item.proposal_id,
                position=item.position,
                added_at=item.added_at,
                outcome=Outcome(proposal.outcome) if proposal.outcome else None,
                status=WorkflowStatus(proposal.status),
            )
            for item, proposal in rows
        ],
    )


# --- measures -------------------------------------------------------------------------------------------


class EvidencePublic(BaseModel):
    proposal_id: str
    registration_number: str | None
    title: str | None
    stance: MeasureStance
    note: str
    counts: bool = Field(description="false once the proposal was withdrawn or found misattributed")
    campaign_id: str | None = Field(description="the campaign it stands for (one voice), if any")
    signatories: int = Field(description="members of that campaign that count; 1 outside a campaign")
    linked_at: datetime
    linked_by: str
    event_id: str


class MeasurePublic(BaseModel):
    measure_id: str
    consultation_id: str
    status: measures.MeasureStatus
    revision: int
    terms: MeasureTerms
    drafted_at: datetime
    drafted_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_rationale: str | None
    package_id: str | None
    forwarded_at: datetime | None
    tallies: dict[MeasureStance, Tally] = Field(
        description="per stance: voices (a campaign once) and signatories (every member), counting evidence only"
    )
    evidence: list[EvidencePublic]


def measure_position(item: MeasurePublic) -> list[Any]:
    return [item.drafted_at.isoformat(), item.measure_id]


async def measures_public(session: AsyncSession, rows: list[MeasureRow]) -> list[MeasurePublic]:
    loaded = await loaders.measure_evidence(session, [row.measure_id for row in rows])
    facts = await loaders.measure_facts_of(session, rows, loaded)
    links, proposals = loaded.links, loaded.proposals
    answers = []
    for row in rows:
        fact_of = {fact.proposal_id: fact for fact in facts[row.measure_id].evidence}
        evidence = []
        for link in links[row.measure_id]:
            fact = fact_of[link.proposal_id]
            proposal = proposals.get(link.proposal_id)
            evidence.append(
                EvidencePublic(
                    proposal_id=link.proposal_id,
                    registration_number=proposal.registration_number if proposal else None,
                    title=proposal.title if proposal else None,
                    stance=MeasureStance(link.stance),
                    note=link.note,
                    counts=fact.counts,
                    campaign_id=fact.campaign_id,
                    signatories=fact.campaign_signatories if fact.campaign_id else 1,
                    linked_at=link.linked_at,
                    linked_by=link.linked_by,
                    event_id=link.event_id,
                )
            )
        answers.append(
            MeasurePublic(
                measure_id=row.measure_id,
                consultation_id=row.consultation_id,
                status=measures.MeasureStatus(row.status),
                revision=row.revision,
                terms=row.measure_terms(),
                drafted_at=row.drafted_at,
                drafted_by=row.drafted_by,
                decided_at=row.decided_at,
                decided_by=row.decided_by,
                decision_rationale=row.decision_rationale,
                package_id=row.package_id,
                forwarded_at=row.forwarded_at,
                tallies=measures.tallies(facts[row.measure_id].evidence),
                evidence=evidence,
            )
        )
    return answers


async def measure_view(session: AsyncSession, measure_id: str) -> MeasurePublic | None:
    row = await session.get(MeasureRow, measure_id)
    if row is None:
        return None
    return (await measures_public(session, [row]))[0]


async def measures_page(
    session: AsyncSession,
    *,
    limit: int,
    cursor: list[Any] | None,
    consultation_id: str | None,
    status: measures.MeasureStatus | None,
) -> list[MeasurePublic]:
    query = select(MeasureRow)
    if consultation_id is not None:
        query = query.where(MeasureRow.consultation_id == consultation_id)
    if status is not None:
        query = query.where(MeasureRow.status == status.value)
    if cursor is not None:
        moment, key = datetime.fromisoformat(cursor[0]), cursor[1]
        query = query.where(
            or_(
                col(MeasureRow.drafted_at) > moment,
                and_(col(MeasureRow.drafted_at) == moment, col(MeasureRow.measure_id) > key),
            )
        )
    rows = (
        await session.exec(
            query.order_by(col(MeasureRow.drafted_at), col(MeasureRow.measure_id)).limit(limit)
        )
    ).all()
    return await measures_public(session, list(rows))
