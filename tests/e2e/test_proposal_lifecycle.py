"""A proposal's whole life across real processes: portals submit over HTTP to the submission service,
the analysis service triages what reaches it over the broker (one campaign for 30 copies of a form letter
among 200 distinct proposals), staff review, assess, package and forward, and the submitter's status on
the submission service follows every step. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import start_service
from services.analysis.tests.texts import distinct_text, form_letter_copy
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture
def services(
    new_database: Callable[[str], str], kafka_bootstrap: str, keys: KeyRing, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    namespace = f"t{uuid.uuid4().hex[:12]}."
    running = {
        name: service_process(
            name,
            database_url=new_database(name),
            bootstrap=kafka_bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=tmp_path,
        )
        for name in ("submission", "analysis")
    }
    try:
        for process in running.values():  # both start at once; each waits for its consumer group alone
            process.process = start_service(process.spec)
        for process in running.values():
            process.wait_healthy(90)
        yield running
    finally:
        for process in running.values():
            process.stop()


def proposal(text: str, *, title: str) -> dict[str, Any]:
    return {
        "submitter": {
            "name": "Association of AI developers",
            "kind": "industry_association",
            "registration_number": "7701234567",
            "contact_email": "office@example.org",
        },
        "title": title,
        "summary": "Certify high-risk uses of AI, keep freedom elsewhere.",
        "text": text,
        "directions": ["regulation_and_barriers"],
        "questions": ["definition_and_liability"],
        "positions": {"definition_and_liability": "support"},
        "instrument": "federal_law",
        "approach": "comprehensive",
        "cost_of_error": "high",
        "application_areas": ["healthcare"],
    }


async def test_proposals_submitted_over_http_are_triaged_reviewed_assessed_and_forwarded_and_the_submitter_follows(
    services: dict[str, ServiceProcess], tokens: TokenFactory
) -> None:
    admin, lead, portal = (
        tokens.header("admin"),
        tokens.header("lead", name="lead-orlova"),
        tokens.header("portal", name="portal-a"),
    )
    async with (
        httpx.AsyncClient(base_url=services["submission"].url, timeout=30) as submission,
        httpx.AsyncClient(base_url=services["analysis"].url, timeout=30) as analysis,
    ):
        now = datetime.now(UTC)
        opened = await submission.post(
            "/v1/consultations",
            headers=admin,
            json={
                "code": "AI-REG-E2E",
                "title": "Regulation of artificial intelligence",
                "submission_opens_at": (now - timedelta(days=1)).isoformat(),
                "submission_closes_at": (now + timedelta(days=30)).isoformat(),
                "analysis_due_at": (now + timedelta(days=60)).isoformat(),
                "forwarding_due_at": (now + timedelta(days=70)).isoformat(),
            },
        )
        assert opened.status_code == 201, opened.text
        consultation = opened.json()["consultation_id"]

        rng = random.Random(2027)
        bodies = [("distinct", proposal(distinct_text(rng), title=f"Proposal {n}")) for n in range(200)]
        bodies += [
            ("copy", proposal(form_letter_copy(rng), title="Protect people from AI")) for _ in range(30)
        ]
        rng.shuffle(bodies)
        gate = asyncio.Semaphore(16)

        async def submit(body: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                response = await submission.post(
                    f"/v1/consultations/{consultation}/proposals",
                    headers={**portal, "Idempotency-Key": str(uuid.uuid4())},
                    json=body,
                )
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        answers = await asyncio.gather(*(submit(body) for _, body in bodies))
        copies = sorted(
            (answer for answer, (kind, _) in zip(answers, bodies, strict=True) if kind == "copy"),
            key=lambda answer: (answer["submitted_at"], answer["proposal_id"]),
        )
        distinct = [
            answer["proposal_id"]
            for answer, (kind, _) in zip(answers, bodies, strict=True)
            if kind == "distinct"
        ]

        async def queue() -> list[dict[str, Any]]:
            response = await analysis.get(
                "/v1/queue", params={"consultation_id": consultation, "limit": 1000}, headers=lead
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        triaged = await eventually(queue, until=lambda items: len(items) == 230, timeout=90)
        assert {item["proposal_id"] for item in triaged} == {answer["proposal_id"] for answer in answers}
        campaigns = (
            await analysis.get("/v1/campaigns", params={"consultation_id": consultation}, headers=lead)
        ).json()
        (campaign,) = campaigns["items"]
        assert campaign["size"] == 30
        assert set(campaign["members"]) == {answer["proposal_id"] for answer in copies}
        assert campaign["representative_id"] == copies[0]["proposal_id"], (
            "the copy received first represents them"
        )
        assert [
            item["proposal_id"] for item in triaged if item["campaign"] and item["proposal_id"] in distinct
        ] == []

        chosen = distinct[0]

        async def submitter_sees() -> str:
            response = await submission.get(f"/v1/proposals/{chosen}", headers=portal)
            assert response.status_code == 200, response.text
            status: str = response.json()["status"]
            return status

        await eventually(submitter_sees, until=lambda status: status == "under_review")

        for reviewer, organization in (("ivanova", "ministry"), ("sidorov", "analytical_center")):
            assigned = await analysis.post(
                f"/v1/proposals/{chosen}/assignments",
                json={"reviewer": reviewer, "organization": organization},
                headers=lead,
            )
            assert assigned.status_code == 201, assigned.text
            reviewed = await analysis.post(
                f"/v1/proposals/{chosen}/reviews",
                json={
                    "organization": organization,
                    "scores": {
                        "legal_soundness": 5,
                        "feasibility": 4,
                        "risk_reduction": 5,
                        "innovation_impact": 3,
                    },
                    "recommendation": "support",
                    "rationale": "Sound, proportionate to the cost of error.",
                },
                headers=tokens.header("reviewer", name=reviewer, organization=organization),
            )
            assert reviewed.status_code == 201, reviewed.text
        assessed = await analysis.post(
            f"/v1/proposals/{chosen}/assessment",
            json={"outcome": "recommended", "rationale": "Both support it."},
            headers=lead,
        )
        assert assessed.status_code == 201, assessed.text
        await eventually(submitter_sees, until=lambda status: status == "assessed")

        package = await analysis.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "March"}, headers=lead
        )
        assert package.status_code == 201, package.text
        package_id = package.json()["package_id"]
        added = await analysis.post(
            f"/v1/packages/{package_id}/items", json={"proposal_id": chosen}, headers=lead
        )
        assert added.status_code == 201, added.text
        forwarded = await analysis.post(f"/v1/packages/{package_id}/submission", headers=lead)
        assert forwarded.status_code == 200 and forwarded.json()["late"] is False, forwarded.text
        await eventually(submitter_sees, until=lambda status: status == "forwarded_to_government")

        (item,) = [item for item in await queue() if item["proposal_id"] == chosen]
        assert item["status"] == "forwarded"
        other = await submission.get(f"/v1/proposals/{copies[0]['proposal_id']}", headers=portal)
        assert other.json()["status"] == "under_review"
