"""The submission service under test (its app, a clock the test moves) and the calls a portal, an admin
and an auditor make to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from aireg_cli.keys import KeyRing
from aireg_events.catalogue.analysis import TriageMethod
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id, utc_now
from tests.support.tokens import TokenFactory

START = datetime(2030, 1, 10, 12, 0, tzinfo=UTC)
"""Where the test clock starts (each test of a shared service starts a year later than the one before,
so that its consultations have registration numbers of their own year)."""


@dataclass
class MovableClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        self.now = moment


def proposal_body(title: str = "Certify medical AI before use", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submitter": {
            "name": "Association of Medical Informatics",
            "kind": "industry_association",
            "registration_number": "1027700000000",
            "contact_email": "office@medinf.example.org",
        },
        "title": title,
        "summary": "Mandatory certification for diagnostic AI; self-regulation elsewhere.",
        "text": "The cost of an error in diagnostics is critical, so ...",
        "directions": ["regulation_and_barriers", "information_security"],
        "questions": ["quality_and_certification", "permitted_areas"],
        "positions": {"quality_and_certification": "support"},
        "instrument": "certification",
        "approach": "targeted",
        "cost_of_error": "critical",
        "application_areas": ["healthcare"],
        "attachments": [
            {
                "filename": "position.pdf",
                "media_type": "application/pdf",
                "size_bytes": 120_000,
                "sha256": "a" * 64,
            }
        ],
    }
    body.update(overrides)
    return body


@dataclass
class Submission:
    """The submission service in this process, on the test's database and topic namespace."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: MovableClock
    tokens: TokenFactory
    keys: KeyRing
    namespace: str
    database_url: str
    start: datetime = START
    """Where this test's clock started; the default consultation window is around it."""

    def auth(self, role: Any, name: str | None = None) -> dict[str, str]:
        return self.tokens.header(role, name)

    def portal(self, name: str = "portal-a") -> dict[str, str]:
        return self.tokens.header("portal", name)

    async def open_consultation(
        self,
        *,
        opens_at: datetime | None = None,
        closes_at: datetime | None = None,
        late_submissions: str = "reject",
        code: str | None = None,
    ) -> dict[str, Any]:
        opens_at = opens_at or self.start - timedelta(days=9)
        closes_at = closes_at or self.start + timedelta(days=10)
        response = await self.client.post(
            "/v1/consultations",
            headers=self.auth("admin"),
            json={
                "code": code or f"call-{uuid.uuid4().hex[:8]}",
                "title": "Regulating artificial intelligence",
                "submission_opens_at": opens_at.isoformat(),
                "submission_closes_at": closes_at.isoformat(),
                "analysis_due_at": (closes_at + timedelta(days=40)).isoformat(),
                "forwarding_due_at": (closes_at + timedelta(days=52)).isoformat(),
                "late_submissions": late_submissions,
            },
        )
        assert response.status_code == 201, response.text
        consultation: dict[str, Any] = response.json()
        return consultation

    async def submit(
        self,
        consultation_id: str,
        body: dict[str, Any] | None = None,
        *,
        portal: str = "portal-a",
        key: str | None = None,
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/consultations/{consultation_id}/proposals",
            headers={**self.portal(portal), "Idempotency-Key": key or uuid.uuid4().hex},
            json=body if body is not None else proposal_body(),
        )

    async def proposal(self, proposal_id: str, *, portal: str = "portal-a") -> httpx.Response:
        return await self.client.get(f"/v1/proposals/{proposal_id}", headers=self.portal(portal))

    async def log(self) -> list[dict[str, Any]]:
        """This service's whole log, as an auditor reads it (without chain checkpoints)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/v1/events", headers=self.auth("auditor"), params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return [item for item in items if item["event_type"] != "ChainCheckpoint"]


METHOD = TriageMethod(name="minhash", version="1", parameters={"threshold": 0.8})


class AnalysisChain:
    """Plays the analysis service's log: seals its events into a chain, as its relay publishes them."""

    def __init__(self) -> None:
        self.position = 0
        self.head = GENESIS_HASH
        self.versions: dict[str, int] = {}

    def seal(self, event: DomainEvent) -> Envelope:
        self.position += 1
        stream_id = event.stream_id()
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        envelope = Envelope.seal(
            event_id=new_event_id(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=self.versions[stream_id],
            log_position=self.position,
            occurred_at=utc_now(),
            producer="analysis",
            correlation_id=new_event_id(),
            actor=Actor(role="lead", name="lead-1", organization="ministry"),
            payload=event.to_payload(),
            prev_hash=self.head,
        )
        self.head = envelope.hash
        return envelope


class AnalysisProducer(AnalysisChain):
    """Plays the analysis service: seals its events into a chain and produces them to its topic."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        super().__init__()
        self.producer = producer
        self.topic = topic

    async def publish(self, event: DomainEvent) -> Envelope:
        envelope = self.seal(event)
        await self.resend(envelope)
        return envelope

    async def resend(self, envelope: Envelope) -> None:
        await self.producer.send_and_wait(
            self.topic,
            value=envelope.to_canonical(),
            key=envelope.stream_id.encode(),
            headers=[("event_type", envelope.event_type.encode()), ("event_id", envelope.event_id.encode())],
        )
