"""Fixtures of the submission service's fast tests: its database (SQLite and PostgreSQL, migrated), a clock
the test moves, and the message bus its routes use, with no HTTP app and no broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aireg_events.bus import MessageBus
from aireg_events.log.appender import LogAppender
from aireg_events.log.database import Database, open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_submission.app import MIGRATIONS
from aireg_submission.handlers import HANDLERS
from aireg_submission.personal_data import DataSubjects
from aireg_submission.projections import project_own
from services.submission.tests.harness import START, MovableClock


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    opened = open_database(database_url)
    await upgrade_to_head(opened, MIGRATIONS)
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
async def bus(database: Database, clock: MovableClock) -> AsyncIterator[MessageBus[DataSubjects]]:
    """The bus as the app builds it (``app.create_app``), on the test's database and clock."""
    appender = LogAppender(database, "submission", clock=clock)
    await appender.start()
    try:
        yield MessageBus(appender, HANDLERS, project_own, DataSubjects(b"a digest secret of the tests"))
    finally:
        await appender.stop()
