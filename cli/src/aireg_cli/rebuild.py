"""``aireg rebuild SERVICE``: drop a service's state and rebuild it, then compare digests.

submission and analysis rebuild from their own log and the inputs their inbox recorded; reporting from
the topics. Each service's ``rebuild`` module provides ``state_digest`` and the rebuild itself. Stop the
service first: its tables are dropped and recreated.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aireg_events.log.database import open_database

Progress = Callable[[int, int], None]


@dataclass
class RebuildResult:
    service: str
    digest_before: str
    digest_after: str
    events: int | None

    @property
    def identical(self) -> bool:
        return self.digest_before == self.digest_after

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "identical": self.identical}


async def rebuild_service(service: str, settings: Any, progress: Progress | None = None) -> RebuildResult:
    module = importlib.import_module(f"aireg_{service}.rebuild")
    database = open_database(settings.database_url)
    try:
        before = await module.state_digest(database)
        if service == "reporting":
            await database.dispose()
            after = await module.rebuild_from_topics(settings, progress)
            return RebuildResult(service, before, after, None)
        events = await module.rebuild(database, progress)
        after = await module.state_digest(database)
        return RebuildResult(service, before, after, events)
    finally:
        await database.dispose()


def run_rebuild(service: str, settings: Any, progress: Progress | None = None) -> RebuildResult:
    return asyncio.run(rebuild_service(service, settings, progress))
