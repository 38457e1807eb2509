"""HTTP routes of the analysis service: thin; auth → state → domain rule → log → projection → answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from aireg_analysis import domain, measures, store, views
from aireg_analysis.projections import project_own
from aireg_analysis.store import AssessmentRow, AssignmentRow, ConsultationRow, ReviewRow
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
from aireg_events.catalogue.analysis import (
    CriteriaScores,
    MeasureDecision,
    MeasureStance,
    MeasureTerms,
    Risk,
)
from aireg_events.catalogue.common import (
    BoundedText,
    Direction,
    DomainEvent,
    Organization,
    Outcome,
    Recommendation,
)
from aireg_events.envelope import Envelope, new_event_id
from aireg_events.log.appender import UnitOfWork
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, require_roles
from aireg_http.errors import COMMON_ERRORS, Unprocessable, refusals
from aireg_http.pagination import Page, PageParams

T = TypeVar("T")

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


async def decide(runtime: LogRuntime, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run a command's work in the log's transaction, after taking the log's lock (PostgreSQL): replicas
    then decide one at a time, each on the state the one before recorded."""

    async def locked(uow: UnitOfWork) -> T:
        await uow.log_head()
        return await work(uow)

    return await runtime.appender.run(locked)


async def _record(uow: UnitOfWork, event: DomainEvent, principal: Principal, request: Request) -> Envelope:
    envelope = await uow.append(event, actor=principal.actor(), correlation_id=request.state.correlation_id)
    await project_own(uow.session, envelope, event)
    await uow.session.flush()
    return envelope


async def _proposal(uow: UnitOfWork, proposal_id: str) -> domain.ProposalFacts:
    proposal = await store.proposal_facts(uow.session, proposal_id)
    if proposal is None:
        raise domain.ProposalNotFound(f"no proposal {proposal_id}")
    return proposal


async def _measure(uow: UnitOfWork, measure_id: str) -> measures.MeasureFacts:
    measure = await store.measure_facts(uow.session, measure_id)
    if measure is None:
        raise measures.MeasureNotFound(f"no measure {measure_id}")
    return measure


def _terms(body: MeasureTerms) -> MeasureTerms:
    return MeasureTerms.model_validate(body.model_dump(include=set(MeasureTerms.model_fields)))


async def _package(uow: UnitOfWork, package_id: str) -> domain.PackageFacts:
    package = await store.package_facts(uow.session, package_id)
    if package is None:
        raise domain.PackageNotFound(f"no package {package_id}")
    return package


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
        status: Annotated[domain.ProposalStatus | None, Query()] = None,
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


def proposals_router(runtime: LogRuntime) -> APIRouter:
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
        responses=refusals(
            domain.ProposalNotFound,
            domain.ProposalIsWithdrawn,
            domain.ProposalAlreadyAssessed,
            domain.ReviewerAlreadyAssigned,
        ),
    )
    async def assign_reviewer(
        proposal_id: ProposalId, body: AssignmentCreate, principal: Lead, request: Request
    ) -> AssignmentPublic:
        async def work(uow: UnitOfWork) -> AssignmentPublic:
            event = domain.assign_reviewer(
                await _proposal(uow, proposal_id), reviewer=body.reviewer, organization=body.organization
            )
            await _record(uow, event, principal, request)
            row = await uow.session.get(AssignmentRow, (proposal_id, body.reviewer))
            assert row is not None
            return views.assignment_public(row)

        return await decide(runtime, work)

    @router.post(
        "/{proposal_id}/reviews",
        status_code=status.HTTP_201_CREATED,
        response_model=ReviewPublic,
        summary="Review the current version with the four criteria scores (an assigned reviewer)",
        responses=refusals(
            domain.ProposalNotFound,
            domain.OrganizationMismatch,
            domain.ProposalIsWithdrawn,
            domain.ProposalAlreadyAssessed,
            domain.ReviewRequiresAssignment,
            domain.ReviewAlreadySubmitted,
        ),
    )
    async def submit_review(
        proposal_id: ProposalId, body: ReviewCreate, principal: Reviewer, request: Request
    ) -> ReviewPublic:
        async def work(uow: UnitOfWork) -> ReviewPublic:
            event = domain.submit_review(
                await _proposal(uow, proposal_id),
                review_id=new_event_id(),
                reviewer=principal.name,
                reviewer_organization=principal.organization,
                organization=body.organization,
                scores=body.scores,
                recommendation=body.recommendation,
                rationale=body.rationale,
            )
            await _record(uow, event, principal, request)
            row = await uow.session.get(ReviewRow, event.review_id)
            assert row is not None
            return views.review_public(row, current_version=event.proposal_version)

        return await decide(runtime, work)

    @router.post(
        "/{proposal_id}/assessment",
        status_code=status.HTTP_201_CREATED,
        response_model=AssessmentPublic,
        summary="The consolidated assessment (lead): needs a current review from each organization",
        responses=refusals(
            domain.ProposalNotFound,
            domain.ProposalIsWithdrawn,
            domain.ProposalAlreadyAssessed,
            domain.AssessmentNeedsBothOrganizations,
            domain.MergedIntoRequired,
            domain.MergedIntoOnlyWhenMerged,
            domain.MergedIntoUnknown,
        ),
    )
    async def assess(
        proposal_id: ProposalId, body: AssessmentCreate, principal: Lead, request: Request
    ) -> AssessmentPublic:
        async def work(uow: UnitOfWork) -> AssessmentPublic:
            proposal = await _proposal(uow, proposal_id)
            consultation = await uow.session.get(ConsultationRow, proposal.consultation_id)
            event = domain.assess(
                proposal,
                outcome=body.outcome,
                merged_into_id=body.merged_into,
                merged_into=await store.proposal_facts(uow.session, body.merged_into)
                if body.merged_into
                else None,
                rationale=body.rationale,
                now=uow.now(),
                analysis_due_at=consultation.analysis_due_at if consultation else None,
                risks_of_adoption=body.risks_of_adoption,
                risks_of_rejection=body.risks_of_rejection,
            )
            envelope = await _record(uow, event, principal, request)
            row = await uow.session.get(AssessmentRow, envelope.event_id)
            assert row is not None
            return views.assessment_public(row, current_version=proposal.version)

        return await decide(runtime, work)

    @router.post(
        "/{proposal_id}/campaign-release",
        response_model=ProposalDetail,
        summary="Take a proposal out of its campaign (lead): it is reviewed on its own, never grouped again",
        responses=refusals(domain.ProposalNotFound, domain.ProposalIsWithdrawn, domain.ProposalNotInCampaign),
    )
    async def release_from_campaign(
        proposal_id: ProposalId, body: CampaignRelease, principal: Lead, request: Request
    ) -> ProposalDetail:
        async def work(uow: UnitOfWork) -> ProposalDetail:
            event = domain.release_from_campaign(await _proposal(uow, proposal_id), reason=body.reason)
            await _record(uow, event, principal, request)
            detail = await views.proposal_detail(uow.session, proposal_id, now=uow.now())
            assert detail is not None
            return detail

        return await decide(runtime, work)

    return router


def packages_router(runtime: LogRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/packages", tags=["packages"], responses=COMMON_ERRORS)

    async def answer(uow: UnitOfWork, package_id: str) -> PackagePublic:
        package = await views.package_view(uow.session, package_id)
        assert package is not None
        return package

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=PackagePublic,
        summary="Open a package of recommendations for the government (lead)",
        responses=refusals(domain.ConsultationUnknown),
    )
    async def open_package(body: PackageCreate, principal: Lead, request: Request) -> PackagePublic:
        async def work(uow: UnitOfWork) -> PackagePublic:
            event = domain.open_package(
                package_id=new_event_id(),
                consultation_id=body.consultation_id,
                title=body.title,
                consultation_known=await uow.session.get(ConsultationRow, body.consultation_id) is not None,
            )
            await _record(uow, event, principal, request)
            return await answer(uow, event.package_id)

        return await decide(runtime, work)

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
        responses=refusals(
            domain.PackageNotFound,
            domain.PackageAlreadySubmitted,
            domain.ProposalUnknown,
            domain.ProposalInOtherConsultation,
            domain.ProposalIsWithdrawn,
            domain.ProposalAlreadyInPackage,
            domain.ProposalNotAssessed,
            domain.ProposalNotRecommended,
        ),
    )
    async def add_item(
        package_id: PackageId, body: PackageItemCreate, principal: Lead, request: Request
    ) -> PackagePublic:
        async def work(uow: UnitOfWork) -> PackagePublic:
            event = domain.add_to_package(
                await _package(uow, package_id),
                await store.proposal_facts(uow.session, body.proposal_id),
                proposal_id=body.proposal_id,
            )
            await _record(uow, event, principal, request)
            return await answer(uow, package_id)

        return await decide(runtime, work)

    @router.post(
        "/{package_id}/measures",
        status_code=status.HTTP_201_CREATED,
        response_model=PackagePublic,
        summary="Add an adopted measure (lead); submitting the package forwards it with its evidence",
        responses=refusals(
            domain.PackageNotFound,
            domain.PackageAlreadySubmitted,
            measures.MeasureUnknown,
            measures.MeasureInOtherConsultation,
            measures.MeasureAlreadyInPackage,
            measures.MeasureNotAdopted,
        ),
    )
    async def add_measure(
        package_id: PackageId, body: PackageMeasureCreate, principal: Lead, request: Request
    ) -> PackagePublic:
        async def work(uow: UnitOfWork) -> PackagePublic:
            event = measures.add_measure_to_package(
                await _package(uow, package_id),
                await store.measure_facts(uow.session, body.measure_id),
                measure_id=body.measure_id,
            )
            await _record(uow, event, principal, request)
            return await answer(uow, package_id)

        return await decide(runtime, work)

    @router.delete(
        "/{package_id}/items/{proposal_id}",
        response_model=PackagePublic,
        summary="Take a proposal out of a package not yet submitted (lead)",
        responses=refusals(
            domain.PackageNotFound, domain.ProposalNotInPackage, domain.PackageAlreadySubmitted
        ),
    )
    async def remove_item(
        package_id: PackageId,
        proposal_id: ProposalId,
        principal: Lead,
        request: Request,
        reason: Annotated[str, Query(max_length=2_000)] = "",
    ) -> PackagePublic:
        async def work(uow: UnitOfWork) -> PackagePublic:
            event = domain.remove_from_package(
                await _package(uow, package_id), proposal_id=proposal_id, reason=reason.replace("\x00", "")
            )
            await _record(uow, event, principal, request)
            return await answer(uow, package_id)

        return await decide(runtime, work)

    @router.post(
        "/{package_id}/submission",
        response_model=PackagePublic,
        summary="Submit the package once: every item is forwarded to the government (late after the deadline)",
        responses=refusals(
            domain.PackageNotFound,
            domain.PackageAlreadySubmitted,
            domain.PackageEmpty,
            domain.PackageItemNotEligible,
            measures.PackageMeasureNotAdopted,
        ),
    )
    async def submit_package(package_id: PackageId, principal: Lead, request: Request) -> PackagePublic:
        async def work(uow: UnitOfWork) -> PackagePublic:
            package = await _package(uow, package_id)
            rows = [await store.proposal_row(uow.session, proposal_id) for proposal_id in package.items]
            facts = await store.facts_of(uow.session, rows)
            consultation = await uow.session.get(ConsultationRow, package.consultation_id)
            due = consultation.forwarding_due_at if consultation else None
            measure_rows = await store.package_measures(uow.session, package_id)
            measure_facts = await store.measure_facts_of(uow.session, measure_rows)
            forwarded, submitted = domain.submit_package(
                package,
                facts,
                now=uow.now(),
                forwarding_due_at=due,
                measure_ids=[row.measure_id for row in measure_rows],
            )
            measures_forwarded = measures.forward_measures(
                package,
                [measure_facts[row.measure_id] for row in measure_rows],
                now=uow.now(),
                forwarding_due_at=due,
            )
            for event in forwarded:
                await _record(uow, event, principal, request)
            for measure_event in measures_forwarded:
                await _record(uow, measure_event, principal, request)
            await _record(uow, submitted, principal, request)
            return await answer(uow, package_id)

        return await decide(runtime, work)

    return router


def measures_router(runtime: LogRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/measures", tags=["measures"], responses=COMMON_ERRORS)

    async def answer(uow: UnitOfWork, measure_id: str) -> MeasurePublic:
        measure = await views.measure_view(uow.session, measure_id)
        assert measure is not None
        return measure

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=MeasurePublic,
        summary="Draft a measure (lead): what to regulate, where, by which instrument, from which cost of error",
        responses=refusals(domain.ConsultationUnknown),
    )
    async def draft(body: MeasureCreate, principal: Lead, request: Request) -> MeasurePublic:
        async def work(uow: UnitOfWork) -> MeasurePublic:
            event = measures.draft_measure(
                measure_id=new_event_id(),
                consultation_id=body.consultation_id,
                terms=_terms(body),
                consultation_known=await uow.session.get(ConsultationRow, body.consultation_id) is not None,
            )
            await _record(uow, event, principal, request)
            return await answer(uow, event.measure_id)

        return await decide(runtime, work)

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
        responses=refusals(
            measures.MeasureNotFound,
            measures.MeasureInSubmittedPackage,
            domain.ProposalUnknown,
            domain.ProposalInOtherConsultation,
            domain.ProposalIsWithdrawn,
            measures.ProposalIsMisattributed,
            measures.EvidenceAlreadyLinked,
        ),
    )
    async def link(
        measure_id: MeasureId, body: EvidenceCreate, principal: Lead, request: Request
    ) -> MeasurePublic:
        async def work(uow: UnitOfWork) -> MeasurePublic:
            event = measures.link_evidence(
                await _measure(uow, measure_id),
                await store.proposal_facts(uow.session, body.proposal_id),
                proposal_id=body.proposal_id,
                stance=body.stance,
                note=body.note,
            )
            await _record(uow, event, principal, request)
            return await answer(uow, measure_id)

        return await decide(runtime, work)

    @router.post(
        "/{measure_id}/revision",
        response_model=MeasurePublic,
        summary="Revise a drafted measure's terms (lead)",
        responses=refusals(measures.MeasureNotFound, measures.MeasureAlreadyDecided),
    )
    async def revise(
        measure_id: MeasureId, body: MeasureRevision, principal: Lead, request: Request
    ) -> MeasurePublic:
        async def work(uow: UnitOfWork) -> MeasurePublic:
            event = measures.revise_measure(
                await _measure(uow, measure_id), terms=_terms(body), rationale=body.rationale
            )
            await _record(uow, event, principal, request)
            return await answer(uow, measure_id)

        return await decide(runtime, work)

    @router.post(
        "/{measure_id}/decision",
        response_model=MeasurePublic,
        summary="Adopt or drop a measure (lead)",
        responses=refusals(
            measures.MeasureNotFound,
            measures.MeasureAlreadyDecided,
            measures.MeasureInPackage,
            measures.MeasureInSubmittedPackage,
        ),
    )
    async def decide_measure(
        measure_id: MeasureId, body: DecisionCreate, principal: Lead, request: Request
    ) -> MeasurePublic:
        async def work(uow: UnitOfWork) -> MeasurePublic:
            event = measures.decide_measure(
                await _measure(uow, measure_id), decision=body.decision, rationale=body.rationale
            )
            await _record(uow, event, principal, request)
            return await answer(uow, measure_id)

        return await decide(runtime, work)

    return router
