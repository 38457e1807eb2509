"""The status a submitter sees follows the analysis topic: its records fed to the service's consumer (the
one the runtime subscribes, with its inbox) directly, with no broker, move the status and never back."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import ConsumerRecord
from sqlalchemy import func, select

from aireg_events.bus import MessageBus
from aireg_events.catalogue.analysis import (
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import DomainEvent, Organization, Outcome
from aireg_events.envelope import Envelope
from aireg_events.log.consumer import EventConsumer
from aireg_events.log.database import Database
from aireg_events.log.tables import inbox
from aireg_submission.consumers import apply_analysis_event, handles
from aireg_submission.personal_data import DataSubjects
from aireg_submission.store import ProposalRow
from services.submission.tests.harness import METHOD, AnalysisChain
from services.submission.tests.test_handlers import ADMIN, consultation, portal, submitted, withdrawal


class _NoDeadLetters:
    async def send(self, record: ConsumerRecord, *, reason: str, error: str) -> None:
        raise AssertionError(f"dead-lettered: {reason}: {error}")


class Topic:
    """The analysis topic as the consumer reads it: sealed records, in order."""

    def __init__(self, bus: MessageBus[DataSubjects]) -> None:
        self.chain = AnalysisChain()
        self.offset = 0
        self.consumer = EventConsumer(
            group_id="submission-test",
            appender=bus.appender,
            apply=apply_analysis_event,
            dead_letters=_NoDeadLetters(),
            handles=handles,
        )

    async def deliver(self, *envelopes: Envelope) -> None:
        records = []
        for envelope in envelopes:
            value = envelope.to_canonical()
            records.append(
                ConsumerRecord("analysis", 0, self.offset, 0, 0, None, value, None, 0, len(value), ())
            )
            self.offset += 1
        await self.consumer.handle(records)

    async def publish(self, *events: DomainEvent) -> list[Envelope]:
        envelopes = [self.chain.seal(event) for event in events]
        await self.deliver(*envelopes)
        return envelopes


async def status_of(database: Database, proposal_id: str) -> str:
    async with database.read_session() as session:
        row = await session.get(ProposalRow, proposal_id)
    assert row is not None
    return row.status


async def inbox_count(database: Database, event_id: str) -> int:
    async with database.read_session() as session:
        query = select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        return int((await session.execute(query)).scalar_one())


async def test_the_status_a_submitter_sees_follows_the_analysis_topic_and_never_goes_back(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    consultation_id = str((await bus.handle(consultation(), ADMIN)).consultation_id)
    assessed, duplicate, withdrawn = [await submitted(bus, consultation_id, key=f"key-{n}") for n in range(3)]
    topic = Topic(bus)
    common: dict[str, Any] = {"consultation_id": consultation_id}

    [triaged] = await topic.publish(
        ProposalTriaged(proposal_id=assessed, proposal_version=1, complete=True, method=METHOD, **common)
    )
    assert await status_of(database, assessed) == "under_review"
    await topic.deliver(triaged)  # a redelivery: applied once, changes nothing
    assert (topic.consumer.applied, topic.consumer.duplicates) == (1, 1)
    assert await inbox_count(database, triaged.event_id) == 1

    await topic.publish(
        ProposalAssessed(
            proposal_id=assessed, outcome=Outcome.recommended, rationale="sound", review_ids=["r1"], **common
        )
    )
    assert await status_of(database, assessed) == "assessed"
    await topic.publish(ProposalForwardedToGovernment(proposal_id=assessed, package_id="pkg-1", **common))
    assert await status_of(database, assessed) == "forwarded_to_government"

    await topic.publish(  # one batch of two: the second sees the first
        ProposalTriaged(
            proposal_id=duplicate,
            proposal_version=1,
            complete=True,
            exact_duplicate_of=assessed,
            method=METHOD,
            **common,
        ),
        ProposalAssessed(
            proposal_id=duplicate,
            outcome=Outcome.merged,
            merged_into=assessed,
            rationale="the same text",
            review_ids=["r2"],
            **common,
        ),
    )
    assert await status_of(database, duplicate) == "rejected_as_duplicate"

    await bus.handle(withdrawal(withdrawn), portal())
    late_news = await topic.publish(
        ReviewerAssigned(
            proposal_id=assessed, reviewer="rev-1", organization=Organization.ministry, **common
        ),
        ReviewSubmitted(
            proposal_id=assessed,
            review_id="r9",
            reviewer="rev-1",
            organization=Organization.ministry,
            proposal_version=1,
            scores={"legal_soundness": 4, "feasibility": 4, "risk_reduction": 5, "innovation_impact": 3},
            recommendation="support",
            rationale="fine",
            **common,
        ),
        ProposalTriaged(proposal_id=withdrawn, proposal_version=1, complete=True, method=METHOD, **common),
    )
    assert [await inbox_count(database, envelope.event_id) for envelope in late_news] == [1, 0, 1], (
        "reviews move no status: they skip the inbox"
    )
    assert await status_of(database, assessed) == "forwarded_to_government", (
        "a late assignment moves nothing back"
    )
    assert await status_of(database, withdrawn) == "withdrawn", "a withdrawn proposal stays withdrawn"
    assert await status_of(database, duplicate) == "rejected_as_duplicate"


async def test_an_analysis_event_about_a_proposal_of_another_log_changes_nothing(
    bus: MessageBus[DataSubjects], database: Database
) -> None:
    topic = Topic(bus)
    unknown = "01a20000-0000-7000-8000-000000000000"
    [envelope] = await topic.publish(
        ProposalTriaged(
            proposal_id=unknown, consultation_id=unknown, proposal_version=1, complete=True, method=METHOD
        )
    )
    assert await inbox_count(database, envelope.event_id) == 1, "recorded as applied: it is not redelivered"
    async with database.read_session() as session:
        assert (await session.execute(select(func.count()).select_from(ProposalRow))).scalar_one() == 0
