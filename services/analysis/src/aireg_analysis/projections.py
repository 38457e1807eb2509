"""How events change the analysis service's tables, live and on rebuild: ``project_input`` for the
submission events it consumes (facts only, no decisions), ``project_own`` for its own decisions. The
state is therefore the fold of its own log and its inbox, interleaved as recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import domain, measures
from aireg_analysis.campaign_book import Decision, fold_campaigns
from aireg_analysis.similarity import SimilarityMethod, band_keys, signature, text_fingerprint, to_bytes
from aireg_analysis.store import (
    ASSIGNMENTS,
    BANDS,
    DIRECTIONS,
    PROPOSALS,
    SIGNATURES,
    SIMILARITIES,
    AssessmentRow,
    AssignmentRow,
    ConsultationRow,
    MeasureEvidenceRow,
    MeasureRow,
    PackageItemRow,
    PackageRow,
    ProposalRow,
    ReviewRow,
    plain_sql,
)
from aireg_events.canonical import canonical_json, loads
from aireg_events.catalogue.analysis import (
    GovernmentPackageOpened,
    GovernmentPackageSubmitted,
    MeasureAddedToPackage,
    MeasureDecided,
    MeasureDecision,
    MeasureDrafted,
    MeasureForwardedToGovernment,
    MeasureRevised,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalLinkedToMeasure,
    ProposalReleasedFromCampaign,
    ProposalRemovedFromPackage,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import (
    AttributionDisputeResolved,
    ConsultationOpened,
    DisputeOutcome,
    ProposalAmended,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import Envelope

logger = logging.getLogger(__name__)

# What runs once per proposal is plain SQL built once (bound parameters): the ORM's bookkeeping and a
# statement's construction and cache key would cost more than the SQL (``bench/consumers.py``).
_PROPOSAL_EXISTS = sa_select(PROPOSALS.c.proposal_id).where(
    PROPOSALS.c.proposal_id == bindparam("proposal_id")
)
_INSERT_PROPOSAL = insert(PROPOSALS)
_UPDATE_PROPOSAL = update(PROPOSALS).where(PROPOSALS.c.proposal_id == bindparam("target"))
"""The columns set are the keys of the parameters (``target``: the proposal's id)."""
_TRIAGE_STATE = sa_select(
    PROPOSALS.c.consultation_id,
    PROPOSALS.c.version,
    PROPOSALS.c.triaged_version,
    PROPOSALS.c.campaign_id,
    PROPOSALS.c.withdrawn,
    PROPOSALS.c.forwarded_at,
    PROPOSALS.c.assessed_version,
    PROPOSALS.c.package_id,
    PROPOSALS.c.content["text"].as_string(),
    sa_select(ASSIGNMENTS.c.reviewer).where(ASSIGNMENTS.c.proposal_id == PROPOSALS.c.proposal_id).exists(),
).where(PROPOSALS.c.proposal_id == bindparam("proposal_id"))
_INSERT_INTO = {table.name: insert(table) for table in (DIRECTIONS, SIGNATURES, BANDS, SIMILARITIES)}
_DELETE_FROM = {
    table.name: delete(table).where(table.c.proposal_id == bindparam("proposal_id"))
    for table in (DIRECTIONS, SIGNATURES, BANDS, SIMILARITIES)
}


def _document(value: Any) -> Any:
    """A JSON column's value with its keys in canonical order, the same live and when rebuilt."""
    return loads(canonical_json(value))


# --- consumed submission events -------------------------------------------------------------------------


async def project_input(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """Record a fact the submission service announced. Returns without effect for events it ignores."""
    if isinstance(event, ConsultationOpened):
        await session.merge(
            ConsultationRow(
                consultation_id=event.consultation_id,
                code=event.code,
                title=event.title,
                submission_closes_at=event.submission_closes_at,
                analysis_due_at=event.analysis_due_at,
                forwarding_due_at=event.forwarding_due_at,
            )
        )
    elif isinstance(event, ProposalSubmitted):
        await record_submission(session, envelope, event)
    elif isinstance(event, ProposalAmended):
        amended = await session.get(ProposalRow, event.proposal_id)
        if amended is None:
            logger.warning(
                "amendment of unknown proposal %s (event %s); ignored", event.proposal_id, envelope.event_id
            )
            return
        amended.version += 1
        amended.title = event.content.title
        amended.submitter_name = event.content.submitter.public_name
        amended.submitter_kind = event.content.submitter.kind.value
        amended.content = _document(event.content.model_dump(mode="json"))
        amended.text_sha256 = text_fingerprint(event.content.text)
        session.add(amended)
        await _set_directions(session, amended.proposal_id, event.content, existing=True)
        await restatus(session, amended)
    elif isinstance(event, ProposalWithdrawn):
        withdrawn = await session.get(ProposalRow, event.proposal_id)
        if withdrawn is None:
            logger.warning(
                "withdrawal of unknown proposal %s (event %s); ignored", event.proposal_id, envelope.event_id
            )
            return
        withdrawn.withdrawn = True
        session.add(withdrawn)
        await _forget_signature(session, withdrawn.proposal_id)
        await fold_campaigns(session, [Decision(envelope, event)])
        await restatus(session, withdrawn)
    elif isinstance(event, AttributionDisputeResolved) and event.outcome is DisputeOutcome.upheld:
        misattributed = await session.get(ProposalRow, event.proposal_id)
        if misattributed is None:
            logger.warning(
                "dispute on unknown proposal %s (event %s); ignored", event.proposal_id, envelope.event_id
            )
            return
        misattributed.misattributed = True  # it leaves the queue; its decisions stay in the log
        await restatus(session, misattributed)


async def record_submission(session: AsyncSession, envelope: Envelope, event: ProposalSubmitted) -> bool:
    """Record a submitted proposal; False (and nothing changes) when its id was submitted before."""
    connection = await plain_sql(session)
    if (await connection.execute(_PROPOSAL_EXISTS, {"proposal_id": event.proposal_id})).first() is not None:
        logger.warning(
            "proposal %s was submitted twice (event %s); ignored", event.proposal_id, envelope.event_id
        )
        return False
    await connection.execute(_INSERT_PROPOSAL, _submitted_row(event))
    await _set_directions(session, event.proposal_id, event.content, existing=False)
    return True


def _submitted_row(event: ProposalSubmitted) -> dict[str, Any]:
    """The proposal's row as its submission records it (received, not triaged)."""
    content = event.content
    return {
        "proposal_id": event.proposal_id,
        "consultation_id": event.consultation_id,
        "registration_number": event.registration_number,
        "portal": event.portal,
        "received_at": event.received_at,
        "late": event.late,
        "title": content.title,
        "submitter_name": content.submitter.public_name,
        "submitter_kind": content.submitter.kind.value,
        "content": _document(content.model_dump(mode="json")),
        "version": 1,
        "text_sha256": text_fingerprint(content.text),
        "status": domain.ProposalStatus.received.value,
        "withdrawn": False,
        "misattributed": False,
        "triaged_version": None,
        "complete": None,
        "missing": [],
        "exact_duplicate_of": None,
        "campaign_id": None,
        "released_from_campaign": False,
        "assessed_version": None,
        "outcome": None,
        "package_id": None,
        "forwarded_at": None,
        "triage_event_id": None,
    }


async def _set_directions(
    session: AsyncSession, proposal_id: str, content: ProposalContent, *, existing: bool
) -> None:
    rows = [{"proposal_id": proposal_id, "direction": direction.value} for direction in content.directions]
    await _replace_rows(session, DIRECTIONS, proposal_id, rows, existing=existing)


async def _replace_rows(
    session: AsyncSession,
    table: Table,
    proposal_id: str,
    rows: list[dict[str, Any]],
    *,
    existing: bool = True,
) -> None:
    """The rows of ``table`` keyed by ``proposal_id`` become ``rows`` (``existing``: there may be some).

    Plain SQL on the session's connection, no ORM objects: these tables take many rows per proposal,
    nothing reads them back as objects, and the ORM's bookkeeping would cost more than the SQL."""
    connection = await session.connection()
    if existing:
        await connection.execute(_DELETE_FROM[table.name], {"proposal_id": proposal_id})
    if rows:
        await connection.execute(_INSERT_INTO[table.name], rows)


async def _update_proposal(session: AsyncSession, proposal_id: str, values: dict[str, Any]) -> None:
    """Set ``values`` on the proposal's row with plain SQL, and on the ORM's copy if the session holds
    one (it would be stale otherwise: a later command of the same unit of work reads it)."""
    connection = await plain_sql(session)
    await connection.execute(_UPDATE_PROPOSAL, {"target": proposal_id, **values})
    loaded = session.identity_map.get(identity_key(ProposalRow, proposal_id))
    if loaded is not None:
        for key, value in values.items():
            set_committed_value(loaded, key, value)


async def restatus(session: AsyncSession, row: ProposalRow) -> None:
    """Derive the stored workflow status again from the row and its assignments."""
    assigned = (
        await session.exec(
            select(AssignmentRow.reviewer).where(AssignmentRow.proposal_id == row.proposal_id).limit(1)
        )
    ).first() is not None
    row.status = domain.proposal_status(
        withdrawn=row.withdrawn,
        misattributed=row.misattributed,
        forwarded=row.forwarded_at is not None,
        assessment_current=row.assessed_version is not None and row.assessed_version == row.version,
        in_package=row.package_id is not None,
        assigned=assigned,
        triaged_current=row.triaged_version == row.version,
    ).value
    session.add(row)


# --- the LSH index and campaigns ------------------------------------------------------------------------


async def _forget_signature(session: AsyncSession, proposal_id: str) -> None:
    await _replace_rows(session, BANDS, proposal_id, [])
    await _replace_rows(session, SIGNATURES, proposal_id, [])


async def _index_signature(
    session: AsyncSession,
    proposal: ProposalUnderTriage,
    method: SimilarityMethod,
    *,
    existing: bool,
) -> None:
    """Replace the proposal's signature and band keys with those of its current text."""
    signature_row, bands = _signature_rows(proposal, method)
    if signature_row is None:  # a text without words resembles nothing
        if existing:
            await _forget_signature(session, proposal.proposal_id)
        return
    await _replace_rows(session, SIGNATURES, proposal.proposal_id, [signature_row], existing=existing)
    await _replace_rows(session, BANDS, proposal.proposal_id, bands, existing=existing)


def _signature_rows(
    proposal: ProposalUnderTriage, method: SimilarityMethod
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The signature row and band rows of the proposal's text (none for a text without words)."""
    values = signature(proposal.text, method)
    if values is None:
        return None, []
    signature_row = {
        "proposal_id": proposal.proposal_id,
        "consultation_id": proposal.consultation_id,
        "proposal_version": proposal.version,
        "method_key": method.key,
        "hashvalues": to_bytes(values),
    }
    bands = [
        {
            "proposal_id": proposal.proposal_id,
            "band": band,
            "consultation_id": proposal.consultation_id,
            "bucket": key,
        }
        for band, key in enumerate(band_keys(values, method))
    ]
    return signature_row, bands


def _similarity_rows(proposal_id: str, event: ProposalTriaged) -> list[dict[str, Any]]:
    return [
        {
            "proposal_id": proposal_id,
            "similar_id": entry.proposal_id,
            "similarity": entry.similarity,
            "rank": rank,
        }
        for rank, entry in enumerate(event.similar, start=1)
    ]


# --- this service's own decisions -----------------------------------------------------------------------


async def project_own(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """Apply one of the analysis service's own events to its tables."""
    if isinstance(event, ProposalTriaged):
        await _project_triage(
            session, envelope, event, await _proposal_under_triage(session, event.proposal_id)
        )
    elif isinstance(event, ProposalReleasedFromCampaign):
        row = await _proposal(session, event.proposal_id)
        row.released_from_campaign = True
        session.add(row)
        await fold_campaigns(session, [Decision(envelope, event)])
    elif isinstance(event, ReviewerAssigned):
        session.add(
            AssignmentRow(
                proposal_id=event.proposal_id,
                reviewer=event.reviewer,
                organization=event.organization.value,
                assigned_at=envelope.occurred_at,
                assigned_by=envelope.actor.name,
                event_id=envelope.event_id,
            )
        )
        await session.flush()
        await restatus(session, await _proposal(session, event.proposal_id))
    elif isinstance(event, ReviewSubmitted):
        session.add(
            ReviewRow(
                review_id=event.review_id,
                proposal_id=event.proposal_id,
                reviewer=event.reviewer,
                organization=event.organization.value,
                proposal_version=event.proposal_version,
                legal_soundness=event.scores.legal_soundness,
                feasibility=event.scores.feasibility,
                risk_reduction=event.scores.risk_reduction,
                innovation_impact=event.scores.innovation_impact,
                recommendation=event.recommendation.value,
                rationale=event.rationale,
                submitted_at=envelope.occurred_at,
                event_id=envelope.event_id,
            )
        )
    elif isinstance(event, ProposalAssessed):
        row = await _proposal(session, event.proposal_id)
        version = event.proposal_version or row.version
        session.add(
            AssessmentRow(
                event_id=envelope.event_id,
                proposal_id=event.proposal_id,
                proposal_version=version,
                outcome=event.outcome.value,
                merged_into=event.merged_into,
                rationale=event.rationale,
                review_ids=list(event.review_ids),
                late=event.late,
                risks_of_adoption=[risk.model_dump(mode="json") for risk in event.risks_of_adoption],
                risks_of_rejection=[risk.model_dump(mode="json") for risk in event.risks_of_rejection],
                assessed_by=envelope.actor.name,
                assessed_at=envelope.occurred_at,
            )
        )
        row.assessed_version = version
        row.outcome = event.outcome.value
        await restatus(session, row)
    elif isinstance(event, GovernmentPackageOpened):
        session.add(
            PackageRow(
                package_id=event.package_id,
                consultation_id=event.consultation_id,
                title=event.title,
                status="open",
                opened_at=envelope.occurred_at,
                event_id=envelope.event_id,
            )
        )
    elif isinstance(event, ProposalAddedToPackage):
        count = (
            await session.exec(
                select(func.max(PackageItemRow.position)).where(PackageItemRow.package_id == event.package_id)
            )
        ).one()
        session.add(
            PackageItemRow(
                package_id=event.package_id,
                proposal_id=event.proposal_id,
                position=(count or 0) + 1,
                added_at=envelope.occurred_at,
                event_id=envelope.event_id,
            )
        )
        row = await _proposal(session, event.proposal_id)
        row.package_id = event.package_id
        await restatus(session, row)
    elif isinstance(event, ProposalRemovedFromPackage):
        await session.execute(
            delete(PackageItemRow).where(
                col(PackageItemRow.package_id) == event.package_id,
                col(PackageItemRow.proposal_id) == event.proposal_id,
            )
        )
        row = await _proposal(session, event.proposal_id)
        row.package_id = None
        await restatus(session, row)
    elif isinstance(event, ProposalForwardedToGovernment):
        row = await _proposal(session, event.proposal_id)
        row.forwarded_at = envelope.occurred_at
        await restatus(session, row)
    elif isinstance(event, GovernmentPackageSubmitted):
        package = await session.get(PackageRow, event.package_id)
        if package is None:
            raise LookupError(f"package {event.package_id} is not in the store")
        package.status = "submitted"
        package.submitted_at = envelope.occurred_at
        package.late = event.late
        package.counts = _document(event.counts)
        session.add(package)
    else:
        await _project_measure(session, envelope, event)


async def _project_measure(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """Measures: drafted, evidenced, revised, decided, packaged and forwarded."""
    if isinstance(event, MeasureDrafted):
        session.add(
            MeasureRow(
                measure_id=event.measure_id,
                consultation_id=event.consultation_id,
                terms=event.terms.model_dump(mode="json"),
                status=measures.MeasureStatus.drafted.value,
                drafted_at=envelope.occurred_at,
                drafted_by=envelope.actor.name,
            )
        )
        return
    if isinstance(event, ProposalLinkedToMeasure):
        session.add(
            MeasureEvidenceRow(
                measure_id=event.measure_id,
                proposal_id=event.proposal_id,
                stance=event.stance.value,
                note=event.note,
                campaign_id=event.campaign_id,
                linked_at=envelope.occurred_at,
                linked_by=envelope.actor.name,
                event_id=envelope.event_id,
            )
        )
        return
    measure_id = getattr(event, "measure_id", None)
    if not isinstance(measure_id, str):
        return
    measure = await session.get(MeasureRow, measure_id)
    if measure is None:
        raise LookupError(f"measure {measure_id} is not in the store")
    if isinstance(event, MeasureRevised):
        measure.terms = event.terms.model_dump(mode="json")
        measure.revision += 1
    elif isinstance(event, MeasureDecided):
        adopted = event.decision == MeasureDecision.adopt
        measure.status = (measures.MeasureStatus.adopted if adopted else measures.MeasureStatus.dropped).value
        measure.decided_at = envelope.occurred_at
        measure.decided_by = envelope.actor.name
        measure.decision_rationale = event.rationale
    elif isinstance(event, MeasureAddedToPackage):
        count = (
            await session.exec(
                select(func.max(MeasureRow.package_position)).where(MeasureRow.package_id == event.package_id)
            )
        ).one()
        measure.package_id = event.package_id
        measure.package_position = (count or 0) + 1
    elif isinstance(event, MeasureForwardedToGovernment):
        measure.forwarded_at = envelope.occurred_at
    session.add(measure)


async def _proposal(session: AsyncSession, proposal_id: str) -> ProposalRow:
    row = await session.get(ProposalRow, proposal_id)
    if row is None:
        raise LookupError(f"proposal {proposal_id} is not in the store")
    return row


@dataclass(frozen=True)
class ProposalUnderTriage:
    """What the projection of a triage needs of the proposal's row (read with one query)."""

    proposal_id: str
    consultation_id: str
    version: int
    triaged_version: int | None
    campaign_id: str | None
    withdrawn: bool
    forwarded: bool
    assessed_version: int | None
    package_id: str | None
    text: str
    assigned: bool

    @classmethod
    def just_submitted(cls, event: ProposalSubmitted) -> ProposalUnderTriage:
        """The row ``record_submission`` wrote for ``event``, in the same unit of work: nothing has
        happened to it yet, so the consumer that triages it need not read it back."""
        return cls(
            proposal_id=event.proposal_id,
            consultation_id=event.consultation_id,
            version=1,
            triaged_version=None,
            campaign_id=None,
            withdrawn=False,
            forwarded=False,
            assessed_version=None,
            package_id=None,
            text=event.content.text,
            assigned=False,
        )


async def _proposal_under_triage(session: AsyncSession, proposal_id: str) -> ProposalUnderTriage:
    connection = await plain_sql(session)
    row = (await connection.execute(_TRIAGE_STATE, {"proposal_id": proposal_id})).first()
    if row is None:
        raise LookupError(f"proposal {proposal_id} is not in the store")
    (
        consultation_id,
        version,
        triaged_version,
        campaign_id,
        withdrawn,
        forwarded_at,
        assessed,
        package,
        text,
        assigned,
    ) = row
    return ProposalUnderTriage(
        proposal_id=proposal_id,
        consultation_id=consultation_id,
        version=version,
        triaged_version=triaged_version,
        campaign_id=campaign_id,
        withdrawn=bool(withdrawn),
        forwarded=forwarded_at is not None,
        assessed_version=assessed,
        package_id=package,
        text=text,
        assigned=bool(assigned),
    )


async def _project_triage(
    session: AsyncSession, envelope: Envelope, event: ProposalTriaged, proposal: ProposalUnderTriage
) -> None:
    """Apply a triage decision to ``proposal`` (as its row stands before the decision)."""
    triaged_before = proposal.triaged_version is not None
    status = domain.proposal_status(
        withdrawn=proposal.withdrawn,
        forwarded=proposal.forwarded,
        assessment_current=proposal.assessed_version == proposal.version,
        in_package=proposal.package_id is not None,
        assigned=proposal.assigned,
        triaged_current=event.proposal_version == proposal.version,
    )
    await _update_proposal(
        session,
        proposal.proposal_id,
        {
            "triaged_version": event.proposal_version,
            "complete": event.complete,
            "missing": list(event.missing),
            "exact_duplicate_of": event.exact_duplicate_of,
            "triage_event_id": envelope.event_id,
            "status": status.value,
        },
    )
    method = SimilarityMethod.from_description(event.method)
    await _index_signature(session, proposal, method, existing=triaged_before)
    similar = _similarity_rows(proposal.proposal_id, event)
    await _replace_rows(session, SIMILARITIES, proposal.proposal_id, similar, existing=triaged_before)
    if event.exact_duplicates:
        await session.execute(
            update(ProposalRow)
            .where(col(ProposalRow.proposal_id).in_(event.exact_duplicates))
            .values(exact_duplicate_of=proposal.proposal_id)
        )
    await fold_campaigns(session, [Decision(envelope, event)])


# --- a run of new submissions and their first triage, written at once ----------------------------------

_SET_DUPLICATE_OF = (
    update(PROPOSALS)
    .where(PROPOSALS.c.proposal_id == bindparam("target"))
    .values(exact_duplicate_of=bindparam("original"))
)


@dataclass(frozen=True)
class TriagedSubmission:
    """A new proposal's submission and the triage it caused, appended in the same unit of work."""

    submitted: ProposalSubmitted
    envelope: Envelope
    """The ``ProposalTriaged``'s."""
    triaged: ProposalTriaged


async def project_triaged_submissions(session: AsyncSession, run: list[TriagedSubmission]) -> None:
    """Record new proposals and apply their first triage: the state that ``project_input`` of each
    submission followed by ``project_own`` of its triage, in the order of ``run``, would leave, with a
    few statements for the whole run (the proposals are new: none is recorded yet, ids distinct)."""
    connection = await plain_sql(session)
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, ProposalRow):
            session.expunge(loaded)  # its copy would be stale after the statements below
    duplicate_of: dict[str, str | None] = {}
    for item in run:  # the exact duplicates of the run, as one triage after the other marks them
        event = item.triaged
        duplicate_of[item.submitted.proposal_id] = event.exact_duplicate_of
        for later in event.exact_duplicates:
            duplicate_of[later] = item.submitted.proposal_id
    new_ids = {item.submitted.proposal_id for item in run}
    proposals, directions, signatures, bands, similarities = [], [], [], [], []
    for item in run:
        submitted, event = item.submitted, item.triaged
        proposal = ProposalUnderTriage.just_submitted(submitted)
        row = _submitted_row(submitted)
        row.update(
            triaged_version=event.proposal_version,
            complete=event.complete,
            missing=list(event.missing),
            exact_duplicate_of=duplicate_of[submitted.proposal_id],
            triage_event_id=item.envelope.event_id,
            status=domain.proposal_status(
                withdrawn=False,
                forwarded=False,
                assessment_current=False,
                in_package=False,
                assigned=False,
                triaged_current=event.proposal_version == proposal.version,
            ).value,
        )
        proposals.append(row)
        directions += [
            {"proposal_id": submitted.proposal_id, "direction": direction.value}
            for direction in submitted.content.directions
        ]
        signature_row, band_rows = _signature_rows(proposal, SimilarityMethod.from_description(event.method))
        if signature_row is not None:
            signatures.append(signature_row)
        bands += band_rows
        similarities += _similarity_rows(submitted.proposal_id, event)
    await connection.execute(_INSERT_PROPOSAL, proposals)
    for table, rows in (
        (DIRECTIONS, directions),
        (SIGNATURES, signatures),
        (BANDS, bands),
        (SIMILARITIES, similarities),
    ):
        if rows:
            await connection.execute(_INSERT_INTO[table.name], rows)
    originals = [
        {"target": proposal_id, "original": original}
        for proposal_id, original in duplicate_of.items()
        if proposal_id not in new_ids
    ]
    if originals:
        await connection.execute(_SET_DUPLICATE_OF, originals)
    await fold_campaigns(session, [Decision(item.envelope, item.triaged) for item in run])
