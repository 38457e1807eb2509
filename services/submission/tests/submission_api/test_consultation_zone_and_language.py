"""A consultation's time zone and language as an admin meets them: deadlines given as dates are the end
of that day in the zone (instants in UTC in the answer and the event), the fields travel in
``ConsultationOpened``, and a zone or language we do not know is a 422 that records nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.submission.tests.harness import Submission

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="package")]


def moscow_call(**change: Any) -> dict[str, Any]:
    return {
        "code": f"msk-{uuid.uuid4().hex[:8]}",
        "title": "Регулирование искусственного интеллекта",
        "submission_opens_at": "2026-11-20",
        "submission_closes_at": "2027-01-20",
        "analysis_due_at": "2027-02-28",
        "forwarding_due_at": "2027-03-13T18:00:00+03:00",
        "time_zone": "Europe/Moscow",
        "language": "ru",
        **change,
    }


async def test_deadlines_given_as_dates_end_that_day_in_the_consultations_zone(
    submission: Submission,
) -> None:
    opened = await submission.client.post(
        "/v1/consultations", headers=submission.auth("admin"), json=moscow_call()
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert (body["time_zone"], body["language"]) == ("Europe/Moscow", "ru")
    assert body["submission_opens_at"] == "2026-11-19T21:00:00Z", "a window opens at the start of its day"
    assert body["submission_closes_at"] == "2027-01-20T20:59:59Z", "23:59:59 in Moscow"
    assert body["analysis_due_at"] == "2027-02-28T20:59:59Z"
    assert body["forwarding_due_at"] == "2027-03-13T15:00:00Z", "an instant stays the instant it names"

    read = await submission.client.get(
        f"/v1/consultations/{body['consultation_id']}", headers=submission.auth("admin")
    )
    assert read.json() == body
    [event] = [
        event
        for event in await submission.log()
        if event["event_type"] == "ConsultationOpened" and event["stream_id"] == body["consultation_id"]
    ]
    payload = event["payload"]
    assert (payload["time_zone"], payload["language"]) == ("Europe/Moscow", "ru")
    assert payload["submission_closes_at"] == "2027-01-20T20:59:59.000000Z", "events keep UTC instants"


async def test_a_consultation_without_zone_or_language_is_utc_and_english(submission: Submission) -> None:
    consultation = await submission.open_consultation()
    assert (consultation["time_zone"], consultation["language"]) == ("UTC", "en")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"time_zone": "MSK"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"language": "de"}, "language"),
        ({"language": "RU"}, "language"),
        ({"submission_closes_at": "2027-01-32"}, "submission_closes_at"),
        ({"submission_closes_at": "2027-01-20T23:59:59"}, "submission_closes_at"),
        ({"forwarding_due_at": "9999-12-31", "time_zone": "America/New_York"}, "forwarding_due_at"),
        ({"submission_opens_at": "0001-01-01", "time_zone": "Asia/Tokyo"}, "submission_opens_at"),
    ],
)
async def test_an_unknown_zone_or_a_language_outside_ru_en_is_refused_and_nothing_recorded(
    submission: Submission, change: dict[str, Any], field: str
) -> None:
    before = await submission.log()
    refused = await submission.client.post(
        "/v1/consultations", headers=submission.auth("admin"), json=moscow_call(**change)
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()
    assert error["error"] == "validation_failed"
    assert field in [part for item in error["errors"] for part in item["loc"]], error
    assert await submission.log() == before


async def test_an_error_detail_speaks_the_language_the_caller_asks_for(submission: Submission) -> None:
    body = moscow_call(submission_closes_at="2027-03-20")  # after the analysis deadline
    russian = await submission.client.post(
        "/v1/consultations",
        headers={**submission.auth("admin"), "Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"},
        json=body,
    )
    english = await submission.client.post(
        "/v1/consultations", headers={**submission.auth("admin"), "Accept-Language": "en-GB"}, json=body
    )
    assert russian.status_code == english.status_code == 422
    assert russian.json()["error"] == english.json()["error"] == "deadlines_out_of_order"
    assert russian.json()["detail"].startswith("Сроки нарушают порядок")
    assert english.json()["detail"] == "analysis_due_at must not come before submission_closes_at"
    assert russian.headers["content-language"] == "ru" and english.headers["content-language"] == "en"
    anonymous = await submission.client.post(
        "/v1/consultations", headers={"Accept-Language": "ru"}, json=body
    )
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "missing_token"
    assert anonymous.json()["detail"] == "Передайте токен в заголовке `Authorization: Bearer`."
    invalid = await submission.client.post(
        "/v1/consultations",
        headers={**submission.auth("admin"), "Accept-Language": "ru"},
        json=moscow_call(time_zone="Mars/Olympus_Mons"),
    )
    assert invalid.json()["error"] == "validation_failed"
    assert (
        invalid.json()["detail"].startswith("Запрос не прошёл проверку")
        and "time_zone" in invalid.json()["detail"]
    )
