"""The analysis service's one projector: how each event changes its tables, a function per event type
(the submission events it consumes, facts only, and its own decisions), called alike by the commands
(the bus), the live consumer, its batches and the rebuild. The state is therefore the fold of its own
log and its inbox, interleaved as recorded.

Batching lives underneath :func:`project`: a new proposal's submission and its first triage are held in
the unit of work's write buffer and written by :func:`flush` with one statement per table (and the
campaign book folded once for the lot); any other event flushes the buffer first. A caller flushes
before it reads the tables and before its unit of work ends (:func:`project_now` does both at once).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
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
from aireg_analysis.tables import (
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
    PROPOSALS.c.proposal_id,
    PROPOSALS.c.consultation_id,
    PROPOSALS.c.version,
    PROPOSALS.c.triaged_version,
    PROPOSALS.c.withdrawn,
    PROPOSALS.c.misattributed,
    PROPOSALS.c.forwarded_at,
    PROPOSALS.c.assessed_version,
    PROPOSALS.c.package_id,
    PROPOSALS.c.content["text"].as_string().label("text"),
    sa_select(ASSIGNMENTS.c.reviewer)
    .where(ASSIGNMENTS.c.proposal_id == PROPOSALS.c.proposal_id)
    .exists()
    .label("assigned"),
).where(PROPOSALS.c.proposal_id == bindparam("proposal_id"))
_INSERT_INTO = {table.name: insert(table) for table in (DIRECTIONS, SIGNATURES, BANDS, SIMILARITIES)}
_SET_DUPLICATE_OF = (
    update(PROPOSALS)
    .where(PROPOSALS.c.proposal_id == bindparam("target"))
    .values(exact_duplicate_of=bindparam("original"))
)
_DELETE_FROM = {
    table.name: delete(table).where(table.c.proposal_id == bindparam("proposal_id"))
    for table in (DIRECTIONS, SIGNATURES, BANDS, SIMILARITIES)
}


def _document(value: Any) -> Any:
    """A JSON column's value with its keys in canonical order, the same live and when rebuilt."""
    return loads(canonical_json(value))


# --- the one door -----------------------------------------------------------------------------------------

Projection = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
_PROJECTIONS: dict[type[DomainEvent], Projection] = {}
_BUFFERED: set[type[DomainEvent]] = set()


def _projects(*event_types: type[DomainEvent], buffered: bool = False) -> Callable[[Projection], Projection]:
    def register(function: Projection) -> Projection:
        for event_type in event_types:
            _PROJECTIONS[event_type] = function
            if buffered:
                _BUFFERED.add(event_type)
        return function

    return register


async def project(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """Apply ``event`` (consumed or this service's own) to the tables; events it ignores change nothing.
    A new proposal's submission and first triage may wait in the write buffer: see :func:`flush`."""
    projection = _PROJECTIONS.get(type(event))
    if projection is None:
        return
    if type(event) not in _BUFFERED:
        await flush(session)
    await projection(session, envelope, event)


async def project_now(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    """:func:`project` and :func:`flush`: for a caller whose next step reads the tables or ends the unit
    of work (the bus's commands, the rebuild)."""
    await project(session, envelope, event)
    await flush(session)


# --- the write buffer of a unit of work ---------------------------------------------------------------

_BUFFER = "aireg_analysis.write_buffer"


@dataclass
class _WriteBuffer:
    """New proposals' rows and their first triage, not written yet, for one (nested) transaction."""

    transaction: object
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Table name -> rows to insert (directions, signatures, bands, similarities)."""
    originals: dict[str, str] = field(default_factory=dict)
    """Proposals recorded before, now marked exact duplicates of a new one."""
    decisions: list[Decision] = field(default_factory=list)

    def add_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self.rows.setdefault(table.name, []).extend(rows)


async def _buffer(session: AsyncSession) -> _WriteBuffer:
    """The buffer of the transaction under way (begun here if none is): one that a rolled back
    savepoint or transaction left behind is dropped."""
    await session.connection()
    sync_session = session.sync_session
    transaction = sync_session.get_nested_transaction() or sync_session.get_transaction()
    buffer = session.info.get(_BUFFER)
    if not isinstance(buffer, _WriteBuffer) or not _active(buffer):
        buffer = session.info[_BUFFER] = _WriteBuffer(transaction)
    return buffer


def _active(buffer: _WriteBuffer) -> bool:
    return bool(getattr(buffer.transaction, "is_active", False))


async def flush(session: AsyncSession) -> None:
    """Write what the buffer holds: one statement per table, then the campaign book folded once."""
    buffer = session.info.pop(_BUFFER, None)
    if not isinstance(buffer, _WriteBuffer) or not _active(buffer):
        return  # nothing held, or what was held was rolled back
    if not buffer.proposals:
        return
    connection = await plain_sql(session)
    await connection.execute(_INSERT_PROPOSAL, list(buffer.proposals.values()))
    for table in (DIRECTIONS, SIGNATURES, BANDS, SIMILARITIES):
        rows = buffer.rows.get(table.name)
        if rows:
            await connection.execute(_INSERT_INTO[table.name], rows)
    if buffer.originals:
        await connection.execute(
            _SET_DUPLICATE_OF,
            [{"target": target, "original": original} for target, original in buffer.originals.items()],
        )
        for target, original in buffer.originals.items():
            loaded = session.identity_map.get(identity_key(ProposalRow, target))
            if loaded is not None:
                set_committed_value(loaded, "exact_duplicate_of", original)
    await fold_campaigns(session, buffer.decisions)


# --- the workflow status --------------------------------------------------------------------------------


def _workflow_status(proposal: Mapping[str, Any], *, assigned: bool) -> domain.WorkflowStatus:
    """The stored status, from the proposal's columns (a row, or a row about to be written)."""
    return domain.workflow_status(
        withdrawn=bool(proposal["withdrawn"]),
        misattributed=bool(proposal["misattributed"]),
        forwarded=proposal["forwarded_at"] is not None,
        assessment_current=proposal["assessed_version"] is not None
        and proposal["assessed_version"] == proposal["version"],
        in_package=proposal["package_id"] is not None,
        assigned=assigned,
        triaged_current=proposal["triaged_version"] == proposal["version"],
    )


async def restatus(session: AsyncSession, row: ProposalRow) -> None:
    """Derive the stored workflow status again from the row and its assignments."""
    assigned = (
        await session.exec(
            select(AssignmentRow.reviewer).where(AssignmentRow.proposal_id == row.proposal_id).limit(1)
        )
    ).first() is not None
    columns = {name: getattr(row, name) for name in _STATUS_COLUMNS}
    row.status = _workflow_status(columns, assigned=assigned).value
    session.add(row)


_STATUS_COLUMNS = (
    "withdrawn",
    "misattributed",
    "forwarded_at",
    "assessed_version",
    "version",
    "package_id",
    "triaged_version",
)


# --- consumed submission events -------------------------------------------------------------------------


@_projects(ConsultationOpened)
async def _consultation_opened(session: AsyncSession, envelope: Envelope, event: ConsultationOpened) -> None:
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


@_projects(ProposalSubmitted, buffered=True)
async def _proposal_submitted(session: AsyncSession, envelope: Envelope, event: ProposalSubmitted) -> None:
    """A submitted proposal, held in the buffer; nothing changes when its id was submitted before."""
    buffer = await _buffer(session)
    if event.proposal_id in buffer.proposals or (
        (
            await (await plain_sql(session)).execute(_PROPOSAL_EXISTS, {"proposal_id": event.proposal_id})
        ).first()
        is not None
    ):
        logger.warning(
            "proposal %s was submitted twice (event %s); ignored", event.proposal_id, envelope.event_id
        )
        return
    buffer.proposals[event.proposal_id] = _submitted_row(event)
    buffer.add_rows(DIRECTIONS, _direction_rows(event.proposal_id, event.content))


@_projects(ProposalAmended)
async def _proposal_amended(session: AsyncSession, envelope: Envelope, event: ProposalAmended) -> None:
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
    await _replace_rows(
        session, DIRECTIONS, amended.proposal_id, _direction_rows(amended.proposal_id, event.content)
    )
    await restatus(session, amended)


@_projects(ProposalWithdrawn)
async def _proposal_withdrawn(session: AsyncSession, envelope: Envelope, event: ProposalWithdrawn) -> None:
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


@_projects(AttributionDisputeResolved)
async def _attribution_dispute_resolved(
    session: AsyncSession, envelope: Envelope, event: AttributionDisputeResolved
) -> None:
    if event.outcome is not DisputeOutcome.upheld:
        return
    misattributed = await session.get(ProposalRow, event.proposal_id)
    if misattributed is None:
        logger.warning(
            "dispute on unknown proposal %s (event %s); ignored", event.proposal_id, envelope.event_id
        )
        return
    misattributed.misattributed = True  # it leaves the queue; its decisions stay in the log
    await restatus(session, misattributed)


# --- rows -------------------------------------------------------------------------------------------


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
        "status": domain.WorkflowStatus.received.value,
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


def _direction_rows(proposal_id: str, content: ProposalContent) -> list[dict[str, Any]]:
    return [{"proposal_id": proposal_id, "direction": direction.value} for direction in content.directions]


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


async def _forget_signature(session: AsyncSession, proposal_id: str) -> None:
    await _replace_rows(session, BANDS, proposal_id, [])
    await _replace_rows(session, SIGNATURES, proposal_id, [])


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


# --- triage: the LSH index and campaigns -----------------------------------------------------------------


@_projects(ProposalTriaged, buffered=True)
async def _proposal_triaged(session: AsyncSession, envelope: Envelope, event: ProposalTriaged) -> None:
    """The first triage of a proposal still in the buffer completes its rows there; any other triage
    is written at once."""
    buffer = await _buffer(session)
    row = buffer.proposals.get(event.proposal_id)
    if row is None or row["triaged_version"] is not None:
        await flush(session)
        await _triage_recorded(session, envelope, event)
        return
    row.update(
        triaged_version=event.proposal_version,
        complete=event.complete,
        missing=list(event.missing),
        exact_duplicate_of=event.exact_duplicate_of,
        triage_event_id=envelope.event_id,
    )
    row["status"] = _workflow_status(row, assigned=False).value  # assignments come after a flush
    signature_row, bands = _signature_rows(
        row, row["content"]["text"], SimilarityMethod.from_description(event.method)
    )
    if signature_row is not None:
        buffer.add_rows(SIGNATURES, [signature_row])
        buffer.add_rows(BANDS, bands)
    buffer.add_rows(SIMILARITIES, _similarity_rows(event.proposal_id, event))
    for later in event.exact_duplicates:
        if later in buffer.proposals:
            buffer.proposals[later]["exact_duplicate_of"] = event.proposal_id
        else:
            buffer.originals[later] = event.proposal_id
    buffer.decisions.append(Decision(envelope, event))


async def _triage_recorded(session: AsyncSession, envelope: Envelope, event: ProposalTriaged) -> None:
    """A triage of a proposal the tables hold (as its row stands before the decision)."""
    connection = await plain_sql(session)
    found = (await connection.execute(_TRIAGE_STATE, {"proposal_id": event.proposal_id})).first()
    if found is None:
        raise LookupError(f"proposal {event.proposal_id} is not in the store")
    proposal = dict(found._mapping)
    triaged_before = proposal["triaged_version"] is not None
    proposal["triaged_version"] = event.proposal_version
    await _update_proposal(
        session,
        event.proposal_id,
        {
            "triaged_version": event.proposal_version,
            "complete": event.complete,
            "missing": list(event.missing),
            "exact_duplicate_of": event.exact_duplicate_of,
            "triage_event_id": envelope.event_id,
            "status": _workflow_status(proposal, assigned=bool(proposal["assigned"])).value,
        },
    )
    signature_row, bands = _signature_rows(
        proposal, proposal["text"], SimilarityMethod.from_description(event.method)
    )
    if signature_row is None:  # a text without words resembles nothing
        if triaged_before:
            await _forget_signature(session, event.proposal_id)
    else:
        await _replace_rows(session, SIGNATURES, event.proposal_id, [signature_row], existing=triaged_before)
        await _replace_rows(session, BANDS, event.proposal_id, bands, existing=triaged_before)
    similar = _similarity_rows(event.proposal_id, event)
    await _replace_rows(session, SIMILARITIES, event.proposal_id, similar, existing=triaged_before)
    if event.exact_duplicates:
        await connection.execute(
            _SET_DUPLICATE_OF,
            [{"target": later, "original": event.proposal_id} for later in event.exact_duplicates],
        )
        for later in event.exact_duplicates:
            loaded = session.identity_map.get(identity_key(ProposalRow, later))
            if loaded is not None:
                set_committed_value(loaded, "exact_duplicate_of", event.proposal_id)
    await fold_campaigns(session, [Decision(envelope, event)])


def _signature_rows(
    proposal: Mapping[str, Any], text: str, method: SimilarityMethod
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The signature row and band rows of the proposal's text (none for a text without words)."""
    values = signature(text, method)
    if values is None:
        return None, []
    signature_row = {
        "proposal_id": proposal["proposal_id"],
        "consultation_id": proposal["consultation_id"],
        "proposal_version": proposal["version"],
        "method_key": method.key,
        "hashvalues": to_bytes(values),
    }
    bands = [
        {
            "proposal_id": proposal["proposal_id"],
            "band": band,
            "consultation_id": proposal["consultation_id"],
            "bucket": key,
        }
        for band, key in enumerate(band_keys(values, method))
    ]
    return signature_row, bands


# --- this service's own decisions -----------------------------------------------------------------------


@_projects(ProposalReleasedFromCampaign)
async def _released_from_campaign(
    session: AsyncSession, envelope: Envelope, event: ProposalReleasedFromCampaign
) -> None:
    row = await _proposal(session, event.proposal_id)
    row.released_from_campaign = True
    session.add(row)
    await fold_campaigns(session, [Decision(envelope, event)])


@_projects(ReviewerAssigned)
async def _reviewer_assigned(session: AsyncSession, envelope: Envelope, event: ReviewerAssigned) -> None:
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


@_projects(ReviewSubmitted)
async def _review_submitted(session: AsyncSession, envelope: Envelope, event: ReviewSubmitted) -> None:
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


@_projects(ProposalAssessed)
async def _proposal_assessed(session: AsyncSession, envelope: Envelope, event: ProposalAssessed) -> None:
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


@_projects(GovernmentPackageOpened)
async def _package_opened(session: AsyncSession, envelope: Envelope, event: GovernmentPackageOpened) -> None:
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


@_projects(ProposalAddedToPackage)
async def _added_to_package(session: AsyncSession, envelope: Envelope, event: ProposalAddedToPackage) -> None:
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


@_projects(ProposalRemovedFromPackage)
async def _removed_from_package(
    session: AsyncSession, envelope: Envelope, event: ProposalRemovedFromPackage
) -> None:
    await session.execute(
        delete(PackageItemRow).where(
            col(PackageItemRow.package_id) == event.package_id,
            col(PackageItemRow.proposal_id) == event.proposal_id,
        )
    )
    row = await _proposal(session, event.proposal_id)
    row.package_id = None
    await restatus(session, row)


@_projects(ProposalForwardedToGovernment)
async def _forwarded(session: AsyncSession, envelope: Envelope, event: ProposalForwardedToGovernment) -> None:
    row = await _proposal(session, event.proposal_id)
    row.forwarded_at = envelope.occurred_at
    await restatus(session, row)


@_projects(GovernmentPackageSubmitted)
async def _package_submitted(
    session: AsyncSession, envelope: Envelope, event: GovernmentPackageSubmitted
) -> None:
    package = await session.get(PackageRow, event.package_id)
    if package is None:
        raise LookupError(f"package {event.package_id} is not in the store")
    package.status = "submitted"
    package.submitted_at = envelope.occurred_at
    package.late = event.late
    package.counts = _document(event.counts)
    session.add(package)


# --- measures -------------------------------------------------------------------------------------------


@_projects(MeasureDrafted)
async def _measure_drafted(session: AsyncSession, envelope: Envelope, event: MeasureDrafted) -> None:
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


@_projects(ProposalLinkedToMeasure)
async def _linked_to_measure(
    session: AsyncSession, envelope: Envelope, event: ProposalLinkedToMeasure
) -> None:
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


@_projects(MeasureRevised)
async def _measure_revised(session: AsyncSession, envelope: Envelope, event: MeasureRevised) -> None:
    measure = await _measure(session, event.measure_id)
    measure.terms = event.terms.model_dump(mode="json")
    measure.revision += 1
    session.add(measure)


@_projects(MeasureDecided)
async def _measure_decided(session: AsyncSession, envelope: Envelope, event: MeasureDecided) -> None:
    measure = await _measure(session, event.measure_id)
    adopted = event.decision == MeasureDecision.adopt
    measure.status = (measures.MeasureStatus.adopted if adopted else measures.MeasureStatus.dropped).value
    measure.decided_at = envelope.occurred_at
    measure.decided_by = envelope.actor.name
    measure.decision_rationale = event.rationale
    session.add(measure)


@_projects(MeasureAddedToPackage)
async def _measure_added_to_package(
    session: AsyncSession, envelope: Envelope, event: MeasureAddedToPackage
) -> None:
    measure = await _measure(session, event.measure_id)
    count = (
        await session.exec(
            select(func.max(MeasureRow.package_position)).where(MeasureRow.package_id == event.package_id)
        )
    ).one()
    measure.package_id = event.package_id
    measure.package_position = (count or 0) + 1
    session.add(measure)


@_projects(MeasureForwardedToGovernment)
async def _measure_forwarded(
    session: AsyncSession, envelope: Envelope, event: MeasureForwardedToGovernment
) -> None:
    measure = await _measure(session, event.measure_id)
    measure.forwarded_at = envelope.occurred_at
    session.add(measure)


async def _measure(session: AsyncSession, measure_id: str) -> MeasureRow:
    measure = await session.get(MeasureRow, measure_id)
    if measure is None:
        raise LookupError(f"measure {measure_id} is not in the store")
    return measure


async def _proposal(session: AsyncSession, proposal_id: str) -> ProposalRow:
    row = await session.get(ProposalRow, proposal_id)
    if row is None:
        raise LookupError(f"proposal {proposal_id} is not in the store")
    return row
