"""The people behind proposals as an admin meets them: a citizen's data sealed in the log and read in
plain text by an admin only, erased by destroying the key (idempotently), and attribution disputes that
set a proposal aside as misattributed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.submission.tests.harness import Submission, proposal_body

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]

ERASED = {"erased": True}


def citizen_body(email: str) -> dict[str, Any]:
    return proposal_body(
        submitter={
            "name": "Пётр Сидоров",
            "kind": "citizen",
            "registration_number": "СНИЛС 112-233-445 95",
            "contact_email": email,
        }
    )


async def submit_as_citizen(submission: Submission, email: str) -> dict[str, Any]:
    consultation = await submission.open_consultation()
    response = await submission.submit(consultation["consultation_id"], citizen_body(email))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def as_admin(submission: Submission, proposal_id: str) -> dict[str, Any]:
    response = await submission.client.get(f"/v1/proposals/{proposal_id}", headers=submission.auth("admin"))
    assert response.status_code == 200, response.text
    proposal: dict[str, Any] = response.json()
    return proposal


async def key_rows(submission: Submission) -> int:
    engine = create_async_engine(submission.database_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM data_subject_key"))).scalar_one())
    finally:
        await engine.dispose()


async def test_an_erasure_destroys_the_key_and_the_data_reads_erased_everywhere_the_service_shows_it(
    submission: Submission,
) -> None:
    email = f"petr.{uuid.uuid4().hex[:8]}@example.org"
    answer = await submit_as_citizen(submission, email)
    proposal_id = answer["proposal_id"]
    plain = (await as_admin(submission, proposal_id))["content"]["submitter"]
    assert plain == citizen_body(email)["submitter"]
    as_portal = (await submission.proposal(proposal_id)).json()["content"]["submitter"]
    assert as_portal["kind"] == "citizen"
    for field in ("name", "registration_number", "contact_email"):
        assert as_portal[field]["erased"] is False and as_portal[field]["sealed"].startswith("aes256gcm:")
    keys_before = await key_rows(submission)

    request = {
        "contact_email": f"  {email.upper()} ",
        "reason": "the subject asked",
        "legal_basis": "152-FZ art. 21",
    }
    first = await submission.client.post(
        "/v1/personal-data/erasures", headers=submission.auth("admin"), json=request
    )
    assert first.status_code == 200, first.text
    assert first.json()["proposals"] == [proposal_id]
    again = await submission.client.post(
        "/v1/personal-data/erasures", headers=submission.auth("admin"), json=request
    )
    assert (again.status_code, again.json()) == (200, first.json()), "the same request, the same answer"
    assert await key_rows(submission) == keys_before - 1

    erased = (await as_admin(submission, proposal_id))["content"]["submitter"]
    assert erased == {
        "name": ERASED,
        "kind": "citizen",
        "registration_number": ERASED,
        "contact_email": ERASED,
    }
    log = await submission.log()
    [event] = [
        item
        for item in log
        if item["event_type"] == "PersonalDataErased"
        and item["payload"]["erasure_id"] == first.json()["erasure_id"]
    ]
    assert event["payload"]["proposals"] == [proposal_id]
    assert len(event["payload"]["subject_digest"]) == 64
    assert email not in str(log) and email.upper() not in str(log) and "Сидоров" not in str(log)

    unknown = await submission.client.post(
        "/v1/personal-data/erasures",
        headers=submission.auth("admin"),
        json={**request, "contact_email": "nobody@example.org"},
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "data_subject_not_found")
    assert "nobody" not in unknown.text
    portal = await submission.client.post(
        "/v1/personal-data/erasures", headers=submission.portal(), json=request
    )
    assert portal.status_code == 403

    late_complaint = await submission.client.post(
        f"/v1/proposals/{proposal_id}/attribution-disputes",
        headers=submission.auth("admin"),
        json={"complainant": "Пётр Сидоров", "statement": "not me"},
    )
    assert late_complaint.status_code == 201, late_complaint.text
    assert (late_complaint.json()["complainant"], late_complaint.json()["statement"]) == (ERASED, ERASED), (
        "a complaint about an erased subject's proposal is not kept readable"
    )


async def test_an_upheld_dispute_sets_the_proposal_aside_and_a_rejected_one_does_not(
    submission: Submission,
) -> None:
    upheld_answer = await submit_as_citizen(submission, f"a.{uuid.uuid4().hex[:8]}@example.org")
    kept_answer = await submit_as_citizen(submission, f"b.{uuid.uuid4().hex[:8]}@example.org")
    admin = submission.auth("admin")

    disputes: list[dict[str, Any]] = []
    for answer in (upheld_answer, kept_answer):
        response = await submission.client.post(
            f"/v1/proposals/{answer['proposal_id']}/attribution-disputes",
            headers=admin,
            json={"complainant": "Пётр Сидоров", "statement": "I never wrote this proposal"},
        )
        assert response.status_code == 201, response.text
        dispute = response.json()
        assert dispute["status"] == "open" and dispute["complainant"]["erased"] is False
        assert "Сидоров" not in response.text and "never wrote" not in response.text
        disputes.append(dispute)
    open_ids = {
        item["dispute_id"]
        for item in (
            await submission.client.get("/v1/attribution-disputes?status=open&limit=1000", headers=admin)
        ).json()["items"]
    }
    assert {dispute["dispute_id"] for dispute in disputes} <= open_ids

    upheld = await submission.client.post(
        f"/v1/attribution-disputes/{disputes[0]['dispute_id']}/resolution",
        headers=admin,
        json={"outcome": "upheld", "rationale": "the portal could not show consent"},
    )
    assert upheld.status_code == 200, upheld.text
    rejected = await submission.client.post(
        f"/v1/attribution-disputes/{disputes[1]['dispute_id']}/resolution",
        headers=admin,
        json={"outcome": "rejected", "rationale": "signed consent on file"},
    )
    assert rejected.status_code == 200, rejected.text
    twice = await submission.client.post(
        f"/v1/attribution-disputes/{disputes[0]['dispute_id']}/resolution",
        headers=admin,
        json={"outcome": "rejected", "rationale": "again"},
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "dispute_already_resolved")

    assert (await submission.proposal(upheld_answer["proposal_id"])).json()["status"] == "misattributed"
    assert (await submission.proposal(kept_answer["proposal_id"])).json()["status"] == "submitted"
    amend = await submission.client.post(
        f"/v1/proposals/{upheld_answer['proposal_id']}/amendments",
        headers=submission.portal(),
        json={"changes": {"title": "Another title"}, "reason": "r"},
    )
    assert (amend.status_code, amend.json()["error"]) == (409, "proposal_misattributed")
    resolved = (
        await submission.client.get("/v1/attribution-disputes?status=resolved&limit=1000", headers=admin)
    ).json()
    outcomes = {item["dispute_id"]: item["outcome"] for item in resolved["items"]}
    assert (
        outcomes[disputes[0]["dispute_id"]] == "upheld" and outcomes[disputes[1]["dispute_id"]] == "rejected"
    )
    log = await submission.log()
    stays = [item for item in log if item["stream_id"] == upheld_answer["proposal_id"]]
    assert [item["event_type"] for item in stays] == [
        "ProposalSubmitted",
        "AttributionDisputed",
        "AttributionDisputeResolved",
    ], "the proposal stays in the log"
    missing = await submission.client.post(
        "/v1/attribution-disputes/01900000-0000-7000-8000-000000000000/resolution",
        headers=admin,
        json={"outcome": "upheld", "rationale": "r"},
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "dispute_not_found")


async def test_an_amended_submitter_is_sealed_too_and_repeating_it_changes_nothing(
    submission: Submission,
) -> None:
    email = f"petr.{uuid.uuid4().hex[:8]}@example.org"
    answer = await submit_as_citizen(submission, email)
    proposal_id = answer["proposal_id"]
    new_email = f"petr.new.{uuid.uuid4().hex[:8]}@example.org"
    changed = {**citizen_body(email)["submitter"], "contact_email": new_email}
    amended = await submission.client.post(
        f"/v1/proposals/{proposal_id}/amendments",
        headers=submission.portal(),
        json={"changes": {"submitter": changed}, "reason": "a new address"},
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["content"]["submitter"]["contact_email"]["erased"] is False
    log = await submission.log()
    [event] = [
        item for item in log if item["event_type"] == "ProposalAmended" and item["stream_id"] == proposal_id
    ]
    assert event["schema_version"] == 2 and list(event["payload"]["changes"]) == ["submitter"]
    assert new_email not in str(event) and "Сидоров" not in str(event)
    assert (await as_admin(submission, proposal_id))["content"]["submitter"] == changed
    repeated = await submission.client.post(
        f"/v1/proposals/{proposal_id}/amendments",
        headers=submission.portal(),
        json={"changes": {"submitter": changed}, "reason": "again"},
    )
    assert (repeated.status_code, repeated.json()["error"]) == (422, "amendment_changes_nothing")
