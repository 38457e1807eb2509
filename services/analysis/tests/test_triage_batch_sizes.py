"""The one triage decides and records the same whatever the batches it is given: the same randomized
sequence (near-duplicates drifting apart, exact copies received out of order, campaigns that form and
merge, within one batch and across batches, amendments, withdrawals, a proposal submitted twice, a
redelivery) is consumed in batches of 1, 7 and 500, on SQLite and PostgreSQL, without the broker. The
logs, inboxes and states must be identical, and each state must be what a rebuild from its log and
inbox gives."""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from aireg_analysis import triage
from aireg_analysis.app import MIGRATIONS
from aireg_analysis.consumers import SubmissionConsumer
from aireg_analysis.rebuild import rebuild, state_digest
from aireg_analysis.similarity import SimilarityMethod
from aireg_analysis.triage import TriagePolicy
from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import (
    ConsultationOpened,
    ProposalAmended,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope
from aireg_events.log import appender as appender_module
from aireg_events.log.appender import LogAppender
from aireg_events.log.consumer import EventConsumer
from aireg_events.log.database import open_database
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.tables import event_log, inbox
from services.analysis.tests.proposals import content
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.asyncio(loop_scope="module")

METHOD = SimilarityMethod.configure(threshold=0.38, long_threshold=0.66, num_perm=128, shingle_size=7)
POLICY = TriagePolicy(METHOD, similar_limit=10, max_candidates=1000)
MOMENT = datetime(2027, 1, 25, 12, 0, tzinfo=UTC)
TOPIC = "aireg.submission.v1"
VOCABULARY = [f"w{number}" for number in range(400)]


def _ids(prefix: int) -> Iterator[str]:
    for number in itertools.count(1):
        yield f"00000000-0000-7000-{prefix:04x}-{number:012x}"


class _NoDeadLetters:
    async def send(self, record: ConsumerRecord, *, reason: str, error: str) -> None:
        raise AssertionError(f"dead-lettered: {reason}: {error}")


def _sequence(seed: int) -> list[DomainEvent]:
    """Submissions in several families of texts, each a random walk (four to seven words changed per
    step, so members a few steps apart stop resembling each other), plus exact copies, distinct texts, a
    text without words, then amendments, withdrawals and a second submission of an id, in a random
    order."""
    rng = random.Random(seed)
    proposal_ids = _ids(0xA000 + seed)
    consultations = [f"00000000-0000-7000-c000-{seed:06x}{number:06x}" for number in range(2)]
    start = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    texts: list[str] = []
    for _family in range(6):
        walk = [rng.choice(VOCABULARY) for _ in range(60)]
        for _step in range(rng.randint(8, 16)):
            texts.append(" ".join(walk))
            for _change in range(rng.randint(4, 7)):
                walk[rng.randrange(len(walk))] = rng.choice(VOCABULARY)
    texts += [" ".join(rng.choice(VOCABULARY) for _ in range(40)) for _ in range(15)]
    texts += [rng.choice(texts).upper() + " !" for _ in range(12)]  # the same words: exact copies
    texts += ["?!  —  ..."]
    submissions: list[ProposalSubmitted] = []
    for text in texts:
        proposal_id = next(proposal_ids)
        submissions.append(
            ProposalSubmitted(
                proposal_id=proposal_id,
                consultation_id=rng.choice(consultations) if rng.random() < 0.2 else consultations[0],
                registration_number="AI-2027-000001",
                portal="portal-a",
                received_at=start + timedelta(minutes=rng.randrange(5000)),  # not the order delivered
                idempotency_key=proposal_id,
                request_sha256="0" * 64,
                content=content(text=text, summary="   " if rng.random() < 0.1 else "A summary."),
            )
        )
    rng.shuffle(submissions)
    events: list[DomainEvent] = [
        ConsultationOpened(
            consultation_id=consultation_id,
            code=f"AI-{number}",
            title="Regulation of AI",
            description="The first call for proposals.",
            submission_opens_at=start - timedelta(days=30),
            submission_closes_at=start + timedelta(days=10),
            analysis_due_at=start + timedelta(days=40),
            forwarding_due_at=start + timedelta(days=60),
        )
        for number, consultation_id in enumerate(consultations)
    ]
    events += submissions
    for _ in range(6):  # amendments and withdrawals of proposals delivered before them
        at = rng.randrange(len(consultations) + 10, len(events))
        earlier = rng.choice([event for event in events[:at] if isinstance(event, ProposalSubmitted)])
        if rng.random() < 0.5:
            changed = ProposalAmended(
                proposal_id=earlier.proposal_id,
                consultation_id=earlier.consultation_id,
                portal="portal-a",
                changes={"text": "amended"},
                content=content(text=rng.choice(texts)),
                reason="A better text.",
            )
            events.insert(at, changed)
        else:
            events.insert(
                at,
                ProposalWithdrawn(
                    proposal_id=earlier.proposal_id,
                    consultation_id=earlier.consultation_id,
                    portal="portal-a",
                    reason="Sent by mistake.",
                ),
            )
    twice = rng.choice(submissions)
    events.insert(rng.randrange(events.index(twice) + 1, len(events) + 1), twice)  # an id submitted twice
    return events


def _records(events: list[DomainEvent], seed: int) -> list[ConsumerRecord]:
    rng = random.Random(seed)
    event_ids = _ids(0xE000 + seed)
    head = GENESIS_HASH
    versions: dict[str, int] = {}
    records = []
    for position, event in enumerate(events, start=1):
        stream_id = event.stream_id()
        versions[stream_id] = versions.get(stream_id, 0) + 1
        event_id = next(event_ids)
        envelope = Envelope.seal(
            event_id=event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=versions[stream_id],
            log_position=position,
            occurred_at=MOMENT,
            producer="submission",
            correlation_id=event_id,
            causation_id=None,
            actor=Actor.system("portal"),
            payload=event.to_payload(),
            prev_hash=head,
        )
        head = envelope.hash
        value = envelope.to_canonical()
        records.append(
            ConsumerRecord(TOPIC, 0, position - 1, 0, 0, stream_id.encode(), value, None, 0, len(value), ())
        )
    redelivered = rng.randrange(len(records))
    records.insert(rng.randrange(redelivered, len(records) + 1), records[redelivered])
    return records


BATCH_SIZES = (1, 7, 500)
"""One delivery at a time, a few, and the whole sequence in one batch."""


def _batches(records: list[ConsumerRecord], size: int) -> list[list[ConsumerRecord]]:
    return [records[at : at + size] for at in range(0, len(records), size)]


@pytest.fixture
def database_urls(module_databases: DatabaseFactory, request: pytest.FixtureRequest) -> list[str]:
    """A fresh database per batch size (created here: PostgreSQL's are created outside the test's
    event loop)."""
    name = request.node.callspec.id.replace("-", "_")
    return [module_databases.create(f"batches_of_{size}_{name}") for size in BATCH_SIZES]


async def _consume(
    database_url: str,
    batches: list[list[ConsumerRecord]],
    *,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """Consume ``batches`` into a fresh database; what it recorded: log, inbox, state digest, the
    digest again after a rebuild."""
    event_ids, campaign_ids = _ids(0xF001), _ids(0xF002)  # ids as the unit of work asks for them
    monkeypatch.setattr(appender_module, "new_event_id", lambda: next(event_ids))
    monkeypatch.setattr(triage, "new_event_id", lambda: next(campaign_ids))
    database = open_database(database_url)
    try:
        await upgrade_to_head(database, MIGRATIONS)
        log = LogAppender(database, "analysis", clock=lambda: MOMENT)
        await log.start()
        submission = SubmissionConsumer(POLICY)
        consumer = EventConsumer(
            group_id="test",
            appender=log,
            apply=None,
            apply_batch=submission.apply_batch,
            dead_letters=_NoDeadLetters(),
        )
        for batch in batches:
            await consumer.handle(batch)
        await log.stop()
        async with database.reader.connect() as connection:
            bodies = (
                await connection.execute(select(event_log.c.body).order_by(event_log.c.log_position))
            ).all()
            inputs = (
                await connection.execute(select(inbox.c.event_id, inbox.c.own_log_head).order_by(inbox.c.seq))
            ).all()
        live = await state_digest(database)
        await rebuild(database)
        return {
            "log": [body for (body,) in bodies],
            "inbox": [tuple(row) for row in inputs],
            "state": live,
            "rebuilt": await state_digest(database),
            "applied": consumer.applied,
            "duplicates": consumer.duplicates,
        }
    finally:
        await database.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 6])
async def test_triage_decides_and_records_the_same_in_batches_of_1_7_and_500_and_on_rebuild(
    database_urls: list[str],
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aireg_events.log.consumer")
    records = _records(_sequence(seed), seed)

    runs = [
        await _consume(url, _batches(records, size), monkeypatch=monkeypatch)
        for url, size in zip(database_urls, BATCH_SIZES, strict=True)
    ]

    assert not [record for record in caplog.records if "failed as one" in record.getMessage()]
    payloads = [Envelope.from_json(body).payload for body in runs[0]["log"]]
    # The sequence exercises what triage must get right, or the comparison proves little.
    assert any(payload["merged_campaigns"] for payload in payloads)
    assert any(payload["grouped_with"] for payload in payloads)
    assert any(payload["exact_duplicate_of"] for payload in payloads)
    assert any(payload["exact_duplicates"] for payload in payloads)
    assert sum(1 for payload in payloads if payload["campaign_id"]) > 10
    assert any(payload["proposal_version"] > 1 for payload in payloads)  # an amendment triaged again
    one, *others = runs
    for other in others:
        assert other["log"] == one["log"]
        assert other["inbox"] == one["inbox"]
        assert (other["applied"], other["duplicates"]) == (one["applied"], one["duplicates"])
        assert other["state"] == one["state"]
    for run in runs:
        assert run["rebuilt"] == run["state"]
