"""How a received event changes reporting's tables: keep the envelope with the next stream number, link
it to the proposals and packages it concerns, and fold each of those again from all its events.

The consumer calls :func:`project` inside the transaction that also writes the inbox row; the rebuild
inserts the same rows (:func:`received_rows`) for everything it reads back from the topics and folds
every proposal and package once at the end (:mod:`aireg_reporting.rebuild`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue import ChainCheckpoint
from aireg_events.catalogue.analysis import ProposalReleasedFromCampaign, ProposalTriaged
from aireg_events.catalogue.submission import ConsultationOpened, PortalResumed, PortalSuspended
from aireg_reporting import domain, store
from aireg_reporting.domain import Received
from aireg_reporting.store import (
    CheckpointRow,
    ConsultationRow,
    EventSubjectRow,
    PackageItemRow,
    PackageRow,
    PortalRow,
    ProposalRow,
    ReceivedEventRow,
    ReviewRow,
    StateTable,
    TriageLinkRow,
)

_SEQ_LOCK_KEY = 0x41495245_47534551 & 0x7FFFFFFFFFFFFFFF  # "AIREGSEQ"


@dataclass(frozen=True)
class ReceivedRows:
    """The rows an event adds as it is received, before any fold: the envelope with its stream number,
    its links to proposals and packages, and what it says about grouping (if it is a triage or a
    release). The live projection and the rebuild insert the same."""

    event: dict[str, Any]
    subjects: list[dict[str, Any]]
    link: dict[str, Any] | None


def received_rows(received: Received, *, seq: int, received_at: datetime) -> ReceivedRows:
    envelope, event = received.envelope, received.event
    consultation_id = domain.consultation_of(event)
    subjects = [("proposal", proposal_id) for proposal_id in domain.proposals_of(event)]
    subjects += [("package", package_id) for package_id in domain.packages_of(event)]
    link = domain.TriageLink.of(received)
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
            "consultation_id": consultation_id,
            "received_at": received_at,
            "body": envelope.to_canonical().decode(),
        },
        subjects=[
            {"subject_kind": kind, "subject_id": subject_id, "event_id": envelope.event_id}
            for kind, subject_id in subjects
        ],
        link=None
        if link is None or consultation_id is None
        else {
            "event_id": link.event_id,
            "consultation_id": consultation_id,
            "log_position": link.log_position,
            "proposal_id": link.proposal_id,
            "released": link.released,
            "campaign_id": link.campaign_id,
            "merged_campaigns": list(link.merged_campaigns),
            "grouped_with": list(link.grouped_with),
            "exact_duplicate_of": link.exact_duplicate_of,
            "exact_duplicates": list(link.exact_duplicates),
        },
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


async def project(session: AsyncSession, received: Received, *, received_at: datetime) -> int:
    """Apply one event (not applied before) to the read models; returns its stream number."""
    event = received.event
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        # Replicas share the database: one numbers events at a time, so the numbers stay gap-free.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQ_LOCK_KEY})
    seq = await store.head_seq(session) + 1
    # Statements with their values as parameters (not .values()): compiled once, not per event.
    rows = received_rows(received, seq=seq, received_at=received_at)
    await session.execute(insert(ReceivedEventRow), [rows.event])
    if rows.subjects:
        await session.execute(insert(EventSubjectRow), rows.subjects)
    await project_own_rows(session, received)
    if rows.link is not None:
        await session.execute(insert(TriageLinkRow), [rows.link])
    link = domain.TriageLink.of(received)
    consultation_id = domain.consultation_of(event)
    if domain.changes_proposal_state(event):
        for proposal_id in domain.proposals_of(event):
            await refold_proposal(session, proposal_id)
    if consultation_id is not None and await _may_regroup(session, received, link):
        await regroup_consultation(session, consultation_id)
    for package_id in domain.packages_of(event):
        await refold_package(session, package_id)
    return seq


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
    bodies = await session.execute(
        select(ReceivedEventRow.body)
        .join(EventSubjectRow, col(EventSubjectRow.event_id) == col(ReceivedEventRow.event_id))
        .where(col(EventSubjectRow.subject_kind) == kind, col(EventSubjectRow.subject_id) == subject_id)
        .order_by(col(ReceivedEventRow.event_id))
    )
    return [Received.parse(body) for (body,) in bodies]


async def _may_regroup(session: AsyncSession, received: Received, link: domain.TriageLink | None) -> bool:
    """Whether the event can change its consultation's campaigns or duplicates (replaying them all
    costs a read of the consultation, so the common events that cannot are spared it)."""
    if not domain.changes_grouping(received.event):
        return False
    if link is not None:
        if not link.is_inert:
            return True
        known = (
            await session.execute(
                select(ProposalRow.campaign_id, ProposalRow.exact_duplicate_of).where(
                    col(ProposalRow.proposal_id) == link.proposal_id
                )
            )
        ).first()
        if known is not None:
            return known[0] is not None or known[1] is not None
        # Its submission has not arrived (the topics are read side by side): an inert triage can
        # only take it out of a grouping that another triage or release put it in.
        return await _named_by_triage(session, link.proposal_id, besides=received.event_id)
    # A submission (its time picks representatives) or a withdrawal (it leaves its campaign) matters
    # only for a proposal that some triage or release has named.
    return await _named_by_triage(session, getattr(received.event, "proposal_id", ""))


async def _named_by_triage(session: AsyncSession, proposal_id: str, *, besides: str = "") -> bool:
    """Whether a triage or a release received (other than ``besides``) concerns the proposal."""
    named = await session.exec(
        select(EventSubjectRow.event_id)
        .join(ReceivedEventRow, col(ReceivedEventRow.event_id) == col(EventSubjectRow.event_id))
        .where(
            col(EventSubjectRow.subject_kind) == "proposal",
            col(EventSubjectRow.subject_id) == proposal_id,
            col(EventSubjectRow.event_id) != besides,
            col(ReceivedEventRow.event_type).in_(
                [ProposalTriaged.event_type, ProposalReleasedFromCampaign.event_type]
            ),
        )
        .limit(1)
    )
    return named.first() is not None


async def grouping_of(session: AsyncSession, consultation_id: str) -> domain.Grouping:
    links = (
        await session.exec(select(TriageLinkRow).where(col(TriageLinkRow.consultation_id) == consultation_id))
    ).all()
    proposals = (
        await session.exec(
            select(ProposalRow.proposal_id, ProposalRow.received_at, ProposalRow.withdrawn_at).where(
                col(ProposalRow.consultation_id) == consultation_id
            )
        )
    ).all()
    return domain.group(
        (
            domain.TriageLink(
                log_position=link.log_position,
                event_id=link.event_id,
                proposal_id=link.proposal_id,
                released=link.released,
                campaign_id=link.campaign_id,
                merged_campaigns=tuple(link.merged_campaigns),
                grouped_with=tuple(link.grouped_with),
                exact_duplicate_of=link.exact_duplicate_of,
                exact_duplicates=tuple(link.exact_duplicates),
            )
            for link in links
        ),
        received_at={proposal_id: received_at for proposal_id, received_at, _ in proposals},
        withdrawn={proposal_id for proposal_id, _, withdrawn_at in proposals if withdrawn_at is not None},
    )


async def regroup_consultation(session: AsyncSession, consultation_id: str) -> None:
    """Fold again every proposal of the consultation whose campaign or original changed."""
    grouping = await grouping_of(session, consultation_id)
    rows = (
        await session.exec(
            select(
                ProposalRow.proposal_id,
                ProposalRow.campaign_id,
                ProposalRow.campaign_representative,
                ProposalRow.exact_duplicate_of,
            ).where(col(ProposalRow.consultation_id) == consultation_id)
        )
    ).all()
    for proposal_id, campaign_id, representative, duplicate_of in rows:
        facts = grouping.facts(proposal_id)
        if facts != domain.GroupFacts(campaign_id, representative, duplicate_of):
            await refold_proposal(session, proposal_id, facts)


async def refold_proposal(
    session: AsyncSession, proposal_id: str, facts: domain.GroupFacts | None = None
) -> None:
    """Replace the proposal's rows by the fold of every event received about it; its campaign and
    original stay as they were unless ``facts`` says otherwise."""
    if facts is None:
        known = (
            await session.execute(
                select(
                    ProposalRow.campaign_id,
                    ProposalRow.campaign_representative,
                    ProposalRow.exact_duplicate_of,
                ).where(col(ProposalRow.proposal_id) == proposal_id)
            )
        ).first()
        facts = domain.GroupFacts(*known) if known is not None else domain.GroupFacts()
    state = domain.fold_proposal(proposal_id, await _received(session, "proposal", proposal_id), facts)
    if not state.is_submitted:  # its ProposalSubmitted has not arrived yet: the events wait
        await session.execute(delete(ReviewRow).where(col(ReviewRow.proposal_id) == proposal_id))
        await session.execute(delete(ProposalRow).where(col(ProposalRow.proposal_id) == proposal_id))
        return
    proposal, reviews = proposal_rows(state)
    await session.execute(_upsert(session, ProposalRow), [proposal])
    if reviews:  # a fold has every review an earlier fold had (no event takes one away)
        await session.execute(_upsert(session, ReviewRow), reviews)


def _upsert(session: AsyncSession, table: type[StateTable]) -> Any:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` of every column: one statement where a
    delete and an insert were two."""
    dialect = session.get_bind().dialect.name
    key = (dialect, str(table.__tablename__))
    statement = _UPSERTS.get(key)
    if statement is None:
        columns = table.__table__.columns  # type: ignore[attr-defined]
        base = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
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
