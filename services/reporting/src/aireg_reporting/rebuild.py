"""Dropping every read model and rebuilding it from the topics, and the digest that shows the rebuilt
state is the live one (``aireg rebuild reporting`` wraps these two functions).

The rebuild reads both topics from offset 0 with a reader of its own (``assign`` + ``seek``, no
consumer group; :func:`aireg_events.topic_reader.read_topics`), until they are idle (the embedded
broker under-reports end offsets, so they are only a lower bound), and applies every event through the same
projection code and inbox as the live consumer, in one transaction: if it fails, the old state stays.
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
from typing import cast

from aiokafka.structs import ConsumerRecord
from sqlalchemy import delete, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.envelope import utc_now
from aireg_events.log.consumer import PoisonMessage, parse_record
from aireg_events.log.database import Database, open_database
from aireg_events.log.inbox import already_applied, record_applied
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.rebuild import state_digest as digest_of_tables
from aireg_events.log.tables import inbox
from aireg_events.topic_reader import read_topics
from aireg_reporting.domain import Received
from aireg_reporting.projections import project
from aireg_reporting.settings import Settings
from aireg_reporting.store import PROJECTION_TABLES, VOLATILE_COLUMNS, StreamMetaRow, metadata

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
                envelope = delivery.envelope
                if await already_applied(session, envelope.event_id):
                    continue
                await project(session, Received(envelope, delivery.event), received_at=utc_now())
                await record_applied(
                    session,
                    envelope,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    own_log_head=0,
                )
        if skipped:
            logger.warning("the rebuild skipped %d records that are not events (see the DLQ)", skipped)
        return await state_digest(database)
    finally:
        await database.dispose()
