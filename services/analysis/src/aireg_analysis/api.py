"""HTTP routes of the analysis service: parse the request into a command, hand it to the message bus,
answer with the view its handler returns (or, for a query, read a view)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from aireg_analysis import commands, domain, measures, views
from aireg_analysis.handlers import HANDLERS
from aireg_analysis.views import (
    AssessmentPublic,
    AssignmentPublic,
    CampaignPublic,
    MeasurePublic,
    PackagePublic,
    ProposalDetail,
    QueueItem,
    ReviewPublic,
)
from aireg_events.bus import Caller, MessageBus
from aireg_events.catalogue.analysis import (
    CriteriaScores,
    MeasureDecision,
    MeasureStance,
    MeasureTerms,
    Risk,
)
from aireg_events.catalogue.common import BoundedText, Direction, Organization, Outcome, Recommendation
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, require_roles
from aireg_http.errors import COMMON_ERRORS, Unprocessable, refusals
from aireg_http.pagination import Page, PageParams

Lead = Annotated[Principal, require_roles("lead")]
Reviewer = Annotated[Principal, require_roles("reviewer")]
Staff = Annotated[Principal, require_roles("reviewer", "lead")]
ID_PATTERN = r"^[0-9A-Za-z-]{1,36}$"
"""Ids are UUIDs; the pattern keeps anything a store cannot take (NUL) out of queries."""
ProposalId = Annotated[str, Path(pattern=ID_PATTERN)]
PackageId = Annotated[str, Path(pattern=ID_PATTERN)]
MeasureId = Annotated[str, Path(pattern=ID_PATTERN)]
ConsultationFilter = Annotated[str | None, Query(pattern=ID_PATTERN)]


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: BoundedText(200, min_length=1)  # type: ignore[valid-type]
    """The reviewer's name: the ``name`` of their token."""
    organization: Organization


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: Organization
    scores: CriteriaScores
    recommendation: Recommendation
    rationale: BoundedText(20_000, min_length=1)  # type: ignore[valid-type]


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    merged_into: BoundedText(36, min_length=1) | None = None  # type: ignore[valid-type]
    rationale: BoundedText(20_000, min_length=1)  # type: ignore[valid-type]
    risks_of_adoption: list[Risk] = Field(default_factory=list, max_length=50)
    risks_of_rejection: list[Risk] = Field(default_factory=list, max_length=50)


class CampaignRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: BoundedText(2_000, min_length=1)  # type: ignore[valid-type]


class PackageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consultation_id: BoundedText(36, min_length=1)  # type: ignore[valid-type]
    title: BoundedText(300, min_length=1)  # type: ignore[valid-type]


class MeasureCreate(MeasureTerms):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consultation_id: BoundedText(36, min_length=1)  # type: ignore[valid-type]


class MeasureRevision(MeasureTerms):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rationale: BoundedText(20_000) = ""  # type: ignore[valid-type]


class EvidenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposal_id: BoundedText(36, min_length=1)  # type: ignore[valid-type]
    stance: MeasureStance
    note: BoundedText(20_000) = ""  # type: ignore[valid-type]


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: MeasureDecision
    rationale: BoundedText(20_000, min_length=1)  # type: ignore[valid-type]


class PackageMeasureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measure_id: BoundedText(36, min_length=1)  # type: ignore[valid-type]


class PackageItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proposal_id: BoundedText(36, min_length=1)  # type: ignore[valid-type]


def _cursor(cursor: list[Any] | None) -> list[Any] | None:
    """A keyset position ``[timestamp, id]`` from a cursor this service issued (422 otherwise)."""
    if cursor is None:
        return None
    try:
        moment, key = cursor
        datetime.fromisoformat(str(moment))
    except (TypeError, ValueError) as error:
        raise Unprocessable("cursor is not one this service issued", code="invalid_cursor") from error
    return [moment, str(key)]


def _caller(principal: Principal, request: Request) -> Caller:
    return Caller(principal.actor(), correlation_id=request.state.correlation_id)


def _terms(body: MeasureTerms) -> MeasureTerms:
    return MeasureTerms.model_validate(body.model_dump(include=set(MeasureTerms.model_fields)))


def queue_router(runtime: LogRuntime) -> APIRouter:
    router = APIRouter(tags=["queue"], responses=COMMON_ERRORS)

    @router.get(
        "/v1/queue",
        response_model=Page[QueueItem],
        summary="The proposals to work through, in the order received (withdrawn ones only by status)",
    )
    async def queue(
        principal: Staff,
        page: PageParams,
        consultation_id: ConsultationFilter = None,
        status: Annotated[domain.WorkflowStatus | None, Query()] = None,
        direction: Annotated[Direction | None, Query()] = None,
        work: Annotated[
            views.OwnWork | None,
            Query(
                description="the caller's own work: assigned to them and not yet reviewed by them, reviewed by "
                "them, or overdue; sorted by time left (the least first)"
            ),
        ] = None,
    ) -> Page[QueueItem]:
        async with runtime.database.read_session() as session:
            items = await views.queue_page(
                session,
                now=runtime.clock(),
                limit=page.limit + 1,
                cursor=_cursor(page.cursor),
                consultation_id=consultation_id,
                status=status,
                direction=direction,
                work=work,
                caller=principal.name,
            )
        return page.page(items, views.queue_position)

    @router.get(
        "/v1/campaigns",
        response_model=Page[CampaignPublic],
        summary="Mass campaigns found by triage, with their representative and members",
    )
    async def campaigns(
        _principal: Staff,
        page: PageParams,
        consultation_id: ConsultationFilter = None,
    ) -> Page[CampaignPublic]:
        async with runtime.database.read_session() as session:
            items = await views.campaigns_page(
                session, limit=page.limit + 1, cursor=_cursor(page.cursor), consultation_id=consultation_id
            )
        return page.page(items, views.campaign_position)

    return router


def proposals_router(runtime: LogRuntime, bus: MessageBus) -> APIRouter:
    router = APIRouter(prefix="/v1/proposals", tags=["proposals"], responses=COMMON_ERRORS)

    @router.get(
        "/{proposal_id}",
        response_model=ProposalDetail,
        summary="One proposal: content, triage, campaign, assignments, reviews and assessments",
        responses=refusals(domain.ProposalNotFound),
    )
    async def get_proposal(proposal_id: ProposalId, _principal: Staff) -> ProposalDetail:
        async with runtime.database.read_session() as session:
            detail = await views.proposal_detail(session, proposal_id, now=runtime.clock())
        if detail is None:
            raise domain.ProposalNotFound(f"no proposal {proposal_id}")
        return detail

    @router.post(
        "/{proposal_id}/assignments",
        status_code=status.HTTP_201_CREATED,
        response_model=AssignmentPublic,
        summary="Assign a reviewer of the ministry or the analytical centre (lead)",
        responses=refusals(*HANDLERS.refusals(commands.AssignReviewer)),
    )
    async def assign_reviewer(
        proposal_id: ProposalId, body: AssignmentCreate, principal: Lead, request: Request
    ) -> AssignmentPublic:
        answer: AssignmentPublic = await bus.handle(
            commands.AssignReviewer(
                proposal_id=proposal_id, reviewer=body.reviewer, organization=body.organization
            ),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{proposal_id}/reviews",
        status_code=status.HTTP_201_CREATED,
        response_model=ReviewPublic,
        summary="Review the current version with the four criteria scores (an assigned reviewer)",
        responses=refusals(*HANDLERS.refusals(commands.SubmitReview)),
    )
    async def submit_review(
        proposal_id: ProposalId, body: ReviewCreate, principal: Reviewer, request: Request
    ) -> ReviewPublic:
        answer: ReviewPublic = await bus.handle(
            commands.SubmitReview(
                proposal_id=proposal_id,
                reviewer=principal.name,
                reviewer_organization=principal.organization,
                organization=body.organization,
                scores=body.scores,
                recommendation=body.recommendation,
                rationale=body.rationale,
            ),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{proposal_id}/assessment",
        status_code=status.HTTP_201_CREATED,
        response_model=AssessmentPublic,
        summary="The consolidated assessment (lead): needs a current review from each organization",
        responses=refusals(*HANDLERS.refusals(commands.Assess)),
    )
    async def assess(
        proposal_id: ProposalId, body: AssessmentCreate, principal: Lead, request: Request
    ) -> AssessmentPublic:
        answer: AssessmentPublic = await bus.handle(
            commands.Assess(
                proposal_id=proposal_id,
                outcome=body.outcome,
                merged_into=body.merged_into,
                rationale=body.rationale,
                risks_of_adoption=tuple(body.risks_of_adoption),
                risks_of_rejection=tuple(body.risks_of_rejection),
            ),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{proposal_id}/campaign-release",
        response_model=ProposalDetail,
        summary="Take a proposal out of its campaign (lead): it is reviewed on its own, never grouped again",
        responses=refusals(*HANDLERS.refusals(commands.ReleaseFromCampaign)),
    )
    async def release_from_campaign(
        proposal_id: ProposalId, body: CampaignRelease, principal: Lead, request: Request
    ) -> ProposalDetail:
        answer: ProposalDetail = await bus.handle(
            commands.ReleaseFromCampaign(proposal_id=proposal_id, reason=body.reason),
            _caller(principal, request),
        )
        return answer

    return router


def packages_router(runtime: LogRuntime, bus: MessageBus) -> APIRouter:
    router = APIRouter(prefix="/v1/packages", tags=["packages"], responses=COMMON_ERRORS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=PackagePublic,
        summary="Open a package of recommendations for the government (lead)",
        responses=refusals(*HANDLERS.refusals(commands.OpenPackage)),
    )
    async def open_package(body: PackageCreate, principal: Lead, request: Request) -> PackagePublic:
        answer: PackagePublic = await bus.handle(
            commands.OpenPackage(consultation_id=body.consultation_id, title=body.title),
            _caller(principal, request),
        )
        return answer

    @router.get(
        "/{package_id}",
        response_model=PackagePublic,
        summary="One package with its items",
        responses=refusals(domain.PackageNotFound),
    )
    async def get_package(package_id: PackageId, _principal: Staff) -> PackagePublic:
        async with runtime.database.read_session() as session:
            package = await views.package_view(session, package_id)
        if package is None:
            raise domain.PackageNotFound(f"no package {package_id}")
        return package

    @router.post(
        "/{package_id}/items",
        status_code=status.HTTP_201_CREATED,
        response_model=PackagePublic,
        summary="Add an assessed proposal, recommended with or without changes (lead)",
        responses=refusals(*HANDLERS.refusals(commands.AddToPackage)),
    )
    async def add_item(
        package_id: PackageId, body: PackageItemCreate, principal: Lead, request: Request
    ) -> PackagePublic:
        answer: PackagePublic = await bus.handle(
            commands.AddToPackage(package_id=package_id, proposal_id=body.proposal_id),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{package_id}/measures",
        status_code=status.HTTP_201_CREATED,
        response_model=PackagePublic,
        summary="Add an adopted measure (lead); submitting the package forwards it with its evidence",
        responses=refusals(*HANDLERS.refusals(commands.AddMeasureToPackage)),
    )
    async def add_measure(
        package_id: PackageId, body: PackageMeasureCreate, principal: Lead, request: Request
    ) -> PackagePublic:
        answer: PackagePublic = await bus.handle(
            commands.AddMeasureToPackage(package_id=package_id, measure_id=body.measure_id),
            _caller(principal, request),
        )
        return answer

    @router.delete(
        "/{package_id}/items/{proposal_id}",
        response_model=PackagePublic,
        summary="Take a proposal out of a package not yet submitted (lead)",
        responses=refusals(*HANDLERS.refusals(commands.RemoveFromPackage)),
    )
    async def remove_item(
        package_id: PackageId,
        proposal_id: ProposalId,
        principal: Lead,
        request: Request,
        reason: Annotated[str, Query(max_length=2_000)] = "",
    ) -> PackagePublic:
        answer: PackagePublic = await bus.handle(
            commands.RemoveFromPackage(
                package_id=package_id, proposal_id=proposal_id, reason=reason.replace("\x00", "")
            ),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{package_id}/submission",
        response_model=PackagePublic,
        summary="Submit the package once: every item is forwarded to the government (late after the deadline)",
        responses=refusals(*HANDLERS.refusals(commands.SubmitPackage)),
    )
    async def submit_package(package_id: PackageId, principal: Lead, request: Request) -> PackagePublic:
        answer: PackagePublic = await bus.handle(
            commands.SubmitPackage(package_id=package_id), _caller(principal, request)
        )
        return answer

    return router


def measures_router(runtime: LogRuntime, bus: MessageBus) -> APIRouter:
    router = APIRouter(prefix="/v1/measures", tags=["measures"], responses=COMMON_ERRORS)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=MeasurePublic,
        summary="Draft a measure (lead): what to regulate, where, by which instrument, from which cost of error",
        responses=refusals(*HANDLERS.refusals(commands.DraftMeasure)),
    )
    async def draft(body: MeasureCreate, principal: Lead, request: Request) -> MeasurePublic:
        answer: MeasurePublic = await bus.handle(
            commands.DraftMeasure(consultation_id=body.consultation_id, terms=_terms(body)),
            _caller(principal, request),
        )
        return answer

    @router.get(
        "",
        response_model=Page[MeasurePublic],
        summary="Measures, in the order drafted, with their evidence and tallies",
    )
    async def list_measures(
        _principal: Staff,
        page: PageParams,
        consultation_id: ConsultationFilter = None,
        status: Annotated[measures.MeasureStatus | None, Query()] = None,
    ) -> Page[MeasurePublic]:
        async with runtime.database.read_session() as session:
            items = await views.measures_page(
                session,
                limit=page.limit + 1,
                cursor=_cursor(page.cursor),
                consultation_id=consultation_id,
                status=status,
            )
        return page.page(items, views.measure_position)

    @router.get(
        "/{measure_id}",
        response_model=MeasurePublic,
        summary="One measure with its evidence and tallies (voices and signatories per stance)",
        responses=refusals(measures.MeasureNotFound),
    )
    async def get_measure(measure_id: MeasureId, _principal: Staff) -> MeasurePublic:
        async with runtime.database.read_session() as session:
            measure = await views.measure_view(session, measure_id)
        if measure is None:
            raise measures.MeasureNotFound(f"no measure {measure_id}")
        return measure

    @router.post(
        "/{measure_id}/evidence",
        response_model=MeasurePublic,
        summary="Link a proposal as supporting, opposing or informing evidence (lead)",
        responses=refusals(*HANDLERS.refusals(commands.LinkEvidence)),
    )
    async def link(
        measure_id: MeasureId, body: EvidenceCreate, principal: Lead, request: Request
    ) -> MeasurePublic:
        answer: MeasurePublic = await bus.handle(
            commands.LinkEvidence(
                measure_id=measure_id, proposal_id=body.proposal_id, stance=body.stance, note=body.note
            ),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{measure_id}/revision",
        response_model=MeasurePublic,
        summary="Revise a drafted measure's terms (lead)",
        responses=refusals(*HANDLERS.refusals(commands.ReviseMeasure)),
    )
    async def revise(
        measure_id: MeasureId, body: MeasureRevision, principal: Lead, request: Request
    ) -> MeasurePublic:
        answer: MeasurePublic = await bus.handle(
            commands.ReviseMeasure(measure_id=measure_id, terms=_terms(body), rationale=body.rationale),
            _caller(principal, request),
        )
        return answer

    @router.post(
        "/{measure_id}/decision",
        response_model=MeasurePublic,
        summary="Adopt or drop a measure (lead)",
        responses=refusals(*HANDLERS.refusals(commands.DecideMeasure)),
    )
    async def decide_measure(
        measure_id: MeasureId, body: DecisionCreate, principal: Lead, request: Request
    ) -> MeasurePublic:
        answer: MeasurePublic = await bus.handle(
            commands.DecideMeasure(measure_id=measure_id, decision=body.decision, rationale=body.rationale),
            _caller(principal, request),
        )
        return answer

    return router
