"""A realistic demo call for a newcomer's first look, seeded through the started services' own HTTP API:
a few hundred proposals across the seven directions (one mass campaign among them), reviews and
assessments, measures drafted, evidenced and decided, and a submitted package, so the dashboard, the
queue and the document show a real call at once."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from aireg_cli import wording

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
KINDS = ["business", "industry_association", "academia", "expert_community", "non_profit", "government_body"]
AREAS = ["healthcare", "finance", "transport", "public_administration", "education", "industry", "media"]
INSTRUMENTS = ["federal_law", "government_decree", "technical_standard", "certification", "self_regulation"]
COSTS = ["low", "medium", "high", "critical"]
TOPICS = [
    "certification of diagnostic systems",
    "liability of developers for autonomous decisions",
    "access to anonymised public datasets",
    "compute capacity for domestic model training",
    "security testing of large models",
    "pilot regimes for AI in public services",
    "tax incentives for AI adoption in industry",
    "labelling of generated content",
    "audits of credit scoring models",
    "safety cases for autonomous transport",
]
WORDS = [
    "regulation",
    "model",
    "risk",
    "data",
    "training",
    "audit",
    "certification",
    "liability",
    "transparency",
    "safety",
    "market",
    "developer",
    "operator",
    "citizen",
    "public",
    "sector",
    "industry",
    "standard",
    "register",
    "license",
    "sandbox",
    "incident",
    "report",
    "oversight",
    "evaluation",
    "benchmark",
    "dataset",
    "consent",
    "privacy",
    "security",
    "infrastructure",
    "compute",
    "energy",
    "export",
    "import",
    "sovereign",
    "domestic",
    "foreign",
    "procurement",
    "education",
    "workforce",
    "research",
    "grant",
]
CAMPAIGN_LETTER = (
    "We, residents and patients, ask the Ministry to require certification of every artificial "
    "intelligence system used for diagnosis or treatment before it reaches a clinic. The cost of an error "
    "in medicine is a human life. Developers must prove the safety of their models on domestic clinical "
    "data, report incidents within a day, and answer for harm their systems cause. Hospitals must keep a "
    "doctor responsible for every decision a system proposes, and patients must be told when a system "
    "took part in their care. We ask that these rules apply from the first day and that the register of "
    "certified systems be public."
)


@dataclass
class DemoCall:
    proposals: int
    campaign_size: int
    measures: int
    package_id: str


def _text(rng: random.Random, topic: str) -> str:
    sentences = [
        f"We propose {topic}.",
        *(" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(8)),
    ]
    return " ".join(sentences)


def _letter(rng: random.Random) -> str:
    words = CAMPAIGN_LETTER.split()
    index = rng.randrange(len(words))
    words[index] = words[index] + ","
    return " ".join(words)


def _proposal(rng: random.Random, n: int) -> dict[str, Any]:
    topic = TOPICS[n % len(TOPICS)]
    question = QUESTIONS[n % len(QUESTIONS)]
    return {
        "submitter": {
            "name": f"Organisation {n + 1}",
            "kind": KINDS[n % len(KINDS)],
            "registration_number": f"77{n:08d}",
            "contact_email": f"office{n}@example.org",
        },
        "title": f"{topic[:1].upper()}{topic[1:]} ({n + 1})",
        "summary": f"A proposal on {topic}.",
        "text": _text(rng, topic),
        "directions": [DIRECTIONS[n % len(DIRECTIONS)]],
        "questions": [question],
        "positions": {question: rng.choice(["support", "oppose", "conditional"])},
        "instrument": rng.choice(INSTRUMENTS),
        "approach": rng.choice(["comprehensive", "targeted", "mixed"]),
        "cost_of_error": rng.choice(COSTS),
        "application_areas": [rng.choice(AREAS)],
    }


def _campaign_letter(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "submitter": {
            "name": f"Citizen {n + 1}",
            "kind": "citizen",
            "contact_email": f"citizen{n}@example.org",
        },
        "title": "Certify medical AI before it reaches patients",
        "summary": "Certification of diagnostic AI.",
        "text": _letter(rng),
        "directions": ["regulation_and_barriers"],
        "questions": ["quality_and_certification"],
        "positions": {"quality_and_certification": "support"},
        "instrument": "certification",
        "approach": "targeted",
        "cost_of_error": "critical",
        "application_areas": ["healthcare"],
    }


def seed_demo_call(
    urls: dict[str, str],
    tokens: dict[str, str],
    consultation_id: str,
    *,
    proposals: int = 240,
    campaign_size: int = 30,
    say: Callable[[str], None] = lambda _text: None,
    seed: int = 2027,
) -> DemoCall:
    """Submit, review, assess, draft measures and submit a package through the HTTP API."""
    rng = random.Random(seed)

    def bearer(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    lead = bearer("lead")
    with (
        httpx.Client(base_url=urls["submission"], timeout=30) as submission,
        httpx.Client(base_url=urls["analysis"], timeout=30) as analysis,
    ):
        bodies = [_proposal(rng, n) for n in range(proposals)]
        bodies += [_campaign_letter(rng, n) for n in range(campaign_size)]
        rng.shuffle(bodies)
        ids: list[str] = []
        for body in bodies:
            sent = submission.post(
                f"/v1/consultations/{consultation_id}/proposals",
                json=body,
                headers={**bearer("demo-portal"), "Idempotency-Key": str(uuid.uuid4())},
            )
            sent.raise_for_status()
            ids.append(sent.json()["proposal_id"])
        say(wording.say("demo_call_submitted", count=len(ids)))
        deadline = time.monotonic() + 120
        while True:
            queue = analysis.get(
                "/v1/queue", params={"consultation_id": consultation_id, "limit": 1000}, headers=lead
            ).json()["items"]
            if len(queue) >= len(ids) and all(item["complete"] is not None for item in queue):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("triage of the demo call did not finish in 120 s")
            time.sleep(0.5)
        by_id = {item["proposal_id"]: item for item in queue}
        campaign = [pid for pid in ids if by_id[pid]["campaign"]]
        singles = [pid for pid in ids if not by_id[pid]["campaign"]]
        assessed: list[str] = []
        for proposal_id in singles[:24]:
            for reviewer, organization in (
                ("ministry-reviewer", "ministry"),
                ("centre-reviewer", "analytical_center"),
            ):
                analysis.post(
                    f"/v1/proposals/{proposal_id}/assignments",
                    json={"reviewer": reviewer, "organization": organization},
                    headers=lead,
                ).raise_for_status()
                analysis.post(
                    f"/v1/proposals/{proposal_id}/reviews",
                    json={
                        "organization": organization,
                        "scores": {
                            k: rng.randint(2, 5)
                            for k in ("legal_soundness", "feasibility", "risk_reduction", "innovation_impact")
                        },
                        "recommendation": rng.choice(["support", "support_with_changes"]),
                        "rationale": "Proportionate to the cost of an AI error in its area.",
                    },
                    headers=bearer(reviewer),
                ).raise_for_status()
            if len(assessed) < 16:
                analysis.post(
                    f"/v1/proposals/{proposal_id}/assessment",
                    json={
                        "outcome": "recommended",
                        "rationale": "Both organizations support it.",
                        "risks_of_adoption": [
                            {"description": "Compliance cost for small firms", "severity": "medium"}
                        ],
                        "risks_of_rejection": [
                            {"description": "Unchecked harm where errors are costly", "severity": "high"}
                        ],
                    },
                    headers=lead,
                ).raise_for_status()
                assessed.append(proposal_id)
        say(wording.say("demo_call_assessed", count=len(assessed)))
        plans = [
            (
                "Certification of medical AI before clinical use",
                ["regulation_and_barriers"],
                ["quality_and_certification"],
                ["healthcare"],
                "certification",
                "critical",
            ),
            (
                "Open anonymised public datasets for training",
                ["data", "model_training"],
                ["training_data"],
                [],
                "government_decree",
                "medium",
            ),
            (
                "Security testing of large models",
                ["information_security"],
                ["permitted_areas"],
                ["public_administration", "finance"],
                "technical_standard",
                "high",
            ),
            (
                "Pilot regimes for AI in public services",
                ["adoption"],
                ["permitted_areas"],
                ["public_administration"],
                "experimental_legal_regime",
                "medium",
            ),
            (
                "A single comprehensive AI law",
                ["regulation_and_barriers"],
                ["definition_and_liability"],
                [],
                "federal_law",
                "low",
            ),
        ]
        measures: list[str] = []
        for title, directions, questions, areas, instrument, cost in plans:
            drafted = analysis.post(
                "/v1/measures",
                json={
                    "consultation_id": consultation_id,
                    "title": title,
                    "description": f"{title}, where the cost of an AI error is too high; freedom elsewhere.",
                    "directions": directions,
                    "questions": questions,
                    "instrument": instrument,
                    "approach": "comprehensive" if instrument == "federal_law" else "targeted",
                    "application_areas": areas,
                    "min_cost_of_error": cost,
                    "risks_of_adoption": [{"description": "Slower adoption", "severity": "medium"}],
                    "risks_of_rejection": [{"description": "Costly errors go unchecked", "severity": "high"}],
                },
                headers=lead,
            )
            drafted.raise_for_status()
            measure_id = drafted.json()["measure_id"]
            measures.append(measure_id)
            related = [pid for pid in singles if by_id[pid]["directions"][:1] == directions[:1]][:4]
            if title.startswith("Certification") and campaign:
                related = campaign[:2] + related
            for index, proposal_id in enumerate(related):
                analysis.post(
                    f"/v1/measures/{measure_id}/evidence",
                    json={"proposal_id": proposal_id, "stance": "opposes" if index == 3 else "supports"},
                    headers=lead,
                ).raise_for_status()
        for measure_id in measures[:4]:
            analysis.post(
                f"/v1/measures/{measure_id}/decision",
                json={"decision": "adopt", "rationale": "Support outweighs the risks of adopting it."},
                headers=lead,
            ).raise_for_status()
        analysis.post(
            f"/v1/measures/{measures[4]}/decision",
            json={"decision": "drop", "rationale": "Targeted rules first, where errors cost most."},
            headers=lead,
        ).raise_for_status()
        package = analysis.post(
            "/v1/packages",
            json={"consultation_id": consultation_id, "title": "Systemic measures on AI regulation"},
            headers=lead,
        )
        package.raise_for_status()
        package_id = package.json()["package_id"]
        for measure_id in measures[:4]:
            analysis.post(
                f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=lead
            ).raise_for_status()
        for proposal_id in assessed:
            analysis.post(
                f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=lead
            ).raise_for_status()
        analysis.post(f"/v1/packages/{package_id}/submission", headers=lead).raise_for_status()
        say(wording.say("demo_call_package", measures=len(plans), adopted=4, package=package_id))
    return DemoCall(
        proposals=len(ids), campaign_size=len(campaign), measures=len(measures), package_id=package_id
    )
