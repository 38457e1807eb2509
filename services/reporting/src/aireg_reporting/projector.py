"""The one projector: how received events change reporting's tables. The live consumer (a batch at a
time, or one event retried on its own), the rebuild (a few thousand at a time) and the tests all call
:func:`project`; one event is a batch of one.

A batch goes through the same steps whatever its size, each one statement per table:

1. every envelope kept with the next stream number and linked to its subjects (``received_event``,
   ``event_subject``);
2. the events that keep one row of their own, one function per event type (:data:`OWN_ROWS`:
   consultation, portal, checkpoint, measure);
3. analysis's campaign decisions folded into the campaign book (:mod:`aireg_events.campaigns`: the rows
   the batch names are read once, the changed ones written back);
4. each proposal the batch concerns (or whose campaign facts changed) folded again from all its events,
   its rows upserted and what it changes in the counters added;
5. each package it concerns folded again.

What it reads first is :mod:`aireg_reporting.loaders`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.campaigns import CampaignBook, CampaignKey, decides_grouping, fold_decision, named_by
from aireg_events.catalogue import ChainCheckpoint, DomainEvent
from aireg_events.catalogue.analysis import MeasureDecided, MeasureDecision, MeasureDrafted, MeasureRevised
from aireg_events.catalogue.submission import ConsultationOpened, PortalResumed, PortalSuspended
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.loaders import (
    CAMPAIGN,
    PARSED,
    PROPOSAL,
    RECEIVED,
    REVIEW,
    SUBJECT,
    deadlines_of,
    events_of_proposals,
    events_of_subject,
    first_received_member,
    load_book,
    next_seq,
    stored_proposals,
)
from aireg_reporting.statistics import Counts, measure_counts, proposal_counts, review_counts
from aireg_reporting.tables import (
    CheckpointRow,
    CounterRow,
    PlacementRow,
    ReportedCampaignRow,
    ReportedConsultationRow,
    ReportedMeasureRow,
    ReportedPackageItemRow,
    ReportedPackageRow,
    ReportedPortalRow,
    ReportedProposalRow,
    ReportedReviewRow,
    StateTable,
)

_COUNTER = CounterRow.__table__  # type: ignore[attr-defined]
_INSERT_RECEIVED = insert(RECEIVED)
_INSERT_SUBJECTS = insert(SUBJECT)
_DELETE_REVIEWS_OF_PROPOSAL = delete(REVIEW).where(REVIEW.c.proposal_id == bindparam("proposal_id"))
_DELETE_PROPOSAL = delete(PROPOSAL).where(PROPOSAL.c.proposal_id == bindparam("proposal_id"))
_REPOINT = (
    update(CAMPAIGN)
    .where(CAMPAIGN.c.consultation_id == bindparam("c_id"), CAMPAIGN.c.parent == bindparam("absorbed"))
    .values(parent=bindparam("survivor"))
)
_DELETE_ZEROS = delete(_COUNTER).where(
    _COUNTER.c.consultation_id.in_(bindparam("consultation_ids", expanding=True)), _COUNTER.c.value == 0
)


async def project(session: AsyncSession, items: Sequence[Received], *, received_at: datetime) -> list[int]:
    """Apply events (none applied before, no two alike) in order; returns their stream numbers. The
    state does not depend on how they are cut into batches (one, a consumer's batch, a rebuild's)."""
    if not items:
        return []
    first = await next_seq(session, len(items))
    await _keep_envelopes(session, items, first=first, received_at=received_at)
    proposal_ids: dict[str, None] = {}
    package_ids: dict[str, None] = {}
    opened: dict[str, None] = {}
    for item in items:
        PARSED.keep(item)  # the folds below read it back
        own_rows = OWN_ROWS.get(type(item.event))
        if own_rows is not None:
            await own_rows(session, item)
        event = item.event
        if domain.changes_proposal_state(event):
            proposal_ids.update(dict.fromkeys(domain.proposals_of(event)))
        if isinstance(event, ConsultationOpened):
            opened[event.consultation_id] = None
        package_ids.update(dict.fromkeys(domain.packages_of(event)))
    book = CampaignBook()
    affected = await _project_campaigns(session, book, items, set(proposal_ids))
    proposal_ids.update(dict.fromkeys(sorted(affected - proposal_ids.keys())))
    await _project_proposals(session, book, list(proposal_ids))
    if opened:
        await recount(session, list(opened))
    for package_id in package_ids:
        await _project_package(session, package_id)
    return [first + index for index in range(len(items))]


# --- 1. the envelopes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRows:
    """The rows an event adds as it is received, before any fold: the envelope with its stream number
    and its links to proposals and packages."""

    event: dict[str, Any]
    subjects: list[dict[str, Any]]


def received_rows(received: Received, *, seq: int, received_at: datetime) -> ReceivedRows:
    envelope, event = received.envelope, received.event
    subjects = [("proposal", proposal_id) for proposal_id in domain.proposals_of(event)]
    subjects += [("package", package_id) for package_id in domain.packages_of(event)]
    subjects += [("measure", measure_id) for measure_id in domain.measures_of(event)]
    return ReceivedRows(
        event={
            "event_id": envelope.event_id,
            "seq": seq,
            "producer": envelope.producer,
            "log_position": envelope.log_position,
            "event_type": envelope.event_type,
            "stream_id": envelope.stream_id,
            "stream_version": envelope.stream_version,
            "occurred_at": envelope.occurred_at,
            "consultation_id": domain.consultation_of(event),
            "received_at": received_at,
            "body": received.canonical,
        },
        subjects=[
            {"subject_kind": kind, "subject_id": subject_id, "event_id": envelope.event_id}
            for kind, subject_id in subjects
        ],
    )


async def _keep_envelopes(
    session: AsyncSession, items: Sequence[Received], *, first: int, received_at: datetime
) -> None:
    rows = [
        received_rows(item, seq=first + index, received_at=received_at) for index, item in enumerate(items)
    ]
    await session.execute(_INSERT_RECEIVED, [row.event for row in rows])
    subjects = [subject for row in rows for subject in row.subjects]
    if subjects:
        await session.execute(_INSERT_SUBJECTS, subjects)


# --- 2. the rows of their own, one function per event type ----------------------------------------------


async def _project_consultation(session: AsyncSession, received: Received, event: ConsultationOpened) -> None:
    await session.execute(
        delete(ReportedConsultationRow).where(
            col(ReportedConsultationRow.consultation_id) == event.consultation_id
        )
    )
    await session.execute(
        insert(ReportedConsultationRow).values(
            consultation_id=event.consultation_id,
            code=event.code,
            title=event.title,
            submission_opens_at=event.submission_opens_at,
            submission_closes_at=event.submission_closes_at,
            analysis_due_at=event.analysis_due_at,
            forwarding_due_at=event.forwarding_due_at,
            late_submissions=event.late_submissions.value,
            time_zone=event.time_zone,
            language=event.language,
            opened_at=received.occurred_at,
            event_id=received.event_id,
        )
    )


async def _project_portal(
    session: AsyncSession, received: Received, event: PortalSuspended | PortalResumed
) -> None:
    known = await session.get(ReportedPortalRow, event.portal)
    version = received.envelope.stream_version
    if known is not None and known.stream_version >= version:
        return  # an older suspension or resumption arriving late changes nothing
    await session.execute(delete(ReportedPortalRow).where(col(ReportedPortalRow.portal) == event.portal))
    await session.execute(
        insert(ReportedPortalRow).values(
            portal=event.portal,
            suspended=isinstance(event, PortalSuspended),
            reason=event.reason,
            since=received.occurred_at,
            stream_version=version,
            event_id=received.event_id,
        )
    )


async def _project_checkpoint(session: AsyncSession, received: Received, event: ChainCheckpoint) -> None:
    producer = received.envelope.producer
    known = await session.get(CheckpointRow, producer)
    if known is not None and known.head_position >= event.head_position:
        return
    await session.execute(delete(CheckpointRow).where(col(CheckpointRow.producer) == producer))
    await session.execute(
        insert(CheckpointRow).values(
            producer=producer,
            head_position=event.head_position,
            head_hash=event.head_hash,
            signed_at=event.signed_at,
            key_id=event.key_id,
            event_id=received.event_id,
        )
    )


async def _project_measure(
    session: AsyncSession, event: MeasureDrafted | MeasureRevised | MeasureDecided
) -> None:
    """The measure's row, and what the change adds to its consultation's coverage counters."""
    known = await session.get(ReportedMeasureRow, event.measure_id)
    before: Counts = Counter()
    if known is not None:
        before = measure_counts(known.status, known.directions, known.questions)
    if isinstance(event, MeasureDecided):
        if known is None:
            return
        status = "adopted" if event.decision is MeasureDecision.adopt else "dropped"
        title, directions, questions = known.title, list(known.directions), list(known.questions)
    else:
        status = known.status if known is not None else "drafted"
        title = event.terms.title
        directions = [value.value for value in event.terms.directions]
        questions = [value.value for value in event.terms.questions]
    values = {
        "measure_id": event.measure_id,
        "consultation_id": event.consultation_id,
        "title": title,
        "status": status,
        "directions": directions,
        "questions": questions,
    }
    await session.execute(
        delete(ReportedMeasureRow).where(col(ReportedMeasureRow.measure_id) == event.measure_id)
    )
    await session.execute(insert(ReportedMeasureRow).values(**values))
    change = measure_counts(status, directions, questions)
    change.subtract(before)
    await add_to_counters(session, {event.consultation_id: change})


OwnRows = Callable[[AsyncSession, Received], Awaitable[None]]


async def _project_consultation_opened(session: AsyncSession, received: Received) -> None:
    assert isinstance(received.event, ConsultationOpened)
    await _project_consultation(session, received, received.event)


async def _project_portal_change(session: AsyncSession, received: Received) -> None:
    assert isinstance(received.event, (PortalSuspended, PortalResumed))
    await _project_portal(session, received, received.event)


async def _project_chain_checkpoint(session: AsyncSession, received: Received) -> None:
    assert isinstance(received.event, ChainCheckpoint)
    await _project_checkpoint(session, received, received.event)


async def _project_measure_change(session: AsyncSession, received: Received) -> None:
    assert isinstance(received.event, (MeasureDrafted, MeasureRevised, MeasureDecided))
    await _project_measure(session, received.event)


OWN_ROWS: dict[type[DomainEvent], OwnRows] = {
    ConsultationOpened: _project_consultation_opened,
    PortalSuspended: _project_portal_change,
    PortalResumed: _project_portal_change,
    ChainCheckpoint: _project_chain_checkpoint,
    MeasureDrafted: _project_measure_change,
    MeasureRevised: _project_measure_change,
    MeasureDecided: _project_measure_change,
}
"""The events that keep a row of their own (one per consultation, portal, producer, measure), by type."""


# --- 3. the campaign book -------------------------------------------------------------------------------


async def _project_campaigns(
    session: AsyncSession, book: CampaignBook, items: Sequence[Received], proposal_ids: set[str]
) -> set[str]:
    """Fold the batch's grouping decisions into the book as the tables hold it; returns the proposals
    whose campaign facts may have changed."""
    deciding = [item for item in items if decides_grouping(item.event)]
    named_proposals: set[str] = set(proposal_ids)
    named_campaigns: set[CampaignKey] = set()
    for item in deciding:
        proposals, campaigns = named_by(item.event)
        named_proposals |= proposals
        consultation_id = domain.consultation_of(item.event)
        if consultation_id is not None:
            named_campaigns.update((consultation_id, campaign_id) for campaign_id in campaigns)
    await load_book(session, book, named_proposals, named_campaigns)
    for item in deciding:
        fold_decision(book, item.event, item.envelope.log_position)
    await _write_book(session, book)
    for key in book.elections():  # only when a representative left: one query each
        book.elected(key, await first_received_member(session, book, key))
    await _write_book(session, book)
    return book.settle()


async def _write_book(session: AsyncSession, book: CampaignBook) -> None:
    placements, campaigns, merges = book.take_changes()
    for absorbed, survivor in merges:
        await session.execute(_REPOINT, {"c_id": absorbed[0], "absorbed": absorbed[1], "survivor": survivor})
    if placements:
        await session.execute(
            _upsert(session, PlacementRow),
            [
                {
                    "proposal_id": placement.proposal_id,
                    "consultation_id": placement.consultation_id,
                    "campaign_id": placement.campaign_id,
                    "placed_at": placement.placed_at,
                    "duplicate_of": placement.duplicate_of,
                    "duplicate_at": placement.duplicate_at,
                    "withdrawn": placement.withdrawn,
                    "received_at": placement.received_at,
                }
                for placement in placements
            ],
        )
    if campaigns:
        await session.execute(
            _upsert(session, ReportedCampaignRow),
            [
                {
                    "consultation_id": campaign.consultation_id,
                    "campaign_id": campaign.campaign_id,
                    "parent": campaign.parent,
                    "members": campaign.members,
                    "representative": campaign.representative,
                    "representative_received_at": campaign.representative_received_at,
                }
                for campaign in campaigns
            ],
        )


# --- 4. the proposals -----------------------------------------------------------------------------------


async def _project_proposals(session: AsyncSession, book: CampaignBook, proposal_ids: list[str]) -> None:
    """Each proposal folded from every event received about it, placed as the book places it, its rows
    replaced by its state (none while its ``ProposalSubmitted`` has not arrived: the events wait), and
    what that changes added to the counters: its figures now less those of the row it replaces."""
    await load_book(session, book, set(proposal_ids), set())
    received = await events_of_proposals(session, proposal_ids)
    states = [
        domain.fold_proposal(proposal_id, received.get(proposal_id, []), book.facts(proposal_id))
        for proposal_id in proposal_ids
    ]
    stored, stored_reviews = await stored_proposals(session, proposal_ids)
    deadlines = await deadlines_of(
        session,
        [state.consultation_id for state in states if state.is_submitted and state.consultation_id]
        + [row.consultation_id for row in stored.values()],
    )
    changes: dict[str, Counts] = {}
    waiting = [{"proposal_id": state.proposal_id} for state in states if not state.is_submitted]
    if waiting:
        await session.execute(_DELETE_REVIEWS_OF_PROPOSAL, waiting)
        await session.execute(_DELETE_PROPOSAL, waiting)
    proposals: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    for state in states:
        old = stored.get(state.proposal_id)
        if old is not None:
            mine = changes.setdefault(old.consultation_id, Counter())
            mine.subtract(proposal_counts(old, deadlines.get(old.consultation_id)))
            mine.subtract(review_counts(stored_reviews.get(state.proposal_id, [])))
        if state.is_submitted:
            proposal, its_reviews = proposal_rows(state)
            proposals.append(proposal)
            reviews.extend(its_reviews)  # a fold has every review an earlier fold had
            facts = _Facts(proposal)
            mine = changes.setdefault(state.consultation_id or "", Counter())
            mine.update(proposal_counts(facts, deadlines.get(state.consultation_id or "")))
            mine.update(review_counts(_Facts(review) for review in its_reviews))
    if proposals:
        await session.execute(_upsert(session, ReportedProposalRow), proposals)
    if reviews:
        await session.execute(_upsert(session, ReportedReviewRow), reviews)
    await add_to_counters(session, changes)


def proposal_rows(state: domain.ProposalState) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``proposal`` row of a submitted proposal's state, and its ``review`` rows."""
    assert state.consultation_id is not None
    reviews = [
        {
            "review_id": review.review_id,
            "proposal_id": state.proposal_id,
            "consultation_id": state.consultation_id,
            "reviewer": review.reviewer,
            "organization": review.organization,
            "proposal_version": review.proposal_version,
            **review.scores,
            "recommendation": review.recommendation,
            "rationale": review.rationale,
            "submitted_at": review.submitted_at,
            "event_id": review.event_id,
        }
        for review in state.reviews.values()
    ]
    return state.columns(), reviews


class _Facts:
    """A row's values read as attributes (what :func:`proposal_counts` reads)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


# --- the counters ---------------------------------------------------------------------------------------


async def add_to_counters(session: AsyncSession, changes: dict[str, Counts]) -> None:
    """Add each consultation's changes to its counters: one upsert for them all."""
    rows: list[dict[str, Any]] = [
        {"consultation_id": consultation_id, "dimension": dimension, "key": key, "value": value}
        for consultation_id, counts in sorted(changes.items())
        for (dimension, key), value in sorted(counts.items())
        if value
    ]
    if rows:
        await session.execute(_add_to_counter(session), rows)
    emptied = sorted({str(row["consultation_id"]) for row in rows if row["value"] < 0})
    if emptied:  # a figure back at zero has no row, whatever the order that brought it there
        await session.execute(_DELETE_ZEROS, {"consultation_ids": emptied})


def _add_to_counter(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _ADDS.get(dialect)
    if statement is None:
        base = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(_COUNTER)
        statement = base.on_conflict_do_update(
            index_elements=["consultation_id", "dimension", "key"],
            set_={"value": _COUNTER.c.value + base.excluded.value},
        )
        _ADDS[dialect] = statement
    return statement


_ADDS: dict[str, Any] = {}


async def recount(session: AsyncSession, consultation_ids: list[str]) -> None:
    """The counters of consultations counted again from their proposals and reviews: when a
    consultation's deadlines arrive or change (rare), the figures that depend on them."""
    for consultation_id in consultation_ids:
        await session.execute(delete(_COUNTER).where(_COUNTER.c.consultation_id == consultation_id))
        deadlines = await deadlines_of(session, [consultation_id])
        counts: Counts = Counter()
        proposals = await session.execute(
            select(PROPOSAL).where(PROPOSAL.c.consultation_id == consultation_id)
        )
        for row in proposals:
            counts.update(proposal_counts(row, deadlines.get(consultation_id)))
        reviews = await session.execute(
            select(REVIEW.c.organization, REVIEW.c.recommendation).where(
                REVIEW.c.consultation_id == consultation_id
            )
        )
        counts.update(review_counts(reviews))
        measures = await session.execute(
            select(ReportedMeasureRow).where(col(ReportedMeasureRow.consultation_id) == consultation_id)
        )
        for (measure,) in measures:
            counts.update(measure_counts(measure.status, measure.directions, measure.questions))
        await add_to_counters(session, {consultation_id: counts})


def _upsert(session: AsyncSession, table: type[StateTable]) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of every column: one statement where a
    delete and an insert were two."""
    dialect = session.get_bind().dialect.name
    key = (dialect, str(table.__tablename__))
    statement = _UPSERTS.get(key)
    if statement is None:
        core_table = table.__table__  # type: ignore[attr-defined]
        columns = core_table.columns
        base = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(core_table)
        statement = base.on_conflict_do_update(
            index_elements=[column.name for column in columns if column.primary_key],
            set_={column.name: base.excluded[column.name] for column in columns if not column.primary_key},
        )
        _UPSERTS[key] = statement
    return statement


_UPSERTS: dict[tuple[str, str], Any] = {}


# --- 5. the packages ------------------------------------------------------------------------------------


async def _project_package(session: AsyncSession, package_id: str) -> None:
    state = domain.fold_package(package_id, await events_of_subject(session, "package", package_id))
    await session.execute(
        delete(ReportedPackageItemRow).where(col(ReportedPackageItemRow.package_id) == package_id)
    )
    await session.execute(delete(ReportedPackageRow).where(col(ReportedPackageRow.package_id) == package_id))
    if not state.is_opened or state.consultation_id is None or state.opened_at is None:
        return
    items = state.items
    await session.execute(
        insert(ReportedPackageRow).values(
            package_id=package_id,
            consultation_id=state.consultation_id,
            title=state.title or "",
            status=state.status,
            opened_at=state.opened_at,
            submitted_at=state.submitted_at,
            late=state.late,
            counts=state.counts,
            proposal_count=len(items),
            event_ids=state.event_ids,
        )
    )
    if items:
        await session.execute(
            insert(ReportedPackageItemRow),
            [
                {
                    "package_id": package_id,
                    "proposal_id": item.proposal_id,
                    "position": index,
                    "event_id": item.event_id,
                }
                for index, item in enumerate(items, start=1)
            ],
        )
