"""What the routes and the live stream read: the events received (after a stream number, about a subject,
of a consultation), the stream's epoch, and the figures, consultations, packages and proposals the
answers are made of. Reads only; the tables are :mod:`aireg_reporting.tables`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_reporting.statistics import Campaign, Counts
from aireg_reporting.tables import (
    CounterRow,
    EventSubjectRow,
    ReceivedEventRow,
    ReportedCampaignRow,
    ReportedConsultationRow,
    ReportedPackageRow,
    ReportedProposalRow,
    ReportedReviewRow,
    StreamMetaRow,
)


async def head_seq(session: AsyncSession) -> int:
    """The sequence number of the last event applied (0 if none)."""
    value = (await session.exec(select(func.max(col(ReceivedEventRow.seq))))).one()
    return int(value or 0)


async def events_after(
    session: AsyncSession, seq: int, *, limit: int, consultation_id: str | None = None
) -> Sequence[ReceivedEventRow]:
    query = select(ReceivedEventRow).where(col(ReceivedEventRow.seq) > seq)
    if consultation_id is not None:
        query = query.where(col(ReceivedEventRow.consultation_id) == consultation_id)
    return (await session.exec(query.order_by(col(ReceivedEventRow.seq)).limit(limit))).all()


async def events_of(
    session: AsyncSession, kind: str, subject_id: str, *, as_of: datetime | None = None
) -> Sequence[ReceivedEventRow]:
    """Every event received about one proposal or package (optionally only those up to ``as_of``)."""
    query = (
        select(ReceivedEventRow)
        .join(EventSubjectRow, col(EventSubjectRow.event_id) == col(ReceivedEventRow.event_id))
        .where(col(EventSubjectRow.subject_kind) == kind, col(EventSubjectRow.subject_id) == subject_id)
    )
    if as_of is not None:
        query = query.where(col(ReceivedEventRow.occurred_at) <= as_of)
    return (await session.exec(query.order_by(col(ReceivedEventRow.event_id)))).all()


async def events_of_consultation(
    session: AsyncSession, consultation_id: str, *, as_of: datetime | None = None
) -> Sequence[ReceivedEventRow]:
    query = select(ReceivedEventRow).where(col(ReceivedEventRow.consultation_id) == consultation_id)
    if as_of is not None:
        query = query.where(col(ReceivedEventRow.occurred_at) <= as_of)
    return (await session.exec(query.order_by(col(ReceivedEventRow.event_id)))).all()


async def stream_epoch(session: AsyncSession) -> str:
    row = await session.get(StreamMetaRow, "epoch")
    return row.value if row is not None else "0"


async def statistics_of_consultations(
    session: AsyncSession, consultation_ids: Sequence[str] | None
) -> tuple[dict[str, ReportedConsultationRow], dict[str, Counts], list[Campaign]]:
    """What the statistics read: the deadlines, the counters of each consultation (a few hundred rows,
    however many proposals) and the campaigns of two members or more."""
    consultations = select(ReportedConsultationRow)
    counters = select(CounterRow.consultation_id, CounterRow.dimension, CounterRow.key, CounterRow.value)
    campaigns = select(ReportedCampaignRow).where(
        col(ReportedCampaignRow.parent) == col(ReportedCampaignRow.campaign_id),
        col(ReportedCampaignRow.members) >= 2,
    )
    if consultation_ids is not None:
        consultations = consultations.where(
            col(ReportedConsultationRow.consultation_id).in_(consultation_ids)
        )
        counters = counters.where(col(CounterRow.consultation_id).in_(consultation_ids))
        campaigns = campaigns.where(col(ReportedCampaignRow.consultation_id).in_(consultation_ids))
    deadlines = {row.consultation_id: row for row in (await session.exec(consultations)).all()}
    counts: dict[str, Counts] = {}
    for consultation_id, dimension, key, value in (await session.execute(counters)).all():
        counts.setdefault(consultation_id, Counter())[dimension, key] = value
    found = (await session.exec(campaigns)).all()
    representatives = [row.representative for row in found if row.representative is not None]
    known = (
        await session.execute(
            select(
                ReportedProposalRow.proposal_id,
                ReportedProposalRow.registration_number,
                ReportedProposalRow.title,
            ).where(col(ReportedProposalRow.proposal_id).in_(representatives))
        )
    ).all()
    numbers = {proposal_id: number for proposal_id, number, _title in known}
    titles = {proposal_id: title for proposal_id, _number, title in known}
    return (
        deadlines,
        counts,
        [
            Campaign(
                campaign_id=row.campaign_id,
                size=row.members,
                representative=row.representative,
                representative_registration_number=numbers.get(row.representative),
                representative_title=titles.get(row.representative),
            )
            for row in found
        ],
    )


async def consultations_after(
    session: AsyncSession, after: str | None, *, limit: int
) -> Sequence[ReportedConsultationRow]:
    """A page of consultations in id order, after the id ``after``."""
    query = (
        select(ReportedConsultationRow).order_by(col(ReportedConsultationRow.consultation_id)).limit(limit)
    )
    if after is not None:
        query = query.where(col(ReportedConsultationRow.consultation_id) > after)
    return (await session.exec(query)).all()


async def packages_after(
    session: AsyncSession, after: str | None, *, limit: int, consultation_id: str | None = None
) -> Sequence[ReportedPackageRow]:
    """A page of packages (of one consultation, or of all) in id order, after the id ``after``."""
    query = select(ReportedPackageRow).order_by(col(ReportedPackageRow.package_id)).limit(limit)
    if consultation_id is not None:
        query = query.where(col(ReportedPackageRow.consultation_id) == consultation_id)
    if after is not None:
        query = query.where(col(ReportedPackageRow.package_id) > after)
    return (await session.exec(query)).all()


async def reviews_of(session: AsyncSession, proposal_id: str) -> Sequence[ReportedReviewRow]:
    """A proposal's reviews, in the order submitted."""
    query = (
        select(ReportedReviewRow)
        .where(col(ReportedReviewRow.proposal_id) == proposal_id)
        .order_by(col(ReportedReviewRow.submitted_at), col(ReportedReviewRow.review_id))
    )
    return (await session.exec(query)).all()
