"""The analysis state lives in its database, nowhere else: rebuilt from the own log and the inbox it is
the state it replaced, and a restarted service that is sent every submission event again applies none
twice and still groups a new form letter with the campaign found before the restart."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from aireg_analysis import rebuild
from aireg_analysis.tables import metadata
from aireg_cli.keys import KeyRing
from aireg_events.log.database import Database, open_database
from services.analysis.tests.harness import AnalysisUnderTest, SetClock, start_analysis
from services.analysis.tests.proposals import SubmissionStandIn, content
from services.analysis.tests.texts import distinct_text, form_letter_copy
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = pytest.mark.kafka


async def every_kind_of_decision(analysis: AnalysisUnderTest, rng: random.Random) -> tuple[str, str]:
    """Triage, a campaign, an amendment, a withdrawal, a release, reviews, an assessment, measures (drafted,
    evidenced, revised, adopted or dropped) and a package carrying a measure."""
    submission = analysis.submission
    consultation = await submission.open_consultation()
    copies = await submission.submit(consultation, *(content(form_letter_copy(rng)) for _ in range(5)))
    distinct = await submission.submit(consultation, *(content(distinct_text(rng)) for _ in range(5)))
    await analysis.until_triaged(consultation, 10)
    await submission.amend(consultation, distinct[0], content(distinct_text(rng)))
    await submission.withdraw(consultation, copies[4])
    await analysis.until_triaged(consultation, 9)
    release = {"reason": "its own text"}
    response = await analysis.client.post(
        f"/v1/proposals/{copies[3]}/campaign-release", json=release, headers=analysis.lead
    )
    assert response.status_code == 200
    await analysis.assessed(distinct[1])
    await analysis.assessed(distinct[2], "recommended_with_changes")
    opened = await analysis.client.post(
        "/v1/packages", json={"consultation_id": consultation, "title": "R"}, headers=analysis.lead
    )
    package_id = opened.json()["package_id"]
    for proposal_id in distinct[1:3]:
        await analysis.client.post(
            f"/v1/packages/{package_id}/items", json={"proposal_id": proposal_id}, headers=analysis.lead
        )
    terms = {
        "title": "Certify diagnostic AI",
        "description": "Certification before clinical use.",
        "directions": ["regulation_and_barriers"],
        "questions": ["quality_and_certification"],
        "instrument": "certification",
        "approach": "targeted",
        "application_areas": ["healthcare"],
        "min_cost_of_error": "high",
    }
    measures = []
    for _ in range(2):
        drafted = await analysis.client.post(
            "/v1/measures", json={"consultation_id": consultation, **terms}, headers=analysis.lead
        )
        assert drafted.status_code == 201, drafted.text
        measures.append(drafted.json()["measure_id"])
    for proposal_id, stance in ((copies[0], "supports"), (distinct[3], "opposes")):
        linked = await analysis.client.post(
            f"/v1/measures/{measures[0]}/evidence",
            json={"proposal_id": proposal_id, "stance": stance},
            headers=analysis.lead,
        )
        assert linked.status_code == 200, linked.text
    revised = await analysis.client.post(
        f"/v1/measures/{measures[0]}/revision",
        json={**terms, "application_areas": ["healthcare", "transport"]},
        headers=analysis.lead,
    )
    assert revised.status_code == 200, revised.text
    for measure_id, decision in zip(measures, ("adopt", "drop"), strict=True):
        decided = await analysis.client.post(
            f"/v1/measures/{measure_id}/decision",
            json={"decision": decision, "rationale": "weighed"},
            headers=analysis.lead,
        )
        assert decided.status_code == 200, decided.text
    added = await analysis.client.post(
        f"/v1/packages/{package_id}/measures", json={"measure_id": measures[0]}, headers=analysis.lead
    )
    assert added.status_code == 201, added.text
    assert (
        await analysis.client.post(f"/v1/packages/{package_id}/submission", headers=analysis.lead)
    ).status_code == 200
    return consultation, package_id


async def test_the_state_survives_a_rebuild_and_a_restart_with_every_event_delivered_again(
    database_url: str, kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory
) -> None:
    namespace = f"t{uuid.uuid4().hex[:12]}."
    rng = random.Random(42)
    clock = SetClock()
    submission = SubmissionStandIn(kafka_bootstrap, f"{namespace}aireg.submission.v1")
    await submission.start()
    try:
        service = start_analysis(
            database_url=database_url,
            bootstrap=kafka_bootstrap,
            keys=keys,
            tokens=tokens,
            namespace=namespace,
            clock=clock,
            submission=submission,
        )
        async with service as analysis:
            consultation, package_id = await every_kind_of_decision(analysis, rng)
            own_before = await analysis.own_events()
            (campaign,) = await analysis.campaigns(consultation)
            queue_before = await analysis.queue(consultation_id=consultation)

        database = open_database(database_url)
        try:
            digest, rows = await rebuild.state_digest(database), await state_rows(database)
            replayed = await rebuild.rebuild(database)
            assert await state_rows(database) == rows
            assert await rebuild.state_digest(database) == digest
            assert replayed == len(own_before) + submission.position
        finally:
            await database.dispose()

        restarted = start_analysis(
            database_url=database_url,
            bootstrap=kafka_bootstrap,
            keys=keys,
            tokens=tokens,
            namespace=namespace,
            clock=clock,
            submission=submission,
            consumer_group="aireg-analysis-restarted",  # reads the topic again from its start
        )
        async with restarted as analysis:
            consumer = analysis.runtime.consumer
            assert consumer is not None
            await eventually(
                lambda: _value(consumer.duplicates), until=lambda seen: seen == submission.position
            )
            assert consumer.applied == 0
            assert await analysis.queue(consultation_id=consultation) == queue_before
            assert await analysis.own_events() == own_before

            (later,) = await submission.submit(consultation, content(form_letter_copy(rng)))
            await analysis.until_triaged(consultation, 10)
            (grown,) = await analysis.campaigns(consultation)
            assert grown["campaign_id"] == campaign["campaign_id"]
            assert grown["members"] == campaign["members"] + [later]
            package = await analysis.client.get(f"/v1/packages/{package_id}", headers=analysis.lead)
            assert package.json()["status"] == "submitted"
    finally:
        await submission.stop()


async def state_rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every state table, in key order (what the digest covers, readable in a diff)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with database.reader.connect() as connection:
        for table in metadata.sorted_tables:
            result = await connection.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result.all()]
    return rows


async def _value(value: int) -> int:
    return value
