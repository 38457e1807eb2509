"""Measures over HTTP, on SQLite and PostgreSQL: a lead drafts, evidences, revises and decides measures; a
package forwards the adopted ones; tallies count voices and signatories apart; each rule's refusal with
its machine code, and nothing recorded when refused."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from aireg_events.catalogue.submission import AttributionDisputeResolved, DisputeOutcome
from aireg_events.envelope import Actor, new_event_id
from services.analysis.tests.harness import AnalysisUnderTest
from services.analysis.tests.proposals import content
from services.analysis.tests.texts import distinct_text, form_letter_copy
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio(loop_scope="module")]

TERMS: dict[str, Any] = {
    "title": "Certify AI in healthcare diagnostics",
    "description": "Mandatory certification of diagnostic AI before clinical use.",
    "directions": ["regulation_and_barriers"],
    "questions": ["quality_and_certification"],
    "instrument": "certification",
    "approach": "targeted",
    "application_areas": ["healthcare"],
    "min_cost_of_error": "high",
    "risks_of_adoption": [{"description": "Slower market entry", "severity": "medium"}],
    "risks_of_rejection": [{"description": "Misdiagnoses at scale", "severity": "high"}],
}


@pytest.fixture(autouse=True)
def _clock_reset(analysis: AnalysisUnderTest) -> None:
    analysis.clock.reset()


async def refused(analysis: AnalysisUnderTest, request: Any, status: int, error: str) -> dict[str, Any]:
    before = await analysis.own_events()
    response: httpx.Response = await request
    assert (response.status_code, response.json().get("error")) == (status, error), response.text
    assert await analysis.own_events() == before, "a refusal records nothing"
    body: dict[str, Any] = response.json()
    return body


async def draft(analysis: AnalysisUnderTest, consultation: str, **changes: Any) -> dict[str, Any]:
    response = await analysis.client.post(
        "/v1/measures", json={"consultation_id": consultation, **TERMS, **changes}, headers=analysis.lead
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def link(analysis: AnalysisUnderTest, measure_id: str, proposal_id: str, stance: str) -> httpx.Response:
    return await analysis.client.post(
        f"/v1/measures/{measure_id}/evidence",
        json={"proposal_id": proposal_id, "stance": stance, "note": "why it bears on the measure"},
        headers=analysis.lead,
    )


async def decide(analysis: AnalysisUnderTest, measure_id: str, decision: str) -> httpx.Response:
    return await analysis.client.post(
        f"/v1/measures/{measure_id}/decision",
        json={"decision": decision, "rationale": "weighed the risks both ways"},
        headers=analysis.lead,
    )


async def test_a_campaign_is_one_voice_with_its_signatories_and_an_adopted_measure_is_forwarded_with_its_package(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(18)
    consultation = await analysis.submission.open_consultation()
    letters = [content(form_letter_copy(rng), title="Protect patients from AI") for _ in range(5)]
    singles = [content(distinct_text(rng)) for _ in range(3)]
    ids = await analysis.submission.submit(consultation, *letters, *singles)
    await analysis.until_triaged(consultation, 8)
    (campaign,) = await analysis.campaigns(consultation)
    assert campaign["size"] == 5
    letter_ids, (alone, against, context) = ids[:5], ids[5:]

    measure = await draft(analysis, consultation)
    measure_id = measure["measure_id"]
    assert measure["status"] == "drafted" and measure["terms"]["min_cost_of_error"] == "high"
    for proposal_id, stance in (
        (letter_ids[0], "supports"),
        (letter_ids[3], "supports"),
        (alone, "supports"),
        (against, "opposes"),
        (context, "informs"),
    ):
        linked = await link(analysis, measure_id, proposal_id, stance)
        assert linked.status_code == 200, linked.text
    tallies = linked.json()["tallies"]
    assert tallies["supports"] == {"voices": 2, "signatories": 6}, "the campaign once, with its five members"
    assert tallies["opposes"] == {"voices": 1, "signatories": 1}
    assert tallies["informs"] == {"voices": 1, "signatories": 1}

    await analysis.submission.withdraw(consultation, alone)
    await analysis.submission.withdraw(consultation, letter_ids[4])

    async def shown_measure() -> dict[str, Any]:
        body: dict[str, Any] = (
            await analysis.client.get(f"/v1/measures/{measure_id}", headers=analysis.lead)
        ).json()
        return body

    shown = await eventually(
        shown_measure, until=lambda body: body["tallies"]["supports"] == {"voices": 1, "signatories": 4}
    )
    assert [e["counts"] for e in shown["evidence"] if e["proposal_id"] == alone] == [False]

    revised = await analysis.client.post(
        f"/v1/measures/{measure_id}/revision",
        json={**TERMS, "application_areas": ["healthcare", "transport"], "rationale": "transport too"},
        headers=analysis.lead,
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["revision"] == 2 and revised.json()["terms"]["application_areas"] == [
        "healthcare",
        "transport",
    ]
    adopted = await decide(analysis, measure_id, "adopt")
    assert adopted.status_code == 200 and adopted.json()["status"] == "adopted"
    await refused(
        analysis,
        analysis.client.post(
            f"/v1/measures/{measure_id}/revision", json={**TERMS, "rationale": "x"}, headers=analysis.lead
        ),
        409,
        "measure_already_decided",
    )

    package_id = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "Measures"}, headers=analysis.lead
        )
    ).json()["package_id"]
    added = await analysis.client.post(
        f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=analysis.lead
    )
    assert added.status_code == 201, added.text
    assert added.json()["measure_ids"] == [measure_id]
    await refused(analysis, decide(analysis, measure_id, "drop"), 409, "measure_in_package")
    submitted = await analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["counts"]["measures"] == 1

    (forwarded,) = [
        e for e in await analysis.own_events("MeasureForwardedToGovernment") if e["stream_id"] == measure_id
    ]
    assert forwarded["payload"]["package_id"] == package_id
    assert forwarded["payload"]["tallies"]["supports"] == {"voices": 1, "signatories": 4}
    assert {e["proposal_id"] for e in forwarded["payload"]["evidence"]} == {
        letter_ids[0],
        letter_ids[3],
        against,
        context,
    }, "withdrawn evidence is not forwarded"
    (sent,) = [
        e for e in await analysis.own_events("GovernmentPackageSubmitted") if e["stream_id"] == package_id
    ]
    assert sent["payload"]["measure_ids"] == [measure_id]
    history = [e["event_type"] for e in await analysis.own_events() if e["stream_id"] == measure_id]
    assert history == [
        "MeasureDrafted",
        *["ProposalLinkedToMeasure"] * 5,
        "MeasureRevised",
        "MeasureDecided",
        "MeasureForwardedToGovernment",
    ]
    assert all(
        e["actor"]["name"] == "lead-orlova"
        for e in await analysis.own_events()
        if e["stream_id"] == measure_id
    )
    await refused(analysis, decide(analysis, measure_id, "drop"), 409, "measure_in_submitted_package")
    await refused(
        analysis, link(analysis, measure_id, against, "informs"), 409, "measure_in_submitted_package"
    )


async def test_every_measure_rule_is_refused_with_its_code_and_nothing_recorded(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(7)
    consultation = await analysis.submission.open_consultation()
    other = await analysis.submission.open_consultation()
    first, second, withdrawn, misattributed = await analysis.submission.submit(
        consultation, *(content(distinct_text(rng)) for _ in range(4))
    )
    (elsewhere,) = await analysis.submission.submit(other, content(distinct_text(rng)))
    await analysis.until_triaged(consultation, 4)
    await analysis.submission.withdraw(consultation, withdrawn)
    await analysis.submission.publish(
        (
            AttributionDisputeResolved(
                dispute_id=new_event_id(),
                proposal_id=misattributed,
                consultation_id=consultation,
                outcome=DisputeOutcome.upheld,
                rationale="filed without consent",
            ),
            Actor(role="admin", name="admin"),
        )
    )

    async def statuses() -> dict[str, str]:
        return {p: (await analysis.proposal(p))["status"] for p in (withdrawn, misattributed)}

    await eventually(
        statuses, until=lambda found: found == {withdrawn: "withdrawn", misattributed: "misattributed"}
    )
    await refused(
        analysis,
        analysis.client.post(
            "/v1/measures", json={"consultation_id": new_event_id(), **TERMS}, headers=analysis.lead
        ),
        422,
        "consultation_unknown",
    )
    reviewer = analysis.reviewer("ivanova")
    await refused(
        analysis,
        analysis.client.post(
            "/v1/measures", json={"consultation_id": consultation, **TERMS}, headers=reviewer
        ),
        403,
        "forbidden_role",
    )
    measure_id = (await draft(analysis, consultation))["measure_id"]
    dropped_id = (await draft(analysis, consultation, title="Ban AI in hiring"))["measure_id"]
    await refused(
        analysis, link(analysis, measure_id, elsewhere, "supports"), 422, "proposal_in_other_consultation"
    )
    await refused(analysis, link(analysis, measure_id, withdrawn, "supports"), 409, "proposal_withdrawn")
    await refused(
        analysis, link(analysis, measure_id, misattributed, "supports"), 409, "proposal_misattributed"
    )
    await refused(analysis, link(analysis, measure_id, new_event_id(), "supports"), 422, "proposal_unknown")
    await refused(analysis, link(analysis, new_event_id(), first, "supports"), 404, "measure_not_found")
    assert (await link(analysis, measure_id, first, "supports")).status_code == 200
    await refused(analysis, link(analysis, measure_id, first, "opposes"), 409, "evidence_already_linked")
    assert (await link(analysis, measure_id, second, "opposes")).status_code == 200

    package_id = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": consultation, "title": "Measures"}, headers=analysis.lead
        )
    ).json()["package_id"]
    add = analysis.client.post
    await refused(
        analysis,
        add(f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=analysis.lead),
        409,
        "measure_not_adopted",
    )
    assert (await decide(analysis, dropped_id, "drop")).json()["status"] == "dropped"
    await refused(analysis, decide(analysis, dropped_id, "drop"), 409, "measure_already_decided")
    await refused(
        analysis,
        add(f"/v1/packages/{package_id}/measures", json={"measure_id": dropped_id}, headers=analysis.lead),
        409,
        "measure_not_adopted",
    )
    await refused(
        analysis,
        add(
            f"/v1/packages/{package_id}/measures", json={"measure_id": new_event_id()}, headers=analysis.lead
        ),
        422,
        "measure_unknown",
    )
    elsewhere_package = (
        await analysis.client.post(
            "/v1/packages", json={"consultation_id": other, "title": "Other"}, headers=analysis.lead
        )
    ).json()["package_id"]
    assert (await decide(analysis, measure_id, "adopt")).status_code == 200
    await refused(
        analysis,
        add(
            f"/v1/packages/{elsewhere_package}/measures",
            json={"measure_id": measure_id},
            headers=analysis.lead,
        ),
        422,
        "measure_in_other_consultation",
    )
    assert (
        await add(
            f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=analysis.lead
        )
    ).status_code == 201
    await refused(
        analysis,
        add(f"/v1/packages/{package_id}/measures", json={"measure_id": measure_id}, headers=analysis.lead),
        409,
        "measure_already_in_package",
    )
    bad = await analysis.client.post(
        "/v1/measures",
        json={"consultation_id": consultation, **TERMS, "approach": "sweeping"},
        headers=analysis.lead,
    )
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    listed = (
        await analysis.client.get(
            "/v1/measures",
            params={"consultation_id": consultation, "status": "adopted"},
            headers=analysis.lead,
        )
    ).json()
    assert [m["measure_id"] for m in listed["items"]] == [measure_id]


async def test_an_assessment_records_the_risks_of_adopting_and_of_rejecting(
    analysis: AnalysisUnderTest,
) -> None:
    rng = random.Random(11)
    consultation = await analysis.submission.open_consultation()
    (proposal_id,) = await analysis.submission.submit(consultation, content(distinct_text(rng)))
    await analysis.until_triaged(consultation, 1)
    await analysis.reviewed_by_both(proposal_id)
    risks = {
        "risks_of_adoption": [{"description": "Compliance cost for small firms", "severity": "medium"}],
        "risks_of_rejection": [{"description": "Unsafe systems in hospitals", "severity": "high"}],
    }
    assessed = await analysis.assess(proposal_id, "recommended", **risks)
    assert assessed.status_code == 201, assessed.text
    assert {key: assessed.json()[key] for key in risks} == risks
    (event,) = [e for e in await analysis.own_events("ProposalAssessed") if e["stream_id"] == proposal_id]
    assert {key: event["payload"][key] for key in risks} == risks
