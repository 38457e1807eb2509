"""The status a submitter sees follows the analysis topic: sealed analysis events produced to the topic in
the test move it, through the service's consumer and inbox, and never back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from aireg_events.catalogue.analysis import (
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import Organization, Outcome
from aireg_events.log.database import open_database
from services.submission.tests.harness import METHOD, AnalysisProducer, Submission
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]


async def status_of(submission: Submission, proposal_id: str) -> str:
    response = await submission.proposal(proposal_id)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def becomes(submission: Submission, proposal_id: str, status: str) -> None:
    await eventually(lambda: status_of(submission, proposal_id), until=lambda seen: seen == status)


async def inbox_count(submission: Submission, event_id: str) -> Any:
    database = open_database(submission.database_url)
    try:
        async with database.reader.connect() as connection:
            query = text("SELECT count(*) FROM inbox WHERE event_id = :event_id")
            return (await connection.execute(query, {"event_id": event_id})).scalar_one()
    finally:
        await database.dispose()


async def inbox_holds(submission: Submission, event_id: str, times: int) -> None:
    await eventually(lambda: inbox_count(submission, event_id), until=lambda count: count == times)


async def test_the_status_a_submitter_sees_follows_the_analysis_topic(
    submission: Submission, analysis: AnalysisProducer
) -> None:
    consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]
    ids = []
    for _ in range(3):
        response = await submission.submit(consultation_id)
        assert response.status_code == 201, response.text
        ids.append(response.json()["proposal_id"])
    assessed, duplicate, withdrawn = ids
    common = {"consultation_id": consultation_id}

    triaged = await analysis.publish(
        ProposalTriaged(proposal_id=assessed, proposal_version=1, complete=True, method=METHOD, **common)
    )
    await becomes(submission, assessed, "under_review")
    await analysis.resend(triaged)  # a redelivery: applied once, changes nothing
    await analysis.publish(
        ProposalAssessed(
            proposal_id=assessed, outcome=Outcome.recommended, rationale="sound", review_ids=["r1"], **common
        )
    )
    await becomes(submission, assessed, "assessed")
    await analysis.publish(ProposalForwardedToGovernment(proposal_id=assessed, package_id="pkg-1", **common))
    await becomes(submission, assessed, "forwarded_to_government")
    await inbox_holds(submission, triaged.event_id, 1)

    await analysis.publish(
        ProposalTriaged(
            proposal_id=duplicate,
            proposal_version=1,
            complete=True,
            exact_duplicate_of=assessed,
            method=METHOD,
            **common,
        )
    )
    await becomes(submission, duplicate, "under_review")
    await analysis.publish(
        ProposalAssessed(
            proposal_id=duplicate,
            outcome=Outcome.merged,
            merged_into=assessed,
            rationale="the same text",
            review_ids=["r2"],
            **common,
        )
    )
    await becomes(submission, duplicate, "rejected_as_duplicate")

    withdrawal = await submission.client.post(
        f"/v1/proposals/{withdrawn}/withdrawal",
        headers=submission.portal(),
        json={"reason": "changed our mind"},
    )
    assert withdrawal.status_code == 200
    late_news = [
        ReviewerAssigned(
            proposal_id=assessed, reviewer="rev-1", organization=Organization.ministry, **common
        ),
        ReviewSubmitted(
            proposal_id=assessed,
            review_id="r9",
            reviewer="rev-1",
            organization=Organization.ministry,
            proposal_version=1,
            scores={"legal_soundness": 4, "feasibility": 4, "risk_reduction": 5, "innovation_impact": 3},
            recommendation="support",
            rationale="fine",
            **common,
        ),
        ProposalTriaged(proposal_id=withdrawn, proposal_version=1, complete=True, method=METHOD, **common),
    ]
    published = [await analysis.publish(event) for event in late_news]
    for envelope in published:
        if envelope.event_type != "ReviewSubmitted":  # reviews move no status: they skip the inbox
            await inbox_holds(submission, envelope.event_id, 1)

    assert await status_of(submission, assessed) == "forwarded_to_government", (
        "a late assignment moves nothing back"
    )
    assert await status_of(submission, withdrawn) == "withdrawn", "a withdrawn proposal stays withdrawn"
    assert await status_of(submission, duplicate) == "rejected_as_duplicate"
