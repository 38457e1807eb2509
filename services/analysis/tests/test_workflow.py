"""The review workflow over HTTP, on SQLite and PostgreSQL: assignment, dual review, assessment, packages
for the government; each rule's refusal with its machine code, and nothing recorded when refused."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.analysis.tests.harness import AnalysisUnderTest, read_topic
from services.analysis.tests.proposals import content
from services.analysis.tests.texts import distinct_text
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(autouse=True)
def _clock_reset(analysis: AnalysisUnderTest) -> None:
    analysis.clock.reset()


async def proposals(analysis: AnalysisUnderTest, count: int, **changes: Any) -> tuple[str, list[str]]:
    rng = random.Random(count)
    consultation = await analysis.submission.open_consultation()
    ids = await analysis.submission.submit(
        consultation, *(content(distinct_text(rng), **changes) for _ in range(count))
    )
    await analysis.until_triaged(consultation, count)
    return consultation, ids


async def refused(analysis: AnalysisUnderTest, request: Any, status: int, error: str) -> dict[str, Any]:
    """The request is refused with ``status`` and ``error``, and the log is exactly as it was."""
    before = await analysis.own_events()
    response: httpx.Response = await request
    assert (response.status_code, response.json().get("error")) == (status, error), response.text
    assert await analysis.own_events() == before, "a refusal records nothing"
    body: dict[str, Any] = response.json()
    return body


async def test_a_proposal_goes_from_triage_through_both_reviews_and_the_assessment_to_the_government(
    analysis: AnalysisUnderTest,
) -> None:
    consultation, (first, second) = await proposals(analysis, 2)
    for proposal_id in (first, second):
        for reviewer, organization in (("ivanova", "ministry"), ("sidorov", "analytical_center")):
            assigned = await analysis.assign(proposal_id, reviewer, organization)
            assert assigned.status_code == 201, assigned.text
            assert assigned.json()["assigned_by"] == "lead-orlova"
        (item,) = [
            i for i in await analysis.queue(consultation_id=consultation) if i["proposal_id"] == proposal_id
        ]
        assert item["status"] == "under_review"
        assert item["assignments"] == [
            {"reviewer": "ivanova", "organization": "ministry"},
            {"reviewer": "sidorov", "organization": "analytical_center"},
        ]
        ministry = await analysis.review(proposal_id, "ivanova", "ministry")
        assert ministry.status_code == 201, ministry.text
        assert ministry.json()["proposal_version"] == 1 and ministry.json()["current"] is True
        center = await analysis.review(
            proposal_id, "sidorov", "analytical_center", recommendation="support_with_changes"
        )
        assert center.status_code == 201
    outcomes = {first: "recommended", second: "recommended_with_changes"}
    for proposal_id, outcome in outcomes.items():
        assessed = await analysis.assess(proposal_id, outcome)
        assert assessed.status_code == 201, assessed.text
        assert assessed.json()["outcome"] == outcome and assessed.json()["late"] is False
        assert len(assessed.json()["review_ids"]) == 2

    opened = await analysis.client.post(
        "/v1/packages",
        json={"consultation_id": consultation, "title": "Recommendations, March"},
        headers=analysis.lead,
    )
    assert opened.status_code == 201, opened.text
    package_id = opened.json()["package_id"]
    for proposal_id in (first, second):
        added = await analysis.client.post(
            f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=analysis.lead
        )
        assert added.status_code == 201, added.text
    assert {i["proposal_id"]: i["status"] for i in await analysis.queue(consultation_id=consultation)} == {
        first: "in_package",
        second: "in_package",
    }
    submitted = await analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead)
    assert submitted.status_code == 200, submitted.text
    package = submitted.json()
    assert package["status"] == "submitted" and package["late"] is False
    assert package["counts"] == {"proposals": 2, "recommended": 1, "recommended_with_changes": 1}
    assert [item["proposal_id"] for item in package["items"]] == [first, second]
    assert all(item["status"] == "forwarded" for item in package["items"])

    forwarded = [
        e
        for e in await analysis.own_events("ProposalForwardedToGovernment")
        if e["payload"]["package_id"] == package_id
    ]
    assert sorted(e["stream_id"] for e in forwarded) == sorted([first, second])
    (sent,) = [
        e for e in await analysis.own_events("GovernmentPackageSubmitted") if e["stream_id"] == package_id
    ]
    assert sent["payload"]["proposal_ids"] == [first, second]
    assert sent["actor"]["name"] == "lead-orlova"
    history = [e["event_type"] for e in await analysis.own_events() if e["stream_id"] == first]
    assert history == [
        "ProposalTriaged",
        "ReviewerAssigned",
        "ReviewerAssigned",
        "ReviewSubmitted",
        "ReviewSubmitted",
        "ProposalAssessed",
        "ProposalForwardedToGovernment",
    ]

    async def published() -> list[str]:
        return [
            e.event_type
            for e in await read_topic(analysis.bootstrap, analysis.settings.topics.analysis)
            if e.stream_id == first
        ]

    assert await eventually(published, until=lambda types: types == history)


async def test_assignment_refusals_name_their_rule_and_record_nothing(analysis: AnalysisUnderTest) -> None:
    _, (proposal_id,) = await proposals(analysis, 1)
    assert (await analysis.assign(proposal_id, "ivanova", "ministry")).status_code == 201
    await refused(
        analysis,
        analysis.assign(proposal_id, "ivanova", "analytical_center"),
        409,
        "reviewer_already_assigned",
    )
    await refused(
        analysis,
        analysis.assign("01a20000-0000-7000-8000-000000000000", "petrov", "ministry"),
        404,
        "proposal_not_found",
    )
    await refused(analysis, analysis.assign(proposal_id, "petrov", "parliament"), 422, "validation_failed")
    as_reviewer = analysis.client.post(
        f"/v1/proposals/{proposal_id}/assignments",
        json={"reviewer": "petrov", "organization": "ministry"},
        headers=analysis.reviewer("petrov"),
    )
    await refused(analysis, as_reviewer, 403, "forbidden_role")
    await refused(
        analysis,
        analysis.client.post(f"/v1/proposals/{proposal_id}/assignments", json={}),
        401,
        "missing_token",
    )


async def test_review_refusals_name_their_rule_and_record_nothing(analysis: AnalysisUnderTest) -> None:
    _, (proposal_id,) = await proposals(analysis, 1)
    assert (await analysis.assign(proposal_id, "ivanova", "ministry")).status_code == 201
    await refused(
        analysis, analysis.review(proposal_id, "petrov", "ministry"), 409, "review_requires_assignment"
    )
    # A ministry reviewer may not review for the analytical centre, whatever the body says.
    mismatch = analysis.client.post(
        f"/v1/proposals/{proposal_id}/reviews",
        json={
            "organization": "analytical_center",
            "scores": {"legal_soundness": 4, "feasibility": 4, "risk_reduction": 5, "innovation_impact": 3},
            "recommendation": "support",
            "rationale": "x",
        },
        headers=analysis.reviewer("ivanova", "ministry"),
    )
    await refused(analysis, mismatch, 403, "organization_mismatch")
    body = await refused(
        analysis,
        analysis.review(
            proposal_id,
            "ivanova",
            "ministry",
            scores={"legal_soundness": 6, "feasibility": 1, "risk_reduction": 1, "innovation_impact": 1},
        ),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["loc"] == ["body", "scores", "legal_soundness"]
    as_lead = analysis.client.post(f"/v1/proposals/{proposal_id}/reviews", json={}, headers=analysis.lead)
    await refused(analysis, as_lead, 403, "forbidden_role")
    assert (await analysis.review(proposal_id, "ivanova", "ministry")).status_code == 201
    await refused(
        analysis, analysis.review(proposal_id, "ivanova", "ministry"), 409, "review_already_submitted"
    )


async def test_assessment_refusals_name_their_rule_and_record_nothing(analysis: AnalysisUnderTest) -> None:
    _, (proposal_id, other) = await proposals(analysis, 2)
    await refused(analysis, analysis.assess(proposal_id), 409, "assessment_needs_both_organizations")
    assert (await analysis.assign(proposal_id, "ivanova", "ministry")).status_code == 201
    assert (await analysis.review(proposal_id, "ivanova", "ministry")).status_code == 201
    body = await refused(analysis, analysis.assess(proposal_id), 409, "assessment_needs_both_organizations")
    assert body["missing_organizations"] == ["analytical_center"]
    assert (await analysis.assign(proposal_id, "sidorov", "analytical_center")).status_code == 201
    assert (await analysis.review(proposal_id, "sidorov", "analytical_center")).status_code == 201
    await refused(analysis, analysis.assess(proposal_id, "merged"), 422, "merged_into_required")
    await refused(
        analysis,
        analysis.assess(proposal_id, "recommended", merged_into=other),
        422,
        "merged_into_only_when_merged",
    )
    await refused(
        analysis, analysis.assess(proposal_id, "merged", merged_into=proposal_id), 422, "merged_into_unknown"
    )
    as_reviewer = analysis.client.post(
        f"/v1/proposals/{proposal_id}/assessment",
        json={"outcome": "recommended", "rationale": "x"},
        headers=analysis.reviewer("ivanova"),
    )
    await refused(analysis, as_reviewer, 403, "forbidden_role")
    merged = await analysis.assess(proposal_id, "merged", merged_into=other)
    assert merged.status_code == 201 and merged.json()["merged_into"] == other
    await refused(analysis, analysis.assess(proposal_id), 409, "proposal_already_assessed")
    await refused(
        analysis, analysis.assign(proposal_id, "petrov", "ministry"), 409, "proposal_already_assessed"
    )


async def test_package_refusals_name_their_rule_and_record_nothing(analysis: AnalysisUnderTest) -> None:
    consultation, (recommended, rejected, unassessed) = await proposals(analysis, 3)
    other_consultation, (elsewhere,) = await proposals(analysis, 1)
    await analysis.assessed(recommended, "recommended")
    await analysis.assessed(rejected, "not_recommended")
    await analysis.assessed(elsewhere, "recommended")

    unknown = analysis.client.post(
        "/v1/packages",
        json={"consultation_id": "01a20000-0000-7000-8000-000000000000", "title": "x"},
        headers=analysis.lead,
    )
    await refused(analysis, unknown, 422, "consultation_unknown")
    as_reviewer = analysis.client.post(
        "/v1/packages",
        json={"consultation_id": consultation, "title": "x"},
        headers=analysis.reviewer("ivanova"),
    )
    await refused(analysis, as_reviewer, 403, "forbidden_role")
    package_id = (
        await analysis.client.post(
            "/v1/packages",
            json={"consultation_id": consultation, "title": "Recommendations"},
            headers=analysis.lead,
        )
    ).json()["package_id"]

    def add(proposal_id: str, package: str = package_id) -> Any:
        return analysis.client.post(
            f"/v1/packages/{package}/items", json={"proposal_id": proposal_id}, headers=analysis.lead
        )

    def submit(package: str = package_id) -> Any:
        return analysis.client.post(f"/v1/packages/{package}/submission", headers=analysis.lead)

    await refused(analysis, submit(), 409, "package_empty")
    await refused(analysis, add(unassessed), 409, "proposal_not_assessed")
    await refused(analysis, add(rejected), 409, "proposal_not_recommended")
    await refused(analysis, add(elsewhere), 422, "proposal_in_other_consultation")
    await refused(analysis, add("01a20000-0000-7000-8000-000000000000"), 422, "proposal_unknown")
    await refused(
        analysis, add(recommended, "01a20000-0000-7000-8000-000000000000"), 404, "package_not_found"
    )
    assert (await add(recommended)).status_code == 201
    await refused(analysis, add(recommended), 409, "proposal_already_in_package")
    second = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "Second"}, headers=analysis.lead
        )
    ).json()["package_id"]
    await refused(analysis, add(recommended, second), 409, "proposal_already_in_package")
    assert (await submit()).status_code == 200
    await refused(analysis, submit(), 409, "package_already_submitted")
    await refused(analysis, add(unassessed), 409, "package_already_submitted")
    removal = analysis.client.delete(f"/v1/packages/{package_id}/items/{recommended}", headers=analysis.lead)
    await refused(analysis, removal, 409, "package_already_submitted")
    assert other_consultation != consultation


async def test_a_withdrawn_item_blocks_the_submission_until_the_lead_removes_it(
    analysis: AnalysisUnderTest,
) -> None:
    consultation, (kept, withdrawn) = await proposals(analysis, 2)
    await analysis.assessed(kept)
    await analysis.assessed(withdrawn, "recommended_with_changes")
    package_id = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "R"}, headers=analysis.lead
        )
    ).json()["package_id"]
    for proposal_id in (kept, withdrawn):
        assert (
            await analysis.client.post(
                f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=analysis.lead
            )
        ).status_code == 201
    await analysis.submission.withdraw(consultation, withdrawn)
    await analysis.until_triaged(consultation, 1)

    body = await refused(
        analysis,
        analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead),
        409,
        "package_item_not_eligible",
    )
    assert body["items"] == [{"proposal_id": withdrawn, "reason": "withdrawn"}]
    await refused(
        analysis,
        analysis.client.delete(
            f"/v1/packages/{package_id}/items/01a20000-0000-7000-8000-000000000000", headers=analysis.lead
        ),
        404,
        "proposal_not_in_package",
    )
    removed = await analysis.client.delete(
        f"/v1/packages/{package_id}/items/{withdrawn}",
        params={"reason": "withdrawn by its submitter"},
        headers=analysis.lead,
    )
    assert removed.status_code == 200 and [i["proposal_id"] for i in removed.json()["items"]] == [kept]
    submitted = await analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead)
    assert submitted.status_code == 200 and submitted.json()["counts"]["proposals"] == 1


async def test_work_after_the_deadlines_is_recorded_and_marked_late(analysis: AnalysisUnderTest) -> None:
    consultation, (proposal_id,) = await proposals(analysis, 1)
    await analysis.reviewed_by_both(proposal_id)
    (item,) = await analysis.queue(consultation_id=consultation)
    assert item["overdue"] is False
    assert item["time_left_seconds"] == int((item_due(item) - analysis.clock()).total_seconds())

    analysis.clock.now = item_due(item) + timedelta(hours=1)
    (item,) = await analysis.queue(consultation_id=consultation)
    assert item["overdue"] is True and item["time_left_seconds"] == 0
    assessed = await analysis.assess(proposal_id)
    assert assessed.status_code == 201 and assessed.json()["late"] is True
    (item,) = await analysis.queue(consultation_id=consultation)
    assert item["overdue"] is False, "an assessed proposal is no longer overdue"

    package_id = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "Late"}, headers=analysis.lead
        )
    ).json()["package_id"]
    await analysis.client.post(
        f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=analysis.lead
    )
    analysis.clock.now += timedelta(days=30)  # past forwarding_due_at (13 March)
    submitted = await analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead)
    assert submitted.status_code == 200 and submitted.json()["late"] is True
    (forwarded,) = [
        e for e in await analysis.own_events("ProposalForwardedToGovernment") if e["stream_id"] == proposal_id
    ]
    assert forwarded["payload"]["late"] is True


def item_due(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["analysis_due_at"])


async def test_the_queue_filters_pages_and_is_for_staff_only(analysis: AnalysisUnderTest) -> None:
    rng = random.Random(99)
    consultation = await analysis.submission.open_consultation()
    bodies = [
        content(distinct_text(rng), directions=["data"] if index % 2 else ["adoption", "support_measures"])
        for index in range(5)
    ]
    ids = await analysis.submission.submit(consultation, *bodies)
    await analysis.until_triaged(consultation, 5)
    assert (await analysis.assign(ids[0], "ivanova", "ministry")).status_code == 201

    first = await analysis.client.get(
        "/v1/queue", params={"consultation_id": consultation, "limit": 2}, headers=analysis.lead
    )
    assert first.status_code == 200 and len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    rest = await analysis.client.get(
        "/v1/queue",
        params={"consultation_id": consultation, "limit": 10, "cursor": first.json()["next_cursor"]},
        headers=analysis.reviewer("ivanova"),
    )
    assert rest.status_code == 200 and rest.json()["next_cursor"] is None
    assert [i["proposal_id"] for i in first.json()["items"] + rest.json()["items"]] == ids

    data = await analysis.queue(consultation_id=consultation, direction="data")
    assert [i["proposal_id"] for i in data] == [ids[1], ids[3]]
    under_review = await analysis.queue(consultation_id=consultation, status="under_review")
    assert [i["proposal_id"] for i in under_review] == [ids[0]]
    assert under_review[0]["reviews"] == {
        "ministry": {"current": 0, "stale": 0},
        "analytical_center": {"current": 0, "stale": 0},
    }

    portal = await analysis.client.get("/v1/queue", headers=analysis.tokens.header("portal", name="portal-a"))
    assert portal.status_code == 403 and portal.json()["error"] == "forbidden_role"
    assert (await analysis.client.get("/v1/queue")).status_code == 401
    bad = await analysis.client.get("/v1/queue", params={"status": "lost"}, headers=analysis.lead)
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    forged = await analysis.client.get("/v1/queue", params={"cursor": "WyJ4Il0"}, headers=analysis.lead)
    assert forged.status_code == 422 and forged.json()["error"] == "invalid_cursor"
    nul = await analysis.client.get("/v1/queue", params={"consultation_id": "a\x00b"}, headers=analysis.lead)
    assert nul.status_code == 422 and nul.json()["error"] == "validation_failed"
    missing = await analysis.client.get("/v1/proposals/nope", headers=analysis.lead)
    assert missing.status_code == 404 and missing.json()["error"] == "proposal_not_found"
