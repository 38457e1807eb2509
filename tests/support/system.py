"""The whole system for tests that need all of it: the three services as real processes on real ports,
each on a database of its own, one broker, one topic namespace; and what a test reads from it (feeds,
store rows, metrics)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import text

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES
from aireg_events.log.database import open_database
from tests.support.databases import DatabaseFactory
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory


class Databases(Protocol):
    """Makes fresh databases and drops them again (:class:`DatabaseFactory`, or another server's)."""

    def create(self, name: str) -> str: ...

    def drop_all(self) -> None: ...


@dataclass
class System:
    services: dict[str, ServiceProcess]
    tokens: TokenFactory
    namespace: str
    backend: str
    databases: Databases
    folder: Path
    admin: dict[str, str] = field(default_factory=dict)
    auditor: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.admin = self.tokens.header("admin", "admin-security")
        self.auditor = self.tokens.header("auditor", "auditor-faults")

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def url(self, name: str) -> str:
        return self.services[name].url

    def database_url(self, name: str) -> str:
        return self.services[name].spec.env["DATABASE_URL"]

    def start(self, names: Iterable[str] | None = None) -> System:
        for name in names or self.services:
            self.services[name].start()
        return self

    def stop(self) -> None:
        for process in self.services.values():
            process.stop()
        self.databases.drop_all()

    async def rows(self, name: str, query: str, **parameters: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on service ``name``'s own database (read-only use)."""
        return await store_rows(self.database_url(name), query, **parameters)

    async def feed(self, name: str, client: httpx.AsyncClient | None = None) -> list[dict[str, Any]]:
        """Service ``name``'s whole log as its feed serves it to an auditor."""
        async with httpx.AsyncClient(base_url=self.url(name), timeout=30) as own:
            http = client or own
            items: list[dict[str, Any]] = []
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                response = await http.get(f"{self.url(name)}/v1/events", params=params, headers=self.auditor)
                assert response.status_code == 200, response.text
                page = response.json()
                items += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    return items

    def log_lines(self, name: str) -> list[str]:
        """Everything service ``name`` has written to its log so far (every run of it)."""
        path = self.services[name].spec.log_path
        return path.read_text(errors="replace").splitlines() if path and path.exists() else []

    def unhandled_errors(self) -> list[str]:
        """Log lines of unhandled errors (a 500) from every service: each one is a bug."""
        return [
            f"{name}: {line[:2000]}"
            for name in self.services
            for line in self.log_lines(name)
            if "unhandled error" in line or "Exception in ASGI application" in line
        ]

    def metric(self, name: str, metric: str, **labels: str) -> float:
        """The sum of a Prometheus counter's samples on service ``name`` (those with ``labels``)."""
        total = 0.0
        for line in httpx.get(f"{self.url(name)}/metrics", timeout=10).text.splitlines():
            if not (line.startswith(metric + "{") or line.startswith(metric + " ")):
                continue
            if all(f'{key}="{value}"' in line for key, value in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


async def store_rows(url: str, query: str, **parameters: Any) -> list[tuple[Any, ...]]:
    database = open_database(url, pool_size=1)
    try:
        async with database.reader.connect() as connection:
            result = await connection.execute(text(query), parameters)
            return [tuple(row) for row in result.all()]
    finally:
        await database.dispose()


def build_system(
    *,
    backend: str,
    bootstrap: str,
    keys: KeyRing,
    tokens: TokenFactory,
    folder: Path,
    names: Iterable[str] = SERVICES,
    extra_env: dict[str, dict[str, str]] | None = None,
    databases: Databases | None = None,
) -> System:
    """The services ``names`` configured (not started) on fresh databases of ``backend`` (made by
    ``databases`` when given: another server's)."""
    namespace = f"t{uuid.uuid4().hex[:12]}."
    databases = databases or DatabaseFactory(backend, folder)
    services = {
        name: service_process(
            name,
            database_url=databases.create(name),
            bootstrap=bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=folder,
            extra_env=(extra_env or {}).get(name),
        )
        for name in names
    }
    return System(services, tokens, namespace, backend, databases, folder)


def consultation_body(code: str | None = None, *, days_open: int = 30) -> dict[str, Any]:
    """A consultation whose submission window is open now."""
    now = datetime.now(UTC)
    return {
        "code": code or f"call-{uuid.uuid4().hex[:8]}",
        "title": "Regulating artificial intelligence",
        "description": "Where the cost of an AI error is too high, regulate; elsewhere keep freedom.",
        "submission_opens_at": (now - timedelta(days=1)).isoformat(),
        "submission_closes_at": (now + timedelta(days=days_open)).isoformat(),
        "analysis_due_at": (now + timedelta(days=days_open + 40)).isoformat(),
        "forwarding_due_at": (now + timedelta(days=days_open + 52)).isoformat(),
    }


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
        "text": f"{title}. The cost of an error in diagnostics is critical, so certification comes first.",
        "directions": ["regulation_and_barriers", "information_security"],
        "questions": ["quality_and_certification", "permitted_areas"],
        "positions": {"quality_and_certification": "support"},
        "instrument": "certification",
        "approach": "targeted",
        "cost_of_error": "critical",
        "application_areas": ["healthcare"],
    }
    body.update(overrides)
    return body


def review_by_both_organizations(
    analysis_url: str, tokens: TokenFactory, proposal_id: str, *, rationale: str
) -> None:
    """What staff do before a proposal can be assessed: a lead assigns a reviewer of the ministry and one of
    the analytical centre, and each reviews it (support)."""
    lead = tokens.header("lead", "lead-1")
    for reviewer, organization in (("rev-ministry", "ministry"), ("rev-centre", "analytical_center")):
        assigned = httpx.post(
            f"{analysis_url}/v1/proposals/{proposal_id}/assignments",
            headers=lead,
            json={"reviewer": reviewer, "organization": organization},
        )
        assert assigned.status_code == 201, assigned.text
        reviewed = httpx.post(
            f"{analysis_url}/v1/proposals/{proposal_id}/reviews",
            headers=tokens.header("reviewer", reviewer, organization),
            json={
                "organization": organization,
                "scores": {
                    "legal_soundness": 4,
                    "feasibility": 4,
                    "risk_reduction": 5,
                    "innovation_impact": 3,
                },
                "recommendation": "support",
                "rationale": rationale,
            },
        )
        assert reviewed.status_code in (200, 201), reviewed.text
