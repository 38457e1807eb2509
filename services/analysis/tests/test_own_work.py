"""The staff's own work in the queue, over HTTP: what is assigned to the caller and not yet reviewed by
them, what they reviewed, and what is overdue, the least time left first."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from services.analysis.tests.harness import AnalysisUnderTest
from services.analysis.tests.proposals import content
from services.analysis.tests.texts import distinct_text

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]


async def own(analysis: AnalysisUnderTest, work: str, consultations: list[str]) -> list[str]:
    response = await analysis.client.get(
        "/v1/queue", params={"work": work, "limit": 1000}, headers=analysis.reviewer("ivanova")
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return [item["proposal_id"] for item in items if item["consultation_id"] in consultations]


async def test_a_reviewer_sees_what_is_theirs_to_review_what_they_reviewed_and_what_is_overdue_least_time_first(
    analysis: AnalysisUnderTest,
) -> None:
    analysis.clock.reset()
    rng = random.Random(5)
    later = await analysis.submission.open_consultation()
    overdue_call = await analysis.submission.open_consultation(
        analysis_due_at=datetime(2027, 1, 22, tzinfo=UTC)
    )
    first, second, untouched = await analysis.submission.submit(
        later, *(content(distinct_text(rng)) for _ in range(3))
    )
    (late,) = await analysis.submission.submit(overdue_call, content(distinct_text(rng)))
    await analysis.until_triaged(later, 3)
    await analysis.until_triaged(overdue_call, 1)
    for proposal_id in (first, second, late):
        assert (await analysis.assign(proposal_id, "ivanova", "ministry")).status_code == 201
    assert (await analysis.assign(untouched, "petrov", "ministry")).status_code == 201
    assert (await analysis.review(first, "ivanova", "ministry")).status_code == 201

    calls = [later, overdue_call]
    assert await own(analysis, "assigned", calls) == [late, second], "the least time left first"
    assert await own(analysis, "reviewed", calls) == [first]
    assert await own(analysis, "overdue", calls) == [late]
    bad = await analysis.client.get("/v1/queue", params={"work": "everything"}, headers=analysis.lead)
    assert bad.status_code == 422
