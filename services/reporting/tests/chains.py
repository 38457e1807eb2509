"""Event chains as the producers write them, for the reporting tests: sealed envelopes with gap-free log
positions and stream versions and a ``prev_hash`` chain per producer, published the way the relays
publish them (key = stream id, value = canonical envelope, the same headers), and a small call of
proposals built with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer

from aireg_events.catalogue.analysis import (
    CriteriaScores,
    GovernmentPackageOpened,
    GovernmentPackageSubmitted,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
    TriageMethod,
)
from aireg_events.catalogue.common import DomainEvent, Organization, Outcome, Recommendation
from aireg_events.catalogue.submission import (
    ConsultationOpened,
    ProposalAmended,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id
from aireg_events.kafka_admin import ensure_topics
from aireg_events.topics import Topics
from tests.support.sealed import sealed_submitter

METHOD = TriageMethod(name="minhash", version="1", parameters={"threshold": 0.8})
ADMIN = Actor(role="admin", name="ministry-admin")
LEAD = Actor(role="lead", name="lead-ivanova")
TRIAGE = Actor.system("triage")


@dataclass
class ProducerLog:
    """One producer's log: each appended event gets the next position, stream version and link."""

    producer: str
    envelopes: list[Envelope] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)

    def append(
        self,
        event: DomainEvent,
        *,
        at: datetime,
        actor: Actor,
        causation: Envelope | None = None,
    ) -> Envelope:
        stream_id = event.stream_id()
        version = self.versions.get(stream_id, 0) + 1
        self.versions[stream_id] = version
        event_id = new_event_id()
        envelope = Envelope.seal(
            event_id=event_id,
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=version,
            log_position=len(self.envelopes) + 1,
            occurred_at=at,
            producer=self.producer,
            correlation_id=causation.correlation_id if causation is not None else event_id,
            causation_id=causation.event_id if causation is not None else None,
            actor=actor,
            payload=event.to_payload(),
            prev_hash=self.envelopes[-1].hash if self.envelopes else GENESIS_HASH,
        )
        self.envelopes.append(envelope)
        return envelope


async def publish(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                topic,
                value=envelope.to_canonical(),
                key=envelope.stream_id.encode(),
                headers=[
                    ("event_type", envelope.event_type.encode()),
                    ("schema_version", str(envelope.schema_version).encode()),
                    ("event_id", envelope.event_id.encode()),
                    ("log_position", str(envelope.log_position).encode()),
                ],
            )
    finally:
        await producer.stop()


def content(
    *,
    title: str,
    kind: str = "business",
    name: str = "Northwind Analytics",
    directions: list[str] | None = None,
    questions: list[str] | None = None,
    positions: dict[str, str] | None = None,
    instrument: str = "federal_law",
    approach: str = "targeted",
    cost_of_error: str = "high",
    areas: list[str] | None = None,
) -> ProposalContent:
    return ProposalContent.model_validate(
        {
            "submitter": sealed_submitter(
                {"name": name, "kind": kind, "contact_email": "office@example.org"}
            ),
            "title": title,
            "summary": f"{title}: what it changes and why.",
            "text": f"{title}. The full argument of the proposal.",
            "directions": directions or ["regulation_and_barriers"],
            "questions": questions or ["definition_and_liability"],
            "positions": positions or {},
            "instrument": instrument,
            "approach": approach,
            "cost_of_error": cost_of_error,
            "application_areas": areas or ["other"],
        }
    )


@dataclass
class Call:
    """A call for proposals told as events of both producers (the submission and analysis logs)."""

    submission: ProducerLog = field(default_factory=lambda: ProducerLog("submission"))
    analysis: ProducerLog = field(default_factory=lambda: ProducerLog("analysis"))
    submitted: dict[str, Envelope] = field(default_factory=dict)
    contents: dict[str, ProposalContent] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)

    def open_consultation(
        self,
        code: str,
        *,
        at: datetime,
        closes: datetime,
        analysis_due: datetime,
        forwarding_due: datetime,
        time_zone: str = "UTC",
        language: str = "en",
    ) -> str:
        consultation_id = str(uuid.uuid4())
        self.submission.append(
            ConsultationOpened(
                consultation_id=consultation_id,
                code=code,
                title=f"Call {code} on AI regulation",
                description="Proposals on the regulation of artificial intelligence.",
                submission_opens_at=at,
                submission_closes_at=closes,
                analysis_due_at=analysis_due,
                forwarding_due_at=forwarding_due,
                late_submissions="accept_and_label",
                time_zone=time_zone,
                language=language,
            ),
            at=at,
            actor=ADMIN,
        )
        return consultation_id

    def submit(
        self,
        consultation_id: str,
        proposal: ProposalContent,
        *,
        at: datetime,
        late: bool = False,
        portal: str = "portal-a",
    ) -> str:
        proposal_id = str(uuid.uuid4())
        number = f"AI-{at.year}-{len(self.numbers) + 1:05d}"
        self.submitted[proposal_id] = self.submission.append(
            ProposalSubmitted(
                proposal_id=proposal_id,
                consultation_id=consultation_id,
                registration_number=number,
                portal=portal,
                received_at=at,
                late=late,
                idempotency_key=str(uuid.uuid4()),
                request_sha256="0" * 64,
                content=proposal,
            ),
            at=at,
            actor=Actor(role="portal", name=portal),
        )
        self.contents[proposal_id] = proposal
        self.numbers[proposal_id] = number
        return proposal_id

    def amend(
        self, proposal_id: str, proposal: ProposalContent, *, at: datetime, changes: dict[str, Any]
    ) -> Envelope:
        self.contents[proposal_id] = proposal
        return self.submission.append(
            ProposalAmended(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                portal="portal-a",
                changes=changes,
                content=proposal,
                reason="clarified",
            ),
            at=at,
            actor=Actor(role="portal", name="portal-a"),
        )

    def withdraw(self, proposal_id: str, *, at: datetime) -> Envelope:
        return self.submission.append(
            ProposalWithdrawn(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                portal="portal-a",
                reason="no longer relevant",
            ),
            at=at,
            actor=Actor(role="portal", name="portal-a"),
        )

    def triage(
        self,
        proposal_id: str,
        *,
        at: datetime,
        duplicate_of: str | None = None,
        campaign: str | None = None,
        representative: str | None = None,
        grouped_with: list[str] | None = None,
        merged_campaigns: list[str] | None = None,
        exact_duplicates: list[str] | None = None,
    ) -> Envelope:
        return self.analysis.append(
            ProposalTriaged(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                proposal_version=1,
                complete=True,
                exact_duplicate_of=duplicate_of,
                campaign_id=campaign,
                campaign_representative=representative,
                method=METHOD,
                grouped_with=grouped_with or [],
                merged_campaigns=merged_campaigns or [],
                exact_duplicates=exact_duplicates or [],
            ),
            at=at,
            actor=TRIAGE,
            causation=self.submitted[proposal_id],
        )

    def assign(
        self, proposal_id: str, reviewer: str, organization: Organization, *, at: datetime
    ) -> Envelope:
        return self.analysis.append(
            ReviewerAssigned(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                reviewer=reviewer,
                organization=organization,
            ),
            at=at,
            actor=LEAD,
        )

    def review(
        self,
        proposal_id: str,
        reviewer: str,
        organization: Organization,
        recommendation: Recommendation,
        *,
        at: datetime,
        scores: tuple[int, int, int, int] = (4, 4, 3, 3),
    ) -> Envelope:
        return self.analysis.append(
            ReviewSubmitted(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                review_id=str(uuid.uuid4()),
                reviewer=reviewer,
                organization=organization,
                proposal_version=1,
                scores=CriteriaScores(
                    legal_soundness=scores[0],
                    feasibility=scores[1],
                    risk_reduction=scores[2],
                    innovation_impact=scores[3],
                ),
                recommendation=recommendation,
                rationale=f"{reviewer} finds it {recommendation.value.replace('_', ' ')}.",
            ),
            at=at,
            actor=Actor(role="reviewer", name=reviewer, organization=organization.value),
        )

    def assess(
        self,
        proposal_id: str,
        outcome: Outcome,
        *,
        at: datetime,
        late: bool = False,
        merged_into: str | None = None,
        review_ids: list[str] | None = None,
    ) -> Envelope:
        return self.analysis.append(
            ProposalAssessed(
                proposal_id=proposal_id,
                consultation_id=self._consultation(proposal_id),
                outcome=outcome,
                merged_into=merged_into,
                rationale=f"Outcome {outcome.value}: weighed against the cost of an AI error.",
                review_ids=review_ids or [],
                late=late,
            ),
            at=at,
            actor=LEAD,
        )

    def open_package(self, consultation_id: str, title: str, *, at: datetime) -> str:
        package_id = str(uuid.uuid4())
        self.analysis.append(
            GovernmentPackageOpened(package_id=package_id, consultation_id=consultation_id, title=title),
            at=at,
            actor=LEAD,
        )
        return package_id

    def add_to_package(self, package_id: str, proposal_id: str, *, at: datetime) -> Envelope:
        return self.analysis.append(
            ProposalAddedToPackage(
                package_id=package_id,
                consultation_id=self._consultation(proposal_id),
                proposal_id=proposal_id,
            ),
            at=at,
            actor=LEAD,
        )

    def submit_package(
        self, package_id: str, title: str, proposal_ids: list[str], *, at: datetime
    ) -> Envelope:
        consultation_id = self._consultation(proposal_ids[0])
        for proposal_id in proposal_ids:
            self.analysis.append(
                ProposalForwardedToGovernment(
                    proposal_id=proposal_id, consultation_id=consultation_id, package_id=package_id
                ),
                at=at,
                actor=LEAD,
            )
        return self.analysis.append(
            GovernmentPackageSubmitted(
                package_id=package_id,
                consultation_id=consultation_id,
                title=title,
                proposal_ids=proposal_ids,
                counts={"proposals": len(proposal_ids)},
            ),
            at=at + timedelta(seconds=1),
            actor=LEAD,
        )

    def _consultation(self, proposal_id: str) -> str:
        return str(self.submitted[proposal_id].payload["consultation_id"])

    async def publish(
        self, bootstrap: str, namespace: str, *, submission_from: int = 0, analysis_from: int = 0
    ) -> None:
        """Publish both logs from the given indexes on (what was not published yet)."""
        topics = Topics(namespace)
        await ensure_topics(bootstrap, topics.all(), partitions=3)
        await publish(bootstrap, topics.submission, self.submission.envelopes[submission_from:])
        await publish(bootstrap, topics.analysis, self.analysis.envelopes[analysis_from:])


def days(count: float) -> timedelta:
    return timedelta(days=count)
