"""Running the analysis service in-process for tests, and reading what it shows: HTTP answers, its log
(feed), its topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from aireg_analysis.app import create_app
from aireg_analysis.settings import Settings
from aireg_cli.keys import KeyRing
from aireg_events.envelope import Envelope
from aireg_events.log.runtime import LogRuntime
from aireg_events.topic_reader import read_topics
from services.analysis.tests.proposals import SubmissionStandIn
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

START = datetime(2027, 1, 25, 12, 0, tzinfo=UTC)
"""The tests' "now": submissions closed on 20 January, analysis due by the end of February."""


@dataclass
class SetClock:
    """The service's clock; a test moves it to where it needs to be."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def reset(self) -> None:
        self.now = START

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class AnalysisUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    submission: SubmissionStandIn
    clock: SetClock
    tokens: TokenFactory
    settings: Settings
    bootstrap: str
    lead: dict[str, str] = field(default_factory=dict)
    auditor: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lead = self.tokens.header("lead", name="lead-orlova")
        self.auditor = self.tokens.header("auditor", name="auditor")

    @property
    def runtime(self) -> LogRuntime:
        runtime: LogRuntime = self.app.state.runtime
        return runtime

    def reviewer(self, name: str, organization: str = "ministry") -> dict[str, str]:
        return self.tokens.header("reviewer", name=name, organization=organization)

    async def own_events(self, *event_types: str) -> list[dict[str, Any]]:
        """This service's log as its feed serves it (chain checkpoints left out), oldest first."""
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/v1/events", params=params, headers=self.auditor)
            assert response.status_code == 200, response.text
            page = response.json()
            events += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        wanted = set(event_types)
        return [
            event
            for event in events
            if event["event_type"] != "ChainCheckpoint" and (not wanted or event["event_type"] in wanted)
        ]

    async def queue(self, **params: Any) -> list[dict[str, Any]]:
        """Every page of the queue."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {"limit": 1000, **params, **({"cursor": cursor} if cursor else {})}
            response = await self.client.get("/v1/queue", params=query, headers=self.lead)
            assert response.status_code == 200, response.text
            page = response.json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    async def until_triaged(self, consultation_id: str, count: int, **params: Any) -> list[dict[str, Any]]:
        """Wait until ``count`` proposals of the consultation are in the queue and triaged in their version."""

        async def probe() -> list[dict[str, Any]]:
            return await self.queue(consultation_id=consultation_id, **params)

        return await eventually(
            probe,
            until=lambda items: len(items) == count and all(i["complete"] is not None for i in items),
            timeout=60,
        )

    async def proposal(self, proposal_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/proposals/{proposal_id}", headers=self.lead)
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()
        return detail

    async def campaigns(self, consultation_id: str) -> list[dict[str, Any]]:
        response = await self.client.get(
            "/v1/campaigns", params={"consultation_id": consultation_id}, headers=self.lead
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def assign(self, proposal_id: str, reviewer: str, organization: str) -> httpx.Response:
        return await self.client.post(
            f"/v1/proposals/{proposal_id}/assignments",
            json={"reviewer": reviewer, "organization": organization},
            headers=self.lead,
        )

    async def review(
        self,
        proposal_id: str,
        reviewer: str,
        organization: str,
        *,
        recommendation: str = "support",
        **body: Any,
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/proposals/{proposal_id}/reviews",
            json={
                "organization": organization,
                "scores": {
                    "legal_soundness": 4,
                    "feasibility": 4,
                    "risk_reduction": 5,
                    "innovation_impact": 3,
                },
                "recommendation": recommendation,
                "rationale": "Well argued and feasible within the existing legal framework.",
                **body,
            },
            headers=self.reviewer(reviewer, organization),
        )

    async def assess(self, proposal_id: str, outcome: str = "recommended", **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/v1/proposals/{proposal_id}/assessment",
            json={"outcome": outcome, "rationale": "Both organizations support it.", **body},
            headers=self.lead,
        )

    async def reviewed_by_both(self, proposal_id: str) -> None:
        for reviewer, organization in (("ivanova", "ministry"), ("sidorov", "analytical_center")):
            assert (await self.assign(proposal_id, reviewer, organization)).status_code == 201
            assert (await self.review(proposal_id, reviewer, organization)).status_code == 201

    async def assessed(self, proposal_id: str, outcome: str = "recommended") -> None:
        await self.reviewed_by_both(proposal_id)
        response = await self.assess(proposal_id, outcome)
        assert response.status_code == 201, response.text


@asynccontextmanager
async def start_analysis(
    *,
    database_url: str,
    bootstrap: str,
    keys: KeyRing,
    tokens: TokenFactory,
    namespace: str,
    clock: SetClock,
    consumer_group: str = "aireg-analysis",
    submission: SubmissionStandIn | None = None,
) -> AsyncIterator[AnalysisUnderTest]:
    """The service with its lifespan; ``submission`` (started by the caller) outlives it, else one is made."""
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        topic_namespace=namespace,
        token_public_key_file=keys.token_public,
        signing_key_file=keys.signing_private("analysis"),
        consumer_group=consumer_group,
        checkpoint_interval_seconds=3600.0,
    )
    app = create_app(settings, clock=clock)
    stand_in = submission or SubmissionStandIn(bootstrap, settings.topics.submission)
    async with app.router.lifespan_context(app):
        if submission is None:
            await stand_in.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://analysis"
            ) as client:
                yield AnalysisUnderTest(app, client, stand_in, clock, tokens, settings, bootstrap)
        finally:
            if submission is None:
                await stand_in.stop()


async def read_topic(bootstrap: str, topic: str) -> list[Envelope]:
    """Every message on ``topic`` so far (no consumer group), each partition in offset order."""
    return [
        Envelope.from_json(record.value)
        async for record in read_topics(bootstrap, [topic], idle_ms=200)
        if record.value is not None
    ]
