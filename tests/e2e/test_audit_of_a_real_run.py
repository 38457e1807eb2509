"""The auditor's view of a real run: one proposal goes from a portal to the government through the three
services as real processes; then, from the logs alone, ``aireg audit receipt`` proves the submitter's
receipt, ``aireg audit history --as-of`` shows the reviews and no assessment at a moment between them,
``aireg audit verify`` finds every chain whole, one trace follows the proposal across the three services,
and ``aireg rebuild`` gives every service back the state it had (same digest)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import start_service
from tests.support.services import ServiceProcess, service_process
from tests.support.system import review_by_both_organizations
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

SERVICES = ("submission", "analysis", "reporting")


@dataclass
class Run:
    namespace: str
    folder: Path
    services: dict[str, ServiceProcess]
    proposal_id: str
    answer_file: Path
    between_review_and_assessment: datetime


def wait_for(probe: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not seen within {timeout}s: {what}")


def proposal_body() -> dict[str, Any]:
    return {
        "submitter": {
            "name": "Institute of Law and AI",
            "kind": "academia",
            "contact_email": "lab@example.org",
        },
        "title": "Liability of developers of high-risk AI systems",
        "summary": "Strict liability where the cost of an error is critical; none elsewhere.",
        "text": "We propose a federal law that defines AI systems and assigns liability by risk class.",
        "directions": ["regulation_and_barriers", "information_security"],
        "questions": ["definition_and_liability", "quality_and_certification"],
        "positions": {"definition_and_liability": "support", "quality_and_certification": "conditional"},
        "instrument": "federal_law",
        "approach": "targeted",
        "cost_of_error": "critical",
        "application_areas": ["healthcare", "transport"],
    }


@pytest.fixture(scope="module")
def run(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("audited-run")
    namespace = f"t{uuid.uuid4().hex[:12]}."
    services = {
        name: service_process(
            name,
            database_url=f"sqlite+aiosqlite:///{folder / (name + '.db')}",
            bootstrap=kafka_bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=folder,
            extra_env={
                "AIREG_OTEL_EXPORTER": "jsonl",
                "AIREG_OTEL_JSONL_FILE": str(folder / f"{name}-spans.jsonl"),
                "AIREG_CHECKPOINT_EVERY": "2",
                "AIREG_CHECKPOINT_INTERVAL_SECONDS": "3600",
            },
        )
        for name in SERVICES
    }
    try:
        for process in services.values():
            process.process = start_service(process.spec)
        for process in services.values():
            process.wait_healthy(90)
        yield drive_one_proposal(services, tokens, namespace, folder)
    finally:
        for process in services.values():
            process.stop()


def drive_one_proposal(
    services: dict[str, ServiceProcess], tokens: TokenFactory, namespace: str, folder: Path
) -> Run:
    submission, analysis = services["submission"].url, services["analysis"].url
    lead = tokens.header("lead", "lead-1")
    now = datetime.now(UTC)
    consultation = httpx.post(
        f"{submission}/v1/consultations",
        headers=tokens.header("admin"),
        json={
            "code": "ai-2027",
            "title": "Call for proposals on AI regulation",
            "submission_opens_at": (now - timedelta(minutes=1)).isoformat(),
            "submission_closes_at": (now + timedelta(days=30)).isoformat(),
            "analysis_due_at": (now + timedelta(days=60)).isoformat(),
            "forwarding_due_at": (now + timedelta(days=70)).isoformat(),
        },
    ).json()
    answer = httpx.post(
        f"{submission}/v1/consultations/{consultation['consultation_id']}/proposals",
        headers={**tokens.header("portal", "gosuslugi"), "Idempotency-Key": str(uuid.uuid4())},
        json=proposal_body(),
    )
    assert answer.status_code == 201, answer.text
    proposal_id = answer.json()["proposal_id"]
    answer_file = folder / "answer.json"
    answer_file.write_text(answer.text)

    def triaged() -> bool:
        response = httpx.get(f"{analysis}/v1/proposals/{proposal_id}", headers=lead)
        return response.status_code == 200

    wait_for(triaged, "the proposal in the analysis service")
    review_by_both_organizations(analysis, tokens, proposal_id, rationale="Sound and proportionate.")
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    assessed = httpx.post(
        f"{analysis}/v1/proposals/{proposal_id}/assessment",
        headers=lead,
        json={"outcome": "recommended", "rationale": "Both organizations support it."},
    )
    assert assessed.status_code in (200, 201), assessed.text
    package = httpx.post(
        f"{analysis}/v1/packages",
        headers=lead,
        json={"consultation_id": consultation["consultation_id"], "title": "Recommendations, first call"},
    ).json()
    added = httpx.post(
        f"{analysis}/v1/packages/{package['package_id']}/items",
        headers=lead,
        json={"proposal_id": proposal_id},
    )
    assert added.status_code in (200, 201), added.text
    forwarded = httpx.post(f"{analysis}/v1/packages/{package['package_id']}/submission", headers=lead)
    assert forwarded.status_code in (200, 201), forwarded.text

    def status() -> bool:
        seen = httpx.get(
            f"{submission}/v1/proposals/{proposal_id}", headers=tokens.header("portal", "gosuslugi")
        )
        return seen.json().get("status") == "forwarded_to_government"

    wait_for(status, "the submitter's status forwarded_to_government")
    return Run(namespace, folder, services, proposal_id, answer_file, between)


def aireg(run: Run, bootstrap: str, keys: KeyRing, *arguments: str) -> tuple[int, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "aireg_cli.main",
            *arguments,
            "--json",
            "--bootstrap",
            bootstrap,
            "--namespace",
            run.namespace,
        ],
        capture_output=True,
        timeout=120,
        cwd=run.folder,
    )
    assert completed.stdout, completed.stderr.decode()[-2000:]
    return completed.returncode, json.loads(completed.stdout)


def test_the_submitters_receipt_is_proven_from_the_log(run: Run, kafka_bootstrap: str, keys: KeyRing) -> None:
    code, check = aireg(
        run, kafka_bootstrap, keys, "audit", "receipt", str(run.answer_file), "--keys", str(keys.directory)
    )
    assert (code, check["signature_valid"], check["in_log"], check["before_deadline"]) == (
        0,
        True,
        True,
        True,
    )
    forged = json.loads(run.answer_file.read_text())
    forged["receipt"]["received_at"] = "2020-01-01T00:00:00.000000Z"
    forged_file = run.folder / "forged.json"
    forged_file.write_text(json.dumps(forged))
    code, check = aireg(
        run, kafka_bootstrap, keys, "audit", "receipt", str(forged_file), "--keys", str(keys.directory)
    )
    assert (code, check["signature_valid"]) == (1, False)


def test_history_as_of_a_moment_between_review_and_assessment_shows_the_reviews_and_no_assessment(
    run: Run, kafka_bootstrap: str, keys: KeyRing
) -> None:
    moment = run.between_review_and_assessment.isoformat()
    code, then = aireg(run, kafka_bootstrap, keys, "audit", "history", run.proposal_id, "--as-of", moment)
    types = [entry["event_type"] for entry in then]
    assert code == 0
    assert types.count("ReviewSubmitted") == 2
    assert {entry["actor"]["organization"] for entry in then if entry["event_type"] == "ReviewSubmitted"} == {
        "ministry",
        "analytical_center",
    }
    assert "ProposalAssessed" not in types and types[0] == "ProposalSubmitted"
    _, now = aireg(run, kafka_bootstrap, keys, "audit", "history", run.proposal_id)
    later = [entry["event_type"] for entry in now]
    assert {"ProposalAssessed", "ProposalForwardedToGovernment"} <= set(later)
    assert all(entry["event_id"] and entry["occurred_at"] for entry in now)


def test_verify_finds_every_chain_of_the_run_whole(run: Run, kafka_bootstrap: str, keys: KeyRing) -> None:
    code, report = aireg(
        run,
        kafka_bootstrap,
        keys,
        "audit",
        "verify",
        "--keys",
        str(keys.directory),
        "--submission-url",
        run.services["submission"].url,
        "--analysis-url",
        run.services["analysis"].url,
    )
    assert report["faults"] == [] and code == 0
    assert report["producers"]["analysis"]["events"] >= 8
    assert all(summary["checkpoints_verified"] >= 1 for summary in report["producers"].values())


def test_one_trace_follows_the_proposal_across_the_three_services(run: Run) -> None:
    def spans(service: str) -> list[dict[str, Any]]:
        path = run.folder / f"{service}-spans.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    intake = next(
        span
        for span in spans("submission")
        if span["name"].startswith("POST /v1/consultations/") and span["name"].endswith("/proposals")
    )
    trace_id = intake["trace_id"]
    for service in ("analysis", "reporting"):
        applied = wait_for(
            lambda service=service: [
                span
                for span in spans(service)
                if span["trace_id"] == trace_id
                and span["attributes"].get("aireg.stream_id") == run.proposal_id
            ],
            f"a span of {service} in trace {trace_id}",
        )
        assert {span["name"] for span in applied} >= {"apply ProposalSubmitted"}
    triage_spans = [
        span
        for span in spans("reporting")
        if span["name"] == "apply ProposalTriaged" and span["trace_id"] == trace_id
    ]
    assert triage_spans, "the triage decision analysis appended carries the trace on to reporting"


def test_rebuild_gives_every_service_the_state_it_had(run: Run, kafka_bootstrap: str, keys: KeyRing) -> None:
    import asyncio

    from aireg_events.topic_reader import read_topics
    from aireg_events.topics import Topics

    async def records_on_topics() -> int:
        topics = Topics(run.namespace)
        return sum([1 async for _ in read_topics(kafka_bootstrap, [topics.submission, topics.analysis])])

    def reporting_caught_up() -> bool:
        applied = httpx.get(f"{run.services['reporting'].url}/health").json()["events_applied"]
        return bool(applied == asyncio.run(records_on_topics()))

    wait_for(
        reporting_caught_up, "reporting applying every event on the topics (the live state to compare with)"
    )
    for process in run.services.values():
        process.stop()
    for service in SERVICES:
        url = run.services[service].spec.env["DATABASE_URL"]
        code, result = aireg(run, kafka_bootstrap, keys, "rebuild", service, "--database-url", url)
        assert result["identical"] and code == 0, result
        assert result["digest_before"] == result["digest_after"]
