"""Who sees what: a portal sees only its own proposals (another's is a 404), staff see all; an admin
suspends a portal, whose token is then refused everywhere while the other portals go on."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.submission.tests.harness import Submission

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]


def unique_portal(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"


async def submit_ok(submission: Submission, consultation_id: str, portal: str) -> dict[str, Any]:
    response = await submission.submit(consultation_id, portal=portal)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_portal_sees_only_its_own_proposals_and_staff_see_all(submission: Submission) -> None:
    consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]
    alpha, beta = unique_portal("alpha"), unique_portal("beta")
    alphas = [(await submit_ok(submission, consultation_id, alpha))["proposal_id"] for _ in range(3)]
    [betas] = [(await submit_ok(submission, consultation_id, beta))["proposal_id"]]

    hidden = await submission.proposal(betas, portal=alpha)
    assert (hidden.status_code, hidden.json()["error"]) == (404, "proposal_not_found")
    missing = await submission.proposal("01a20000-0000-7000-8000-000000000000", portal=alpha)
    assert missing.json()["error"] == "proposal_not_found"

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, "consultation_id": consultation_id, **({"cursor": cursor} if cursor else {})}
        page = (
            await submission.client.get("/v1/proposals", headers=submission.portal(alpha), params=params)
        ).json()
        seen += [item["proposal_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == alphas, "its own, in the order they arrived, over two pages"

    for role in ("reviewer", "lead", "admin", "auditor"):
        read = await submission.client.get(f"/v1/proposals/{betas}", headers=submission.auth(role))
        assert read.status_code == 200, role
        listed = await submission.client.get(
            "/v1/proposals", headers=submission.auth(role), params={"consultation_id": consultation_id}
        )
        assert [item["proposal_id"] for item in listed.json()["items"]] == [*alphas, betas], role
    dashboard = await submission.client.get(f"/v1/proposals/{betas}", headers=submission.auth("dashboard"))
    assert (dashboard.status_code, dashboard.json()["error"]) == (403, "forbidden_role")
    anonymous = await submission.client.get(f"/v1/proposals/{betas}")
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "missing_token")
    forged = await submission.client.get(f"/v1/proposals/{betas}", headers={"Authorization": "Bearer x.y.z"})
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")


async def test_a_suspended_portal_is_refused_while_the_others_go_on_until_it_is_resumed(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]
    flooder, honest = unique_portal("flooder"), unique_portal("honest")
    earlier = await submit_ok(submission, consultation_id, flooder)
    admin = submission.auth("admin")

    by_reviewer = await submission.client.post(
        f"/v1/portals/{flooder}/suspension", headers=submission.auth("reviewer"), json={"reason": "x"}
    )
    assert (by_reviewer.status_code, by_reviewer.json()["error"]) == (403, "forbidden_role")
    suspended = await submission.client.post(
        f"/v1/portals/{flooder}/suspension", headers=admin, json={"reason": "fabricated submissions"}
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["suspended"] is True
    twice = await submission.client.post(
        f"/v1/portals/{flooder}/suspension", headers=admin, json={"reason": "x"}
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "portal_already_suspended")

    refused = [
        await submission.submit(consultation_id, portal=flooder),
        await submission.proposal(earlier["proposal_id"], portal=flooder),
        await submission.client.get("/v1/consultations", headers=submission.portal(flooder)),
        await submission.client.post(
            f"/v1/proposals/{earlier['proposal_id']}/withdrawal",
            headers=submission.portal(flooder),
            json={"reason": "cover the tracks"},
        ),
    ]
    assert [(response.status_code, response.json()["error"]) for response in refused] == [
        (403, "portal_suspended")
    ] * 4
    await submit_ok(submission, consultation_id, honest)
    staff_read = await submission.client.get(f"/v1/proposals/{earlier['proposal_id']}", headers=admin)
    assert staff_read.json()["status"] == "submitted", "its earlier proposals stay as they are"

    state = await submission.client.get(f"/v1/portals/{flooder}", headers=admin)
    assert state.json()["suspended"] is True
    assert state.json()["reason"] == "fabricated submissions"
    resumed = await submission.client.post(f"/v1/portals/{flooder}/resumption", headers=admin)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["suspended"] is False
    again = await submission.client.post(
        f"/v1/portals/{flooder}/resumption", headers=admin, json={"reason": "x"}
    )
    assert (again.status_code, again.json()["error"]) == (409, "portal_not_suspended")
    await submit_ok(submission, consultation_id, flooder)

    portal_events = [
        (event["event_type"], event["payload"]["reason"], event["actor"]["role"])
        for event in await submission.log()
        if event["stream_id"] == f"portal:{flooder}"
    ]
    assert portal_events == [
        ("PortalSuspended", "fabricated submissions", "admin"),
        ("PortalResumed", "", "admin"),
    ]
