"""The body of a proposal as a portal sends it, and the same as the sealed content its events carry: one
builder for every service's tests (defaults a portal would send; any field replaced by a keyword)."""

from __future__ import annotations

from typing import Any

from aireg_events.catalogue.submission import ProposalContent
from tests.support.sealed import sealed_submitter


def proposal_body(
    text: str = "Regulate AI where the cost of an error is high.", **changes: Any
) -> dict[str, Any]:
    """What ``POST /v1/consultations/{id}/proposals`` takes (the contact in plain text)."""
    body: dict[str, Any] = {
        "submitter": {
            "name": "Association of AI developers",
            "kind": "industry_association",
            "registration_number": "7701234567",
            "contact_email": "office@example.org",
        },
        "title": "Targeted regulation by cost of error",
        "summary": "Certify high-risk uses, keep freedom elsewhere.",
        "text": text,
        "directions": ["regulation_and_barriers", "data"],
        "questions": ["definition_and_liability", "quality_and_certification"],
        "positions": {"definition_and_liability": "support", "quality_and_certification": "conditional"},
        "instrument": "technical_standard",
        "approach": "targeted",
        "cost_of_error": "high",
        "application_areas": ["healthcare", "finance"],
        "attachments": [],
    }
    body.update(changes)
    return body


def content(text: str = "Regulate AI where the cost of an error is high.", **changes: Any) -> ProposalContent:
    """The same body as a ``ProposalSubmitted`` carries it: the submitter's personal data sealed."""
    body = proposal_body(text, **changes)
    return ProposalContent.model_validate({**body, "submitter": sealed_submitter(body["submitter"])})
