"""What the projector reads back before it writes: the next stream numbers, the campaign book's rows a batch
names, the events received about a subject (parsed once, kept in a bounded cache), the stored rows a fold
replaces and the consultations' deadlines. Statements are built once with bound parameters on the tables
themselves (a statement built per batch costs its cache key each time; one on the ORM classes goes
through the ORM's bulk machinery, half of an insert's time, measured); IN lists go in chunks.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.campaigns import Campaign, CampaignBook, CampaignKey, Placement
from aireg_events.log.database import in_chunks
from aireg_reporting.domain import Received
from aireg_reporting.statistics import Deadlines
from aireg_reporting.tables import (
    EventSubjectRow,
    PlacementRow,
    ReceivedEventRow,
    ReportedCampaignRow,
    ReportedConsultationRow,
    ReportedProposalRow,
    ReportedReviewRow,
)

RECEIVED = ReceivedEventRow.__table__  # type: ignore[attr-defined]
SUBJECT = EventSubjectRow.__table__  # type: ignore[attr-defined]
PROPOSAL = ReportedProposalRow.__table__  # type: ignore[attr-defined]
REVIEW = ReportedReviewRow.__table__  # type: ignore[attr-defined]
PLACEMENT = PlacementRow.__table__  # type: ignore[attr-defined]
CAMPAIGN = ReportedCampaignRow.__table__  # type: ignore[attr-defined]
CONSULTATION = ReportedConsultationRow.__table__  # type: ignore[attr-defined]

_SEQ_LOCK_KEY = 0x41495245_47534551 & 0x7FFFFFFFFFFFFFFF  # "AIREGSEQ"
_SEQ_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_SEQ_INFO = "aireg_reporting.seq"
_HEAD_SEQ = select(func.max(RECEIVED.c.seq))
_EVENTS_OF_PROPOSALS = (
    select(SUBJECT.c.subject_id, RECEIVED.c.event_id, RECEIVED.c.body)
    .select_from(SUBJECT.join(RECEIVED, RECEIVED.c.event_id == SUBJECT.c.event_id))
    .where(
        SUBJECT.c.subject_kind == "proposal",
        SUBJECT.c.subject_id.in_(bindparam("proposal_ids", expanding=True)),
    )
    .order_by(SUBJECT.c.subject_id, SUBJECT.c.event_id)
)
_STORED_PROPOSALS = select(PROPOSAL).where(
    PROPOSAL.c.proposal_id.in_(bindparam("proposal_ids", expanding=True))
)
_STORED_REVIEWS = select(REVIEW.c.proposal_id, REVIEW.c.organization, REVIEW.c.recommendation).where(
    REVIEW.c.proposal_id.in_(bindparam("proposal_ids", expanding=True))
)
_DEADLINES = select(
    CONSULTATION.c.consultation_id, CONSULTATION.c.analysis_due_at, CONSULTATION.c.forwarding_due_at
).where(CONSULTATION.c.consultation_id.in_(bindparam("consultation_ids", expanding=True)))
_BODIES_OF_SUBJECT = (
    select(RECEIVED.c.event_id, RECEIVED.c.body)
    .select_from(SUBJECT.join(RECEIVED, RECEIVED.c.event_id == SUBJECT.c.event_id))
    .where(SUBJECT.c.subject_kind == bindparam("kind"), SUBJECT.c.subject_id == bindparam("subject_id"))
    .order_by(SUBJECT.c.event_id)
)
_PLACEMENTS = select(PLACEMENT).where(PLACEMENT.c.proposal_id.in_(bindparam("proposal_ids", expanding=True)))
_CAMPAIGNS = select(CAMPAIGN).where(
    CAMPAIGN.c.consultation_id == bindparam("consultation_id"),
    CAMPAIGN.c.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
)
_FIRST_RECEIVED_MEMBER = (
    select(PLACEMENT)
    .select_from(
        PLACEMENT.join(
            CAMPAIGN,
            (CAMPAIGN.c.consultation_id == PLACEMENT.c.consultation_id)
            & (CAMPAIGN.c.campaign_id == PLACEMENT.c.campaign_id),
        )
    )
    .where(
        CAMPAIGN.c.consultation_id == bindparam("consultation_id"),
        CAMPAIGN.c.parent == bindparam("survivor"),
        PLACEMENT.c.withdrawn.is_(False),
    )
    .order_by(PLACEMENT.c.received_at.is_(None), PLACEMENT.c.received_at, PLACEMENT.c.proposal_id)
    .limit(1)
)


async def next_seq(session: AsyncSession, count: int = 1) -> int:
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


# --- the events received ------------------------------------------------------------------------------


class ParsedEvents:
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


PARSED = ParsedEvents(4096)


async def events_of_subject(session: AsyncSession, kind: str, subject_id: str) -> list[Received]:
    """Every event received about one subject (``package``, ``proposal``, ``measure``)."""
    bodies = await session.execute(_BODIES_OF_SUBJECT, {"kind": kind, "subject_id": subject_id})
    return [PARSED.get(event_id, body) for event_id, body in bodies]


async def events_of_proposals(session: AsyncSession, proposal_ids: list[str]) -> dict[str, list[Received]]:
    """Every event received about each of ``proposal_ids``: one query per thousand proposals."""
    found: dict[str, list[Received]] = {}
    for chunk in in_chunks(proposal_ids):
        rows = await session.execute(_EVENTS_OF_PROPOSALS, {"proposal_ids": chunk})
        for proposal_id, group in groupby(rows, key=lambda row: row[0]):
            found[proposal_id] = [PARSED.get(event_id, body) for _, event_id, body in group]
    return found


# --- the rows a fold replaces -------------------------------------------------------------------------


async def stored_proposals(
    session: AsyncSession, proposal_ids: list[str]
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The stored ``proposal`` rows of ``proposal_ids`` and their reviews (what the counters counted)."""
    stored: dict[str, Any] = {}
    reviews: dict[str, list[Any]] = {}
    for chunk in in_chunks(proposal_ids):
        stored.update(
            (row.proposal_id, row)
            for row in await session.execute(_STORED_PROPOSALS, {"proposal_ids": chunk})
        )
        for row in await session.execute(_STORED_REVIEWS, {"proposal_ids": chunk}):
            reviews.setdefault(row.proposal_id, []).append(row)
    return stored, reviews


async def deadlines_of(session: AsyncSession, consultation_ids: Iterable[str]) -> dict[str, Deadlines]:
    ids = sorted(set(consultation_ids))
    found: dict[str, Deadlines] = {}
    for chunk in in_chunks(ids):
        for row in await session.execute(_DEADLINES, {"consultation_ids": chunk}):
            found[row.consultation_id] = row
    return found


# --- the campaign book --------------------------------------------------------------------------------


def _placement(row: Any) -> Placement:
    return Placement(
        proposal_id=row.proposal_id,
        consultation_id=row.consultation_id,
        campaign_id=row.campaign_id,
        placed_at=row.placed_at,
        duplicate_of=row.duplicate_of,
        duplicate_at=row.duplicate_at,
        withdrawn=row.withdrawn,
        received_at=row.received_at,
    )


async def load_book(
    session: AsyncSession, book: CampaignBook, proposal_ids: set[str], campaigns: set[CampaignKey]
) -> None:
    """Read into the book the placements of ``proposal_ids`` and the campaigns named (with those the
    placements name, and the survivors of all of them) that it does not hold yet."""
    missing = sorted(proposal_ids - book.placements.keys())
    for chunk in in_chunks(missing):
        for row in await session.execute(_PLACEMENTS, {"proposal_ids": chunk}):
            book.placements[row.proposal_id] = _placement(row)
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


async def first_received_member(
    session: AsyncSession, book: CampaignBook, key: CampaignKey
) -> Placement | None:
    """The election's answer: the surviving campaign's member received first, not withdrawn (one query),
    as the book holds it."""
    consultation_id, survivor = key
    parameters = {"consultation_id": consultation_id, "survivor": survivor}
    row = (await session.execute(_FIRST_RECEIVED_MEMBER, parameters)).first()
    if row is None:
        return None
    return book.placements.setdefault(row.proposal_id, _placement(row))
