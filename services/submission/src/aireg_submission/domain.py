"""The submission rules as pure functions: a command and the current state in, events (or a refusal) out."""

from __future__ import annotations

from datetime import datetime

from aireg_events.catalogue.common import LateSubmissions
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_events.rules import RuleViolation


class DeadlinesOutOfOrder(RuleViolation):
    code = "deadlines_out_of_order"
    kind = "invalid"


class ConsultationCodeTaken(RuleViolation):
    code = "consultation_code_taken"
    kind = "conflict"


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
    code_taken: bool,
) -> ConsultationOpened:
    """Deadlines are data: opens < closes <= analysis due <= forwarding due."""
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
    )
