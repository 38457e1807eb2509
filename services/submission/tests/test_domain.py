"""The submission rules as pure functions: no broker, no database, milliseconds."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from aireg_events.canonical import canonical_json
from aireg_events.catalogue.analysis import (
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
    TriageMethod,
)
from aireg_events.catalogue.common import DomainEvent, LateSubmissions, Organization, Outcome
from aireg_events.catalogue.submission import ProposalAmended, ProposalBody, ProposalContent, Submitter
from aireg_submission import domain
from aireg_submission.api import ProposalChanges
from aireg_submission.domain import ProposalStatus as S
from aireg_submission.personal_data import DataSubjects, sealed_submitter
from services.submission.tests.harness import proposal_body

OPENS = datetime(2027, 1, 1, tzinfo=UTC)
CLOSES = datetime(2027, 1, 20, tzinfo=UTC)
WINDOW = domain.SubmissionWindow(OPENS, CLOSES, LateSubmissions.reject)
LENIENT = domain.SubmissionWindow(OPENS, CLOSES, LateSubmissions.accept_and_label)
KEY_ID, KEY = "01900000-0000-7000-8000-000000000001", bytes(range(32))
DIGEST = DataSubjects(b"digest secret of the unit tests.").digest


def sealed(body: dict[str, Any]) -> ProposalContent:
    submitter = sealed_submitter(KEY_ID, KEY, Submitter.model_validate(body["submitter"]))
    return ProposalContent.model_validate({**body, "submitter": submitter.model_dump(mode="json")})


def fingerprint(body: dict[str, Any]) -> str:
    return domain.request_fingerprint(ProposalBody.model_validate(body), DIGEST)


CONTENT = sealed(proposal_body())


def consultation(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "consultation_id": "c1",
        "code": "ai-2027",
        "title": "AI",
        "description": "",
        "submission_opens_at": OPENS,
        "submission_closes_at": CLOSES,
        "analysis_due_at": CLOSES + timedelta(days=40),
        "forwarding_due_at": CLOSES + timedelta(days=52),
        "late_submissions": LateSubmissions.reject,
        "code_taken": False,
    }
    fields.update(overrides)
    return fields


def proposal(*, portal: str = "portal-a", status: S = S.submitted) -> domain.Proposal:
    return domain.Proposal("p1", "c1", portal, CONTENT, status, stream_version=1, window=WINDOW)


def test_a_consultations_first_proposal_takes_the_first_free_registration_series_of_its_year() -> None:
    assert domain.first_numbering(2027, []).next_number() == "AIREG-2027-000001"
    assert domain.first_numbering(2027, [0, 1, 3]).next_number() == "AIREG-2027-200001"
    with pytest.raises(domain.RegistrationNumbersExhausted):
        domain.first_numbering(2027, range(10))


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"code_taken": True}, domain.ConsultationCodeTaken),
        ({"submission_closes_at": OPENS}, domain.DeadlinesOutOfOrder),
        ({"analysis_due_at": CLOSES - timedelta(seconds=1)}, domain.DeadlinesOutOfOrder),
        ({"forwarding_due_at": CLOSES}, domain.DeadlinesOutOfOrder),
        ({"time_zone": "Mars/Olympus_Mons"}, domain.UnknownTimeZone),
    ],
)
def test_a_consultation_with_a_taken_code_deadlines_out_of_order_or_an_unknown_zone_is_refused(
    change: dict[str, Any], refusal: type[Exception]
) -> None:
    with pytest.raises(refusal):
        domain.open_consultation(**consultation(**change))


def test_registration_numbers_are_the_year_the_series_and_a_gap_free_count() -> None:
    numbering = domain.Numbering(year=2027, series=3, last_number=41)
    assert numbering.next_number() == "AIREG-2027-300042"
    assert domain.parse_registration_number("AIREG-2027-300042") == domain.Numbering(2027, 3, 42)
    assert domain.Numbering(2027, 0, 0).next_number() == "AIREG-2027-000001"
    with pytest.raises(domain.RegistrationNumbersExhausted):
        domain.Numbering(2027, 0, domain.NUMBERS_PER_SERIES).next_number()


def test_the_window_runs_from_opening_to_closing_inclusive_and_late_ones_are_labelled_only_if_accepted() -> (
    None
):
    assert domain.lateness(WINDOW, OPENS) is False
    assert domain.lateness(WINDOW, CLOSES) is False
    with pytest.raises(domain.SubmissionWindowClosed):
        domain.lateness(WINDOW, OPENS - timedelta(microseconds=1))
    with pytest.raises(domain.SubmissionWindowClosed):
        domain.lateness(WINDOW, CLOSES + timedelta(microseconds=1))
    assert domain.lateness(LENIENT, CLOSES + timedelta(days=3)) is True
    with pytest.raises(domain.SubmissionWindowClosed):
        domain.lateness(LENIENT, OPENS - timedelta(days=1))


def test_a_key_replays_only_the_same_body_for_the_same_consultation() -> None:
    sha = fingerprint(proposal_body())
    assert domain.is_replay(None, None, consultation_id="c1", sha256=sha) is False
    assert domain.is_replay("c1", sha, consultation_id="c1", sha256=sha) is True
    with pytest.raises(domain.IdempotencyKeyReused):
        domain.is_replay("c1", "0" * 64, consultation_id="c1", sha256=sha)
    with pytest.raises(domain.IdempotencyKeyReused):
        domain.is_replay("c2", sha, consultation_id="c1", sha256=sha)


def test_the_fingerprint_is_of_the_parsed_body_not_of_its_bytes() -> None:
    body = proposal_body()
    reordered = dict(reversed(list(body.items())))
    without_defaults = {name: value for name, value in body.items() if name != "positions"}
    with_defaults = {**without_defaults, "positions": {}}
    assert fingerprint(reordered) == fingerprint(body)
    assert fingerprint(without_defaults) == fingerprint(with_defaults)


def test_the_fingerprint_is_keyed_so_a_guessed_e_mail_cannot_be_checked_against_it() -> None:
    body = proposal_body()
    other_secret = DataSubjects(b"another deployment's secret.....").digest
    assert domain.request_fingerprint(ProposalBody.model_validate(body), other_secret) != fingerprint(body)
    unkeyed = hashlib.sha256(canonical_json(ProposalBody.model_validate(body).model_dump(mode="json")))
    assert fingerprint(body) != unkeyed.hexdigest()


@pytest.mark.parametrize(
    ("key", "refusal"),
    [
        (None, domain.IdempotencyKeyRequired),
        ("", domain.IdempotencyKeyInvalid),
        ("a" * 201, domain.IdempotencyKeyInvalid),
        ("with space", domain.IdempotencyKeyInvalid),
        ("ключ", domain.IdempotencyKeyInvalid),
    ],
)
def test_an_idempotency_key_is_required_and_bounded(key: str | None, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        domain.checked_idempotency_key(key)


def test_a_good_idempotency_key_passes() -> None:
    assert domain.checked_idempotency_key("01HX-retry_1:a") == "01HX-retry_1:a"


def amend(current: domain.Proposal | None, changes: dict[str, Any], **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "proposal_id": "p1",
        "portal": "portal-a",
        "changes": changes,
        "reason": "r",
        "now": OPENS + timedelta(days=1),
    }
    arguments.update(overrides)
    return domain.amend_proposal(current, **arguments)


def test_an_amendment_records_only_what_changed_and_the_whole_content_after_it() -> None:
    event = amend(proposal(), {"title": "New title", "approach": "targeted"})
    assert event.changes == {"title": "New title"}
    assert event.content.title == "New title"
    assert event.content.summary == CONTENT.summary


@pytest.mark.parametrize(
    ("current", "changes", "overrides", "refusal"),
    [
        (None, {"title": "x"}, {}, domain.ProposalNotFound),
        (proposal(portal="portal-b"), {"title": "x"}, {}, domain.ProposalNotFound),
        (proposal(status=S.withdrawn), {"title": "x"}, {}, domain.ProposalIsWithdrawn),
        (proposal(), {"title": "x"}, {"now": CLOSES + timedelta(seconds=1)}, domain.AmendmentWindowClosed),
        (proposal(), {"positions": {"training_data": "oppose"}}, {}, domain.InvalidAmendment),
        (proposal(), {"title": CONTENT.title}, {}, domain.AmendmentChangesNothing),
        (proposal(), {}, {}, domain.AmendmentChangesNothing),
    ],
)
def test_amendments_are_refused_for_others_withdrawn_late_invalid_or_empty(
    current: domain.Proposal | None,
    changes: dict[str, Any],
    overrides: dict[str, Any],
    refusal: type[Exception],
) -> None:
    with pytest.raises(refusal):
        amend(current, changes, **overrides)


def test_another_portals_proposal_is_refused_exactly_like_a_missing_one() -> None:
    with pytest.raises(domain.ProposalNotFound) as missing:
        amend(None, {"title": "x"})
    with pytest.raises(domain.ProposalNotFound) as foreign:
        amend(proposal(portal="portal-b"), {"title": "x"})
    assert (missing.value.code, missing.value.detail) == (foreign.value.code, foreign.value.detail)


def test_an_invalid_amendment_names_the_fields_under_changes() -> None:
    with pytest.raises(domain.InvalidAmendment) as refused:
        amend(proposal(), {"title": ""})
    assert refused.value.extra["errors"][0]["loc"] == ["body", "changes", "title"]


def test_a_withdrawal_needs_the_own_live_proposal_inside_the_window() -> None:
    event = domain.withdraw_proposal(
        proposal(), proposal_id="p1", portal="portal-a", reason="r", now=OPENS + timedelta(days=1)
    )
    assert (event.proposal_id, event.portal, event.reason) == ("p1", "portal-a", "r")
    with pytest.raises(domain.WithdrawalWindowClosed):
        domain.withdraw_proposal(
            proposal(), proposal_id="p1", portal="portal-a", reason="r", now=CLOSES + timedelta(1)
        )
    with pytest.raises(domain.ProposalIsWithdrawn):
        domain.withdraw_proposal(
            proposal(status=S.withdrawn), proposal_id="p1", portal="portal-a", reason="r", now=OPENS
        )


def test_suspension_and_resumption_alternate() -> None:
    assert domain.suspend_portal("p", suspended=False, reason="flood").portal == "p"
    with pytest.raises(domain.PortalAlreadySuspended):
        domain.suspend_portal("p", suspended=True, reason="flood")
    assert domain.resume_portal("p", suspended=True, reason="").portal == "p"
    with pytest.raises(domain.PortalNotSuspended):
        domain.resume_portal("p", suspended=False, reason="")
    with pytest.raises(domain.PortalIsSuspended):
        domain.ensure_portal_active("p", suspended=True)


COMMON = {"proposal_id": "p1", "consultation_id": "c1"}
TRIAGED = ProposalTriaged(
    proposal_version=1, complete=True, method=TriageMethod(name="m", version="1", parameters={}), **COMMON
)
ASSIGNED = ReviewerAssigned(reviewer="r", organization=Organization.ministry, **COMMON)


def assessed(outcome: Outcome) -> ProposalAssessed:
    return ProposalAssessed(outcome=outcome, rationale="", review_ids=[], **COMMON)


FORWARDED = ProposalForwardedToGovernment(package_id="k", **COMMON)
AMENDED = ProposalAmended(
    portal="portal-a", changes={"title": CONTENT.title}, content=CONTENT, reason="a new figure", **COMMON
)


@pytest.mark.parametrize(
    ("current", "event", "after"),
    [
        (S.submitted, TRIAGED, S.under_review),
        (S.submitted, ASSIGNED, S.under_review),
        (S.under_review, assessed(Outcome.recommended), S.assessed),
        (S.under_review, assessed(Outcome.not_recommended), S.assessed),
        (S.under_review, assessed(Outcome.merged), S.rejected_as_duplicate),
        (S.assessed, FORWARDED, S.forwarded_to_government),
        (S.assessed, assessed(Outcome.merged), S.rejected_as_duplicate),
        (S.rejected_as_duplicate, assessed(Outcome.recommended), S.assessed),
        (S.assessed, ASSIGNED, S.assessed),
        (S.forwarded_to_government, assessed(Outcome.recommended), S.forwarded_to_government),
        (S.withdrawn, TRIAGED, S.withdrawn),
        (S.withdrawn, FORWARDED, S.withdrawn),
        (S.assessed, AMENDED, S.under_review),
        (S.rejected_as_duplicate, AMENDED, S.under_review),
        (S.submitted, AMENDED, S.submitted),
        (S.forwarded_to_government, AMENDED, S.forwarded_to_government),
    ],
)
def test_the_status_moves_forward_with_analysis_and_back_to_review_only_on_an_amendment(
    current: S, event: DomainEvent, after: S
) -> None:
    assert domain.status_after(current, event) is after


def test_the_amendment_body_offers_every_field_of_the_proposal_body() -> None:
    assert set(ProposalChanges.model_fields) == set(ProposalContent.model_fields)


@pytest.mark.parametrize(
    ("day", "zone", "end_of_day", "instant"),
    [
        ("2027-01-20", "Europe/Moscow", True, datetime(2027, 1, 20, 20, 59, 59, tzinfo=UTC)),
        ("2027-01-20", "Europe/Moscow", False, datetime(2027, 1, 19, 21, 0, tzinfo=UTC)),
        ("2027-01-20", "UTC", True, datetime(2027, 1, 20, 23, 59, 59, tzinfo=UTC)),
        # summer time: Berlin is UTC+2 in July, UTC+1 in January
        ("2027-07-01", "Europe/Berlin", True, datetime(2027, 7, 1, 21, 59, 59, tzinfo=UTC)),
        ("2027-01-01", "Europe/Berlin", True, datetime(2027, 1, 1, 22, 59, 59, tzinfo=UTC)),
        ("2027-03-13", "Asia/Vladivostok", True, datetime(2027, 3, 13, 13, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_deadline_given_as_a_date_is_the_end_of_that_day_in_the_zone(
    day: str, zone: str, end_of_day: bool, instant: datetime
) -> None:
    assert domain.instant_of(date.fromisoformat(day), zone, end_of_day=end_of_day) == instant


def test_an_instant_stays_the_instant_it_names_whatever_the_zone() -> None:
    moment = datetime(2027, 3, 13, 18, 0, tzinfo=UTC) + timedelta(seconds=1)
    assert domain.instant_of(moment, "Europe/Moscow") == moment


def test_a_time_zone_is_an_iana_name() -> None:
    assert domain.is_time_zone("Europe/Moscow") and domain.is_time_zone("UTC")
    assert not any(domain.is_time_zone(name) for name in ("MSK", "Mars/Olympus_Mons", "../etc/passwd", ""))


def test_a_consultation_opened_before_zones_and_languages_reads_as_utc_and_english() -> None:
    from aireg_events.catalogue.submission import ConsultationOpened

    old = ConsultationOpened.model_validate(
        {
            "consultation_id": "c",
            "code": "x",
            "title": "t",
            "description": "",
            "submission_opens_at": "2026-01-01T00:00:00Z",
            "submission_closes_at": "2026-01-20T00:00:00Z",
            "analysis_due_at": "2026-02-28T00:00:00Z",
            "forwarding_due_at": "2026-03-13T00:00:00Z",
            "late_submissions": "reject",
        }
    )
    assert (old.time_zone, old.language.value) == ("UTC", "en")
