"""The system the security tests attack: the three services as real processes on real ports (the
session's broker, PostgreSQL, which is the stricter store), and a few records to aim at: a
consultation, a proposal of portal A and one of portal B (both triaged, both in reporting), a package.
Started once for the whole folder; each test keeps to what it creates itself."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES
from tests.support.databases import postgres_reachable, require_postgres
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

PORTAL_A = "portal-a"
PORTAL_B = "portal-b"
SECRET_EMAIL = "dr.secret.reviewer@hospital-17.example.org"
SECRET_PHRASE = "the quokka protocol for diagnostic certification"
"""What must never reach a log: portal A's contact address and a phrase of its text."""


@dataclass
class Target:
    """The system and the records the tests aim at."""

    system: System
    consultation_id: str
    proposal_a: str
    proposal_b: str
    package_id: str
    portal_a_token: str
    portal_b_token: str

    def header(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def path_values(self) -> dict[str, str]:
        """A value for every path parameter of every service: records that exist (portal A's)."""
        return {
            "consultation_id": self.consultation_id,
            "proposal_id": self.proposal_a,
            "package_id": self.package_id,
            "portal": PORTAL_A,
            "dispute_id": "01900000-0000-7000-8000-000000000d15",  # none: the empty body is refused first
            "measure_id": "01900000-0000-7000-8000-0000000000e5",  # none: reads answer 404, bodies 422
        }


def _backend() -> str:
    """PostgreSQL where it answers (required under AIREG_REQUIRE_POSTGRES=1), else SQLite."""
    if os.environ.get("AIREG_REQUIRE_POSTGRES") == "1":
        require_postgres()
    return "postgresql" if postgres_reachable() else "sqlite"


async def _seed(system: System, tokens: TokenFactory) -> Target:
    portal_a = tokens("portal", PORTAL_A)
    portal_b = tokens("portal", PORTAL_B)
    lead = tokens.header("lead", "lead-security")
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.post(
            f"{system.url('submission')}/v1/consultations", headers=system.admin, json=consultation_body()
        )
        assert opened.status_code == 201, opened.text
        consultation_id = opened.json()["consultation_id"]
        proposals = []
        for token, body in (
            (
                portal_a,
                proposal_body(
                    "Certify diagnostic AI",
                    text=f"We propose {SECRET_PHRASE}: certify before use, audit every year.",
                    submitter={
                        "name": "Hospital 17",
                        "kind": "government_body",
                        "contact_email": SECRET_EMAIL,
                    },
                ),
            ),
            (portal_b, proposal_body("Keep chatbots free", text="Self-regulation for chatbots in media.")),
        ):
            answer = await client.post(
                f"{system.url('submission')}/v1/consultations/{consultation_id}/proposals",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                json=body,
            )
            assert answer.status_code == 201, answer.text
            proposals.append(answer.json()["proposal_id"])
        package = await client.post(
            f"{system.url('analysis')}/v1/packages",
            headers=lead,
            json={"consultation_id": consultation_id, "title": "First package"},
        )
        # The consultation reaches analysis through the topic: retry until it knows it.
        for _ in range(300):
            if package.status_code != 422 or "consultation_unknown" not in package.text:
                break
            await asyncio.sleep(0.3)
            package = await client.post(
                f"{system.url('analysis')}/v1/packages",
                headers=lead,
                json={"consultation_id": consultation_id, "title": "First package"},
            )
        assert package.status_code == 201, package.text
        package_id = package.json()["package_id"]
        reader = tokens.header("dashboard", "dashboard-security")

        async def everywhere() -> bool:
            for proposal_id in proposals:
                triaged = await client.get(
                    f"{system.url('analysis')}/v1/proposals/{proposal_id}", headers=lead
                )
                timeline = await client.get(
                    f"{system.url('reporting')}/v1/proposals/{proposal_id}/timeline", headers=reader
                )
                if triaged.status_code != 200 or triaged.json().get("triage_event_id") is None:
                    return False
                if timeline.status_code != 200:
                    return False
            document = await client.get(
                f"{system.url('reporting')}/v1/packages/{package_id}/document", headers=reader
            )
            return document.status_code == 200

        await eventually(everywhere, until=bool, timeout=90)
    return Target(system, consultation_id, proposals[0], proposals[1], package_id, portal_a, portal_b)


@pytest.fixture(scope="package")
def target(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    system = build_system(
        backend=_backend(),
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("security"),
        # no timed chain checkpoints: a test compares log heads before and after what it sends
        extra_env={name: {"AIREG_CHECKPOINT_INTERVAL_SECONDS": "86400"} for name in SERVICES},
    )
    try:
        system.start()
        yield asyncio.run(_seed(system, tokens))
    finally:
        system.stop()


def feed_head(target: Target, service: str) -> int:
    """The last log position of ``service`` (its feed), to show that a refused request recorded nothing."""
    response = httpx.get(
        f"{target.system.url(service)}/health", timeout=10
    )  # /health reports the head of the log without a token
    assert response.status_code == 200
    return int(response.json()["log_position"])


def json_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers.get("content-type", "").startswith("application/json"), response.text[:200]
    body: dict[str, Any] = response.json()
    return body
