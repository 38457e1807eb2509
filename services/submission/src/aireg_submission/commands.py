"""What callers ask the submission service to do: one command per command route, named in the imperative.

Routes parse their input (auth, path, body, headers) into one of these and hand it to the bus; the
handler of each lives in :mod:`aireg_submission.handlers`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aireg_events.bus import Command
from aireg_events.catalogue.common import LateSubmissions
from aireg_events.catalogue.submission import ConsultationLanguage, DisputeOutcome, ProposalBody, Submitter


class OpenConsultation(Command):
    code: str
    title: str
    description: str
    submission_opens_at: datetime
    submission_closes_at: datetime
    analysis_due_at: datetime
    forwarding_due_at: datetime
    late_submissions: LateSubmissions
    time_zone: str
    language: ConsultationLanguage


class SubmitProposal(Command):
    consultation_id: str
    portal: str
    idempotency_key: str
    request_fingerprint: str
    body: ProposalBody


class AmendProposal(Command):
    proposal_id: str
    portal: str
    changes: dict[str, Any]
    """The fields to replace (JSON values, as sent); ``submitter`` in plain, sealed by the handler."""
    submitter: Submitter | None
    reason: str


class WithdrawProposal(Command):
    proposal_id: str
    portal: str
    reason: str


class SuspendPortal(Command):
    portal: str
    reason: str


class ResumePortal(Command):
    portal: str
    reason: str


class ErasePersonalData(Command):
    subject_digest: str
    """The data subject: the digest of its normalized contact e-mail."""
    reason: str
    legal_basis: str


class DisputeAttribution(Command):
    proposal_id: str
    complainant: str
    statement: str


class ResolveDispute(Command):
    dispute_id: str
    outcome: DisputeOutcome
    rationale: str
