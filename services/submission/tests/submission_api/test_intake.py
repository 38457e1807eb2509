"""Intake as a portal meets it: a registration number and a signed receipt that match the log; field
errors for bad bodies; the submission window; idempotent retries; two consultations of one year."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest

from aireg_events.receipts import Receipt
from aireg_events.signing import load_public_key
from services.submission.tests.harness import Submission, proposal_body

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]

REGISTRATION_NUMBER = re.compile(r"^AIREG-\d{4}-\d{6}$")


def events_of(log: list[dict[str, Any]], event_type: str, **payload: Any) -> list[dict[str, Any]]:
    return [
        event
        for event in log
        if event["event_type"] == event_type
        and all(event["payload"].get(name) == value for name, value in payload.items())
    ]


async def test_a_submission_is_registered_with_a_signed_receipt_that_matches_the_log(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation()
    body = proposal_body()

    response = await submission.submit(consultation["consultation_id"], body, key="first-try")

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "submitted"
    assert answer["late"] is False
    assert answer["submitted_at"] == f"{submission.start.year}-01-10T12:00:00.000000Z"
    assert REGISTRATION_NUMBER.match(answer["registration_number"])
    assert answer["registration_number"].endswith("00001"), "the first proposal of its consultation"

    receipt = Receipt.model_validate(answer["receipt"])
    assert receipt.signature_is_valid(load_public_key(submission.keys.signing_public("submission")))
    forged = receipt.model_copy(update={"log_position": receipt.log_position + 1})
    assert not forged.signature_is_valid(load_public_key(submission.keys.signing_public("submission")))

    [event] = events_of(await submission.log(), "ProposalSubmitted", proposal_id=answer["proposal_id"])
    assert receipt.event_id == answer["event_id"] == event["event_id"]
    assert receipt.log_position == event["log_position"]
    assert receipt.event_hash == event["hash"]
    assert (
        receipt.registration_number
        == answer["registration_number"]
        == event["payload"]["registration_number"]
    )
    assert event["payload"]["received_at"] == answer["receipt"]["received_at"] == answer["submitted_at"]
    assert event["payload"]["portal"] == "portal-a"
    assert event["payload"]["idempotency_key"] == "first-try"
    recorded = event["payload"]["content"]
    assert {**recorded, "submitter": None} == {**body, "submitter": None}
    sealed_email = recorded["submitter"]["contact_email"]
    assert sealed_email["erased"] is False and sealed_email["sealed"].startswith("aes256gcm:")
    assert body["submitter"]["contact_email"] not in str(event), "the log holds the e-mail sealed only"
    assert recorded["submitter"]["name"] == body["submitter"]["name"], "an organization's name is no secret"
    assert event["actor"] == {"role": "portal", "name": "portal-a", "organization": None}

    read = await submission.proposal(answer["proposal_id"])
    assert read.status_code == 200
    proposal = read.json()
    assert proposal["status"] == "submitted"
    assert proposal["registration_number"] == answer["registration_number"]
    assert proposal["content"] == recorded, "the portal reads it as recorded: sealed"
    assert proposal["version"] == 1
    as_admin = await submission.client.get(
        f"/v1/proposals/{answer['proposal_id']}", headers=submission.auth("admin")
    )
    assert as_admin.json()["content"] == body, "an admin reads the plain values while the key exists"


async def test_two_consultations_of_one_year_never_share_a_registration_number(
    submission: Submission,
) -> None:
    idle = await submission.open_consultation()  # nobody submits to it: it takes no series
    first = await submission.open_consultation()
    second = await submission.open_consultation()
    year = submission.start.year

    numbers: dict[str, list[str]] = {}
    for consultation in (first, second, first):
        response = await submission.submit(consultation["consultation_id"])
        assert response.status_code == 201, response.text
        numbers.setdefault(consultation["consultation_id"], []).append(response.json()["registration_number"])

    assert numbers[first["consultation_id"]] == [f"AIREG-{year}-000001", f"AIREG-{year}-000002"]
    assert numbers[second["consultation_id"]] == [f"AIREG-{year}-100001"]
    assert idle["consultation_id"] not in numbers


async def test_an_eleventh_consultation_of_a_year_with_proposals_is_refused_rather_than_given_duplicates(
    submission: Submission,
) -> None:
    consultations = [await submission.open_consultation() for _ in range(11)]
    numbers = []
    for consultation in consultations[:10]:
        response = await submission.submit(consultation["consultation_id"])
        assert response.status_code == 201, response.text
        numbers.append(response.json()["registration_number"])
    assert numbers == [f"AIREG-{submission.start.year}-{series}00001" for series in range(10)]

    refused = await submission.submit(consultations[10]["consultation_id"])

    assert (refused.status_code, refused.json()["error"]) == (409, "registration_numbers_exhausted")


INVALID_BODIES: list[tuple[str, dict[str, Any], list[Any] | None]] = [
    ("an unknown field", {"priority": "urgent"}, ["body", "priority"]),
    ("an unknown submitter field", {"submitter": {**proposal_body()["submitter"], "vip": True}}, None),
    ("a direction not in the contract", {"directions": ["space_exploration"]}, ["body", "directions", 0]),
    ("a position on a question it does not answer", {"positions": {"training_data": "oppose"}}, None),
    ("a direction listed twice", {"directions": ["data", "data"]}, None),
    (
        "an email that is no email",
        {"submitter": {**proposal_body()["submitter"], "contact_email": "nope"}},
        None,
    ),
    ("a title over 300 characters", {"title": "x" * 301}, ["body", "title"]),
    ("a summary over 2,000 characters", {"summary": "x" * 2001}, ["body", "summary"]),
    ("a NUL character", {"text": "before\x00after"}, ["body", "text"]),
    ("no directions", {"directions": []}, ["body", "directions"]),
    (
        "an attachment without a SHA-256",
        {"attachments": [{**proposal_body()["attachments"][0], "sha256": "x"}]},
        None,
    ),
    ("an unknown cost of error", {"cost_of_error": "apocalyptic"}, ["body", "cost_of_error"]),
]


async def test_invalid_requests_get_json_errors_and_record_nothing_nor_use_a_number(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]
    before = await submission.log()

    for what, change, location in INVALID_BODIES:
        response = await submission.submit(consultation_id, proposal_body(**change))
        assert response.status_code == 422, what
        error = response.json()
        assert error["error"] == "validation_failed", what
        assert error["errors"], what
        if location is not None:
            assert error["errors"][0]["loc"] == location, what

    url = f"/v1/consultations/{consultation_id}/proposals"
    missing_key = await submission.client.post(url, headers=submission.portal(), json=proposal_body())
    assert (missing_key.status_code, missing_key.json()["error"]) == (422, "idempotency_key_required")
    for bad_key in (b"k" * 201, b"has space", "ключ".encode()):
        response = await submission.client.post(
            url,
            headers={
                **{k.encode(): v.encode() for k, v in submission.portal().items()},
                b"Idempotency-Key": bad_key,
            },
            json=proposal_body(),
        )
        assert (response.status_code, response.json()["error"]) == (422, "idempotency_key_invalid"), bad_key
    not_json = await submission.client.post(
        url,
        headers={**submission.portal(), "Idempotency-Key": "k", "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert (not_json.status_code, not_json.json()["error"]) == (422, "validation_failed")
    too_large = await submission.submit(consultation_id, proposal_body(text="x" * (1024 * 1024)))
    assert (too_large.status_code, too_large.json()["error"]) == (413, "payload_too_large")
    unknown = await submission.submit("01a20000-0000-7000-8000-000000000000")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "consultation_not_found")
    not_an_id = await submission.submit("no%00such")
    assert not_an_id.status_code == 422
    no_token = await submission.client.post(url, headers={"Idempotency-Key": "k"}, json=proposal_body())
    assert (no_token.status_code, no_token.json()["error"]) == (401, "missing_token")
    wrong_role = await submission.client.post(
        url, headers={**submission.auth("reviewer"), "Idempotency-Key": "k"}, json=proposal_body()
    )
    assert (wrong_role.status_code, wrong_role.json()["error"]) == (403, "forbidden_role")

    assert await submission.log() == before, "a refused request records nothing"
    first = await submission.submit(consultation_id)
    assert first.json()["registration_number"].endswith("00001"), "no refused request used a number"


async def test_outside_the_window_a_submission_is_refused_and_nothing_recorded(
    submission: Submission,
) -> None:
    not_yet = await submission.open_consultation(opens_at=submission.start + timedelta(days=1))
    closed = await submission.open_consultation(
        opens_at=submission.start - timedelta(days=9), closes_at=submission.start - timedelta(seconds=1)
    )
    closing = await submission.open_consultation(closes_at=submission.start + timedelta(hours=1))
    before = await submission.log()

    for consultation in (not_yet, closed):
        response = await submission.submit(consultation["consultation_id"])
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "submission_window_closed"
    submission.clock.move_to(submission.start + timedelta(hours=1, microseconds=1))
    late = await submission.submit(closing["consultation_id"])
    assert (late.status_code, late.json()["error"]) == (409, "submission_window_closed")
    assert await submission.log() == before

    submission.clock.move_to(submission.start + timedelta(hours=1))
    on_the_dot = await submission.submit(closing["consultation_id"])
    assert on_the_dot.status_code == 201, "submission_closes_at itself is still inside the window"
    assert on_the_dot.json()["late"] is False
    assert on_the_dot.json()["registration_number"].endswith("00001"), "the refusals used no number"


async def test_a_late_submission_is_recorded_and_labelled_late_when_the_consultation_accepts_them(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation(
        opens_at=submission.start - timedelta(days=9),
        closes_at=submission.start - timedelta(days=1),
        late_submissions="accept_and_label",
    )
    response = await submission.submit(consultation["consultation_id"])
    assert response.status_code == 201, response.text
    assert response.json()["late"] is True

    proposal = (await submission.proposal(response.json()["proposal_id"])).json()
    assert proposal["late"] is True
    [event] = events_of(await submission.log(), "ProposalSubmitted", proposal_id=proposal["proposal_id"])
    assert event["payload"]["late"] is True

    early = await submission.open_consultation(
        opens_at=submission.start + timedelta(days=1),
        closes_at=submission.start + timedelta(days=9),
        late_submissions="accept_and_label",
    )
    too_early = await submission.submit(early["consultation_id"])
    assert (too_early.status_code, too_early.json()["error"]) == (409, "submission_window_closed")


async def test_a_retry_with_the_same_key_and_body_gets_the_same_answer_and_keys_are_kept_per_portal(
    submission: Submission,
) -> None:
    consultation = await submission.open_consultation()
    other_consultation = await submission.open_consultation()
    consultation_id = consultation["consultation_id"]

    first = await submission.submit(consultation_id, key="retry-me")
    retries = await asyncio.gather(*[submission.submit(consultation_id, key="retry-me") for _ in range(10)])
    assert first.status_code == 201
    assert [(retry.status_code, retry.content) for retry in retries] == [(201, first.content)] * 10

    other_body = await submission.submit(consultation_id, proposal_body(title="Another idea"), key="retry-me")
    assert (other_body.status_code, other_body.json()["error"]) == (409, "idempotency_key_reused")
    other_call = await submission.submit(other_consultation["consultation_id"], key="retry-me")
    assert (other_call.status_code, other_call.json()["error"]) == (409, "idempotency_key_reused")

    submission.clock.move_to(submission.start + timedelta(days=30))
    after_the_deadline = await submission.submit(consultation_id, key="retry-me")
    assert (after_the_deadline.status_code, after_the_deadline.content) == (201, first.content), (
        "a retry of an accepted proposal is answered even after the window closed"
    )
    submission.clock.move_to(submission.start)

    same_key_other_portal = await submission.submit(consultation_id, key="retry-me", portal="portal-b")
    assert same_key_other_portal.status_code == 201
    assert same_key_other_portal.json()["proposal_id"] != first.json()["proposal_id"]

    log = await submission.log()
    assert len(events_of(log, "ProposalSubmitted", consultation_id=consultation_id)) == 2
    assert events_of(log, "ProposalSubmitted", consultation_id=other_consultation["consultation_id"]) == []
