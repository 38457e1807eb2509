"""Dropping every read model and rebuilding it from the topics, and the digest that shows the rebuilt
state is the live one (``aireg rebuild reporting`` wraps these two functions).

The rebuild reads both topics from offset 0 with a reader of its own (``assign`` + ``seek``, no
consumer group; :func:`aireg_events.topic_reader.read_topics`), until they are idle (the embedded
broker under-reports end offsets, so they are only a lower bound), and writes the rows the live
consumer writes, in one transaction: if it fails, the old state stays. The live consumer folds a
proposal again after each of its events; the rebuild inserts every received event first and folds each
proposal, consultation grouping and package once, with the same pure functions
(:mod:`aireg_reporting.domain`), so it reaches the same state at a fraction of the statements.
Run it with the service stopped. Events are numbered again in the order the rebuild read them, so the
live stream gets a new epoch (clients resuming with an old id are told to reload).

The digest covers every projection table, rows in primary-key order, without the columns that say when
and in which order this copy received the events (``received_event.seq`` and ``received_at``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any, cast

from aiokafka.structs import ConsumerRecord
from sqlalchemy import delete, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.envelope import utc_now
from aireg_events.log.consumer import Delivery, PoisonMessage, parse_record
from aireg_events.log.database import Database, open_database
from aireg_events.log.inbox import inbox_row
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.rebuild import state_digest as digest_of_tables
from aireg_events.log.tables import inbox
from aireg_events.topic_reader import read_topics
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.projections import (
    project_own_rows,
    proposal_rows,
    received_rows,
    refold_package,
    regroup_consultation,
)
from aireg_reporting.settings import Settings
from aireg_reporting.store import (
    PROJECTION_TABLES,
    VOLATILE_COLUMNS,
    EventSubjectRow,
    ProposalRow,
    ReceivedEventRow,
    ReviewRow,
    StreamMetaRow,
    TriageLinkRow,
    TriageNodeRow,
    metadata,
)

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
Progress = Callable[[int, int], None]


async def state_digest(database: Database) -> str:
    """SHA-256 over a canonical dump of every projection table (see the module's docstring)."""
    return await digest_of_tables(database, metadata, exclude=[*VOLATILE_COLUMNS, "stream_meta.value"])


async def _drop_projections(session: AsyncSession) -> None:
    for table in reversed(PROJECTION_TABLES):
        await session.execute(delete(table))
    await session.execute(delete(inbox))
    await session.execute(delete(StreamMetaRow))
    await session.execute(insert(StreamMetaRow).values(key="epoch", value=uuid.uuid4().hex[:8]))


async def rebuild_from_topics(settings: Settings, progress: Progress | None = None) -> str:
    """Drop every projection (and the inbox), apply both topics from offset 0, return the new digest."""
    database = open_database(settings.database_url)
    try:
        await upgrade_to_head(database, MIGRATIONS)
        skipped = 0
        async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
            await _drop_projections(session)
            load = _BulkLoad(session)
            records = read_topics(
                settings.kafka_bootstrap_servers,
                [settings.topics.submission, settings.topics.analysis],
                progress=progress,
            )
            async for record in records:
                try:
                    # parse_record reads only topic, partition, offset and value, which TopicRecord has.
                    delivery = parse_record(cast(ConsumerRecord, record))
                except PoisonMessage as poison:  # the live consumer dead-lettered it too
                    skipped += 1
                    logger.warning(
                        "skipping %s[%d]@%d: %s", record.topic, record.partition, record.offset, poison
                    )
                    continue
                await load.add(record.topic, record.partition, record.offset, delivery)
            await load.fold()
        if skipped:
            logger.warning("the rebuild skipped %d records that are not events (see the DLQ)", skipped)
        return await state_digest(database)
    finally:
        await database.dispose()


class _BulkLoad:
    """The rebuild's writer: the rows each event adds as it is received (the live projection's
    :func:`~aireg_reporting.projections.received_rows`, in the order read) go in by thousands; every
    proposal and package is then folded once from all its events, and every consultation's campaigns
    and duplicates replayed once, instead of again after each event as the live consumer must."""

    FLUSH_EVERY = 2000
    FOLD_PAGE = 1000

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.seen: set[str] = set()
        self.seq = 0
        self.events: list[dict[str, Any]] = []
        self.subjects: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []
        self.inbox: list[dict[str, Any]] = []
        self.consultations: set[str] = set()

    async def add(self, topic: str, partition: int, offset: int, delivery: Delivery) -> None:
        envelope = delivery.envelope
        if envelope.event_id in self.seen:  # a repeat on the topic (a relay republished it)
            return
        self.seen.add(envelope.event_id)
        self.seq += 1
        now = utc_now()
        received = Received(envelope, delivery.event)
        rows = received_rows(received, seq=self.seq, received_at=now)
        self.events.append(rows.event)
        self.subjects.extend(rows.subjects)
        if rows.link is not None:
            self.links.append(rows.link)
        self.nodes.extend(rows.nodes)
        self.inbox.append(
            inbox_row(
                envelope,
                topic=topic,
                partition=partition,
                offset=offset,
                own_log_head=0,
                applied_at=now,
                body=rows.event["body"],
            )
        )
        await project_own_rows(self.session, received)
        if rows.event["consultation_id"] is not None:
            self.consultations.add(rows.event["consultation_id"])
        if len(self.events) >= self.FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        for table, rows in (
            (ReceivedEventRow, self.events),
            (EventSubjectRow, self.subjects),
            (TriageLinkRow, self.links),
            (TriageNodeRow, self.nodes),
            (inbox, self.inbox),
        ):
            if rows:
                await self.session.execute(insert(table), rows)
                rows.clear()

    async def fold(self) -> None:
        await self.flush()
        await self._fold_proposals()
        for consultation_id in sorted(self.consultations):
            await regroup_consultation(self.session, consultation_id)
        packages = await self.session.execute(
            select(EventSubjectRow.subject_id)
            .where(col(EventSubjectRow.subject_kind) == "package")
            .distinct()
        )
        for (package_id,) in packages.all():
            await refold_package(self.session, package_id)

    async def _fold_proposals(self) -> None:
        after = ""
        while True:
            page = (
                await self.session.execute(
                    select(EventSubjectRow.subject_id)
                    .where(
                        col(EventSubjectRow.subject_kind) == "proposal",
                        col(EventSubjectRow.subject_id) > after,
                    )
                    .distinct()
                    .order_by(col(EventSubjectRow.subject_id))
                    .limit(self.FOLD_PAGE)
                )
            ).all()
            if not page:
                return
            ids = [proposal_id for (proposal_id,) in page]
            after = ids[-1]
            bodies = await self.session.execute(
                select(EventSubjectRow.subject_id, ReceivedEventRow.body)
                .join(ReceivedEventRow, col(ReceivedEventRow.event_id) == col(EventSubjectRow.event_id))
                .where(
                    col(EventSubjectRow.subject_kind) == "proposal", col(EventSubjectRow.subject_id).in_(ids)
                )
                .order_by(col(EventSubjectRow.subject_id), col(ReceivedEventRow.event_id))
            )
            proposals: list[dict[str, Any]] = []
            reviews: list[dict[str, Any]] = []
            for proposal_id, group in groupby(bodies.all(), key=lambda row: row[0]):
                state = domain.fold_proposal(
                    proposal_id, [Received.parse(body) for _, body in group], domain.GroupFacts()
                )
                if state.is_submitted:
                    proposal, its_reviews = proposal_rows(state)
                    proposals.append(proposal)
                    reviews.extend(its_reviews)
            if proposals:
                await self.session.execute(insert(ProposalRow), proposals)
            if reviews:
                await self.session.execute(insert(ReviewRow), reviews)
