"""Amendments and withdrawal: only the portal that submitted, only before the window closes, never on a
withdrawn proposal; every refusal records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.submission.tests.harness import Submission, proposal_body

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]


async def submitted(submission: Submission, consultation: dict[str, Any], portal: str = "portal-a") -> str:
    response = await submission.submit(consultation["consultation_id"], portal=portal)
    assert response.status_code == 201, response.text
    return str(response.json()["proposal_id"])


async def amend(
    submission: Submission, proposal_id: str, changes: dict[str, Any], *, portal: str = "portal-a"
) -> Any:
    return await submission.client.post(
        f"/v1/proposals/{proposal_id}/amendments",
        headers=submission.portal(portal),
        json={"changes": changes, "reason": "clarified after a hearing"},
    )


async def withdraw(submission: Submission, proposal_id: str, *, portal: str = "portal-a") -> Any:
    return await submission.client.post(
        f"/v1/proposals/{proposal_id}/withdrawal",
        headers=submission.portal(portal),
        json={"reason": "merged into the association's joint proposal"},
    )


def proposal_events(log: list[dict[str, Any]], proposal_id: str) -> list[str]:
    return [event["event_type"] for event in log if event["stream_id"] == proposal_id]


async def test_the_submitting_portal_amends_its_proposal_before_the_deadline(submission: Submission) -> None:
    consultation = await submission.open_consultation()
    proposal_id = await submitted(submission, consultation)
    submission.clock.move_to(submission.start + timedelta(days=2))

    response = await amend(
        submission,
        proposal_id,
        {
            "title": "Certify diagnostic AI before clinical use",
            "positions": {"quality_and_certification": "conditional", "permitted_areas": "support"},
            "instrument": "certification",  # unchanged: not recorded as a change
        },
    )

    assert response.status_code == 200, response.text
    proposal = response.json()
    assert proposal["version"] == 2
    assert proposal["status"] == "submitted"
    assert proposal["content"]["title"] == "Certify diagnostic AI before clinical use"
    assert proposal["content"]["summary"] == proposal_body()["summary"]
    assert proposal["amended_at"] == f"{submission.start.year}-01-12T12:00:00.000000Z"
    assert (await submission.proposal(proposal_id)).json() == proposal

    amended = [event for event in await submission.log() if event["event_type"] == "ProposalAmended"]
    [event] = [event for event in amended if event["stream_id"] == proposal_id]
    assert event["payload"]["changes"] == {
        "title": "Certify diagnostic AI before clinical use",
        "positions": {"quality_and_certification": "conditional", "permitted_areas": "support"},
    }
    assert event["payload"]["content"] == proposal["content"]
    assert event["payload"]["reason"] == "clarified after a hearing"
    assert event["stream_version"] == 2
    assert proposal["last_event_id"] == event["event_id"]


async def test_amendments_from_others_after_the_deadline_or_that_break_the_body_are_refused_and_record_nothing(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation(closes_at=submission.start + timedelta(days=1))
    proposal_id = await submitted(submission, consultation)
    before = await submission.log()

    other_portal = await amend(submission, proposal_id, {"title": "Hijacked"}, portal="portal-b")
    unknown = await amend(submission, "01a20000-0000-7000-8000-000000000000", {"title": "Nobody's"})
    assert (other_portal.status_code, other_portal.json()["error"]) == (404, "proposal_not_found")
    assert other_portal.json()["detail"].replace(proposal_id, "ID") == unknown.json()["detail"].replace(
        "01a20000-0000-7000-8000-000000000000", "ID"
    ), "another portal's proposal answers exactly like a missing one"

    staff = await submission.client.post(
        f"/v1/proposals/{proposal_id}/amendments",
        headers=submission.auth("admin"),
        json={"changes": {"title": "Staff edit"}, "reason": "no"},
    )
    assert (staff.status_code, staff.json()["error"]) == (403, "forbidden_role")

    breaks_the_body = await amend(submission, proposal_id, {"positions": {"training_data": "oppose"}})
    assert (breaks_the_body.status_code, breaks_the_body.json()["error"]) == (422, "validation_failed")
    assert breaks_the_body.json()["errors"][0]["loc"][:2] == ["body", "changes"]
    unknown_field = await amend(submission, proposal_id, {"priority": "high"})
    assert (unknown_field.status_code, unknown_field.json()["error"]) == (422, "validation_failed")
    too_long = await amend(submission, proposal_id, {"title": "x" * 301})
    assert too_long.status_code == 422
    nothing = await amend(submission, proposal_id, {"title": proposal_body()["title"]})
    assert (nothing.status_code, nothing.json()["error"]) == (422, "amendment_changes_nothing")

    submission.clock.move_to(submission.start + timedelta(days=1, seconds=1))
    after_deadline = await amend(submission, proposal_id, {"title": "Too late"})
    assert (after_deadline.status_code, after_deadline.json()["error"]) == (409, "amendment_window_closed")

    assert await submission.log() == before
    assert (await submission.proposal(proposal_id)).json()["version"] == 1


async def test_a_withdrawn_proposal_shows_withdrawn_and_can_be_neither_amended_nor_withdrawn_again(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation()
    proposal_id = await submitted(submission, consultation)

    by_other_portal = await withdraw(submission, proposal_id, portal="portal-b")
    assert (by_other_portal.status_code, by_other_portal.json()["error"]) == (404, "proposal_not_found")
    response = await withdraw(submission, proposal_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert response.json()["withdrawal_reason"] == "merged into the association's joint proposal"
    assert (await submission.proposal(proposal_id)).json()["status"] == "withdrawn"

    again = await withdraw(submission, proposal_id)
    assert (again.status_code, again.json()["error"]) == (409, "proposal_withdrawn")
    amended = await amend(submission, proposal_id, {"title": "Revived"})
    assert (amended.status_code, amended.json()["error"]) == (409, "proposal_withdrawn")
    assert proposal_events(await submission.log(), proposal_id) == ["ProposalSubmitted", "ProposalWithdrawn"]


async def test_a_withdrawal_after_the_deadline_is_refused(submission: Submission) -> None:
    consultation = await submission.open_consultation(closes_at=submission.start + timedelta(hours=1))
    proposal_id = await submitted(submission, consultation)
    submission.clock.move_to(submission.start + timedelta(hours=2))

    response = await withdraw(submission, proposal_id)

    assert (response.status_code, response.json()["error"]) == (409, "withdrawal_window_closed")
    assert (await submission.proposal(proposal_id)).json()["status"] == "submitted"
    assert proposal_events(await submission.log(), proposal_id) == ["ProposalSubmitted"]
