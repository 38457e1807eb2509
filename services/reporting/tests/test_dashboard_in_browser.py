"""The dashboard as an official sees it: Debian's headless Chromium opens ``/dashboard`` of a real
reporting process, and its counter moves when a portal submits a proposal over HTTP to a real
submission process (the event travels through the real broker). A screenshot is left as an artifact."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from services.reporting.tests.browser import (
    CHROMIUM_ARGS,
    PROPOSALS,
    chromium_or_skip,
    proposal_body,
    publish_decisions,
    text_of,
)
from tests.support.services import ServiceProcess
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


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
