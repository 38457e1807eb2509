"""The projections on their own, on SQLite and PostgreSQL, without the broker: the triage of a proposal is
written with plain SQL, and a command of the same unit of work that loaded the proposal before still sees
it as it now stands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis.app import MIGRATIONS
from aireg_analysis.domain import WorkflowStatus
from aireg_analysis.projector import project_now
from aireg_analysis.similarity import SimilarityMethod
from aireg_analysis.tables import PROPOSALS, ProposalRow
from aireg_analysis.views import queue_page
from aireg_events.catalogue.analysis import ProposalTriaged, ReviewerAssigned
from aireg_events.catalogue.common import DomainEvent, Organization
from aireg_events.catalogue.submission import (
    AttributionDisputeResolved,
    DisputeOutcome,
    ProposalAmended,
    ProposalSubmitted,
)
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id
from aireg_events.log.database import Database, open_database
from aireg_events.log.migrations import upgrade_to_head
from services.analysis.tests.proposals import content

pytestmark = pytest.mark.asyncio(loop_scope="module")

METHOD = SimilarityMethod.configure(threshold=0.6, num_perm=128, shingle_size=3)
MOMENT = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def database(module_database_url: str) -> AsyncIterator[Database]:
    opened = open_database(module_database_url)
    await upgrade_to_head(opened, MIGRATIONS)
    try:
        yield opened
    finally:
        await opened.dispose()


def sealed(event: DomainEvent, producer: str) -> Envelope:
    event_id = new_event_id()
    return Envelope.seal(
        event_id=event_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        stream_id=event.stream_id(),
        stream_version=1,
        log_position=1,
        occurred_at=MOMENT,
        producer=producer,
        correlation_id=event_id,
        causation_id=None,
        actor=Actor.system("test"),
        payload=event.to_payload(),
        prev_hash=GENESIS_HASH,
    )


def submitted(title: str) -> ProposalSubmitted:
    proposal_id = new_event_id()
    return ProposalSubmitted(
        proposal_id=proposal_id,
        consultation_id=new_event_id(),
        registration_number="AI-2027-000001",
        portal="portal-a",
        received_at=MOMENT,
        idempotency_key=proposal_id,
        request_sha256="0" * 64,
        content=content(title=title),
    )


def triaged(proposal: ProposalSubmitted) -> ProposalTriaged:
    return ProposalTriaged(
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        proposal_version=1,
        complete=False,
        missing=["summary"],
        method=METHOD.describe(),
    )


async def test_a_command_that_loaded_a_proposal_before_its_triage_sees_the_triage_in_the_same_unit_of_work(
    database: Database,
) -> None:
    proposal = submitted("Loaded before its triage")
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        await project_now(session, sealed(proposal, "submission"), proposal)
        loaded = await session.get(ProposalRow, proposal.proposal_id)
        assert loaded is not None and loaded.status == "received"

        await project_now(session, sealed(triaged(proposal), "analysis"), triaged(proposal))

        again = await session.get(ProposalRow, proposal.proposal_id)
        assert again is loaded
        assert (loaded.status, loaded.triaged_version, loaded.complete, loaded.missing) == (
            "triaged",
            1,
            False,
            ["summary"],
        )
        assignment = ReviewerAssigned(
            proposal_id=proposal.proposal_id,
            consultation_id=proposal.consultation_id,
            reviewer="reviewer-a",
            organization=Organization.ministry,
        )
        await project_now(session, sealed(assignment, "analysis"), assignment)
        await session.flush()
        stored = (
            await session.execute(
                select(PROPOSALS.c.status, PROPOSALS.c.triaged_version, PROPOSALS.c.missing).where(
                    PROPOSALS.c.proposal_id == proposal.proposal_id
                )
            )
        ).one()
    assert tuple(stored) == ("under_review", 1, ["summary"])


async def test_a_proposal_submitted_twice_keeps_what_the_first_submission_said(database: Database) -> None:
    first = submitted("The first submission")
    second = first.model_copy(update={"content": content(title="A second submission, same id")})
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        await project_now(session, sealed(first, "submission"), first)
        await project_now(session, sealed(second, "submission"), second)
        titles = (
            await session.execute(
                select(PROPOSALS.c.title).where(PROPOSALS.c.proposal_id == first.proposal_id)
            )
        ).all()
    assert [title for (title,) in titles] == ["The first submission"]


async def test_an_upheld_attribution_dispute_takes_the_proposal_out_of_the_queue_a_rejected_one_does_not(
    database: Database,
) -> None:
    upheld, rejected = submitted("Filed in someone's name"), submitted("Filed with consent")
    consultation_id = upheld.consultation_id
    rejected = rejected.model_copy(update={"consultation_id": consultation_id})
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        for proposal, outcome in ((upheld, DisputeOutcome.upheld), (rejected, DisputeOutcome.rejected)):
            await project_now(session, sealed(proposal, "submission"), proposal)
            await project_now(session, sealed(triaged(proposal), "analysis"), triaged(proposal))
            resolution = AttributionDisputeResolved(
                dispute_id=new_event_id(),
                proposal_id=proposal.proposal_id,
                consultation_id=consultation_id,
                outcome=outcome,
                rationale="r",
            )
            await project_now(session, sealed(resolution, "submission"), resolution)
        await session.flush()
        queue = await queue_page(session, now=MOMENT, limit=100, cursor=None, consultation_id=consultation_id)
        assert [item.proposal_id for item in queue] == [rejected.proposal_id]
        asked = await queue_page(
            session,
            now=MOMENT,
            limit=100,
            cursor=None,
            consultation_id=consultation_id,
            status=WorkflowStatus.misattributed,
        )
        assert [item.proposal_id for item in asked] == [upheld.proposal_id]
        assert [item.submitter_kind for item in asked] == ["industry_association"]


async def test_a_misattributed_proposal_amended_and_triaged_again_stays_out_of_the_queue(
    database: Database,
) -> None:
    proposal = submitted("Filed in someone's name, then amended")
    consultation_id = proposal.consultation_id
    async with AsyncSession(database.writer, expire_on_commit=False) as session, session.begin():
        await project_now(session, sealed(proposal, "submission"), proposal)
        await project_now(session, sealed(triaged(proposal), "analysis"), triaged(proposal))
        resolution = AttributionDisputeResolved(
            dispute_id=new_event_id(),
            proposal_id=proposal.proposal_id,
            consultation_id=consultation_id,
            outcome=DisputeOutcome.upheld,
            rationale="r",
        )
        await project_now(session, sealed(resolution, "submission"), resolution)
        amended = ProposalAmended(
            proposal_id=proposal.proposal_id,
            consultation_id=consultation_id,
            portal="portal-a",
            changes={"text": "amended"},
            content=content(title="Amended after the dispute"),
            reason="A better text.",
        )
        await project_now(session, sealed(amended, "submission"), amended)
        again = triaged(proposal).model_copy(update={"proposal_version": 2})
        await project_now(session, sealed(again, "analysis"), again)
        await session.flush()
        queue = await queue_page(session, now=MOMENT, limit=100, cursor=None, consultation_id=consultation_id)
        status = (
            await session.execute(
                select(PROPOSALS.c.status).where(PROPOSALS.c.proposal_id == proposal.proposal_id)
            )
        ).scalar_one()
    assert queue == []
    assert status == "misattributed"


async def test_a_submission_projected_first_in_a_fresh_session_is_recorded_when_it_commits(
    database: Database,
) -> None:
    proposal = submitted("The first event after the rebuild's commit")
    session = AsyncSession(database.writer, expire_on_commit=False)
    try:
        await project_now(session, sealed(proposal, "submission"), proposal)
        await session.commit()
    finally:
        await session.close()
    async with database.reader.connect() as connection:
        titles = (
            await connection.execute(
                select(PROPOSALS.c.title).where(PROPOSALS.c.proposal_id == proposal.proposal_id)
            )
        ).all()
    assert [title for (title,) in titles] == ["The first event after the rebuild's commit"]
