"""The command handlers of the analysis service: one per command, each loading the facts its rule needs,
asking the pure domain (``domain``, ``measures``), and recording what was decided with ``unit.record``
(the bus appends it and runs ``projector.project_now`` on it in the same transaction).

Each handler is registered with the rules it may refuse its command with: a route documents exactly those
(``HANDLERS.refusals(Command)``). A handler answers with the view its route renders, read in the
command's transaction, so the answer is the state the command's events made.
"""

from __future__ import annotations

from aireg_analysis import domain, loaders, measures, views
from aireg_analysis.commands import (
    AddMeasureToPackage,
    AddToPackage,
    Assess,
    AssignReviewer,
    DecideMeasure,
    DraftMeasure,
    LinkEvidence,
    OpenPackage,
    ReleaseFromCampaign,
    RemoveFromPackage,
    ReviseMeasure,
    SubmitPackage,
    SubmitReview,
)
from aireg_analysis.tables import AssessmentRow, AssignmentRow, ConsultationRow, ReviewRow
from aireg_analysis.views import (
    AssessmentPublic,
    AssignmentPublic,
    MeasurePublic,
    PackagePublic,
    ProposalDetail,
    ReviewPublic,
)
from aireg_events.bus import CommandUnit, Handlers
from aireg_events.envelope import new_event_id

HANDLERS = Handlers()


async def _proposal(unit: CommandUnit[None], proposal_id: str) -> domain.ProposalFacts:
    proposal = await loaders.proposal_facts(unit.session, proposal_id)
    if proposal is None:
        raise domain.ProposalNotFound(f"no proposal {proposal_id}")
    return proposal


async def _package(unit: CommandUnit[None], package_id: str) -> domain.PackageFacts:
    package = await loaders.package_facts(unit.session, package_id)
    if package is None:
        raise domain.PackageNotFound(f"no package {package_id}")
    return package


async def _measure(unit: CommandUnit[None], measure_id: str) -> measures.MeasureFacts:
    measure = await loaders.measure_facts(unit.session, measure_id)
    if measure is None:
        raise measures.MeasureNotFound(f"no measure {measure_id}")
    return measure


async def _consultation_known(unit: CommandUnit[None], consultation_id: str) -> bool:
    return await unit.session.get(ConsultationRow, consultation_id) is not None


async def _package_view(unit: CommandUnit[None], package_id: str) -> PackagePublic:
    package = await views.package_view(unit.session, package_id)
    assert package is not None
    return package


async def _measure_view(unit: CommandUnit[None], measure_id: str) -> MeasurePublic:
    measure = await views.measure_view(unit.session, measure_id)
    assert measure is not None
    return measure


# proposals


@HANDLERS.register(
    domain.ProposalNotFound,
    domain.ProposalIsWithdrawn,
    domain.ProposalAlreadyAssessed,
    domain.ReviewerAlreadyAssigned,
)
async def assign_reviewer(command: AssignReviewer, unit: CommandUnit[None]) -> AssignmentPublic:
    event = domain.assign_reviewer(
        await _proposal(unit, command.proposal_id),
        reviewer=command.reviewer,
        organization=command.organization,
    )
    await unit.record(event)
    row = await unit.session.get(AssignmentRow, (command.proposal_id, command.reviewer))
    assert row is not None
    return views.assignment_public(row)


@HANDLERS.register(
    domain.ProposalNotFound,
    domain.OrganizationMismatch,
    domain.ProposalIsWithdrawn,
    domain.ProposalAlreadyAssessed,
    domain.ReviewRequiresAssignment,
    domain.ReviewAlreadySubmitted,
)
async def submit_review(command: SubmitReview, unit: CommandUnit[None]) -> ReviewPublic:
    event = domain.submit_review(
        await _proposal(unit, command.proposal_id),
        review_id=new_event_id(),
        reviewer=command.reviewer,
        reviewer_organization=command.reviewer_organization,
        organization=command.organization,
        scores=command.scores,
        recommendation=command.recommendation,
        rationale=command.rationale,
    )
    await unit.record(event)
    row = await unit.session.get(ReviewRow, event.review_id)
    assert row is not None
    return views.review_public(row, current_version=event.proposal_version)


@HANDLERS.register(
    domain.ProposalNotFound,
    domain.ProposalIsWithdrawn,
    domain.ProposalAlreadyAssessed,
    domain.AssessmentNeedsBothOrganizations,
    domain.MergedIntoRequired,
    domain.MergedIntoOnlyWhenMerged,
    domain.MergedIntoUnknown,
)
async def assess(command: Assess, unit: CommandUnit[None]) -> AssessmentPublic:
    proposal = await _proposal(unit, command.proposal_id)
    consultation = await unit.session.get(ConsultationRow, proposal.consultation_id)
    event = domain.assess(
        proposal,
        outcome=command.outcome,
        merged_into_id=command.merged_into,
        merged_into=await loaders.proposal_facts(unit.session, command.merged_into)
        if command.merged_into
        else None,
        rationale=command.rationale,
        now=unit.now(),
        analysis_due_at=consultation.analysis_due_at if consultation else None,
        risks_of_adoption=command.risks_of_adoption,
        risks_of_rejection=command.risks_of_rejection,
    )
    envelope = await unit.record(event)
    row = await unit.session.get(AssessmentRow, envelope.event_id)
    assert row is not None
    return views.assessment_public(row, current_version=proposal.version)


@HANDLERS.register(domain.ProposalNotFound, domain.ProposalIsWithdrawn, domain.ProposalNotInCampaign)
async def release_from_campaign(command: ReleaseFromCampaign, unit: CommandUnit[None]) -> ProposalDetail:
    event = domain.release_from_campaign(await _proposal(unit, command.proposal_id), reason=command.reason)
    await unit.record(event)
    detail = await views.proposal_detail(unit.session, command.proposal_id, now=unit.now())
    assert detail is not None
    return detail


# packages


@HANDLERS.register(domain.ConsultationUnknown)
async def open_package(command: OpenPackage, unit: CommandUnit[None]) -> PackagePublic:
    event = domain.open_package(
        package_id=new_event_id(),
        consultation_id=command.consultation_id,
        title=command.title,
        consultation_known=await _consultation_known(unit, command.consultation_id),
    )
    await unit.record(event)
    return await _package_view(unit, event.package_id)


@HANDLERS.register(
    domain.PackageNotFound,
    domain.PackageAlreadySubmitted,
    domain.ProposalUnknown,
    domain.ProposalInOtherConsultation,
    domain.ProposalIsWithdrawn,
    domain.ProposalAlreadyInPackage,
    domain.ProposalNotAssessed,
    domain.ProposalNotRecommended,
)
async def add_to_package(command: AddToPackage, unit: CommandUnit[None]) -> PackagePublic:
    event = domain.add_to_package(
        await _package(unit, command.package_id),
        await loaders.proposal_facts(unit.session, command.proposal_id),
        proposal_id=command.proposal_id,
    )
    await unit.record(event)
    return await _package_view(unit, command.package_id)


@HANDLERS.register(
    domain.PackageNotFound,
    domain.PackageAlreadySubmitted,
    measures.MeasureUnknown,
    measures.MeasureInOtherConsultation,
    measures.MeasureAlreadyInPackage,
    measures.MeasureNotAdopted,
)
async def add_measure_to_package(command: AddMeasureToPackage, unit: CommandUnit[None]) -> PackagePublic:
    event = measures.add_measure_to_package(
        await _package(unit, command.package_id),
        await loaders.measure_facts(unit.session, command.measure_id),
        measure_id=command.measure_id,
    )
    await unit.record(event)
    return await _package_view(unit, command.package_id)


@HANDLERS.register(domain.PackageNotFound, domain.ProposalNotInPackage, domain.PackageAlreadySubmitted)
async def remove_from_package(command: RemoveFromPackage, unit: CommandUnit[None]) -> PackagePublic:
    event = domain.remove_from_package(
        await _package(unit, command.package_id), proposal_id=command.proposal_id, reason=command.reason
    )
    await unit.record(event)
    return await _package_view(unit, command.package_id)


@HANDLERS.register(
    domain.PackageNotFound,
    domain.PackageAlreadySubmitted,
    domain.PackageEmpty,
    domain.PackageItemNotEligible,
    measures.PackageMeasureNotAdopted,
)
async def submit_package(command: SubmitPackage, unit: CommandUnit[None]) -> PackagePublic:
    package = await _package(unit, command.package_id)
    rows = [await loaders.proposal_row(unit.session, proposal_id) for proposal_id in package.items]
    facts = await loaders.facts_of(unit.session, rows)
    consultation = await unit.session.get(ConsultationRow, package.consultation_id)
    due = consultation.forwarding_due_at if consultation else None
    measure_rows = await loaders.package_measures(unit.session, command.package_id)
    measure_facts = await loaders.measure_facts_of(unit.session, measure_rows)
    forwarded, submitted = domain.submit_package(
        package,
        facts,
        now=unit.now(),
        forwarding_due_at=due,
        measure_ids=[row.measure_id for row in measure_rows],
    )
    measures_forwarded = measures.forward_measures(
        package,
        [measure_facts[row.measure_id] for row in measure_rows],
        now=unit.now(),
        forwarding_due_at=due,
    )
    # One at a time, in this order, as each event's projection may read what the one before made.
    for event in [*forwarded, *measures_forwarded, submitted]:
        await unit.record(event)
    return await _package_view(unit, command.package_id)


# measures


@HANDLERS.register(domain.ConsultationUnknown)
async def draft_measure(command: DraftMeasure, unit: CommandUnit[None]) -> MeasurePublic:
    event = measures.draft_measure(
        measure_id=new_event_id(),
        consultation_id=command.consultation_id,
        terms=command.terms,
        consultation_known=await _consultation_known(unit, command.consultation_id),
    )
    await unit.record(event)
    return await _measure_view(unit, event.measure_id)


@HANDLERS.register(
    measures.MeasureNotFound,
    measures.MeasureInSubmittedPackage,
    domain.ProposalUnknown,
    domain.ProposalInOtherConsultation,
    domain.ProposalIsWithdrawn,
    measures.ProposalIsMisattributed,
    measures.EvidenceAlreadyLinked,
)
async def link_evidence(command: LinkEvidence, unit: CommandUnit[None]) -> MeasurePublic:
    event = measures.link_evidence(
        await _measure(unit, command.measure_id),
        await loaders.proposal_facts(unit.session, command.proposal_id),
        proposal_id=command.proposal_id,
        stance=command.stance,
        note=command.note,
    )
    await unit.record(event)
    return await _measure_view(unit, command.measure_id)


@HANDLERS.register(measures.MeasureNotFound, measures.MeasureAlreadyDecided)
async def revise_measure(command: ReviseMeasure, unit: CommandUnit[None]) -> MeasurePublic:
    event = measures.revise_measure(
        await _measure(unit, command.measure_id), terms=command.terms, rationale=command.rationale
    )
    await unit.record(event)
    return await _measure_view(unit, command.measure_id)


@HANDLERS.register(
    measures.MeasureNotFound,
    measures.MeasureAlreadyDecided,
    measures.MeasureInPackage,
    measures.MeasureInSubmittedPackage,
)
async def decide_measure(command: DecideMeasure, unit: CommandUnit[None]) -> MeasurePublic:
    event = measures.decide_measure(
        await _measure(unit, command.measure_id), decision=command.decision, rationale=command.rationale
    )
    await unit.record(event)
    return await _measure_view(unit, command.measure_id)
