"""The projections against a real database (SQLite and PostgreSQL), without the broker: whatever order
the events of both producers arrive in, the stored read models are the fold of all of them, and the
digest of the state is the same."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.log.database import Database, open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.projections import grouping_of, project, project_all
from aireg_reporting.rebuild import MIGRATIONS, state_digest
from aireg_reporting.store import PROJECTION_TABLES, ProposalRow
from services.reporting.tests.chains import Call, content
from services.reporting.tests.scenario import tell_random_grouping, tell_the_call, tell_the_campaigns

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = open_database(database_url)
    await upgrade_to_head(db, MIGRATIONS)
    try:
        yield db
    finally:
        await db.dispose()


def events_of(*calls: Call) -> list[Received]:
    return [
        Received.parse(envelope.to_canonical())
        for call in calls
        for envelope in call.submission.envelopes + call.analysis.envelopes
    ]


async def apply_all(database: Database, items: list[Received]) -> None:
    async with AsyncSession(database.writer) as session, session.begin():
        for table in PROJECTION_TABLES:
            await session.execute(delete(table))
    for item in items:
        async with AsyncSession(database.writer) as session, session.begin():
            await project(session, item, received_at=NOW)


async def stored_proposals(database: Database) -> dict[str, dict[str, object]]:
    async with AsyncSession(database.reader) as session:
        rows = (await session.exec(select(ProposalRow))).all()
    return {row.proposal_id: row.model_dump() for row in rows}


async def test_the_stored_read_models_are_the_fold_of_every_event_whatever_order_they_arrive_in(
    database: Database,
) -> None:
    call, campaigns = tell_the_call(NOW), tell_the_campaigns(NOW)
    items = events_of(call.call, campaigns.call)
    expected: dict[str, dict[str, object]] = {}
    for consultation in (call.consultation_id, campaigns.consultation_id):
        mine = [item for item in items if domain.consultation_of(item.event) == consultation]
        expected.update({key: state.columns() for key, state in domain.fold_consultation(mine).items()})
    digests = set()
    for seed in range(3):
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        await apply_all(database, shuffled)
        assert await stored_proposals(database) == expected
        digests.add(await state_digest(database))
    assert len(digests) == 1

    grouped = await stored_proposals(database)
    ids = campaigns.ids
    assert {name: grouped[ids[name]]["campaign_id"] for name in ids} == {
        "q1": "A",
        "q2": None,
        "q3": "A",
        "q4": "A",
        "q5": "A",
        "q6": None,
        "q7": None,
        "q8": None,
    }, "B merged into A; q6 released; q2 withdrawn"
    assert {grouped[ids[name]]["campaign_representative"] for name in ("q1", "q3", "q4", "q5")} == {ids["q1"]}
    assert grouped[ids["q7"]]["exact_duplicate_of"] == ids["q8"]
    assert grouped[ids["q7"]]["status"] == "rejected_as_duplicate"


async def stored_and_replayed_grouping(
    database: Database, consultation_id: str
) -> tuple[dict[str, domain.GroupFacts], dict[str, domain.GroupFacts]]:
    """Each stored proposal's campaign, representative and original, and what a replay of every
    triage link of the consultation gives it."""
    async with AsyncSession(database.reader) as session:
        grouping = await grouping_of(session, consultation_id)
        rows = (await session.exec(select(ProposalRow))).all()
    stored = {
        row.proposal_id: domain.GroupFacts(
            row.campaign_id, row.campaign_representative, row.exact_duplicate_of
        )
        for row in rows
    }
    return stored, {proposal_id: grouping.facts(proposal_id) for proposal_id in stored}


async def test_regrouping_only_the_connected_proposals_leaves_every_proposal_as_a_full_replay_would(
    database: Database,
) -> None:
    """Random campaigns, merges, releases, exact duplicates and withdrawals, delivered in random orders:
    after every event, each stored proposal is grouped as a replay of the whole consultation groups it,
    and at the end the rows are the fold of every event."""
    for seed in range(40):
        told = tell_random_grouping(seed, NOW)
        items = events_of(told.call)
        random.Random(seed).shuffle(items)
        async with AsyncSession(database.writer) as session, session.begin():
            for table in PROJECTION_TABLES:
                await session.execute(delete(table))
        for index, item in enumerate(items):
            async with AsyncSession(database.writer) as session, session.begin():
                await project(session, item, received_at=NOW)
            stored, replayed = await stored_and_replayed_grouping(database, told.consultation_id)
            assert stored == replayed, f"seed {seed}, after event {index} ({item.envelope.event_type})"
        expected = {key: state.columns() for key, state in domain.fold_consultation(items).items()}
        assert await stored_proposals(database) == expected, f"seed {seed}"


async def test_a_triage_that_arrives_late_and_groups_nothing_still_dissolves_the_campaign_it_broke_up(
    database: Database,
) -> None:
    """s's triage puts s and p in campaign C, p's next triage groups nothing (p leaves C, which
    dissolves), x's triage then merges C into D (empty by then). p is withdrawn. If p's second triage
    arrives last, s and x must still end in no campaign, as a replay of the analysis log says."""
    call = Call()
    consultation_id = call.open_consultation(
        "LATE", at=NOW - timedelta(days=10), closes=NOW, analysis_due=NOW, forwarding_due=NOW
    )
    letter = content(title="One form letter", kind="citizen", name="A citizen")
    s, p, x = (call.submit(consultation_id, letter, at=NOW - timedelta(days=9, hours=h)) for h in (3, 2, 1))
    call.triage(s, at=NOW - timedelta(days=8), campaign="C", grouped_with=[p])
    late = call.triage(p, at=NOW - timedelta(days=8, minutes=-1))
    call.triage(x, at=NOW - timedelta(days=8, minutes=-2), campaign="D", merged_campaigns=["C"])
    call.withdraw(p, at=NOW - timedelta(days=7))
    items = [item for item in events_of(call) if item.event_id != late.event_id]
    items += [item for item in events_of(call) if item.event_id == late.event_id]
    await apply_all(database, items)
    stored = await stored_proposals(database)
    assert {key: stored[key]["campaign_id"] for key in (s, p, x)} == {s: None, p: None, x: None}
    expected = {key: state.columns() for key, state in domain.fold_consultation(items).items()}
    assert stored == expected


async def test_events_applied_together_leave_the_state_they_leave_one_by_one(database: Database) -> None:
    """The consumer's batches: random runs of events applied at once (one transaction each) give the
    rows, the grouping and the digest that the same events applied one by one give."""
    call, campaigns = tell_the_call(NOW), tell_the_campaigns(NOW)
    told = [call.call, campaigns.call, *(tell_random_grouping(seed, NOW).call for seed in range(12))]
    items = events_of(*told)
    random.Random(7).shuffle(items)
    await apply_all(database, items)
    one_by_one = (await stored_proposals(database), await state_digest(database))
    for seed in range(3):
        async with AsyncSession(database.writer) as session, session.begin():
            for table in PROJECTION_TABLES:
                await session.execute(delete(table))
        rng, start = random.Random(seed), 0
        while start < len(items):
            end = start + rng.randint(1, 60)
            async with AsyncSession(database.writer) as session, session.begin():
                await project_all(session, items[start:end], received_at=NOW)
            start = end
        assert (await stored_proposals(database), await state_digest(database)) == one_by_one, f"seed {seed}"
