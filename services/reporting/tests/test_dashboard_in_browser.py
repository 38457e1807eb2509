"""The dashboard as an official sees it: Debian's headless Chromium opens ``/dashboard`` of a real
reporting process, and its counter moves when a portal submits a proposal over HTTP to a real
submission process (the event travels through the real broker). A screenshot is left as an artifact."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from aireg_cli.keys import KeyRing
from aireg_events.catalogue.analysis import (
    CriteriaScores,
    GovernmentPackageOpened,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalTriaged,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import Organization, Outcome, Recommendation
from aireg_events.envelope import Actor
from aireg_events.topics import Topics
from services.reporting.tests.chains import METHOD, ProducerLog, publish
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

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
    return {
        "submitter": {"name": spec["name"], "kind": spec["kind"], "contact_email": "office@example.org"},
        "title": spec["title"],
        "summary": f"{spec['title']}: the short version.",
        "text": f"{spec['title']}. The argument in full.",
        **{key: spec[key] for key in ("directions", "questions", "positions", "instrument", "approach")},
        "cost_of_error": spec["cost_of_error"],
        "application_areas": spec["application_areas"],
    }


@pytest.fixture
def stack(
    kafka_bootstrap: str, keys: KeyRing, namespace: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    running = {
        name: service_process(
            name,
            database_url=f"sqlite+aiosqlite:///{tmp_path / name}.db",
            bootstrap=kafka_bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=tmp_path,
        )
        for name in ("submission", "reporting")
    }
    try:
        for process in running.values():
            process.start()
        yield running
    finally:
        for process in running.values():
            process.stop()


def chromium_or_skip() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/system-deps.sh installs it")
        pytest.skip("chromium is missing (scripts/system-deps.sh installs it)")
    return executable


async def text_of(page: Page, selector: str) -> str:
    return str(await page.text_content(selector))


async def counter(page: Page) -> str:
    return await text_of(page, "#count-proposals")


async def test_the_dashboard_counts_a_proposal_submitted_over_http(
    stack: dict[str, ServiceProcess],
    tokens: TokenFactory,
    namespace: str,
    kafka_bootstrap: str,
    artifacts_dir: Path,
) -> None:
    executable = chromium_or_skip()
    submission, reporting = stack["submission"], stack["reporting"]
    now = datetime.now(UTC)
    portal = tokens.header("portal", name="portal-gosuslugi")
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.post(
            f"{submission.url}/v1/consultations",
            headers=tokens.header("admin"),
            json={
                "code": f"AI-{uuid.uuid4().hex[:6]}",
                "title": "Regulation of artificial intelligence: first call",
                "submission_opens_at": (now - timedelta(days=3)).isoformat(),
                "submission_closes_at": (now + timedelta(days=6, hours=5)).isoformat(),
                "analysis_due_at": (now + timedelta(days=40)).isoformat(),
                "forwarding_due_at": (now + timedelta(days=52)).isoformat(),
            },
        )
        assert opened.status_code == 201, opened.text
        consultation_id = opened.json()["consultation_id"]

        async def submit(spec: dict[str, Any]) -> dict[str, Any]:
            answer = await client.post(
                f"{submission.url}/v1/consultations/{consultation_id}/proposals",
                headers={**portal, "Idempotency-Key": str(uuid.uuid4())},
                json=proposal_body(spec),
            )
            assert answer.status_code == 201, answer.text
            return dict(answer.json())

        first = [await submit(spec) for spec in PROPOSALS[:2]]

        async def reported() -> int:
            answer = await client.get(
                f"{reporting.url}/v1/stats",
                params={"consultation_id": consultation_id},
                headers=tokens.header("dashboard"),
            )
            return int(answer.json()["proposals"]) if answer.status_code == 200 else -1

        await eventually(reported, until=lambda count: count == 2)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1440, "height": 1024})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                token = tokens("dashboard", name="ministry-wall")
                await page.goto(f"{reporting.url}/dashboard#token={token}")
                await eventually(lambda: counter(page), until=lambda text: text == "2")
                await page.wait_for_selector("#connection.live", timeout=30_000)
                assert "token" not in page.url, "the token leaves the address bar"

                await submit(PROPOSALS[2])
                assert await eventually(lambda: counter(page), until=lambda text: text == "3") == "3"

                # Decisions from the analysis topic make the page show what an official watches for.
                await publish_decisions(
                    kafka_bootstrap, namespace, consultation_id, [p["proposal_id"] for p in first]
                )
                await eventually(lambda: text_of(page, "#count-assessed"), until=lambda text: text == "1")
                await page.wait_for_selector("#decisions li:not(.empty)", timeout=30_000)
                feed = await page.text_content("#feed")
                assert feed is not None and PROPOSALS[2]["title"] in feed

                await page.wait_for_selector("#packages .package", timeout=30_000)
                async with page.expect_download() as download_info:
                    await page.click("#packages button[data-format=pdf]")
                download = await download_info.value
                pdf = artifacts_dir / "reporting-dashboard-package.pdf"
                await download.save_as(str(pdf))
                assert pdf.read_bytes().startswith(b"%PDF"), "the dashboard hands out the package document"
                assert errors == []
                await page.screenshot(path=str(artifacts_dir / "reporting-dashboard.png"), full_page=True)
            finally:
                await browser.close()


async def publish_decisions(
    bootstrap: str, namespace: str, consultation_id: str, proposal_ids: list[str]
) -> None:
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
    await publish(bootstrap, Topics(namespace).analysis, log.envelopes)


async def test_the_dashboard_switches_to_russian_and_shows_moscow_deadlines(
    stack: dict[str, ServiceProcess], tokens: TokenFactory, artifacts_dir: Path
) -> None:
    """A call run from Moscow, its deadlines given as dates: the page shows them as the ministry reads
    them, and its switch turns every label Russian."""
    executable = chromium_or_skip()
    submission, reporting = stack["submission"], stack["reporting"]
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.post(
            f"{submission.url}/v1/consultations",
            headers=tokens.header("admin"),
            json={
                "code": f"AI-MSK-{uuid.uuid4().hex[:6]}",
                "title": "Регулирование искусственного интеллекта: первый приём предложений",
                "submission_opens_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                "submission_closes_at": "2027-01-20",
                "analysis_due_at": "2027-02-28",
                "forwarding_due_at": "2027-03-13",
                "time_zone": "Europe/Moscow",
                "language": "ru",
            },
        )
        assert opened.status_code == 201, opened.text
        assert opened.json()["submission_closes_at"] == "2027-01-20T20:59:59Z"

        async def deadlines() -> list[dict[str, Any]]:
            answer = await client.get(f"{reporting.url}/v1/deadlines", headers=tokens.header("dashboard"))
            return list(answer.json()["items"]) if answer.status_code == 200 else []

        await eventually(deadlines, until=lambda items: len(items) == 1)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 1024}, locale="en-US")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            token = tokens("dashboard", name="ministry-wall")
            await page.goto(f"{reporting.url}/dashboard?lang=en#token={token}")
            closes = "[data-deadline=submission_closes_at] .due"
            await page.wait_for_selector(closes, timeout=30_000)
            assert await text_of(page, closes) == "20 January 2027, 23:59 (MSK)"
            assert (
                await text_of(page, "[data-deadline=submission_closes_at] .name")
                == "Proposals accepted until"
            )

            await eventually(
                lambda: text_of(page, "#feed"),
                until=lambda text: "opened: proposals until 20 January 2027, 23:59 (MSK)" in text,
            )
            await page.select_option("#language", "ru")
            feed = await eventually(
                lambda: text_of(page, "#feed"),
                until=lambda text: "открыта: предложения принимаются до 20 января 2027, 23:59 (МСК)" in text,  # noqa: RUF001
            )
            assert "opened: proposals until" not in feed, "the feed's lines speak the page's language"
            await eventually(
                lambda: text_of(page, closes),
                until=lambda text: text == "20 января 2027, 23:59 (МСК)",  # noqa: RUF001
            )
            assert await page.get_attribute("html", "lang") == "ru"
            assert await text_of(page, "[data-deadline=submission_closes_at] .name") == "Приём предложений до"
            assert (
                await text_of(page, "[data-deadline=forwarding_due_at] .due") == "13 марта 2027, 23:59 (МСК)"  # noqa: RUF001
            )
            assert await text_of(page, "h1") == "Оперативная панель"
            header = await text_of(page, "header.top")
            assert "Live dashboard" not in header and "Consultation" not in header
            left = await text_of(page, "[data-deadline=submission_closes_at] .left")
            assert left.startswith("осталось ") and "дн" in left, left
            assert errors == []
            await page.screenshot(path=str(artifacts_dir / "reporting-dashboard-ru.png"), full_page=True)
        finally:
            await browser.close()
