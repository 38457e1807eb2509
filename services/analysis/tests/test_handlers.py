"""The command handlers of the analysis service, through the message bus, on a real database (SQLite and
PostgreSQL), with no HTTP app and no broker: each command answers with its view, records its events as the
caller, and a refusal reaches the caller as raised and records nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import commands, domain, measures
from aireg_analysis.app import MIGRATIONS
from aireg_analysis.handlers import HANDLERS
from aireg_analysis.projector import project_now
from aireg_events.bus import Caller, MessageBus
from aireg_events.catalogue.analysis import CriteriaScores, MeasureDecision, MeasureStance
from aireg_events.catalogue.common import Organization, Outcome, Recommendation
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_events.envelope import Actor, Envelope, new_event_id
from aireg_events.log.appender import LogAppender
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log
from services.analysis.tests.test_measure_rules import TERMS
from services.analysis.tests.test_projections import sealed, submitted
from tests.support.databases import migrated_database

MOMENT = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
LEAD = Caller(Actor(role="lead", name="lead-1"), correlation_id="0190aaaa-0000-7000-8000-0000000000aa")
SCORES = CriteriaScores(legal_soundness=4, feasibility=4, risk_reduction=3, innovation_impact=3)


def reviewer(name: str, organization: Organization) -> Caller:
    return Caller(Actor(role="reviewer", name=name, organization=organization.value))


database = migrated_database(MIGRATIONS)


@pytest.fixture
async def bus(database: Database) -> AsyncIterator[MessageBus]:
    appender = LogAppender(database, "analysis", clock=lambda: MOMENT)
    await appender.start()
    try:
        yield MessageBus(appender, HANDLERS, project_now, None)
    finally:
        await appender.stop()


@pytest.fixture
async def consultation_id(database: Database) -> str:
    opened = ConsultationOpened(
        consultation_id=new_event_id(),
        code="AI-2027",
        title="AI regulation",
        description="The call",
        submission_opens_at=MOMENT - timedelta(days=30),
        submission_closes_at=MOMENT - timedelta(days=1),
        analysis_due_at=MOMENT + timedelta(days=30),
        forwarding_due_at=MOMENT + timedelta(days=60),
    )
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        await project_now(session, sealed(opened, "submission"), opened)
    return opened.consultation_id


async def received(database: Database, consultation_id: str, title: str) -> str:
    proposal = submitted(title).model_copy(update={"consultation_id": consultation_id})
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        await project_now(session, sealed(proposal, "submission"), proposal)
    return proposal.proposal_id


async def logged(database: Database) -> list[Envelope]:
    async with database.read_session() as session:
        rows = (await session.execute(select(event_log.c.body).order_by(event_log.c.log_position))).all()
    return [Envelope.from_json(body) for (body,) in rows]


def assign(proposal_id: str, name: str, organization: Organization) -> commands.AssignReviewer:
    return commands.AssignReviewer(proposal_id=proposal_id, reviewer=name, organization=organization)


def review(proposal_id: str, name: str, organization: Organization) -> commands.SubmitReview:
    return commands.SubmitReview(
        proposal_id=proposal_id,
        reviewer=name,
        reviewer_organization=organization.value,
        organization=organization,
        scores=SCORES,
        recommendation=Recommendation.support,
        rationale="sound",
    )


REVIEWERS = (("rev-m", Organization.ministry), ("rev-a", Organization.analytical_center))


async def reviewed_by_both(bus: MessageBus, proposal_id: str) -> None:
    for name, organization in REVIEWERS:
        await bus.handle(assign(proposal_id, name, organization), LEAD)
        await bus.handle(review(proposal_id, name, organization), reviewer(name, organization))


async def test_a_proposal_is_assigned_reviewed_assessed_packaged_and_forwarded(
    bus: MessageBus, database: Database, consultation_id: str
) -> None:
    proposal_id = await received(database, consultation_id, "Register high-risk models")

    assignment = await bus.handle(assign(proposal_id, "rev-m", Organization.ministry), LEAD)
    assert (assignment.reviewer, assignment.organization) == ("rev-m", Organization.ministry)
    with pytest.raises(domain.ReviewerAlreadyAssigned):
        await bus.handle(assign(proposal_id, "rev-m", Organization.ministry), LEAD)
    with pytest.raises(domain.AssessmentNeedsBothOrganizations):
        await bus.handle(
            commands.Assess(proposal_id=proposal_id, outcome=Outcome.recommended, rationale="r"), LEAD
        )

    await bus.handle(assign(proposal_id, "rev-a", Organization.analytical_center), LEAD)
    for name, organization in REVIEWERS:
        submitted_review = await bus.handle(
            review(proposal_id, name, organization), reviewer(name, organization)
        )
        assert (submitted_review.reviewer, submitted_review.organization) == (name, organization)

    assessment = await bus.handle(
        commands.Assess(proposal_id=proposal_id, outcome=Outcome.recommended, rationale="both agree"), LEAD
    )
    assert assessment.outcome == Outcome.recommended
    with pytest.raises(domain.ProposalAlreadyAssessed):
        await bus.handle(
            commands.Assess(proposal_id=proposal_id, outcome=Outcome.recommended, rationale="r"), LEAD
        )

    package = await bus.handle(commands.OpenPackage(consultation_id=consultation_id, title="First"), LEAD)
    package = await bus.handle(
        commands.AddToPackage(package_id=package.package_id, proposal_id=proposal_id), LEAD
    )
    assert [item.proposal_id for item in package.items] == [proposal_id]
    package = await bus.handle(commands.SubmitPackage(package_id=package.package_id), LEAD)
    assert package.submitted_at is not None
    with pytest.raises(domain.PackageAlreadySubmitted):
        await bus.handle(commands.SubmitPackage(package_id=package.package_id), LEAD)

    events = await logged(database)
    assert [e.event_type for e in events] == [
        "ReviewerAssigned",
        "ReviewerAssigned",
        "ReviewSubmitted",
        "ReviewSubmitted",
        "ProposalAssessed",
        "GovernmentPackageOpened",
        "ProposalAddedToPackage",
        "ProposalForwardedToGovernment",
        "GovernmentPackageSubmitted",
    ]
    assert events[0].actor == LEAD.actor and events[0].correlation_id == LEAD.correlation_id
    assert events[2].actor.name == "rev-m"


async def test_refusals_of_proposals_and_packages_record_nothing(
    bus: MessageBus, database: Database, consultation_id: str
) -> None:
    proposal_id = await received(database, consultation_id, "Audit public-sector AI")

    with pytest.raises(domain.ProposalNotFound):
        await bus.handle(
            commands.AssignReviewer(
                proposal_id=new_event_id(), reviewer="r", organization=Organization.ministry
            ),
            LEAD,
        )
    with pytest.raises(domain.ProposalNotInCampaign):
        await bus.handle(commands.ReleaseFromCampaign(proposal_id=proposal_id, reason="its own"), LEAD)
    with pytest.raises(domain.OrganizationMismatch):
        await bus.handle(
            commands.SubmitReview(
                proposal_id=proposal_id,
                reviewer="rev-a",
                reviewer_organization="analytical_center",
                organization=Organization.ministry,
                scores=SCORES,
                recommendation=Recommendation.reject,
                rationale="no",
            ),
            reviewer("rev-a", Organization.analytical_center),
        )
    with pytest.raises(domain.ConsultationUnknown):
        await bus.handle(commands.OpenPackage(consultation_id=new_event_id(), title="Nowhere"), LEAD)
    package = await bus.handle(commands.OpenPackage(consultation_id=consultation_id, title="Empty"), LEAD)
    with pytest.raises(domain.ProposalNotAssessed):
        await bus.handle(commands.AddToPackage(package_id=package.package_id, proposal_id=proposal_id), LEAD)
    with pytest.raises(domain.ProposalNotInPackage):
        await bus.handle(
            commands.RemoveFromPackage(package_id=package.package_id, proposal_id=proposal_id), LEAD
        )
    with pytest.raises(domain.PackageEmpty):
        await bus.handle(commands.SubmitPackage(package_id=package.package_id), LEAD)

    assert [e.event_type for e in await logged(database)] == ["GovernmentPackageOpened"]


async def test_a_measure_is_drafted_backed_revised_adopted_and_packaged(
    bus: MessageBus, database: Database, consultation_id: str
) -> None:
    proposal_id = await received(database, consultation_id, "Certify diagnostic AI")
    await reviewed_by_both(bus, proposal_id)

    with pytest.raises(domain.ConsultationUnknown):
        await bus.handle(commands.DraftMeasure(consultation_id=new_event_id(), terms=TERMS), LEAD)
    measure = await bus.handle(commands.DraftMeasure(consultation_id=consultation_id, terms=TERMS), LEAD)
    measure = await bus.handle(
        commands.LinkEvidence(
            measure_id=measure.measure_id, proposal_id=proposal_id, stance=MeasureStance.supports
        ),
        LEAD,
    )
    assert [link.proposal_id for link in measure.evidence] == [proposal_id]
    with pytest.raises(measures.EvidenceAlreadyLinked):
        await bus.handle(
            commands.LinkEvidence(
                measure_id=measure.measure_id, proposal_id=proposal_id, stance=MeasureStance.opposes
            ),
            LEAD,
        )
    revised = TERMS.model_copy(update={"title": "Certify clinical AI"})
    measure = await bus.handle(
        commands.ReviseMeasure(measure_id=measure.measure_id, terms=revised, rationale="wider"), LEAD
    )
    assert measure.terms.title == "Certify clinical AI"

    package = await bus.handle(commands.OpenPackage(consultation_id=consultation_id, title="Measures"), LEAD)
    with pytest.raises(measures.MeasureNotAdopted):
        await bus.handle(
            commands.AddMeasureToPackage(package_id=package.package_id, measure_id=measure.measure_id), LEAD
        )
    await bus.handle(
        commands.DecideMeasure(
            measure_id=measure.measure_id, decision=MeasureDecision.adopt, rationale="yes"
        ),
        LEAD,
    )
    with pytest.raises(measures.MeasureAlreadyDecided):
        await bus.handle(
            commands.ReviseMeasure(measure_id=measure.measure_id, terms=TERMS, rationale="back"), LEAD
        )
    package = await bus.handle(
        commands.AddMeasureToPackage(package_id=package.package_id, measure_id=measure.measure_id), LEAD
    )
    assert package.measure_ids == [measure.measure_id]

    types = [e.event_type for e in await logged(database)]
    assert types[4:] == [
        "MeasureDrafted",
        "ProposalLinkedToMeasure",
        "MeasureRevised",
        "GovernmentPackageOpened",
        "MeasureDecided",
        "MeasureAddedToPackage",
    ]


def test_every_command_has_one_handler_and_its_route_documents_its_rules() -> None:
    assert {command.__name__ for command in HANDLERS} == {
        name
        for name, value in vars(commands).items()
        if isinstance(value, type) and value.__module__ == commands.__name__
    }
    assert HANDLERS.refusals(commands.RemoveFromPackage) == (
        domain.PackageNotFound,
        domain.ProposalNotInPackage,
        domain.PackageAlreadySubmitted,
    )
