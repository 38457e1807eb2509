"""kill -9 of each service in turn, three times each, under a steady load of submissions: every accepted
submission ends up exactly once in every store, no event is applied twice, and log positions and
registration numbers stay gap-free."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from aireg_cli.stack import SERVICES
from tests.faults.delivery import count_deliveries
from tests.faults.load import SubmissionLoad
from tests.support.system import System, consultation_body

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.faults]

ROUNDS = 3


async def open_consultation(system: System) -> str:
    async with httpx.AsyncClient(base_url=system.url("submission"), timeout=30) as client:
        response = await client.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


@pytest.mark.timeout(900)
async def test_killing_each_service_three_times_under_load_loses_nothing_and_applies_nothing_twice(
    system: System, artifacts_dir: Path
) -> None:
    consultation_id = await open_consultation(system)
    load = SubmissionLoad(system, consultation_id, label=f"kill-{system.backend}", rate=3.0, max_count=600)
    load.start()
    try:
        await load.wait_accepted(4)
        for _ in range(ROUNDS):
            for name in SERVICES:
                await asyncio.sleep(0.7)  # the load goes on between kills
                system[name].kill()
                await asyncio.sleep(0.3)
                await asyncio.to_thread(system[name].start)
        await asyncio.sleep(1.0)
    finally:
        await load.stop()

    figures, problems = await count_deliveries(
        system, load, f"kill -9 x{ROUNDS} each service ({system.backend})"
    )
    figures.extra["kills"] = ROUNDS * len(SERVICES)
    figures.extra["inbox_duplicates_absorbed"] = sum(
        system.metric(name, "aireg_inbox_duplicates_skipped_total") for name in SERVICES
    )
    figures.report(artifacts_dir)
    assert problems == []
    assert figures.sent == figures.accepted > 0
    assert figures.lost == 0
    assert figures.duplicates == 0
