"""How events change the state tables: ``project_own`` for this service's own events, ``project_input``
for the events it consumes (the analysis topic). Commands and the consumer call them live; a rebuild
replays the log and the inbox through the same two functions, so the tables are always derivable."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.canonical import canonical_json, loads
from aireg_events.catalogue.analysis import (
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
)
from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import (
    AttributionDisputed,
    AttributionDisputeResolved,
    ConsultationOpened,
    PersonalDataErased,
    PortalResumed,
    PortalSuspended,
    ProposalAmended,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import Envelope
from aireg_events.sealed import SealedValue
from aireg_submission import domain
from aireg_submission.personal_data import sealed_key_ids, submitter_key_ids
from aireg_submission.store import (
    AttributionDisputeRow,
    ConsultationRow,
    ErasureRow,
    PortalRow,
    ProposalRow,
    Registration,
    RegistrationCounterRow,
    SealedValueUseRow,
)


async def project_own(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    if isinstance(event, ConsultationOpened):
        await _consultation_opened(session, envelope, event)
    elif isinstance(event, ProposalSubmitted):
        await _proposal_submitted(session, envelope, event)
    elif isinstance(event, ProposalAmended):
        proposal = await _proposal(session, event.proposal_id)
        await _record_sealed_use(session, event.proposal_id, submitter_key_ids(event.content.submitter))
        proposal.content = _stored(event.content)
        proposal.version += 1
        proposal.amended_at = envelope.occurred_at
        proposal.stream_version = envelope.stream_version
        proposal.last_event_id = envelope.event_id
        status = domain.status_after(domain.ProposalStatus(proposal.status), event)
        if status != proposal.status:  # an amendment asks for a new assessment
            proposal.status = status.value
            proposal.status_changed_at = envelope.occurred_at
    elif isinstance(event, ProposalWithdrawn):
        proposal = await _proposal(session, event.proposal_id)
        proposal.status = domain.ProposalStatus.withdrawn.value
        proposal.status_changed_at = envelope.occurred_at
        proposal.withdrawn_at = envelope.occurred_at
        proposal.withdrawal_reason = event.reason
        proposal.stream_version = envelope.stream_version
        proposal.last_event_id = envelope.event_id
    elif isinstance(event, PersonalDataErased):
        await _personal_data_erased(session, envelope, event)
    elif isinstance(event, AttributionDisputed):
        proposal = await _proposal(session, event.proposal_id)
        await _record_sealed_use(
            session, event.proposal_id, sealed_key_ids((event.complainant, event.statement))
        )
        session.add(
            AttributionDisputeRow(
                dispute_id=event.dispute_id,
                proposal_id=event.proposal_id,
                consultation_id=event.consultation_id,
                complainant=event.complainant.model_dump(mode="json", exclude_none=True),
                statement=event.statement.model_dump(mode="json", exclude_none=True),
                status="open",
                opened_at=envelope.occurred_at,
                event_id=envelope.event_id,
            )
        )
        proposal.stream_version = envelope.stream_version
        proposal.last_event_id = envelope.event_id
    elif isinstance(event, AttributionDisputeResolved):
        proposal = await _proposal(session, event.proposal_id)
        dispute = await session.get(AttributionDisputeRow, event.dispute_id)
        if dispute is None:
            raise LookupError(f"attribution dispute {event.dispute_id} is not in the state tables")
        dispute.status = "resolved"
        dispute.outcome = event.outcome.value
        dispute.rationale = event.rationale
        dispute.resolved_at = envelope.occurred_at
        dispute.resolution_event_id = envelope.event_id
        status = domain.status_after_resolution(domain.ProposalStatus(proposal.status), event)
        if status != proposal.status:
            proposal.status = status.value
            proposal.status_changed_at = envelope.occurred_at
        proposal.stream_version = envelope.stream_version
        proposal.last_event_id = envelope.event_id
    elif isinstance(event, (PortalSuspended, PortalResumed)):
        portal = await session.get(PortalRow, event.portal)
        if portal is None:
            portal = PortalRow(
                portal=event.portal, suspended=False, reason="", changed_at=envelope.occurred_at, event_id=""
            )
            session.add(portal)
        portal.suspended = isinstance(event, PortalSuspended)
        portal.reason = event.reason
        portal.changed_at = envelope.occurred_at
        portal.event_id = envelope.event_id


async def project_input(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """The analysis topic moves the status a submitter sees; the submission service decides nothing."""
    if not isinstance(
        event, (ProposalTriaged, ReviewerAssigned, ProposalAssessed, ProposalForwardedToGovernment)
    ):
        return
    proposal = await session.get(ProposalRow, event.proposal_id)
    if proposal is None:  # not a proposal of this log (another deployment's, or a test's)
        return
    status = domain.status_after(domain.ProposalStatus(proposal.status), event)
    if status != proposal.status:
        proposal.status = status.value
        proposal.status_changed_at = envelope.occurred_at


async def _consultation_opened(session: AsyncSession, envelope: Envelope, event: ConsultationOpened) -> None:
    session.add(
        ConsultationRow(
            consultation_id=event.consultation_id,
            code=event.code,
            title=event.title,
            description=event.description,
            submission_opens_at=event.submission_opens_at,
            submission_closes_at=event.submission_closes_at,
            analysis_due_at=event.analysis_due_at,
            forwarding_due_at=event.forwarding_due_at,
            late_submissions=event.late_submissions.value,
            time_zone=event.time_zone,
            language=event.language.value,
            opened_at=envelope.occurred_at,
            event_id=envelope.event_id,
        )
    )


def registration(event: ProposalSubmitted, envelope: Envelope) -> Registration:
    """What the proposal row of ``event`` records of its acceptance."""
    return Registration(
        proposal_id=event.proposal_id,
        consultation_id=event.consultation_id,
        registration_number=event.registration_number,
        request_sha256=event.request_sha256,
        received_at=event.received_at,
        late=event.late,
        submitted_event_id=envelope.event_id,
        submitted_log_position=envelope.log_position,
        submitted_event_hash=envelope.hash,
    )


_INSERT_PROPOSAL = insert(ProposalRow.__table__)  # type: ignore[attr-defined]


async def _proposal_submitted(session: AsyncSession, envelope: Envelope, event: ProposalSubmitted) -> None:
    # A Core insert, not an ORM object: the intake's hot path (building and flushing a SQLModel row cost
    # about a tenth of an intake, ``bench/intake.py``). Later reads in the transaction see the row.
    await session.execute(
        _INSERT_PROPOSAL,
        [
            {
                **vars(registration(event, envelope)),
                "portal": event.portal,
                "idempotency_key": event.idempotency_key,
                "content": _stored(event.content),
                "version": 1,
                "stream_version": envelope.stream_version,
                "status": domain.ProposalStatus.submitted.value,
                "status_changed_at": event.received_at,
                "amended_at": None,
                "withdrawn_at": None,
                "withdrawal_reason": None,
                "last_event_id": envelope.event_id,
            }
        ],
    )
    await _record_sealed_use(
        session, event.proposal_id, submitter_key_ids(event.content.submitter), new_proposal=True
    )
    number = domain.parse_registration_number(event.registration_number)
    counter = await session.get(RegistrationCounterRow, event.consultation_id)
    if counter is None:  # the consultation's first proposal: it took its series with it
        counter = RegistrationCounterRow(
            consultation_id=event.consultation_id, year=number.year, series=number.series
        )
        session.add(counter)
    counter.last_number = max(counter.last_number, number.last_number)


def _stored(content: ProposalContent) -> dict[str, Any]:
    """The content as the log holds it (canonical key order), so a rebuild stores the very same JSON."""
    stored: dict[str, Any] = loads(canonical_json(content.model_dump(mode="json")))
    return stored


_INSERT_SEALED_USE = insert(SealedValueUseRow.__table__)  # type: ignore[attr-defined]


async def _record_sealed_use(
    session: AsyncSession, proposal_id: str, key_ids: set[str], *, new_proposal: bool = False
) -> None:
    """``new_proposal``: its submission, which nothing recorded before (the intake's hot path: no look-up)."""
    for key_id in sorted(key_ids):
        if new_proposal or await session.get(SealedValueUseRow, (key_id, proposal_id)) is None:
            await session.execute(_INSERT_SEALED_USE, [{"key_id": key_id, "proposal_id": proposal_id}])


async def _personal_data_erased(session: AsyncSession, envelope: Envelope, event: PersonalDataErased) -> None:
    """Every value sealed under the destroyed keys reads ``{"erased": true}`` in the tables from now on."""
    session.add(
        ErasureRow(
            erasure_id=event.erasure_id,
            subject_digest=event.subject_digest,
            proposals=list(event.proposals),
            erased_at=envelope.occurred_at,
            event_id=envelope.event_id,
        )
    )
    destroyed = set(event.key_ids)
    for proposal_id in event.proposals:
        proposal = await session.get(ProposalRow, proposal_id)
        if proposal is not None:
            proposal.content = _erased(proposal.content, destroyed)
        query = select(AttributionDisputeRow).where(AttributionDisputeRow.proposal_id == proposal_id)
        for dispute in (await session.exec(query)).all():
            dispute.complainant = _erased(dispute.complainant, destroyed)
            dispute.statement = _erased(dispute.statement, destroyed)


def _erased(stored: Any, destroyed: set[str]) -> Any:
    """``stored`` (JSON) with every sealed value naming one of the ``destroyed`` keys replaced by the
    erased one."""
    if isinstance(stored, dict):
        if set(stored) == {"erased", "sealed"} and stored["erased"] is False:
            if SealedValue.model_validate(stored).key_id in destroyed:
                return SealedValue.gone().model_dump(mode="json", exclude_none=True)
            return stored
        return {name: _erased(value, destroyed) for name, value in stored.items()}
    if isinstance(stored, list):
        return [_erased(value, destroyed) for value in stored]
    return stored


async def _proposal(session: AsyncSession, proposal_id: str) -> ProposalRow:
    proposal = await session.get(ProposalRow, proposal_id)
    if proposal is None:
        raise LookupError(f"proposal {proposal_id} is not in the state tables")
    return proposal
