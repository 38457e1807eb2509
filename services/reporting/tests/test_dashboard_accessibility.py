"""The dashboard for everyone: axe-core (npm ``axe-core``, pinned in ``accessibility/``) checks the pages
a real reporting process serves (the dashboard, filled with proposals, decisions and a package; its
sign-in form; the package document as HTML) against the WCAG 2.2 A and AA rules in Debian's Chromium, in
Russian and in English. The pages' strict content security policies stay on: axe is evaluated through the browser's DevTools protocol, not loaded by a tag.

``make test`` installs axe-core (``npm ci --prefix services/reporting/tests/accessibility``). Without it
the test skips and says so, or fails under ``AIREG_REQUIRE_AXE=1`` or ``CI``."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from aireg_http.messages import LANGUAGES, Language, catalogue
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

AXE = Path(__file__).parent / "accessibility" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_or_skip() -> str:
    if not AXE.is_file():
        why = "axe-core is not installed: npm ci --prefix services/reporting/tests/accessibility (make test runs it)"
        if os.environ.get("AIREG_REQUIRE_AXE") == "1" or os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    return AXE.read_text(encoding="utf-8")


async def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe's WCAG 2.2 A/AA violations on the page as it stands, axe evaluated over the DevTools protocol."""
    session = await page.context.new_cdp_session(page)
    loaded = await session.send("Runtime.evaluate", {"expression": axe_source})
    assert "exceptionDetails" not in loaded, loaded
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    run = (
        f"axe.run(document, {json.dumps(options)}).then((result) => result.violations.map((v) =>"
        " ({rule: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' '))})))"
    )
    answer = await session.send(
        "Runtime.evaluate", {"expression": run, "awaitPromise": True, "returnByValue": True}
    )
    assert "exceptionDetails" not in answer, answer
    return list(answer["result"]["value"])


def described(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['rule']} ({v['help']}), {len(v['targets'])} elements: {', '.join(v['targets'])}"
        for v in violations
    )


async def test_the_dashboard_passes_wcag_2_2_aa_in_russian_and_in_english(
    stack: dict[str, ServiceProcess],
    tokens: TokenFactory,
    namespace: str,
    kafka_bootstrap: str,
    artifacts_dir: Path,
) -> None:
    executable = chromium_or_skip()
    axe_source = axe_or_skip()
    submission, reporting = stack["submission"], stack["reporting"]
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.post(
            f"{submission.url}/v1/consultations",
            headers=tokens.header("admin"),
            json={
                "code": f"AI-A11Y-{uuid.uuid4().hex[:6]}",
                "title": "Regulation of artificial intelligence: first call",
                "submission_opens_at": (now - timedelta(days=3)).isoformat(),
                "submission_closes_at": (now + timedelta(days=2)).isoformat(),
                "analysis_due_at": (now + timedelta(days=40)).isoformat(),
                "forwarding_due_at": (now + timedelta(days=52)).isoformat(),
            },
        )
        assert opened.status_code == 201, opened.text
        consultation_id = opened.json()["consultation_id"]
        submitted = []
        for spec in PROPOSALS:
            answer = await client.post(
                f"{submission.url}/v1/consultations/{consultation_id}/proposals",
                headers={
                    **tokens.header("portal", name="portal-gosuslugi"),
                    "Idempotency-Key": str(uuid.uuid4()),
                },
                json=proposal_body(spec),
            )
            assert answer.status_code == 201, answer.text
            submitted.append(answer.json()["proposal_id"])
    await publish_decisions(kafka_bootstrap, namespace, consultation_id, submitted[:2], submit_package=True)

    found: dict[str, list[dict[str, Any]]] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for language in LANGUAGES:
                found[language] = await violations_in(
                    browser,
                    f"{reporting.url}/dashboard?lang={language}",
                    language,
                    tokens,
                    axe_source,
                    artifacts_dir,
                )
            for language in LANGUAGES:
                found[f"{language}, signing in"] = await signin_violations_in(
                    browser, f"{reporting.url}/dashboard?lang={language}", language, axe_source
                )
            package_id = await submitted_package(reporting.url, tokens)
            for language in LANGUAGES:
                found[f"{language}, package document"] = await document_violations_in(
                    browser,
                    f"{reporting.url}/v1/packages/{package_id}/document?format=html&lang={language}",
                    language,
                    tokens,
                    axe_source,
                )
        finally:
            await browser.close()
    assert found == {key: [] for key in found}, "\n".join(
        f"[{language}] {described(violations)}" for language, violations in found.items() if violations
    )


async def violations_in(
    browser: Browser, url: str, language: Language, tokens: TokenFactory, axe_source: str, artifacts_dir: Path
) -> list[dict[str, Any]]:
    """The page filled in (counters, decisions, a submitted package, charts) in ``language``: axe's violations."""
    page = await browser.new_page(viewport={"width": 1440, "height": 1024})
    try:
        await page.goto(f"{url}#token={tokens('dashboard', name='ministry-wall')}")
        await eventually(
            lambda: text_of(page, "#count-forwarded_to_government"), until=lambda text: text == "1"
        )
        await page.wait_for_selector("#connection.live", timeout=30_000)
        await page.wait_for_selector("#decisions li:not(.empty)", timeout=30_000)
        await page.wait_for_selector("#packages .state.submitted", timeout=30_000)
        await page.wait_for_selector("#chart-positions svg", timeout=30_000)
        await page.wait_for_selector(".value.flash", state="detached", timeout=30_000)
        assert await text_of(page, "h1") == catalogue(language).section("dashboard")["heading"]
        assert await page.get_attribute("html", "lang") == language, "lang names the language shown"
        words = catalogue(language)
        directions = await page.get_attribute("#chart-directions svg", "aria-label")
        assert directions is not None and directions.startswith(
            f"{words.section('dashboard')['directions']}: "
        )
        for direction in {d for proposal in PROPOSALS for d in proposal["directions"]}:
            assert f"{words.labels()[direction]} 1" in directions, "the chart's text gives every number"
        reached = await tab_stops(page)
        for control in ("consultation", "language", "decisions", "feed", "package pdf"):
            assert control in reached, f"Tab never reaches {control}: {reached}"
        found = await axe_violations(page, axe_source)
        await page.screenshot(
            path=str(artifacts_dir / f"reporting-dashboard-axe-{language}.png"), full_page=True
        )
        return found
    finally:
        await page.close()


async def tab_stops(page: Page) -> list[str]:
    """What the keyboard's Tab reaches, in order, once round the page."""
    reached: list[str] = []
    for _ in range(60):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "(() => { const e = document.activeElement; if (!e || e === document.body) return '';"
            " return e.dataset.format ? 'package ' + e.dataset.format : e.id; })()"
        )
        if reached and focused == reached[0]:
            break
        reached.append(focused)
    return reached


async def signin_violations_in(
    browser: Browser, url: str, language: Language, axe_source: str
) -> list[dict[str, Any]]:
    """The page before a token is given: the sign-in form over it, in ``language``."""
    page = await browser.new_page(viewport={"width": 1440, "height": 1024})
    try:
        await page.goto(url)
        await page.wait_for_selector("#signin.open", timeout=30_000)
        assert await page.get_attribute("html", "lang") == language
        return await axe_violations(page, axe_source)
    finally:
        await page.close()


async def submitted_package(reporting_url: str, tokens: TokenFactory) -> str:
    """The package the dashboard shows as submitted (the one ``publish_decisions`` sent on)."""
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{reporting_url}/v1/packages?limit=50", headers=tokens.header("dashboard"))
    assert answer.status_code == 200, answer.text
    [package] = answer.json()["items"]
    return str(package["package_id"])


async def document_violations_in(
    browser: Browser, url: str, language: Language, tokens: TokenFactory, axe_source: str
) -> list[dict[str, Any]]:
    """The package document for the government as HTML, served under its own content security policy."""
    context = await browser.new_context(extra_http_headers=tokens.header("dashboard"))
    try:
        page = await context.new_page()
        answer = await page.goto(url)
        assert answer is not None and answer.status == 200, url
        assert await page.get_attribute("html", "lang") == language
        return await axe_violations(page, axe_source)
    finally:
        await context.close()
