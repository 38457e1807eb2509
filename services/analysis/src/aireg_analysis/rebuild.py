"""``aireg rebuild analysis``: drop the state tables and replay the own log and the inbox-recorded
submission events through the same projections the live service uses; and the digest that compares."""

from __future__ import annotations

from aireg_analysis.projections import project_input, project_own
from aireg_analysis.store import metadata
from aireg_events.log import rebuild as machinery
from aireg_events.log.database import Database


async def rebuild(database: Database, progress: machinery.Progress | None = None) -> int:
    return await machinery.rebuild_state(
        database, metadata, project_own=project_own, project_input=project_input, progress=progress
    )


async def state_digest(database: Database) -> str:
    return await machinery.state_digest(database, metadata)
