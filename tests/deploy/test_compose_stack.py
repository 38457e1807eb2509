"""The compose stack for real, where a Docker engine answers: images built from deploy/, Apache Kafka and
PostgreSQL 16 up, one proposal submitted through the submission service's port, seen by analysis and
reporting through Kafka, and the audit of the topics passes. Elsewhere it skips and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aireg_cli.stack import free_port
from tests.deploy.deployment import COMPOSE_FILE, ROOT


def docker_compose_unavailable() -> str | None:
    """Why the stack cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "no docker client"
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
            return "no Docker engine answers (`docker info` fails)"
        if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode != 0:
            return "the docker client has no compose plugin (`docker compose version` fails)"
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"docker does not answer: {error}"
    return None


UNAVAILABLE = docker_compose_unavailable()

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or ""),
    pytest.mark.timeout(1800),
]


@dataclass
class ComposeStack:
    project: str
    environment: dict[str, str]

    def compose(self, *arguments: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "compose", "--project-name", self.project, "--file", str(COMPOSE_FILE), *arguments],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.environment[f'AIREG_{service.upper()}_HOST_PORT']}"

    def aireg(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """The command line in the stack's network, with the stack's key ring."""
        return self.compose("run", "--rm", "--no-deps", "aireg", *arguments, timeout=300)

    def token(self, role: str, name: str) -> str:
        result = self.aireg("tokens", "issue", "--role", role, "--name", name, "--json")
        assert result.returncode == 0, result.stderr
        token: str = json.loads(result.stdout.strip().splitlines()[-1])["token"]
        return token


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    environment = {
        **os.environ,
        "AIREG_SUBMISSION_HOST_PORT": str(free_port()),
        "AIREG_ANALYSIS_HOST_PORT": str(free_port()),
        "AIREG_REPORTING_HOST_PORT": str(free_port()),
        "AIREG_POSTGRES_HOST_PORT": str(free_port()),
        "AIREG_KAFKA_HOST_PORT": str(free_port()),
    }
    stack = ComposeStack(f"aireg-test-{uuid.uuid4().hex[:8]}", environment)
    try:
        up = stack.compose("up", "--build", "--detach", "--wait", "--wait-timeout", "900", timeout=1500)
        if up.returncode != 0:
            logs = stack.compose("logs", "--no-color", "--tail", "80").stdout
            pytest.fail(f"docker compose up failed:\n{up.stderr[-4000:]}\n{logs[-8000:]}")
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", timeout=300)


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout:.0f}s")
        time.sleep(1)


def health(client: httpx.Client, stack: ComposeStack, service: str) -> dict[str, Any]:
    response = client.get(f"{stack.url(service)}/health")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_one_proposal_goes_from_portal_through_apache_kafka_to_analysis_and_reporting(stack):
    admin, portal = stack.token("admin", "deploy-test"), stack.token("portal", "portal-deploy")
    now = datetime.now(UTC)
    with httpx.Client(timeout=30) as client:
        consultation = client.post(
            f"{stack.url('submission')}/v1/consultations",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "code": f"deploy-{uuid.uuid4().hex[:8]}",
                "title": "Compose stack check",
                "description": "Opened by tests/deploy.",
                "submission_opens_at": (now - timedelta(minutes=5)).isoformat(),
                "submission_closes_at": (now + timedelta(days=30)).isoformat(),
                "analysis_due_at": (now + timedelta(days=60)).isoformat(),
                "forwarding_due_at": (now + timedelta(days=70)).isoformat(),
            },
        )
        assert consultation.status_code == 201, consultation.text
        proposal = client.post(
            f"{stack.url('submission')}/v1/consultations/{consultation.json()['consultation_id']}/proposals",
            headers={"Authorization": f"Bearer {portal}", "Idempotency-Key": uuid.uuid4().hex},
            json={
                "submitter": {
                    "name": "Association of Medical Informatics",
                    "kind": "industry_association",
                    "contact_email": "office@medinf.example.org",
                },
                "title": "Certify diagnostic AI before use",
                "summary": "Mandatory certification where an error costs lives; freedom elsewhere.",
                "text": "The cost of an error in diagnostics is critical, so certification comes first.",
                "directions": ["regulation_and_barriers"],
                "questions": ["quality_and_certification"],
                "instrument": "certification",
                "approach": "targeted",
                "cost_of_error": "critical",
                "application_areas": ["healthcare"],
            },
        )
        assert proposal.status_code == 201, proposal.text
        assert proposal.json()["status"] == "submitted"

        def published_and_consumed() -> bool:
            submission = health(client, stack, "submission")
            return (
                submission["relay_position"] >= submission["log_position"] >= 2
                and health(client, stack, "analysis")["events_applied"] >= 1
                and health(client, stack, "reporting")["events_applied"] >= 1
            )

        wait_until(published_and_consumed, timeout=120)

    audit = stack.aireg(
        "audit",
        "verify",
        "--submission-url",
        "http://submission:8001",
        "--analysis-url",
        "http://analysis:8002",
        "--json",
    )
    assert audit.returncode == 0, f"{audit.stdout[-4000:]}\n{audit.stderr[-4000:]}"
    assert json.loads(audit.stdout)["producers"]["submission"]["events"] >= 2
