"""What the dashboard's browser tests share: Debian's Chromium (or why it is missing), the proposals a
portal submits and the decisions the analysis topic carries, so the page has something to show."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Page

from aireg_events.catalogue.analysis import (
    CriteriaScores,
    GovernmentPackageOpened,
    GovernmentPackageSubmitted,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import Organization, Outcome, Recommendation
from aireg_events.envelope import Actor
from aireg_events.topics import Topics
from services.reporting.tests.chains import METHOD, ProducerLog, publish
from tests.support.proposals import proposal_body as support_proposal_body

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PROPOSALS: list[dict[str, Any]] = [
    {
        "name": "Association of Medical Informatics",
        "kind": "industry_association",
        "title": "Certify diagnostic AI before use",
        "directions": ["regulation_and_barriers", "information_security"],
        "questions": ["quality_and_certification", "permitted_areas"],
        "positions": {"quality_and_certification": "support", "permitted_areas": "conditional"},
        "instrument": "certification",
        "approach": "targeted",
        "cost_of_error": "critical",
        "application_areas": ["healthcare"],
    },
    {
        "name": "Institute of Applied Mathematics",
        "kind": "academia",
        "title": "Open data sets for model training",
        "directions": ["data", "model_training"],
        "questions": ["training_data"],
        "positions": {"training_data": "support"},
        "instrument": "government_decree",
        "approach": "comprehensive",
        "cost_of_error": "medium",
        "application_areas": ["education", "industry"],
    },
    {
        "name": "Northwind Analytics",
        "kind": "business",
        "title": "No licences for low-risk chat assistants",
        "directions": ["adoption", "support_measures"],
        "questions": ["permitted_areas", "definition_and_liability"],
        "positions": {"permitted_areas": "oppose", "definition_and_liability": "conditional"},
        "instrument": "self_regulation",
        "approach": "targeted",
        "cost_of_error": "low",
        "application_areas": ["finance", "media"],
    },
]


def proposal_body(spec: dict[str, Any]) -> dict[str, Any]:
    """The body a portal sends for one of :data:`PROPOSALS`."""
    return support_proposal_body(
        submitter={"name": spec["name"], "kind": spec["kind"], "contact_email": "office@example.org"},
        title=spec["title"],
        summary=f"{spec['title']}: the short version.",
        text=f"{spec['title']}. The argument in full.",
        **{key: spec[key] for key in ("directions", "questions", "positions", "instrument", "approach")},
        cost_of_error=spec["cost_of_error"],
        application_areas=spec["application_areas"],
    )


def chromium_or_skip() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/system-deps.sh installs it")
        pytest.skip("chromium is missing (scripts/system-deps.sh installs it)")
    return executable


async def text_of(page: Page, selector: str) -> str:
    return str(await page.text_content(selector))


async def publish_decisions(
    bootstrap: str,
    namespace: str,
    consultation_id: str,
    proposal_ids: list[str],
    *,
    submit_package: bool = False,
) -> None:
    """Both proposals triaged, the first reviewed, assessed and put into a package; with ``submit_package``
    the package then goes to the government with it."""
    log = ProducerLog("analysis")
    now = datetime.now(UTC)
    lead = Actor(role="lead", name="lead-ivanova")
    for proposal_id in proposal_ids:
        log.append(
            ProposalTriaged(
                proposal_id=proposal_id,
                consultation_id=consultation_id,
                proposal_version=1,
                complete=True,
                method=METHOD,
            ),
            at=now,
            actor=Actor.system("triage"),
        )
    review = ReviewSubmitted(
        proposal_id=proposal_ids[0],
        consultation_id=consultation_id,
        review_id=str(uuid.uuid4()),
        reviewer="reviewer-orlov",
        organization=Organization.ministry,
        proposal_version=1,
        scores=CriteriaScores(legal_soundness=5, feasibility=4, risk_reduction=5, innovation_impact=3),
        recommendation=Recommendation.support,
        rationale="Certification where an error costs lives.",
    )
    log.append(review, at=now, actor=Actor(role="reviewer", name="reviewer-orlov", organization="ministry"))
    log.append(
        ProposalAssessed(
            proposal_id=proposal_ids[0],
            consultation_id=consultation_id,
            outcome=Outcome.recommended,
            rationale="Regulate where the cost of an AI error is too high.",
            review_ids=[review.review_id],
        ),
        at=now,
        actor=lead,
    )
    package_id = str(uuid.uuid4())
    log.append(
        GovernmentPackageOpened(
            package_id=package_id, consultation_id=consultation_id, title="First recommendations"
        ),
        at=now,
        actor=lead,
    )
    log.append(
        ProposalAddedToPackage(
            package_id=package_id, consultation_id=consultation_id, proposal_id=proposal_ids[0]
        ),
        at=now,
        actor=lead,
    )
    if submit_package:
        log.append(
            ProposalForwardedToGovernment(
                proposal_id=proposal_ids[0], consultation_id=consultation_id, package_id=package_id
            ),
            at=now,
            actor=lead,
        )
        log.append(
            GovernmentPackageSubmitted(
                package_id=package_id,
                consultation_id=consultation_id,
                title="First recommendations",
                proposal_ids=proposal_ids[:1],
                counts={"proposals": 1},
            ),
            at=now,
            actor=lead,
        )
    await publish(bootstrap, Topics(namespace).analysis, log.envelopes)
