"""The projections against a real database (SQLite and PostgreSQL), without the broker: whatever order
the events of both producers arrive in, the stored read models are the fold of all of them, and the
digest of the state is the same."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.campaigns import (
    Campaign,
    CampaignBook,
    GroupFacts,
    Placement,
    fold_decision,
    hold_elections_in_memory,
)
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_events.log.consumer import Delivery
from aireg_events.log.database import Database
from aireg_events.log.tables import inbox
from aireg_reporting import domain
from aireg_reporting.domain import Received
from aireg_reporting.projector import project
from aireg_reporting.rebuild import MIGRATIONS, TopicsLoad, state_digest
from aireg_reporting.statistics import Statistics, campaigns_of, figures, tally
from aireg_reporting.tables import PROJECTION_TABLES, PlacementRow, ReportedCampaignRow, ReportedProposalRow
from aireg_reporting.views import statistics_of_consultations
from services.reporting.tests.chains import Call, content
from services.reporting.tests.scenario import (
    replayed_literally,
    tell_random_grouping,
    tell_the_call,
    tell_the_campaigns,
)
from tests.support.databases import migrated_database

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


database = migrated_database(MIGRATIONS)


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
            await project(session, [item], received_at=NOW)


async def stored_proposals(database: Database) -> dict[str, dict[str, object]]:
    async with AsyncSession(database.reader) as session:
        rows = (await session.exec(select(ReportedProposalRow))).all()
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

    grouped = await stored_grouping(database)
    ids = campaigns.ids
    assert {name: grouped[ids[name]].campaign_id for name in ids} == {
        "q1": "A",
        "q2": None,
        "q3": "A",
        "q4": "A",
        "q5": "A",
        "q6": None,
        "q7": None,
        "q8": None,
    }, "B merged into A; q6 released; q2 withdrawn"
    assert {grouped[ids[name]].campaign_representative for name in ("q1", "q3", "q4", "q5")} == {ids["q1"]}
    assert grouped[ids["q7"]].exact_duplicate_of == ids["q8"]
    stored = await stored_proposals(database)
    assert stored[ids["q7"]]["status"] == "under_review", "triage only flags a duplicate"


async def stored_grouping(database: Database) -> dict[str, GroupFacts]:
    """Each placed proposal's campaign, representative and original, as the stored book says."""
    async with AsyncSession(database.reader) as session:
        placements = (await session.exec(select(PlacementRow))).all()
        campaigns = (await session.exec(select(ReportedCampaignRow))).all()
    book = CampaignBook(
        placements={row.proposal_id: Placement(**row.model_dump()) for row in placements},
        campaigns={(row.consultation_id, row.campaign_id): Campaign(**row.model_dump()) for row in campaigns},
    )
    return {row.proposal_id: book.facts(row.proposal_id) for row in placements}


def folded_in_memory(items: list[Received]) -> dict[str, GroupFacts]:
    """The campaign book of the same events held in memory (what the package document folds)."""
    book = CampaignBook()
    for item in items:
        fold_decision(book, item.event, item.envelope.log_position)
    hold_elections_in_memory(book)
    return {proposal_id: book.facts(proposal_id) for proposal_id in book.placements}


async def test_campaigns_in_the_tables_follow_the_analysis_log_whatever_order_the_events_arrive_in(
    database: Database,
) -> None:
    """Random campaigns, merges, releases, exact duplicates and withdrawals, delivered in random orders:
    after every event the tables place each proposal as the book of the events received so far does in
    memory; once all have arrived, as a literal replay of the analysis log does, and the rows are the
    fold of every event. (Before then the two may differ: a replay of a part of the log can dissolve a
    campaign whose other members' triage has not arrived, which analysis never did.)"""
    for seed in range(40):
        told = tell_random_grouping(seed, NOW)
        items = events_of(told.call)
        random.Random(seed).shuffle(items)
        async with AsyncSession(database.writer) as session, session.begin():
            for table in PROJECTION_TABLES:
                await session.execute(delete(table))
        for index, item in enumerate(items):
            async with AsyncSession(database.writer) as session, session.begin():
                await project(session, [item], received_at=NOW)
            stored = await stored_grouping(database)
            in_memory = folded_in_memory(items[: index + 1])
            assert stored == in_memory, f"seed {seed}, after event {index} ({item.envelope.event_type})"
        replayed = replayed_literally(items)
        assert {key: stored.get(key, GroupFacts()) for key in replayed} == replayed, f"seed {seed}"
        expected = {key: state.columns() for key, state in domain.fold_consultation(items).items()}
        assert await stored_proposals(database) == expected, f"seed {seed}"


async def test_a_campaign_member_counts_once_whatever_campaign_absorbed_its_own(database: Database) -> None:
    """A merge is a union: the members of the merged campaign are not rewritten, yet each belongs to
    the survivor, which counts them, and a third merge reaches them too."""
    call = Call()
    consultation_id = call.open_consultation(
        "MERGES", at=NOW - timedelta(days=10), closes=NOW, analysis_due=NOW, forwarding_due=NOW
    )
    letter = content(title="One form letter", kind="citizen", name="A citizen")
    p = [call.submit(consultation_id, letter, at=NOW - timedelta(days=9, minutes=-m)) for m in range(6)]
    call.triage(p[1], at=NOW - timedelta(days=8), campaign="X", grouped_with=[p[0]])
    call.triage(p[3], at=NOW - timedelta(days=8, minutes=-1), campaign="Y", grouped_with=[p[2]])
    call.triage(p[4], at=NOW - timedelta(days=8, minutes=-2), campaign="X", merged_campaigns=["Y"])
    call.triage(
        p[5], at=NOW - timedelta(days=8, minutes=-3), campaign="Z", grouped_with=[], merged_campaigns=["X"]
    )
    call.withdraw(p[0], at=NOW - timedelta(days=7))
    items = events_of(call)
    for seed in range(4):
        shuffled = list(items)
        random.Random(seed).shuffle(shuffled)
        await apply_all(database, shuffled)
        grouped = await stored_grouping(database)
        assert {grouped[key].campaign_id for key in p[1:]} == {"Z"}
        assert grouped[p[0]].campaign_id is None, "withdrawn"
        assert {grouped[key].campaign_representative for key in p[1:]} == {p[1]}, "the first received left"
        async with AsyncSession(database.reader) as session:
            survivors = (
                await session.exec(
                    select(ReportedCampaignRow).where(
                        ReportedCampaignRow.parent == ReportedCampaignRow.campaign_id
                    )
                )
            ).all()
        assert {(row.campaign_id, row.members) for row in survivors if row.members} == {("Z", 5)}


async def test_events_applied_one_by_one_in_batches_and_by_the_rebuild_leave_the_same_state(
    database: Database,
) -> None:
    """The consumer's batches and the rebuild's loader: random runs of events applied at once (one
    transaction each), and the whole stream read as the rebuild reads the topics, give the rows and the
    digest that the same events applied one by one give."""
    call, campaigns = tell_the_call(NOW), tell_the_campaigns(NOW)
    told = [call.call, campaigns.call, *(tell_random_grouping(seed, NOW).call for seed in range(12))]
    items = events_of(*told)
    random.Random(7).shuffle(items)
    await apply_all(database, items)
    one_by_one = (await stored_proposals(database), await state_digest(database))

    async def drop() -> None:
        async with AsyncSession(database.writer) as session, session.begin():
            for table in PROJECTION_TABLES:
                await session.execute(delete(table))
            await session.execute(delete(inbox))

    for seed in range(3):
        await drop()
        rng, start = random.Random(seed), 0
        while start < len(items):
            end = start + rng.randint(1, 60)
            async with AsyncSession(database.writer) as session, session.begin():
                await project(session, items[start:end], received_at=NOW)
            start = end
        assert (await stored_proposals(database), await state_digest(database)) == one_by_one, f"seed {seed}"

    await drop()
    read = list(items)
    random.Random(11).shuffle(read)  # the topics' partitions, read one after the other
    async with AsyncSession(database.writer) as session, session.begin():
        load = TopicsLoad(session)
        load.BATCH = 50
        for offset, item in enumerate(read):
            topic = "analysis" if item.envelope.producer == "analysis" else "submission"
            await load.add(topic, 0, offset, Delivery(item.envelope, item.event, topic, 0, offset))
        await load.fold()
    assert (await stored_proposals(database), await state_digest(database)) == one_by_one, "rebuild"


async def stored_statistics(database: Database, consultation_id: str) -> Statistics:
    """``/v1/stats`` of a consultation as the service reads it: the counter rows and the campaigns."""
    async with AsyncSession(database.reader) as session:
        deadlines, counts, campaigns = await statistics_of_consultations(session, [consultation_id])
    return figures(counts, deadlines, campaigns, now=NOW, consultation_id=consultation_id)


async def test_the_counters_are_a_recount_of_the_proposals_whatever_order_and_batches_brought_them(
    database: Database,
) -> None:
    """The statistics read from the counters kept per event equal those counted from the fold of every
    event (the package document's way), after random orders and batches of random streams."""
    call, campaigns = tell_the_call(NOW), tell_the_campaigns(NOW)
    told = [call, campaigns, *(tell_random_grouping(seed, NOW) for seed in range(12))]
    items = events_of(*(one.call for one in told))
    for seed in range(3):
        rng = random.Random(seed)
        shuffled = list(items)
        rng.shuffle(shuffled)
        async with AsyncSession(database.writer) as session, session.begin():
            for table in PROJECTION_TABLES:
                await session.execute(delete(table))
        start = 0
        while start < len(shuffled):
            end = start + rng.randint(1, 40)
            async with AsyncSession(database.writer) as session, session.begin():
                await project(session, shuffled[start:end], received_at=NOW)
            start = end
        for one in told:
            mine = [item for item in items if domain.consultation_of(item.event) == one.consultation_id]
            states = domain.fold_consultation(mine)
            opened = next(item.event for item in mine if isinstance(item.event, ConsultationOpened))
            deadlines = {one.consultation_id: opened}
            expected = tally(
                [ReportedProposalRow(**state.columns()) for state in states.values()],
                [review for state in states.values() for review in state.reviews.values()],
                deadlines,
                now=NOW,
                consultation_id=one.consultation_id,
                campaigns=campaigns_of(states.values()),
            )
            stored = await stored_statistics(database, one.consultation_id)
            assert stored.model_dump(exclude={"campaigns"}) == expected.model_dump(exclude={"campaigns"})
            assert sorted(stored.campaigns, key=repr) == sorted(expected.campaigns, key=repr), f"seed {seed}"
