"""How received events change reporting's tables: the one projector that the live consumer (a batch at a
time), a single event and the rebuild all go through (:func:`project_all`).

A batch keeps each envelope with the next stream number and links it to the proposals and packages it
concerns (one insert per table); folds analysis's campaign decisions into the campaign book
(:mod:`aireg_events.campaigns`: the rows the batch names are read once, the changed ones written
back with one upsert per table); folds each proposal it concerns again from all its events, and
writes its rows and what it changes in the statistics' counters (one upsert per table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.campaigns import (
    Campaign,
    CampaignBook,
    CampaignKey,
    Placement,
    decides_grouping,
    fold_decision,
    named_by,
)
from aireg_events.catalogue import ChainCheckpoint
from aireg_events.catalogue.analysis import MeasureDecided, MeasureDecision, MeasureDrafted, MeasureRevised
from aireg_events.catalogue.submission import ConsultationOpened, PortalResumed, PortalSuspended
from aireg_events.log.database import in_chunks
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.statistics import Counts, Deadlines, measure_counts, proposal_counts, review_counts
from aireg_reporting.store import (
    CampaignRow,
    CheckpointRow,
    ConsultationRow,
    CounterRow,
    EventSubjectRow,
    MeasureRow,
    PackageItemRow,
    PackageRow,
    PlacementRow,
    PortalRow,
    ProposalRow,
    ReceivedEventRow,
    ReviewRow,
    StateTable,
)

_SEQ_LOCK_KEY = 0x41495245_47534551 & 0x7FFFFFFFFFFFFFFF  # "AIREGSEQ"

# Statements built once with bound parameters (expanding ones for lists), on the tables themselves: a
# statement built per batch costs its cache key each time, and one on the ORM classes goes through the
# ORM's bulk machinery (half of an insert's time, measured).
_RECEIVED = ReceivedEventRow.__table__  # type: ignore[attr-defined]
_SUBJECT = EventSubjectRow.__table__  # type: ignore[attr-defined]
_PROPOSAL = ProposalRow.__table__  # type: ignore[attr-defined]
_REVIEW = ReviewRow.__table__  # type: ignore[attr-defined]
_PLACEMENT = PlacementRow.__table__  # type: ignore[attr-defined]
_CAMPAIGN = CampaignRow.__table__  # type: ignore[attr-defined]
_CONSULTATION = ConsultationRow.__table__  # type: ignore[attr-defined]
_COUNTER = CounterRow.__table__  # type: ignore[attr-defined]
_SEQ_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_HEAD_SEQ = select(func.max(_RECEIVED.c.seq))
_INSERT_RECEIVED = insert(_RECEIVED)
_INSERT_SUBJECTS = insert(_SUBJECT)
_EVENTS_OF_PROPOSALS = (
    select(_SUBJECT.c.subject_id, _RECEIVED.c.event_id, _RECEIVED.c.body)
    .select_from(_SUBJECT.join(_RECEIVED, _RECEIVED.c.event_id == _SUBJECT.c.event_id))
    .where(
        _SUBJECT.c.subject_kind == "proposal",
        _SUBJECT.c.subject_id.in_(bindparam("proposal_ids", expanding=True)),
    )
    .order_by(_SUBJECT.c.subject_id, _SUBJECT.c.event_id)
)
_STORED_PROPOSALS = select(_PROPOSAL).where(
    _PROPOSAL.c.proposal_id.in_(bindparam("proposal_ids", expanding=True))
)
_STORED_REVIEWS = select(_REVIEW.c.proposal_id, _REVIEW.c.organization, _REVIEW.c.recommendation).where(
    _REVIEW.c.proposal_id.in_(bindparam("proposal_ids", expanding=True))
)
_DEADLINES = select(
    _CONSULTATION.c.consultation_id, _CONSULTATION.c.analysis_due_at, _CONSULTATION.c.forwarding_due_at
).where(_CONSULTATION.c.consultation_id.in_(bindparam("consultation_ids", expanding=True)))
_BODIES_OF_SUBJECT = (
    select(_RECEIVED.c.event_id, _RECEIVED.c.body)
    .select_from(_SUBJECT.join(_RECEIVED, _RECEIVED.c.event_id == _SUBJECT.c.event_id))
    .where(_SUBJECT.c.subject_kind == bindparam("kind"), _SUBJECT.c.subject_id == bindparam("subject_id"))
    .order_by(_SUBJECT.c.event_id)
)
_DELETE_REVIEWS_OF_PROPOSAL = delete(_REVIEW).where(_REVIEW.c.proposal_id == bindparam("proposal_id"))
_DELETE_PROPOSAL = delete(_PROPOSAL).where(_PROPOSAL.c.proposal_id == bindparam("proposal_id"))
_PLACEMENTS = select(_PLACEMENT).where(
    _PLACEMENT.c.proposal_id.in_(bindparam("proposal_ids", expanding=True))
)
_CAMPAIGNS = select(_CAMPAIGN).where(
    _CAMPAIGN.c.consultation_id == bindparam("consultation_id"),
    _CAMPAIGN.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
)
_REPOINT = (
    update(_CAMPAIGN)
    .where(_CAMPAIGN.c.consultation_id == bindparam("c_id"), _CAMPAIGN.c.parent == bindparam("absorbed"))
    .values(parent=bindparam("survivor"))
)
_FIRST_RECEIVED_MEMBER = (
    select(_PLACEMENT)
    .select_from(
        _PLACEMENT.join(
            _CAMPAIGN,
            (_CAMPAIGN.c.consultation_id == _PLACEMENT.c.consultation_id)
            & (_CAMPAIGN.c.campaign_id == _PLACEMENT.c.campaign_id),
        )
    )
    .where(
        _CAMPAIGN.c.consultation_id == bindparam("consultation_id"),
        _CAMPAIGN.c.parent == bindparam("survivor"),
        _PLACEMENT.c.withdrawn.is_(False),
    )
    .order_by(_PLACEMENT.c.received_at.is_(None), _PLACEMENT.c.received_at, _PLACEMENT.c.proposal_id)
    .limit(1)
)
_DELETE_ZEROS = delete(_COUNTER).where(
    _COUNTER.c.consultation_id.in_(bindparam("consultation_ids", expanding=True)), _COUNTER.c.value == 0
)


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


async def project_own_rows(session: AsyncSession, received: Received) -> None:
    """The tables that keep one row per consultation, portal and producer (not folds)."""
    event = received.event
    if isinstance(event, ConsultationOpened):
        await _project_consultation(session, received, event)
    elif isinstance(event, (PortalSuspended, PortalResumed)):
        await _project_portal(session, received, event)
    elif isinstance(event, ChainCheckpoint):
        await _project_checkpoint(session, received, event)
    elif isinstance(event, (MeasureDrafted, MeasureRevised, MeasureDecided)):
        await _project_measure(session, event)


async def _project_measure(
    session: AsyncSession, event: MeasureDrafted | MeasureRevised | MeasureDecided
) -> None:
    """The measure's row, and what the change adds to its consultation's coverage counters."""
    known = await session.get(MeasureRow, event.measure_id)
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
    await session.execute(delete(MeasureRow).where(col(MeasureRow.measure_id) == event.measure_id))
    await session.execute(insert(MeasureRow).values(**values))
    change = measure_counts(status, directions, questions)
    change.subtract(before)
    await add_to_counters(session, {event.consultation_id: change})


async def project(session: AsyncSession, received: Received, *, received_at: datetime) -> int:
    """Apply one event (not applied before) to the read models; returns its stream number."""
    return (await project_all(session, [received], received_at=received_at))[0]


async def project_all(
    session: AsyncSession, items: Sequence[Received], *, received_at: datetime
) -> list[int]:
    """Apply events (none applied before, no two alike) in order; returns their stream numbers. The
    state does not depend on how they are cut into batches (one, a consumer's batch, a rebuild's)."""
    if not items:
        return []
    first = await _next_seq(session, len(items))
    rows = [
        received_rows(item, seq=first + index, received_at=received_at) for index, item in enumerate(items)
    ]
    await session.execute(_INSERT_RECEIVED, [row.event for row in rows])
    subjects = [subject for row in rows for subject in row.subjects]
    if subjects:
        await session.execute(_INSERT_SUBJECTS, subjects)
    proposal_ids: dict[str, None] = {}
    package_ids: dict[str, None] = {}
    opened: dict[str, None] = {}
    for item in items:
        _PARSED.keep(item)  # the folds below read it back
        await project_own_rows(session, item)
        event = item.event
        if domain.changes_proposal_state(event):
            proposal_ids.update(dict.fromkeys(domain.proposals_of(event)))
        if isinstance(event, ConsultationOpened):
            opened[event.consultation_id] = None
        package_ids.update(dict.fromkeys(domain.packages_of(event)))
    book = CampaignBook()
    deciding = [item for item in items if decides_grouping(item.event)]
    named_proposals: set[str] = set(proposal_ids)
    named_campaigns: set[CampaignKey] = set()
    for item in deciding:
        proposals, campaigns = named_by(item.event)
        named_proposals |= proposals
        consultation_id = domain.consultation_of(item.event)
        if consultation_id is not None:
            named_campaigns.update((consultation_id, campaign_id) for campaign_id in campaigns)
    await _load(session, book, named_proposals, named_campaigns)
    for item in deciding:
        fold_decision(book, item.event, item.envelope.log_position)
    affected = await _settle(session, book)
    proposal_ids.update(dict.fromkeys(sorted(affected - proposal_ids.keys())))
    await _load(session, book, set(proposal_ids), set())
    folded = await _fold_all(session, list(proposal_ids), book)
    await _store_all(session, folded)
    if opened:
        await recount(session, list(opened))
    for package_id in package_ids:
        await refold_package(session, package_id)
    return [first + index for index in range(len(items))]


# --- the campaign book in the tables -------------------------------------------------------------------


async def _load(
    session: AsyncSession, book: CampaignBook, proposal_ids: set[str], campaigns: set[CampaignKey]
) -> None:
    """Read into the book the placements of ``proposal_ids`` and the campaigns named (with those the
    placements name, and the survivors of all of them) that it does not hold yet."""
    missing = sorted(proposal_ids - book.placements.keys())
    for chunk in in_chunks(missing):
        for row in await session.execute(_PLACEMENTS, {"proposal_ids": chunk}):
            book.placements[row.proposal_id] = Placement(
                proposal_id=row.proposal_id,
                consultation_id=row.consultation_id,
                campaign_id=row.campaign_id,
                placed_at=row.placed_at,
                duplicate_of=row.duplicate_of,
                duplicate_at=row.duplicate_at,
                withdrawn=row.withdrawn,
                received_at=row.received_at,
            )
    wanted = set(campaigns)
    wanted.update(
        (placement.consultation_id, placement.campaign_id)
        for proposal_id in proposal_ids
        if (placement := book.placements.get(proposal_id)) is not None and placement.campaign_id is not None
    )
    for _ in range(2):  # the named ones, then their survivors (a campaign points straight at its own)
        by_consultation: dict[str, list[str]] = {}
        for consultation_id, campaign_id in sorted(wanted - book.campaigns.keys()):
            by_consultation.setdefault(consultation_id, []).append(campaign_id)
        for consultation_id, ids in by_consultation.items():
            for chunk in in_chunks(ids):
                parameters = {"consultation_id": consultation_id, "campaign_ids": chunk}
                for row in await session.execute(_CAMPAIGNS, parameters):
                    book.campaigns[(row.consultation_id, row.campaign_id)] = Campaign(
                        consultation_id=row.consultation_id,
                        campaign_id=row.campaign_id,
                        parent=row.parent,
                        members=row.members,
                        representative=row.representative,
                        representative_received_at=row.representative_received_at,
                    )
        wanted = {(key[0], campaign.parent) for key, campaign in book.campaigns.items()}


async def _settle(session: AsyncSession, book: CampaignBook) -> set[str]:
    """Write the book's changes, hold its elections (the member received first, one query each: only
    when a representative left) and return the proposals whose facts may have changed."""
    await _write_book(session, book)
    for key in book.elections():
        consultation_id, survivor = key
        row = (
            await session.execute(
                _FIRST_RECEIVED_MEMBER, {"consultation_id": consultation_id, "survivor": survivor}
            )
        ).first()
        elected = None
        if row is not None:
            elected = book.placements.setdefault(
                row.proposal_id,
                Placement(
                    proposal_id=row.proposal_id,
                    consultation_id=row.consultation_id,
                    campaign_id=row.campaign_id,
                    placed_at=row.placed_at,
                    duplicate_of=row.duplicate_of,
                    duplicate_at=row.duplicate_at,
                    withdrawn=row.withdrawn,
                    received_at=row.received_at,
                ),
            )
        book.elected(key, elected)
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
            _upsert(session, CampaignRow),
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


async def _next_seq(session: AsyncSession, count: int = 1) -> int:
    """The first of the next ``count`` stream numbers: read once per transaction (savepoint), then
    counted on."""
    sync_session = session.sync_session
    transaction = sync_session.get_nested_transaction() or sync_session.get_transaction()
    known = session.info.get(_SEQ_INFO)
    if known is not None and known[0] is transaction and transaction is not None and transaction.is_active:
        seq = int(known[1]) + 1
    else:
        if session.get_bind().dialect.name == "postgresql":
            # Replicas share the database: one numbers events at a time, so the numbers stay gap-free.
            await session.execute(_SEQ_LOCK, {"key": _SEQ_LOCK_KEY})
        seq = int((await session.execute(_HEAD_SEQ)).scalar_one() or 0) + 1
    # Kept with the transaction it was counted in: a savepoint rolled back (a failed batch applied
    # again one by one) is another transaction, so the number is read again, never counted past a gap.
    session.info[_SEQ_INFO] = (transaction, seq + count - 1)
    return seq


_SEQ_INFO = "aireg_reporting.seq"


async def _project_consultation(session: AsyncSession, received: Received, event: ConsultationOpened) -> None:
    await session.execute(
        delete(ConsultationRow).where(col(ConsultationRow.consultation_id) == event.consultation_id)
    )
    await session.execute(
        insert(ConsultationRow).values(
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
    known = await session.get(PortalRow, event.portal)
    version = received.envelope.stream_version
    if known is not None and known.stream_version >= version:
        return  # an older suspension or resumption arriving late changes nothing
    await session.execute(delete(PortalRow).where(col(PortalRow.portal) == event.portal))
    await session.execute(
        insert(PortalRow).values(
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


async def _received(session: AsyncSession, kind: str, subject_id: str) -> list[Received]:
    bodies = await session.execute(_BODIES_OF_SUBJECT, {"kind": kind, "subject_id": subject_id})
    return [_PARSED.get(event_id, body) for event_id, body in bodies]


class _ParsedEvents:
    """The events last parsed, by id: a proposal is folded again from all its events at each new one,
    and parsing (validating) an envelope costs more than the rest of the fold. An event id always
    names the same body, so a hit is never stale; bounded, oldest first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: dict[str, Received] = {}

    def get(self, event_id: str, body: str) -> Received:
        found = self.items.get(event_id)
        if found is None:
            found = Received.parse(body)
            self.keep(found)
        return found

    def keep(self, received: Received) -> None:
        self.items[received.event_id] = received
        if len(self.items) > self.size:
            del self.items[next(iter(self.items))]


_PARSED = _ParsedEvents(4096)


async def _fold_all(
    session: AsyncSession, proposal_ids: list[str], book: CampaignBook
) -> dict[str, domain.ProposalState]:
    """Each proposal folded from every event received about it, placed as the book places it: one
    query per thousand proposals."""
    folded: dict[str, domain.ProposalState] = {}
    for chunk in in_chunks(proposal_ids):
        rows = await session.execute(_EVENTS_OF_PROPOSALS, {"proposal_ids": chunk})
        for proposal_id, group in groupby(rows, key=lambda row: row[0]):
            folded[proposal_id] = domain.fold_proposal(
                proposal_id,
                [_PARSED.get(event_id, body) for _, event_id, body in group],
                book.facts(proposal_id),
            )
    # in the order asked; one with no event received is not submitted, so it has no row
    return {
        proposal_id: folded.get(proposal_id) or domain.fold_proposal(proposal_id, [], book.facts(proposal_id))
        for proposal_id in proposal_ids
    }


async def _deadlines(session: AsyncSession, consultation_ids: Iterable[str]) -> dict[str, Deadlines]:
    ids = sorted(set(consultation_ids))
    found: dict[str, Deadlines] = {}
    for chunk in in_chunks(ids):
        for row in await session.execute(_DEADLINES, {"consultation_ids": chunk}):
            found[row.consultation_id] = row
    return found


async def _store_all(session: AsyncSession, folded: dict[str, domain.ProposalState]) -> None:
    """Replace each proposal's rows by its state (none while its ``ProposalSubmitted`` has not arrived:
    the events wait), and add to the counters what that changes: its figures now less those of the row
    it replaces."""
    ids = list(folded)
    stored: dict[str, Any] = {}
    stored_reviews: dict[str, list[Any]] = {}
    for chunk in in_chunks(ids):
        stored.update(
            (row.proposal_id, row)
            for row in await session.execute(_STORED_PROPOSALS, {"proposal_ids": chunk})
        )
        for row in await session.execute(_STORED_REVIEWS, {"proposal_ids": chunk}):
            stored_reviews.setdefault(row.proposal_id, []).append(row)
    states = list(folded.values())
    deadlines = await _deadlines(
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
        await session.execute(_upsert(session, ProposalRow), proposals)
    if reviews:
        await session.execute(_upsert(session, ReviewRow), reviews)
    await add_to_counters(session, changes)


class _Facts:
    """A row's values read as attributes (what :func:`proposal_counts` reads)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


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
        deadlines = await _deadlines(session, [consultation_id])
        counts: Counts = Counter()
        proposals = await session.execute(
            select(_PROPOSAL).where(_PROPOSAL.c.consultation_id == consultation_id)
        )
        for row in proposals:
            counts.update(proposal_counts(row, deadlines.get(consultation_id)))
        reviews = await session.execute(
            select(_REVIEW.c.organization, _REVIEW.c.recommendation).where(
                _REVIEW.c.consultation_id == consultation_id
            )
        )
        counts.update(review_counts(reviews))
        measures = await session.execute(
            select(MeasureRow).where(col(MeasureRow.consultation_id) == consultation_id)
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


async def refold_package(session: AsyncSession, package_id: str) -> None:
    state = domain.fold_package(package_id, await _received(session, "package", package_id))
    await session.execute(delete(PackageItemRow).where(col(PackageItemRow.package_id) == package_id))
    await session.execute(delete(PackageRow).where(col(PackageRow.package_id) == package_id))
    if not state.is_opened or state.consultation_id is None or state.opened_at is None:
        return
    items = state.items
    await session.execute(
        insert(PackageRow).values(
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
            insert(PackageItemRow),
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
