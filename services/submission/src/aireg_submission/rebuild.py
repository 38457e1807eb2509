"""``aireg rebuild submission``: drop the state tables and replay the own log and the inbox-recorded
analysis events through the same ``project_own`` and ``project_input`` the live service uses; and the
digest that shows the rebuilt state is the one it replaced. Stop the service first."""

from __future__ import annotations

from aireg_events.log import rebuild as machinery
from aireg_events.log.database import Database
from aireg_submission.projections import project_input, project_own
from aireg_submission.store import metadata


async def rebuild(database: Database, progress: machinery.Progress | None = None) -> int:
    return await machinery.rebuild_state(
        database, metadata, project_own=project_own, project_input=project_input, progress=progress
    )


async def state_digest(database: Database) -> str:
    return await machinery.state_digest(database, metadata)
