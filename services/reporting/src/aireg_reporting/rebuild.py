"""Dropping every read model and rebuilding it from the topics, and the digest that shows the rebuilt
state is the live one (``aireg rebuild reporting`` wraps these two functions).

The rebuild reads both topics from offset 0 with a reader of its own (``assign`` + ``seek``, no
consumer group; :func:`aireg_events.topic_reader.read_topics`), until they are idle (the embedded
broker under-reports end offsets, so they are only a lower bound), and writes the rows the live
consumer writes, in one transaction: if it fails, the old state stays. It applies the events through the
live consumer's projector (:func:`aireg_reporting.projector.project`), a few thousand at a time:
one path, so it reaches the live state.
Run it with the service stopped. Events are numbered again in the order the rebuild read them, so the
live stream gets a new epoch (clients resuming with an old id are told to reload).

The digest covers every projection table, rows in primary-key order, without the columns that say when
and in which order this copy received the events (``received_event.seq`` and ``received_at``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from aiokafka.structs import ConsumerRecord
from sqlalchemy import delete, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.envelope import utc_now
from aireg_events.log.consumer import Delivery, PoisonMessage, parse_record
from aireg_events.log.database import Database, open_database
from aireg_events.log.inbox import inbox_row
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.rebuild import state_digest as digest_of_tables
from aireg_events.log.tables import inbox
from aireg_events.topic_reader import read_topics
from aireg_reporting.domain import Received
from aireg_reporting.projector import project
from aireg_reporting.settings import Settings
from aireg_reporting.tables import PROJECTION_TABLES, VOLATILE_COLUMNS, StreamMetaRow, metadata

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
            load = TopicsLoad(session)
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


class TopicsLoad:
    """The rebuild's writer: the events in the order read, through the live projector
    (:func:`~aireg_reporting.projector.project`) a few thousand at a time, with their inbox rows."""

    BATCH = 5000

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.seen: set[str] = set()
        self.items: list[Received] = []
        self.inbox: list[dict[str, Any]] = []

    async def add(self, topic: str, partition: int, offset: int, delivery: Delivery) -> None:
        envelope = delivery.envelope
        if envelope.event_id in self.seen:  # a repeat on the topic (a relay republished it)
            return
        self.seen.add(envelope.event_id)
        received = Received(envelope, delivery.event, delivery.body)
        self.items.append(received)
        self.inbox.append(
            inbox_row(
                envelope,
                topic=topic,
                partition=partition,
                offset=offset,
                own_log_head=0,
                applied_at=utc_now(),
                body=received.canonical,
            )
        )
        if len(self.items) >= self.BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.items:
            await project(self.session, self.items, received_at=utc_now())
            await self.session.execute(insert(inbox), self.inbox)
            self.items, self.inbox = [], []

    async def fold(self) -> None:
        await self.flush()
