"""The submission rules as pure functions: a command and the current state in, events (or a refusal) out.

Registration numbers are ``AIREG-<year>-<6 digits>``, gap-free per consultation. The year is the one the
consultation's submission window opens in. So that two consultations of one year never share a number,
a consultation takes a *series* (0..9), the first of the six digits, with its first registered proposal,
and counts its proposals in the other five: the second call of 2026 that receives proposals registers
AIREG-2026-100001, -100002, ... Ten consultations with proposals a year, 99,999 proposals each; beyond
that intake is refused (``registration_numbers_exhausted``), never a number given twice. The series is
taken at the first proposal rather than at opening so that consultations nobody submits to (demo calls
of ``aireg up``, tests) use none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import ValidationError

from aireg_events.canonical import canonical_json, format_timestamp
from aireg_events.catalogue.analysis import (
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
)
from aireg_events.catalogue.common import DomainEvent, LateSubmissions, Outcome
from aireg_events.catalogue.submission import (
    AttributionDisputed,
    AttributionDisputeResolved,
    ConsultationLanguage,
    ConsultationOpened,
    DisputeOutcome,
    PersonalDataErased,
    PortalResumed,
    PortalSuspended,
    ProposalAmended,
    ProposalBody,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.rules import RuleViolation
from aireg_events.sealed import SealedValue
from aireg_events.submitter_status import submitter_status

SERIES_PER_YEAR = 10
NUMBERS_PER_SERIES = 99_999
MAX_IDEMPOTENCY_KEY_LENGTH = 200
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}")


class ProposalStatus(StrEnum):
    """The status a submitter sees."""

    submitted = "submitted"
    under_review = "under_review"
    assessed = "assessed"
    forwarded_to_government = "forwarded_to_government"
    rejected_as_duplicate = "rejected_as_duplicate"
    withdrawn = "withdrawn"
    misattributed = "misattributed"
    """An upheld attribution dispute: filed in someone's name without their consent, set aside."""


# --- refusals -------------------------------------------------------------------------------------


class DeadlinesOutOfOrder(RuleViolation):
    code = "deadlines_out_of_order"
    kind = "invalid"


class UnknownTimeZone(RuleViolation):
    code = "unknown_time_zone"
    kind = "invalid"


class ConsultationCodeTaken(RuleViolation):
    code = "consultation_code_taken"
    kind = "conflict"


class ConsultationNotFound(RuleViolation):
    code = "consultation_not_found"
    kind = "not_found"


class SubmissionWindowClosed(RuleViolation):
    code = "submission_window_closed"
    kind = "conflict"


class IdempotencyKeyRequired(RuleViolation):
    code = "idempotency_key_required"
    kind = "invalid"


class IdempotencyKeyInvalid(RuleViolation):
    code = "idempotency_key_invalid"
    kind = "invalid"


class IdempotencyKeyReused(RuleViolation):
    code = "idempotency_key_reused"
    kind = "conflict"


class RegistrationNumbersExhausted(RuleViolation):
    code = "registration_numbers_exhausted"
    kind = "conflict"


class PortalIsSuspended(RuleViolation):
    code = "portal_suspended"
    kind = "forbidden"


class ProposalNotFound(RuleViolation):
    """No such proposal, or another portal's: the two answer alike, so existence does not leak."""

    code = "proposal_not_found"
    kind = "not_found"


class ProposalIsWithdrawn(RuleViolation):
    code = "proposal_withdrawn"
    kind = "conflict"


class ProposalIsMisattributed(RuleViolation):
    code = "proposal_misattributed"
    kind = "conflict"


class AmendmentWindowClosed(RuleViolation):
    code = "amendment_window_closed"
    kind = "conflict"


class WithdrawalWindowClosed(RuleViolation):
    code = "withdrawal_window_closed"
    kind = "conflict"


class InvalidAmendment(RuleViolation):
    """The content after the amendment breaks a rule of the body (same answer as an invalid body)."""

    code = "validation_failed"
    kind = "invalid"


class AmendmentChangesNothing(RuleViolation):
    code = "amendment_changes_nothing"
    kind = "invalid"


class DataSubjectNotFound(RuleViolation):
    """No proposal was ever submitted with this contact e-mail (nor erased under it)."""

    code = "data_subject_not_found"
    kind = "not_found"


class DisputeNotFound(RuleViolation):
    code = "dispute_not_found"
    kind = "not_found"


class DisputeAlreadyResolved(RuleViolation):
    code = "dispute_already_resolved"
    kind = "conflict"


class PortalAlreadySuspended(RuleViolation):
    code = "portal_already_suspended"
    kind = "conflict"


class PortalNotSuspended(RuleViolation):
    code = "portal_not_suspended"
    kind = "conflict"


# --- state the rules read -------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmissionWindow:
    opens_at: datetime
    closes_at: datetime
    late_submissions: LateSubmissions


@dataclass(frozen=True)
class Numbering:
    """A consultation's registration numbers: its year and series, and how many it has given."""

    year: int
    series: int
    last_number: int

    def next_number(self) -> str:
        sequence = self.last_number + 1
        if sequence > NUMBERS_PER_SERIES:
            raise RegistrationNumbersExhausted(
                f"this consultation has registered {NUMBERS_PER_SERIES} proposals, the most its "
                "registration series holds"
            )
        return registration_number(self.year, self.series, sequence)


@dataclass(frozen=True)
class Proposal:
    proposal_id: str
    consultation_id: str
    portal: str
    content: ProposalContent
    status: ProposalStatus
    stream_version: int
    window: SubmissionWindow
    """The submission window of its consultation."""


def registration_number(year: int, series: int, sequence: int) -> str:
    return f"AIREG-{year:04d}-{series}{sequence:05d}"


def parse_registration_number(number: str) -> Numbering:
    """The year, series and per-consultation count of ``AIREG-<year>-<series><5 digits>``."""
    _, year, digits = number.split("-")
    return Numbering(year=int(year), series=int(digits[0]), last_number=int(digits[1:]))


def first_numbering(year: int, series_taken: Collection[int]) -> Numbering:
    """The numbering of a consultation's first proposal: the first series of its year no other took."""
    free = [series for series in range(SERIES_PER_YEAR) if series not in series_taken]
    if not free:
        raise RegistrationNumbersExhausted(
            f"{SERIES_PER_YEAR} consultations that open in {year} already register proposals; "
            "the registration numbers of another would not be told apart"
        )
    return Numbering(year=year, series=free[0], last_number=0)


def registration_year(submission_opens_at: datetime) -> int:
    return submission_opens_at.year


# --- consultations --------------------------------------------------------------------------------


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone name (``Europe/Moscow``, ``UTC``)."""
    if name not in _iana_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def instant_of(value: datetime | date, zone: str, *, end_of_day: bool = True) -> datetime:
    """A deadline as an instant in UTC. An instant stays as it is; a date means the end of that day
    in ``zone`` (23:59:59 local time), or its start (00:00:00) with ``end_of_day=False``, for the
    opening of a window."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if not is_time_zone(zone):
        raise UnknownTimeZone(f"{zone!r} is not an IANA time zone name (such as Europe/Moscow)")
    moment = time(23, 59, 59) if end_of_day else time(0, 0, 0)
    return datetime.combine(value, moment, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def open_consultation(
    *,
    consultation_id: str,
    code: str,
    title: str,
    description: str,
    submission_opens_at: datetime,
    submission_closes_at: datetime,
    analysis_due_at: datetime,
    forwarding_due_at: datetime,
    late_submissions: LateSubmissions,
    time_zone: str = "UTC",
    language: ConsultationLanguage = ConsultationLanguage.en,
    code_taken: bool,
) -> ConsultationOpened:
    """Deadlines are data: opens < closes <= analysis due <= forwarding due; the time zone people read
    them in is an IANA name."""
    if not is_time_zone(time_zone):
        raise UnknownTimeZone(f"{time_zone!r} is not an IANA time zone name (such as Europe/Moscow)")
    if code_taken:
        raise ConsultationCodeTaken(f"a consultation with code {code!r} already exists")
    if not submission_opens_at < submission_closes_at:
        raise DeadlinesOutOfOrder("submission_opens_at must come before submission_closes_at")
    if not submission_closes_at <= analysis_due_at:
        raise DeadlinesOutOfOrder("analysis_due_at must not come before submission_closes_at")
    if not analysis_due_at <= forwarding_due_at:
        raise DeadlinesOutOfOrder("forwarding_due_at must not come before analysis_due_at")
    return ConsultationOpened(
        consultation_id=consultation_id,
        code=code,
        title=title,
        description=description,
        submission_opens_at=submission_opens_at,
        submission_closes_at=submission_closes_at,
        analysis_due_at=analysis_due_at,
        forwarding_due_at=forwarding_due_at,
        late_submissions=late_submissions,
        time_zone=time_zone,
        language=language,
    )


# --- intake ---------------------------------------------------------------------------------------


def checked_idempotency_key(key: str | None) -> str:
    if key is None:
        raise IdempotencyKeyRequired("send an Idempotency-Key header, unique per proposal you submit")
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise IdempotencyKeyInvalid(
            f"the Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters"
        )
    return key


def request_fingerprint(body: ProposalBody, digest: Callable[[bytes], str]) -> str:
    """The fingerprint of a parsed body: ``digest`` (a keyed hash: the body holds personal data) of its
    canonical JSON, defaults filled in."""
    return digest(b"request\x00" + canonical_json(body.model_dump(mode="json")))


def is_replay(
    previous_consultation_id: str | None,
    previous_sha256: str | None,
    *,
    consultation_id: str,
    sha256: str,
) -> bool:
    """Whether a request repeats the one first sent with its key (True), is new (False), or reuses the
    key for something else (refused)."""
    if previous_sha256 is None:
        return False
    if previous_consultation_id == consultation_id and previous_sha256 == sha256:
        return True
    raise IdempotencyKeyReused(
        "this Idempotency-Key was used for another proposal; send a new key for a new proposal"
    )


def lateness(window: SubmissionWindow, now: datetime) -> bool:
    """Whether a submission at ``now`` is late (accepted and labelled), or refused outside the window."""
    if now < window.opens_at:
        raise SubmissionWindowClosed(
            f"the submission window opens at {format_timestamp(window.opens_at)}",
            opens_at=format_timestamp(window.opens_at),
        )
    if now <= window.closes_at:
        return False
    if window.late_submissions is LateSubmissions.accept_and_label:
        return True
    raise SubmissionWindowClosed(
        f"the submission window closed at {format_timestamp(window.closes_at)}",
        closes_at=format_timestamp(window.closes_at),
    )


def ensure_portal_active(portal: str, *, suspended: bool) -> None:
    if suspended:
        raise PortalIsSuspended(f"the portal {portal!r} is suspended; ask the ministry to resume it")


def submit_proposal(
    *,
    proposal_id: str,
    consultation_id: str,
    window: SubmissionWindow,
    numbering: Numbering,
    portal: str,
    idempotency_key: str,
    request_fingerprint: str,
    content: ProposalContent,
    now: datetime,
) -> ProposalSubmitted:
    """``content`` is the body with its personal data sealed already."""
    late = lateness(window, now)
    return ProposalSubmitted(
        proposal_id=proposal_id,
        consultation_id=consultation_id,
        registration_number=numbering.next_number(),
        portal=portal,
        received_at=now,
        late=late,
        idempotency_key=idempotency_key,
        request_sha256=request_fingerprint,
        content=content,
    )


# --- amendments and withdrawal --------------------------------------------------------------------


def _own_live_proposal(proposal: Proposal | None, proposal_id: str, portal: str) -> Proposal:
    if proposal is None or proposal.portal != portal:
        raise ProposalNotFound(f"no proposal {proposal_id} of this portal")
    if proposal.status is ProposalStatus.withdrawn:
        raise ProposalIsWithdrawn(f"proposal {proposal_id} was withdrawn")
    if proposal.status is ProposalStatus.misattributed:
        raise ProposalIsMisattributed(f"proposal {proposal_id} was set aside as misattributed")
    return proposal


def amend_proposal(
    proposal: Proposal | None,
    *,
    proposal_id: str,
    portal: str,
    changes: dict[str, Any],
    reason: str,
    now: datetime,
) -> ProposalAmended:
    """``changes`` are the JSON values of the fields to replace (a submitter sealed already); the result
    must still be a valid body."""
    current = _own_live_proposal(proposal, proposal_id, portal)
    if now > current.window.closes_at:
        raise AmendmentWindowClosed(
            f"amendments closed with the submission window at {format_timestamp(current.window.closes_at)}"
        )
    before = current.content.model_dump(mode="json")
    try:
        content = ProposalContent.model_validate({**before, **changes})
    except ValidationError as error:
        errors = [
            {
                "loc": ["body", "changes", *error_item["loc"]],
                "message": error_item["msg"],
                "type": error_item["type"],
            }
            for error_item in error.errors()
        ]
        where = ".".join(str(part) for part in errors[0]["loc"][1:]) if errors else "changes"
        raise InvalidAmendment(
            f"{where}: {errors[0]['message'] if errors else 'invalid'}", errors=errors
        ) from None
    after = content.model_dump(mode="json")
    changed = {name: after[name] for name in changes if after[name] != before[name]}
    if not changed:
        raise AmendmentChangesNothing("the changes repeat the proposal as it stands")
    return ProposalAmended(
        proposal_id=current.proposal_id,
        consultation_id=current.consultation_id,
        portal=portal,
        changes=changed,
        content=content,
        reason=reason,
    )


def withdraw_proposal(
    proposal: Proposal | None,
    *,
    proposal_id: str,
    portal: str,
    reason: str,
    now: datetime,
) -> ProposalWithdrawn:
    current = _own_live_proposal(proposal, proposal_id, portal)
    if now > current.window.closes_at:
        raise WithdrawalWindowClosed(
            f"withdrawals closed with the submission window at {format_timestamp(current.window.closes_at)}"
        )
    return ProposalWithdrawn(
        proposal_id=current.proposal_id,
        consultation_id=current.consultation_id,
        portal=portal,
        reason=reason,
    )


# --- the people behind proposals ------------------------------------------------------------------


def erase_personal_data(
    *,
    erasure_id: str,
    subject_digest: str,
    key_id: str | None,
    proposals: Collection[str],
    reason: str,
    legal_basis: str,
) -> PersonalDataErased:
    """The subject's key ``key_id`` is to be destroyed; ``proposals`` carry values sealed under it."""
    if key_id is None:
        raise DataSubjectNotFound("no proposal names this contact e-mail, and none erased under it")
    return PersonalDataErased(
        erasure_id=erasure_id,
        subject_digest=subject_digest,
        key_ids=[key_id],
        proposals=sorted(proposals),
        reason=reason,
        legal_basis=legal_basis,
    )


def dispute_attribution(
    proposal: Proposal | None,
    *,
    proposal_id: str,
    dispute_id: str,
    complainant: SealedValue,
    statement: SealedValue,
) -> AttributionDisputed:
    """A complaint is recorded on any proposal, whatever its status (a withdrawn one included)."""
    if proposal is None:
        raise ProposalNotFound(f"no proposal {proposal_id}")
    return AttributionDisputed(
        dispute_id=dispute_id,
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        complainant=complainant,
        statement=statement,
    )


@dataclass(frozen=True)
class Dispute:
    dispute_id: str
    proposal_id: str
    consultation_id: str
    resolved: bool


def resolve_dispute(
    dispute: Dispute | None, *, dispute_id: str, outcome: DisputeOutcome, rationale: str
) -> AttributionDisputeResolved:
    if dispute is None:
        raise DisputeNotFound(f"no attribution dispute {dispute_id}")
    if dispute.resolved:
        raise DisputeAlreadyResolved(f"the attribution dispute {dispute_id} is resolved already")
    return AttributionDisputeResolved(
        dispute_id=dispute.dispute_id,
        proposal_id=dispute.proposal_id,
        consultation_id=dispute.consultation_id,
        outcome=outcome,
        rationale=rationale,
    )


def status_after_resolution(current: ProposalStatus, event: AttributionDisputeResolved) -> ProposalStatus:
    """An upheld dispute sets the proposal aside for good; a rejected one changes nothing."""
    return ProposalStatus.misattributed if event.outcome is DisputeOutcome.upheld else current


# --- portals --------------------------------------------------------------------------------------


def suspend_portal(portal: str, *, suspended: bool, reason: str) -> PortalSuspended:
    if suspended:
        raise PortalAlreadySuspended(f"the portal {portal!r} is already suspended")
    return PortalSuspended(portal=portal, reason=reason)


def resume_portal(portal: str, *, suspended: bool, reason: str) -> PortalResumed:
    if not suspended:
        raise PortalNotSuspended(f"the portal {portal!r} is not suspended")
    return PortalResumed(portal=portal, reason=reason)


# --- the status the submitter sees ----------------------------------------------------------------


def status_after(current: ProposalStatus, event: DomainEvent) -> ProposalStatus:
    """The submitter's status after an analysis event or an amendment, by the rule reporting also uses
    (:func:`aireg_events.submitter_status.submitter_status`), from what the current status and the
    event tell: triage or an assignment puts a proposal under review; an assessment makes it assessed,
    or rejected as a duplicate when it was merged into another proposal (triage only flags duplicates);
    an amendment asks for a new assessment; forwarding it to the government is the last step; a late
    assignment after the assessment changes nothing, and a withdrawn or misattributed proposal stays so.
    """
    assessed = current in (ProposalStatus.assessed, ProposalStatus.rejected_as_duplicate)
    merged = current is ProposalStatus.rejected_as_duplicate
    if isinstance(event, ProposalAssessed):
        assessed, merged = True, event.outcome is Outcome.merged
    elif isinstance(event, ProposalAmended):
        assessed = merged = False
    return ProposalStatus(
        submitter_status(
            misattributed=current is ProposalStatus.misattributed,
            withdrawn=current is ProposalStatus.withdrawn,
            forwarded=current is ProposalStatus.forwarded_to_government
            or isinstance(event, ProposalForwardedToGovernment),
            assessed=assessed,
            merged=merged,
            in_review=current is not ProposalStatus.submitted
            or isinstance(event, (ProposalTriaged, ReviewerAssigned)),
        )
    )


STATUS_EVENTS = frozenset(
    event.event_type
    for event in (ProposalTriaged, ReviewerAssigned, ProposalAssessed, ProposalForwardedToGovernment)
)
"""The analysis events that can change the status a submitter sees."""
