"""Proposal contents for tests, and a stand-in submission producer that publishes sealed envelopes of
the submission service's events to the test namespace's topic (as the real relay would)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import (
    ConsultationOpened,
    ProposalAmended,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id
from tests.support.proposals import content as content


class SubmissionStandIn:
    """Publishes the submission service's events with a consistent log position, hash chain and stream
    versions, keyed by stream like the relay."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        self.position = 0
        self.head = GENESIS_HASH
        self.versions: dict[str, int] = {}
        self.clock = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    def seal(self, event: DomainEvent, actor: Actor) -> Envelope:
        stream = event.stream_id()
        self.versions[stream] = self.versions.get(stream, 0) + 1
        self.position += 1
        self.clock += timedelta(seconds=1)
        event_id = new_event_id()
        envelope = Envelope.seal(
            event_id=event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream,
            stream_version=self.versions[stream],
            log_position=self.position,
            occurred_at=self.clock,
            producer="submission",
            correlation_id=event_id,
            causation_id=None,
            actor=actor,
            payload=event.to_payload(),
            prev_hash=self.head,
        )
        self.head = envelope.hash
        return envelope

    async def publish(self, *events: tuple[DomainEvent, Actor]) -> list[Envelope]:
        envelopes = [self.seal(event, actor) for event, actor in events]
        batch = [
            await self.producer.send(
                self.topic,
                value=envelope.to_canonical(),
                key=envelope.stream_id.encode(),
                headers=[
                    ("event_type", envelope.event_type.encode()),
                    ("event_id", envelope.event_id.encode()),
                ],
            )
            for envelope in envelopes
        ]
        for sent in batch:
            await sent
        return envelopes

    async def open_consultation(
        self,
        *,
        analysis_due_at: datetime = datetime(2027, 2, 28, tzinfo=UTC),
        forwarding_due_at: datetime = datetime(2027, 3, 13, tzinfo=UTC),
    ) -> str:
        consultation_id = new_event_id()
        event = ConsultationOpened(
            consultation_id=consultation_id,
            code=f"AI-{consultation_id[-8:]}",
            title="Regulation of artificial intelligence",
            description="The first call",
            submission_opens_at=datetime(2027, 1, 1, tzinfo=UTC),
            submission_closes_at=datetime(2027, 1, 20, tzinfo=UTC),
            analysis_due_at=analysis_due_at,
            forwarding_due_at=forwarding_due_at,
        )
        await self.publish((event, Actor(role="admin", name="admin")))
        return consultation_id

    def submitted(
        self, consultation_id: str, body: ProposalContent, portal: str = "portal-a"
    ) -> ProposalSubmitted:
        proposal_id = new_event_id()
        self.clock += timedelta(seconds=1)
        return ProposalSubmitted(
            proposal_id=proposal_id,
            consultation_id=consultation_id,
            registration_number=f"AI-2027-{self.position + 1:06d}",
            portal=portal,
            received_at=self.clock,
            idempotency_key=proposal_id,
            request_sha256="0" * 64,
            content=body,
        )

    async def submit(
        self, consultation_id: str, *bodies: ProposalContent, portal: str = "portal-a"
    ) -> list[str]:
        events = [self.submitted(consultation_id, body, portal) for body in bodies]
        await self.publish(*((event, Actor(role="portal", name=portal)) for event in events))
        return [event.proposal_id for event in events]

    async def amend(
        self, consultation_id: str, proposal_id: str, body: ProposalContent, portal: str = "portal-a"
    ) -> None:
        event = ProposalAmended(
            proposal_id=proposal_id,
            consultation_id=consultation_id,
            portal=portal,
            changes={"text": body.text},
            content=body,
            reason="corrected",
        )
        await self.publish((event, Actor(role="portal", name=portal)))

    async def withdraw(self, consultation_id: str, proposal_id: str, portal: str = "portal-a") -> None:
        event = ProposalWithdrawn(
            proposal_id=proposal_id, consultation_id=consultation_id, portal=portal, reason="changed our mind"
        )
        await self.publish((event, Actor(role="portal", name=portal)))
