"""The state tables are derivable: emptied (or damaged) and rebuilt from the own log and the inbox, they
come back row for row, the status the analysis topic set included."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from aireg_events.catalogue.analysis import ProposalAssessed, ProposalTriaged
from aireg_events.catalogue.common import Outcome
from aireg_events.log.database import open_database
from aireg_submission.rebuild import rebuild_state
from services.submission.tests.harness import METHOD, AnalysisProducer, Submission
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]

TABLES = {
    "consultation": "consultation_id",
    "registration_counter": "consultation_id",
    "proposal": "proposal_id",
    "portal": "portal",
}


async def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    database = open_database(database_url)
    try:
        async with database.reader.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in await connection.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
                ]
                for table, key in TABLES.items()
            }
    finally:
        await database.dispose()


async def test_the_state_tables_are_rebuilt_row_for_row_from_the_log_and_the_inbox(
    submission: Submission, analysis: AnalysisProducer
) -> None:
    consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]
    ids = []
    for portal in ("rebuild-a", "rebuild-a", "rebuild-b"):
        response = await submission.submit(consultation_id, portal=portal)
        ids.append(response.json()["proposal_id"])
    amended, withdrawn, assessed = ids
    portal_a = submission.portal("rebuild-a")
    await submission.client.post(
        f"/v1/proposals/{amended}/amendments",
        headers=portal_a,
        json={"changes": {"title": "Sharper"}, "reason": "typo"},
    )
    await submission.client.post(
        f"/v1/proposals/{withdrawn}/withdrawal", headers=portal_a, json={"reason": "no"}
    )
    admin = submission.auth("admin")
    await submission.client.post("/v1/portals/rebuild-b/suspension", headers=admin, json={"reason": "flood"})
    await analysis.publish(
        ProposalTriaged(
            proposal_id=assessed,
            consultation_id=consultation_id,
            proposal_version=1,
            complete=True,
            method=METHOD,
        )
    )
    await analysis.publish(
        ProposalTriaged(
            proposal_id=withdrawn,
            consultation_id=consultation_id,
            proposal_version=1,
            complete=True,
            method=METHOD,
        )
    )
    await analysis.publish(
        ProposalAssessed(
            proposal_id=assessed,
            consultation_id=consultation_id,
            outcome=Outcome.merged,
            merged_into=amended,
            rationale="same",
            review_ids=[],
        )
    )
    staff = submission.auth("reviewer")
    await eventually(
        lambda: submission.client.get(f"/v1/proposals/{assessed}", headers=staff),
        until=lambda response: response.json()["status"] == "rejected_as_duplicate",
    )
    await submission.client.post("/v1/portals/rebuild-b/resumption", headers=admin)
    before = await snapshot(submission.database_url)
    assert {row[0] for row in before["proposal"]} >= set(ids)

    database = open_database(submission.database_url)
    try:
        async with database.writer.begin() as connection:
            await connection.execute(text("UPDATE proposal SET status = 'submitted', version = 7"))
            await connection.execute(text("DELETE FROM portal"))
        counts = await rebuild_state(database)
    finally:
        await database.dispose()

    assert await snapshot(submission.database_url) == before
    assert counts.inputs >= 3
    assert counts.own_events >= len(await submission.log())
