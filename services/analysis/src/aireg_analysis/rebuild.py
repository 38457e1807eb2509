"""``aireg rebuild analysis``: drop the state tables and replay the own log and the inbox-recorded
submission events through the one projector the live service uses; and the digest that compares."""

from __future__ import annotations

from aireg_analysis.projector import project_now
from aireg_analysis.tables import metadata
from aireg_events.log import rebuild as machinery
from aireg_events.log.database import Database


async def rebuild(database: Database, progress: machinery.Progress | None = None) -> int:
    return await machinery.rebuild_state(
        database, metadata, project_own=project_now, project_input=project_now, progress=progress
    )


async def state_digest(database: Database) -> str:
    return await machinery.state_digest(database, metadata)
