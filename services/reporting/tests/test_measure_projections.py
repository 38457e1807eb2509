"""The measure events in reporting's read models, against a real database (SQLite and PostgreSQL):
coverage counters per direction and question (measures not dropped; proposals linked to none), kept
through a recount, and the measure's events reachable as its own subject (what the trace reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue.analysis import (
    MeasureDecided,
    MeasureDecision,
    MeasureDrafted,
    MeasureRevised,
    MeasureStance,
    MeasureTerms,
    ProposalLinkedToMeasure,
)
from aireg_events.log.database import Database
from aireg_reporting import views
from aireg_reporting.domain import Received
from aireg_reporting.measures import fold_measures
from aireg_reporting.projector import project
from aireg_reporting.rebuild import MIGRATIONS
from aireg_reporting.statistics import figures
from aireg_reporting.views import statistics_of_consultations
from services.reporting.tests.chains import LEAD, Call, content
from tests.support.databases import migrated_database

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


database = migrated_database(MIGRATIONS)


def terms(title: str, directions: list[str], questions: list[str]) -> MeasureTerms:
    return MeasureTerms.model_validate(
        {
            "title": title,
            "description": f"{title}.",
            "directions": directions,
            "questions": questions,
            "instrument": "certification",
            "approach": "targeted",
            "application_areas": ["healthcare"],
            "min_cost_of_error": "high",
        }
    )


async def test_coverage_counts_measures_not_dropped_and_proposals_linked_to_none_through_a_recount(
    database: Database,
) -> None:
    call = Call()
    start = NOW - timedelta(days=40)
    consultation = call.open_consultation(
        "AI-M",
        at=start,
        closes=NOW,
        analysis_due=NOW + timedelta(days=10),
        forwarding_due=NOW + timedelta(days=20),
    )
    data = call.submit(
        consultation, content(title="Open data", directions=["data"], questions=["training_data"]), at=start
    )
    call.submit(
        consultation,
        content(title="Secure models", directions=["information_security"], questions=["permitted_areas"]),
        at=start + timedelta(hours=1),
    )
    call.submit(
        consultation, content(title="Alone", directions=["data"], questions=["training_data"]), at=start
    )
    kept, dropped = "measure-kept", "measure-dropped"
    at = start + timedelta(days=1)
    for measure_id, title, directions in ((kept, "Datasets", ["model_training"]), (dropped, "Ban", ["data"])):
        call.analysis.append(
            MeasureDrafted(
                measure_id=measure_id, consultation_id=consultation, terms=terms(title, directions, ["other"])
            ),
            at=at,
            actor=LEAD,
        )
    call.analysis.append(
        ProposalLinkedToMeasure(
            measure_id=kept, consultation_id=consultation, proposal_id=data, stance=MeasureStance.supports
        ),
        at=at + timedelta(minutes=1),
        actor=LEAD,
    )
    call.analysis.append(
        MeasureRevised(
            measure_id=kept,
            consultation_id=consultation,
            terms=terms("Datasets", ["data", "model_training"], ["training_data"]),
            rationale="wider",
        ),
        at=at + timedelta(minutes=2),
        actor=LEAD,
    )
    call.analysis.append(
        MeasureDecided(
            measure_id=dropped, consultation_id=consultation, decision=MeasureDecision.drop, rationale="no"
        ),
        at=at + timedelta(minutes=3),
        actor=LEAD,
    )
    items = [Received.parse(e.to_canonical()) for e in call.analysis.envelopes + call.submission.envelopes]
    for item in items:  # analysis first: the consultation arrives last and its counters are recounted
        async with AsyncSession(database.writer) as session, session.begin():
            await project(session, [item], received_at=NOW)

    async with AsyncSession(database.reader) as session:
        deadlines, counts, campaigns = await statistics_of_consultations(session, [consultation])
        measure_rows = await views.events_of(session, "measure", kept)
    coverage = figures(counts, deadlines, campaigns, now=NOW, consultation_id=consultation).coverage
    assert coverage.measures == 1, "the dropped measure does not count"
    cells = {d: (c.measures, c.proposals_without_measure) for d, c in coverage.by_direction.items()}
    assert cells["data"] == (1, 1) and cells["model_training"] == (1, 0)
    assert cells["information_security"] == (0, 1)
    assert (
        coverage.by_question["training_data"].measures,
        coverage.by_question["training_data"].proposals_without_measure,
    ) == (1, 1)
    assert coverage.by_question["other"].measures == 0, "the revision replaced the questions"
    folded = fold_measures(Received.parse(row.body) for row in measure_rows)[kept]
    assert folded.revision == 2 and [link.proposal_id for link in folded.evidence] == [data]
