"""From proposals to a systemic set of measures, across the three services as real processes: 60 proposals
(a campaign of 20 letters among them) reach analysis over the broker; a lead drafts four measures and links
proposals as evidence (one measure supported by the campaign: one voice, twenty signatories), adopts three
and drops one, and submits a package of the three. Reporting's document leads with the measures (json, md,
the pdf's pages rendered), keeps the proposals as its annex, and its trace and coverage equal what was
sent. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_reporting.document.content import PackageDocument
from aireg_reporting.document.markdown import md
from services.analysis.tests.texts import distinct_text, form_letter_copy
from services.reporting.tests.test_document_languages import english_left, renderings
from tests.support.databases import DatabaseFactory
from tests.support.system import System, build_system, consultation_body, proposal_body
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

DIRECTIONS = [
    "regulation_and_barriers",
    "infrastructure_and_datacenters",
    "data",
    "model_training",
    "information_security",
    "adoption",
    "support_measures",
]
QUESTIONS = [
    "definition_and_liability",
    "permitted_areas",
    "quality_and_certification",
    "sovereign_and_foreign_models",
    "training_data",
]
CAMPAIGN_TITLE = "Protect patients from unsafe diagnostic AI"


def measure_body(
    consultation: str, title: str, directions: list[str], questions: list[str]
) -> dict[str, Any]:
    return {
        "consultation_id": consultation,
        "title": title,
        "description": f"{title}: requirements where the cost of an AI error is too high.",
        "directions": directions,
        "questions": questions,
        "instrument": "certification",
        "approach": "targeted",
        "application_areas": ["healthcare", "transport"],
        "min_cost_of_error": "high",
        "risks_of_adoption": [
            {"description": "Slower market entry for small developers", "severity": "medium"}
        ],
        "risks_of_rejection": [{"description": "Unsafe systems reach patients", "severity": "high"}],
    }


@pytest.fixture
def system(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path: Path, db_backend: str
) -> Iterator[System]:
    running = build_system(
        backend=db_backend,
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path,
        databases=DatabaseFactory(db_backend, tmp_path),
    )
    try:
        yield running.start()
    finally:
        running.stop()


def test_a_package_of_adopted_measures_reaches_the_document_with_voices_signatories_trace_and_coverage(
    system: System, tokens: TokenFactory, tmp_path: Path, kafka_bootstrap: str
) -> None:
    lead = tokens.header("lead", "lead-orlova")
    portal = tokens.header("portal", "portal-a")
    submission = httpx.Client(base_url=system.url("submission"), timeout=30)
    analysis = httpx.Client(base_url=system.url("analysis"), timeout=30)
    reporting = httpx.Client(base_url=system.url("reporting"), timeout=60)

    opened = submission.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert opened.status_code == 201, opened.text
    consultation = opened.json()["consultation_id"]

    rng = random.Random(18)
    bodies: list[dict[str, Any]] = []
    for n in range(40):
        text = distinct_text(rng)
        bodies.append(
            proposal_body(
                f"Proposal {n}",
                text=text,
                directions=[DIRECTIONS[n % 7]],
                questions=[QUESTIONS[n % 5]],
                positions={QUESTIONS[n % 5]: "support"},
            )
        )
    for _ in range(20):
        bodies.append(
            proposal_body(
                CAMPAIGN_TITLE,
                text=form_letter_copy(rng),
                directions=["regulation_and_barriers"],
                questions=["quality_and_certification"],
                positions={"quality_and_certification": "support"},
            )
        )
    answers: list[dict[str, Any]] = []
    for body in bodies:
        sent = submission.post(
            f"/v1/consultations/{consultation}/proposals",
            headers={**portal, "Idempotency-Key": f"key-{len(answers)}"},
            json=body,
        )
        assert sent.status_code == 201, sent.text
        answers.append(sent.json())
    ids = [answer["proposal_id"] for answer in answers]
    numbers = {answer["proposal_id"]: answer["registration_number"] for answer in answers}
    distinct, letters = ids[:40], ids[40:]

    def queue() -> list[dict[str, Any]]:
        response = analysis.get(
            "/v1/queue", params={"consultation_id": consultation, "limit": 1000}, headers=lead
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def wait(probe: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 120) -> Any:
        async def call() -> Any:
            return probe()

        return asyncio.run(eventually(call, until=until, timeout=timeout))

    wait(queue, lambda items: len(items) == 60 and all(i["complete"] is not None for i in items))
    (campaign,) = analysis.get(
        "/v1/campaigns", params={"consultation_id": consultation}, headers=lead
    ).json()["items"]
    assert campaign["size"] == 20 and set(campaign["members"]) == set(letters)
    representative = campaign["representative_id"]

    # Reviews and assessments (with risks both ways) of two proposals that become evidence.
    risks = {
        "risks_of_adoption": [{"description": "Compliance cost", "severity": "low"}],
        "risks_of_rejection": [{"description": "Harm to patients", "severity": "high"}],
    }
    assessed = [distinct[0], distinct[7]]
    for proposal_id in assessed:
        for reviewer, organization in (("ivanova", "ministry"), ("sidorov", "analytical_center")):
            assert (
                analysis.post(
                    f"/v1/proposals/{proposal_id}/assignments",
                    json={"reviewer": reviewer, "organization": organization},
                    headers=lead,
                ).status_code
                == 201
            )
            reviewed = analysis.post(
                f"/v1/proposals/{proposal_id}/reviews",
                json={
                    "organization": organization,
                    "scores": {
                        "legal_soundness": 5,
                        "feasibility": 4,
                        "risk_reduction": 5,
                        "innovation_impact": 3,
                    },
                    "recommendation": "support",
                    "rationale": "Proportionate to the cost of error.",
                },
                headers=tokens.header("reviewer", reviewer, organization=organization),
            )
            assert reviewed.status_code == 201, reviewed.text
        done = analysis.post(
            f"/v1/proposals/{proposal_id}/assessment",
            json={"outcome": "recommended", "rationale": "Both support it.", **risks},
            headers=lead,
        )
        assert done.status_code == 201, done.text

    # A withdrawn proposal is evidence for nothing.
    withdrawn = distinct[39]
    assert (
        submission.post(
            f"/v1/proposals/{withdrawn}/withdrawal", json={"reason": "changed our mind"}, headers=portal
        ).status_code
        == 200
    )
    wait(
        lambda: analysis.get(f"/v1/proposals/{withdrawn}", headers=lead).json()["status"],
        lambda status: status == "withdrawn",
    )

    # Four measures, evidenced.
    plans = [
        (
            "Certify diagnostic AI",
            ["regulation_and_barriers", "information_security"],
            ["quality_and_certification"],
        ),
        ("Open public datasets for training", ["data", "model_training"], ["training_data"]),
        ("Sovereign models in public administration", ["adoption"], ["sovereign_and_foreign_models"]),
        ("A single AI law", ["regulation_and_barriers"], ["definition_and_liability"]),
    ]
    measures = []
    for title, directions, questions in plans:
        drafted = analysis.post(
            "/v1/measures", json=measure_body(consultation, title, directions, questions), headers=lead
        )
        assert drafted.status_code == 201, drafted.text
        measures.append(drafted.json()["measure_id"])
    certify, datasets, sovereign, single_law = measures
    evidence = {
        certify: [(letters[0], "supports"), (letters[5], "supports"), (distinct[0], "opposes")],
        datasets: [(distinct[2], "supports"), (distinct[3], "supports"), (distinct[7], "informs")],
        sovereign: [(distinct[5], "supports"), (distinct[12], "opposes")],
        single_law: [(distinct[1], "supports")],
    }
    for measure_id, links in evidence.items():
        for proposal_id, stance in links:
            linked = analysis.post(
                f"/v1/measures/{measure_id}/evidence",
                json={"proposal_id": proposal_id, "stance": stance, "note": "bears on it"},
                headers=lead,
            )
            assert linked.status_code == 200, linked.text
    refused = analysis.post(
        f"/v1/measures/{certify}/evidence",
        json={"proposal_id": withdrawn, "stance": "supports"},
        headers=lead,
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "proposal_withdrawn")
    shown = analysis.get(f"/v1/measures/{certify}", headers=lead).json()
    assert shown["tallies"]["supports"] == {"voices": 1, "signatories": 20}, (
        "the campaign: one voice, 20 signatories"
    )
    assert shown["tallies"]["opposes"] == {"voices": 1, "signatories": 1}

    body = measure_body(consultation, *plans[2])
    body.pop("consultation_id")
    revised = analysis.post(
        f"/v1/measures/{sovereign}/revision",
        json={**body, "application_areas": ["public_administration"], "rationale": "narrower"},
        headers=lead,
    )
    assert revised.status_code == 200, revised.text
    before_decisions = datetime.now(UTC)
    time.sleep(0.05)
    for measure_id in (certify, datasets, sovereign):
        decided = analysis.post(
            f"/v1/measures/{measure_id}/decision",
            json={"decision": "adopt", "rationale": "weighed"},
            headers=lead,
        )
        assert decided.status_code == 200, decided.text
    dropped = analysis.post(
        f"/v1/measures/{single_law}/decision",
        json={"decision": "drop", "rationale": "targeted first"},
        headers=lead,
    )
    assert dropped.status_code == 200, dropped.text

    package_id = analysis.post(
        "/v1/packages", json={"consultation_id": consultation, "title": "Measures, March"}, headers=lead
    ).json()["package_id"]
    refused = analysis.post(
        f"/v1/packages/{package_id}/measures", json={"measure_id": single_law}, headers=lead
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "measure_not_adopted")
    for measure_id in (certify, datasets, sovereign):
        added = analysis.post(
            f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=lead
        )
        assert added.status_code == 201, added.text
    for proposal_id in assessed:
        added = analysis.post(
            f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=lead
        )
        assert added.status_code == 201, added.text
    submitted = analysis.post(f"/v1/packages/{package_id}/submission", headers=lead)
    assert submitted.status_code == 200, submitted.text
    refused = analysis.post(
        f"/v1/measures/{certify}/decision", json={"decision": "drop", "rationale": "x"}, headers=lead
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "measure_in_submitted_package")

    # The document: measures first, by direction; the proposals as the annex.
    def document(fmt: str) -> httpx.Response:
        return reporting.get(
            f"/v1/packages/{package_id}/document", params={"format": fmt, "lang": "en"}, headers=lead
        )

    content = wait(
        lambda: document("json"),
        lambda response: (
            response.status_code == 200
            and response.json()["document"]["package"]["status"] == "submitted"
            and len(response.json()["document"]["measures"]) == 3
        ),
    ).json()["document"]
    by_title = {entry["title"]: entry for entry in content["measures"]}
    assert set(by_title) == {title for title, *_ in plans[:3]}
    assert [group["direction"] for group in content["measure_groups"]] == [
        "regulation_and_barriers",
        "data",
        "adoption",
    ]
    certified = by_title["Certify diagnostic AI"]
    assert certified["tallies"]["supports"] == {"voices": 1, "signatories": 20}
    assert certified["tallies"]["opposes"] == {"voices": 1, "signatories": 1}
    assert certified["min_cost_of_error"] == "high" and certified["application_areas"] == [
        "healthcare",
        "transport",
    ]
    assert certified["risks_of_rejection"] == [
        {"description": "Unsafe systems reach patients", "severity": "high"}
    ]
    campaign_lines = [line["campaign"] for line in certified["evidence"] if line["campaign"]]
    assert campaign_lines and all(
        line
        == {
            "representative_title": CAMPAIGN_TITLE,
            "representative_registration_number": numbers[representative],
            "size": 20,
        }
        for line in campaign_lines
    )
    assert {line["registration_number"] for line in certified["evidence"]} == {
        numbers[letters[0]],
        numbers[letters[5]],
        numbers[distinct[0]],
    }
    assert by_title["Sovereign models in public administration"]["application_areas"] == [
        "public_administration"
    ]
    assert sorted(entry["registration_number"] for entry in content["recommendations"]) == sorted(
        numbers[p] for p in assessed
    ), "the proposals follow as the annex"

    markdown = document("md").text
    measures_at = markdown.index("## Measures proposed to the Government")
    annex_at = markdown.index("## Annex: the proposals")
    assert measures_at < markdown.index("Certify diagnostic AI") < annex_at
    assert "Supports: voices 1, signatories 20" in markdown
    assert (
        md(f"campaign “{CAMPAIGN_TITLE}” ({numbers[representative]}): 20 signatories, one voice") in markdown
    )
    assert campaign["campaign_id"] not in markdown[measures_at:annex_at], "a campaign appears by its title"
    assert "A single AI law" not in markdown, "a dropped measure is not in the package"
    russian = reporting.get(
        f"/v1/packages/{package_id}/document", params={"format": "md", "lang": "ru"}, headers=lead
    ).text
    assert "## Меры, предлагаемые Правительству" in russian and "Supports" not in russian

    in_russian = PackageDocument.model_validate(document("json").json())
    for fmt, text in renderings(in_russian, "ru").items():
        assert english_left(text, in_russian) == [], f"the Russian {fmt} holds no English label"
    assert len(english_left(renderings(in_russian, "en")["md"], in_russian)) > 20, "the check finds English"

    pdf = document("pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "poppler-utils is missing: run scripts/system-deps.sh"
    (tmp_path / "package.pdf").write_bytes(pdf.content)
    subprocess.run(
        [pdftoppm, "-r", "40", "-png", str(tmp_path / "package.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2 and all(page.stat().st_size > 1000 for page in pages)

    # The trace: the measure, each linked proposal with submitter kind, reviews and assessment.
    trace = reporting.get(f"/v1/measures/{datasets}/trace", headers=lead)
    assert trace.status_code == 200, trace.text
    traced = trace.json()
    assert traced["measure"]["status"] == "adopted" and traced["measure"]["package_id"] == package_id
    assert [(p["proposal_id"], p["stance"]) for p in traced["proposals"]] == evidence[datasets]
    assert all(p["submitter_kind"] == "industry_association" for p in traced["proposals"])
    (informing,) = [p for p in traced["proposals"] if p["proposal_id"] == distinct[7]]
    assert len(informing["reviews"]) == 2
    assert {k: informing["assessment"][k] for k in risks} == risks
    order = [entry["event_type"] for entry in traced["events"]]
    assert (
        order.index("MeasureDrafted") < order.index("ProposalLinkedToMeasure") < order.index("MeasureDecided")
    )
    positions = {entry["event_id"]: index for index, entry in enumerate(traced["events"])}
    for entry in traced["events"]:
        if entry["causation_id"] in positions:
            assert positions[entry["causation_id"]] < positions[entry["event_id"]]
    for proposal_id, _stance in evidence[datasets]:
        submitted_at = [
            i
            for i, e in enumerate(traced["events"])
            if e["event_type"] == "ProposalSubmitted" and e["stream_id"] == proposal_id
        ]
        linked_at = [
            i
            for i, e in enumerate(traced["events"])
            if e["event_type"] == "ProposalLinkedToMeasure" and e["payload"]["proposal_id"] == proposal_id
        ]
        assert submitted_at and linked_at and submitted_at[0] < linked_at[0]
    assert reporting.get("/v1/measures/not-a-measure/trace", headers=lead).status_code == 404

    # Coverage: per direction and question, the measures (not dropped) and the proposals linked to none.
    evidenced = {proposal_id for links in evidence.values() for proposal_id, _ in links}
    counting = [(p, b) for p, b in zip(ids, bodies, strict=True) if p != withdrawn]
    expected_directions = Counter(d for p, b in counting if p not in evidenced for d in b["directions"])
    expected_questions = Counter(q for p, b in counting if p not in evidenced for q in b["questions"])
    measure_directions = Counter(d for _t, directions, _q in plans[:3] for d in directions)
    measure_questions = Counter(q for _t, _d, questions in plans[:3] for q in questions)

    def coverage() -> dict[str, Any]:
        stats = reporting.get("/v1/stats", params={"consultation_id": consultation}, headers=lead)
        assert stats.status_code == 200, stats.text
        found: dict[str, Any] = stats.json()["coverage"]
        return found

    shown_coverage = wait(coverage, lambda found: found["measures"] == 3)
    assert {
        d: (cell["measures"], cell["proposals_without_measure"])
        for d, cell in shown_coverage["by_direction"].items()
    } == {d: (measure_directions[d], expected_directions[d]) for d in DIRECTIONS}
    assert {
        q: (cell["measures"], cell["proposals_without_measure"])
        for q, cell in shown_coverage["by_question"].items()
    } == {q: (measure_questions[q], expected_questions[q]) for q in [*QUESTIONS, "other"]}

    # The audit history serves a measure as it serves a proposal, as of any moment.
    def history(*arguments: str) -> list[dict[str, Any]]:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "aireg_cli.main",
                "audit",
                "history",
                *arguments,
                "--json",
                "--bootstrap",
                kafka_bootstrap,
                "--namespace",
                system.namespace,
            ],
            capture_output=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert completed.returncode == 0, completed.stderr.decode()[-2000:]
        entries: list[dict[str, Any]] = json.loads(completed.stdout)
        return entries

    then = [entry["event_type"] for entry in history(certify, "--as-of", before_decisions.isoformat())]
    assert then == ["MeasureDrafted", *["ProposalLinkedToMeasure"] * 3]
    now = history(certify)
    assert [entry["event_type"] for entry in now] == [
        "MeasureDrafted",
        *["ProposalLinkedToMeasure"] * 3,
        "MeasureDecided",
        "MeasureAddedToPackage",
        "MeasureForwardedToGovernment",
        "GovernmentPackageSubmitted",
    ]
    assert "supports 1 voice(s) / 20 signatories" in now[-2]["summary"]
    for client in (submission, analysis, reporting):
        client.close()
