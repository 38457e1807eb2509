"""The handler of each command: load the facts, ask the pure domain, record what it decided.

``HANDLERS`` registers one function per command of :mod:`aireg_submission.commands` with the rules it
may refuse with (what its route documents). The bus runs each one after the log's lock, in its own
savepoint of the next group commit, and projects what it records through ``projections.project_own``.
Handlers answer with the state rows their events made; routes render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aireg_events.bus import CommandUnit, Handlers
from aireg_events.catalogue.submission import ProposalContent
from aireg_events.envelope import new_event_id
from aireg_submission import domain, store
from aireg_submission.commands import (
    AmendProposal,
    DisputeAttribution,
    ErasePersonalData,
    OpenConsultation,
    ResolveDispute,
    ResumePortal,
    SubmitProposal,
    SuspendPortal,
    WithdrawProposal,
)
from aireg_submission.personal_data import DataSubjects
from aireg_submission.projections import registration
from aireg_submission.store import (
    AttributionDisputeRow,
    ConsultationRow,
    PortalRow,
    ProposalRow,
    RegistrationCounterRow,
)

HANDLERS = Handlers()


Unit = CommandUnit[DataSubjects]
"""What a handler of this service works with: ``unit.dependencies`` holds the data subjects' keys
(sealing needs the service's secret)."""


# --- consultations --------------------------------------------------------------------------------


@HANDLERS.register(domain.ConsultationCodeTaken, domain.DeadlinesOutOfOrder)
async def open_consultation(command: OpenConsultation, unit: Unit) -> ConsultationRow:
    event = domain.open_consultation(
        consultation_id=new_event_id(),
        code_taken=await store.consultation_by_code(unit.session, command.code) is not None,
        **command.model_dump(),
    )
    await unit.record(event)
    row = await unit.session.get(ConsultationRow, event.consultation_id)
    assert row is not None
    return row


# --- proposals ------------------------------------------------------------------------------------


@HANDLERS.register(
    domain.PortalIsSuspended,
    domain.ConsultationNotFound,
    domain.SubmissionWindowClosed,
    domain.IdempotencyKeyReused,
    domain.RegistrationNumbersExhausted,
)
async def submit_proposal(command: SubmitProposal, unit: Unit) -> store.Registration:
    """The registration made, or the one a retry (same key, same body) made before."""
    session, portal = unit.session, command.portal
    domain.ensure_portal_active(portal, suspended=await store.portal_is_suspended(session, portal))
    consultation = await session.get(ConsultationRow, command.consultation_id)
    if consultation is None:
        raise domain.ConsultationNotFound(f"no consultation {command.consultation_id}")
    previous = await store.registration_by_idempotency_key(session, portal, command.idempotency_key)
    if previous is not None and domain.is_replay(
        previous.consultation_id,
        previous.request_sha256,
        consultation_id=command.consultation_id,
        sha256=command.request_fingerprint,
    ):
        return previous
    counter = await session.get(RegistrationCounterRow, command.consultation_id)
    if counter is not None:
        numbering = counter.numbering()
    else:
        year = domain.registration_year(consultation.submission_opens_at)
        numbering = domain.first_numbering(year, await store.series_taken(session, year))
    sealed = await unit.dependencies.seal_submitter(session, command.body.submitter, unit.now())
    event = domain.submit_proposal(
        proposal_id=new_event_id(),
        consultation_id=command.consultation_id,
        window=consultation.window(),
        numbering=numbering,
        portal=portal,
        idempotency_key=command.idempotency_key,
        request_fingerprint=command.request_fingerprint,
        content=ProposalContent(**{**dict(command.body), "submitter": sealed}),
        now=unit.now(),
    )
    envelope = await unit.record(event, expected_version=0)  # a new proposal: its stream starts here
    return registration(event, envelope)


async def _proposal(
    unit: Unit, portal: str, proposal_id: str
) -> tuple[ProposalRow | None, domain.Proposal | None]:
    """The proposal as the rules see it (after the portal's own suspension check)."""
    domain.ensure_portal_active(portal, suspended=await store.portal_is_suspended(unit.session, portal))
    row = await unit.session.get(ProposalRow, proposal_id)
    consultation = await unit.session.get(ConsultationRow, row.consultation_id) if row else None
    state = row.state(consultation.window()) if row is not None and consultation is not None else None
    return row, state


@HANDLERS.register(
    domain.PortalIsSuspended,
    domain.ProposalNotFound,
    domain.ProposalIsWithdrawn,
    domain.ProposalIsMisattributed,
    domain.AmendmentWindowClosed,
    domain.InvalidAmendment,
    domain.AmendmentChangesNothing,
)
async def amend_proposal(command: AmendProposal, unit: Unit) -> ProposalRow:
    row, state = await _proposal(unit, command.portal, command.proposal_id)
    changes = dict(command.changes)
    if command.submitter is not None and state is not None and state.portal == command.portal:
        submitter = await unit.dependencies.seal_submitter(unit.session, command.submitter, unit.now())
        changes["submitter"] = submitter.model_dump(mode="json", exclude_none=True)
    event = domain.amend_proposal(
        state,
        proposal_id=command.proposal_id,
        portal=command.portal,
        changes=changes,
        reason=command.reason,
        now=unit.now(),
    )
    await unit.record(event, expected_version=state.stream_version if state else None)
    assert row is not None
    return row


@HANDLERS.register(
    domain.PortalIsSuspended,
    domain.ProposalNotFound,
    domain.ProposalIsWithdrawn,
    domain.ProposalIsMisattributed,
    domain.WithdrawalWindowClosed,
)
async def withdraw_proposal(command: WithdrawProposal, unit: Unit) -> ProposalRow:
    row, state = await _proposal(unit, command.portal, command.proposal_id)
    event = domain.withdraw_proposal(
        state, proposal_id=command.proposal_id, portal=command.portal, reason=command.reason, now=unit.now()
    )
    await unit.record(event, expected_version=state.stream_version if state else None)
    assert row is not None
    return row


# --- portals --------------------------------------------------------------------------------------


@HANDLERS.register(domain.PortalAlreadySuspended)
async def suspend_portal(command: SuspendPortal, unit: Unit) -> PortalRow:
    suspended = await store.portal_is_suspended(unit.session, command.portal)
    await unit.record(domain.suspend_portal(command.portal, suspended=suspended, reason=command.reason))
    row = await unit.session.get(PortalRow, command.portal)
    assert row is not None
    return row


@HANDLERS.register(domain.PortalNotSuspended)
async def resume_portal(command: ResumePortal, unit: Unit) -> PortalRow:
    suspended = await store.portal_is_suspended(unit.session, command.portal)
    await unit.record(domain.resume_portal(command.portal, suspended=suspended, reason=command.reason))
    row = await unit.session.get(PortalRow, command.portal)
    assert row is not None
    return row


# --- the people behind proposals ------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """An erasure as recorded; ``destroyed``: this command destroyed the key (not a repeat)."""

    erasure_id: str
    proposals: list[str]
    erased_at: datetime
    event_id: str
    destroyed: bool


@HANDLERS.register(domain.DataSubjectNotFound)
async def erase_personal_data(command: ErasePersonalData, unit: Unit) -> Erasure:
    """The log's lock is held (the bus): no intake of this subject runs beside the erasure."""
    subjects, session = unit.dependencies, unit.session
    key_id = await subjects.key_of_subject(session, command.subject_digest)
    if key_id is None:
        done = await store.latest_erasure(session, command.subject_digest)
        if done is not None:
            return Erasure(done.erasure_id, done.proposals, done.erased_at, done.event_id, destroyed=False)
    event = domain.erase_personal_data(
        erasure_id=new_event_id(),
        subject_digest=command.subject_digest,
        key_id=key_id,
        proposals=await store.proposals_sealed_under(session, key_id) if key_id else [],
        reason=command.reason,
        legal_basis=command.legal_basis,
    )
    assert key_id is not None
    await subjects.destroy(session, key_id)
    envelope = await unit.record(event)
    return Erasure(event.erasure_id, event.proposals, envelope.occurred_at, envelope.event_id, destroyed=True)


@HANDLERS.register(domain.ProposalNotFound)
async def dispute_attribution(command: DisputeAttribution, unit: Unit) -> AttributionDisputeRow:
    subjects, session = unit.dependencies, unit.session
    row = await session.get(ProposalRow, command.proposal_id)
    consultation = await session.get(ConsultationRow, row.consultation_id) if row else None
    state = row.state(consultation.window()) if row is not None and consultation is not None else None
    subject = ProposalContent.model_validate(row.content).submitter if row is not None else None
    event = domain.dispute_attribution(
        state,
        proposal_id=command.proposal_id,
        dispute_id=new_event_id(),
        complainant=await subjects.seal_beside(session, subject, "complainant", command.complainant),
        statement=await subjects.seal_beside(session, subject, "statement", command.statement),
    )
    await unit.record(event, expected_version=state.stream_version if state else None)
    dispute = await session.get(AttributionDisputeRow, event.dispute_id)
    assert dispute is not None
    return dispute


@HANDLERS.register(domain.DisputeNotFound, domain.DisputeAlreadyResolved)
async def resolve_dispute(command: ResolveDispute, unit: Unit) -> AttributionDisputeRow:
    dispute = await unit.session.get(AttributionDisputeRow, command.dispute_id)
    event = domain.resolve_dispute(
        dispute.state() if dispute is not None else None,
        dispute_id=command.dispute_id,
        outcome=command.outcome,
        rationale=command.rationale,
    )
    await unit.record(event)
    assert dispute is not None
    return dispute
