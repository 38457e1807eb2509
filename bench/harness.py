"""What every benchmark needs: the embedded broker, a key ring and tokens, fresh databases, the services as
real processes on 127.0.0.1, proposal bodies, and the figures (percentiles, resident memory)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from aireg_cli.keys import KeyRing, ensure_keys
from aireg_cli.stack import free_port, service_env, start_broker, stop_process
from aireg_events.signing import load_private_key
from aireg_http.auth import TokenRole, issue_token

POSTGRES_URL = os.environ.get("AIREG_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]

WORDS = [
    "regulation",
    "liability",
    "certification",
    "sovereign",
    "model",
    "training",
    "data",
    "risk",
    "transparency",
    "audit",
    "healthcare",
    "finance",
    "transport",
    "education",
    "registry",
    "standard",
    "sandbox",
    "consent",
    "provenance",
    "developer",
    "operator",
    "user",
    "harm",
    "damage",
    "insurance",
    "evidence",
    "court",
    "appeal",
    "oversight",
    "authority",
    "ministry",
    "licence",
    "permit",
    "register",
    "benchmark",
    "robustness",
    "accuracy",
    "bias",
    "fairness",
    "explainability",
    "logging",
    "incident",
    "report",
    "recall",
    "market",
    "procurement",
    "public",
    "service",
    "citizen",
    "patient",
    "diagnosis",
    "triage",
    "credit",
    "scoring",
    "fraud",
    "detection",
    "vehicle",
    "autonomy",
    "drone",
    "camera",
    "biometric",
    "identification",
    "surveillance",
    "moderation",
    "media",
    "election",
    "defence",
    "export",
    "compute",
    "datacenter",
    "energy",
    "cooling",
    "chip",
    "cloud",
    "storage",
    "dataset",
    "corpus",
    "annotation",
    "label",
    "copyright",
    "licensing",
    "personal",
    "anonymization",
    "localisation",
    "transfer",
    "border",
    "foreign",
    "domestic",
    "open",
    "weights",
    "source",
    "evaluation",
    "red",
    "team",
    "threshold",
    "capability",
    "frontier",
    "general",
    "purpose",
    "narrow",
    "critical",
    "infrastructure",
    "grid",
    "water",
    "telecom",
    "bank",
    "exchange",
    "pension",
    "tax",
    "customs",
    "police",
    "prosecutor",
    "judge",
    "school",
    "university",
    "research",
    "grant",
    "subsidy",
    "tax",
    "credit",
    "startup",
    "small",
    "business",
    "industry",
    "association",
    "chamber",
    "union",
    "expert",
]

DIRECTIONS = (
    "regulation_and_barriers",
    "infrastructure_and_datacenters",
    "data",
    "model_training",
    "information_security",
    "adoption",
    "support_measures",
)
QUESTIONS = (
    "definition_and_liability",
    "permitted_areas",
    "quality_and_certification",
    "sovereign_and_foreign_models",
    "training_data",
    "other",
)
KINDS = (
    "government_body",
    "business",
    "industry_association",
    "expert_community",
    "academia",
    "non_profit",
    "citizen",
)
INSTRUMENTS = ("federal_law", "government_decree", "technical_standard", "certification", "self_regulation")
AREAS = ("healthcare", "finance", "transport", "public_administration", "education", "industry", "media")


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def proposal_body(rng: random.Random, index: int) -> dict[str, Any]:
    """A valid ``ProposalBody`` of about 1.5 KB with its own text (triage finds no near-duplicates)."""
    questions = rng.sample(QUESTIONS, rng.randint(1, 3))
    return {
        "submitter": {
            "name": f"Organization {index}",
            "kind": rng.choice(KINDS),
            "contact_email": f"office{index}@example.org",
        },
        "title": f"Proposal {index}: " + text(rng, 6),
        "summary": text(rng, 30),
        "text": text(rng, 160),
        "directions": rng.sample(DIRECTIONS, rng.randint(1, 3)),
        "questions": questions,
        "positions": {question: rng.choice(("support", "oppose", "conditional")) for question in questions},
        "instrument": rng.choice(INSTRUMENTS),
        "approach": rng.choice(("comprehensive", "targeted", "mixed")),
        "cost_of_error": rng.choice(("low", "medium", "high", "critical")),
        "application_areas": rng.sample(AREAS, rng.randint(1, 2)),
    }


def consultation_body(code: str) -> dict[str, Any]:
    """A consultation whose submission window is open for the next day."""
    now = datetime.now(UTC)
    return {
        "code": code,
        "title": f"Benchmark consultation {code}",
        "description": "opened by a benchmark",
        "submission_opens_at": (now - timedelta(hours=1)).isoformat(),
        "submission_closes_at": (now + timedelta(days=1)).isoformat(),
        "analysis_due_at": (now + timedelta(days=30)).isoformat(),
        "forwarding_due_at": (now + timedelta(days=40)).isoformat(),
    }


# --- figures ----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux ``VmRSS``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return f"{os.cpu_count()} cores, {memory_kib / 1024 / 1024:.0f} GiB"


def header(title: str) -> None:
    print(f"== {title} ({machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", flush=True)


# --- the environment of one run ---------------------------------------------------------------------


@dataclass
class Service:
    """One service as a real process, the way ``aireg up`` runs it."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    module: str = ""
    """What to run instead of ``aireg_<name>`` (profiling)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 90.0) -> Service:
        output = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module or f"aireg_{self.name}"],
            env={**os.environ, **self.env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/health", timeout=10.0).json()
        return answer


@dataclass
class Bench:
    """A broker, a key ring, a work folder and the databases and processes of one benchmark run.

    ``KAFKA_BOOTSTRAP_SERVERS`` names a broker to use instead of starting the embedded one; every topic
    and consumer group gets a fresh prefix either way. Everything started here is stopped at the end.
    """

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="aireg-bench-")))
    bootstrap: str = ""
    namespace: str = field(default_factory=lambda: f"bench{uuid.uuid4().hex[:8]}.")
    keys: KeyRing | None = None
    broker: subprocess.Popen[bytes] | None = None
    services: list[Service] = field(default_factory=list)
    helpers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    postgres_databases: list[str] = field(default_factory=list)

    def __enter__(self) -> Bench:
        self.keys = ensure_keys(self.folder / "keys")
        self.bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        if not self.bootstrap:
            port = free_port()
            self.broker = start_broker(port, self.folder / "broker.log")
            self.bootstrap = f"127.0.0.1:{port}"
        return self

    def __exit__(self, *_exc: object) -> None:
        for service in reversed(self.services):
            service.stop()
        for helper in self.helpers:
            stop_process(helper)
        for database in self.postgres_databases:
            with contextlib.suppress(Exception):
                asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if self.broker is not None:
            stop_process(self.broker)
        if not os.environ.get("AIREG_BENCH_KEEP"):
            shutil.rmtree(self.folder, ignore_errors=True)
        else:
            print(f"(kept {self.folder})")

    @property
    def key_ring(self) -> KeyRing:
        assert self.keys is not None
        return self.keys

    def token(self, role: TokenRole, name: str, organization: str | None = None) -> str:
        key = load_private_key(self.key_ring.token_private)
        return issue_token(key, role=role, name=name, organization=organization)

    def database(self, backend: str, name: str) -> str:
        """A fresh, empty database: a SQLite file in the work folder, or a new PostgreSQL database."""
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.folder / (name + '.db')}"
        if backend != "postgresql":
            raise ValueError(f"unknown backend {backend!r}")
        database = f"aireg_bench_{name}_{uuid.uuid4().hex[:8]}"
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{database}"'))
        self.postgres_databases.append(database)
        base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return f"{base}/{database}"

    def service(self, name: str, database_url: str, extra_env: dict[str, str] | None = None) -> Service:
        """A service process (not started yet) on a free port, on this run's broker and namespace."""
        port = free_port()
        env = service_env(
            name,
            port=port,
            database_url=database_url,
            bootstrap=self.bootstrap,
            keys=self.key_ring,
            topic_namespace=self.namespace,
            extra={"AIREG_LOG_FORMAT": "text", **(extra_env or {})},
        )
        service = Service(name, port, env, self.folder / f"{name}-{port}.log")
        self.services.append(service)
        return service

    def helper(self, *arguments: str, log_name: str) -> subprocess.Popen[bytes]:
        """Another program of this run (a bare endpoint, a load generator), stopped at the end."""
        output = open(self.folder / log_name, "ab")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(list(arguments), stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        self.helpers.append(process)
        return process


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_available() -> bool:
    try:
        asyncio.run(_postgres_admin("SELECT 1"))
    except Exception:
        return False
    return True


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as took: ...`` then ``took[0]`` is the elapsed seconds."""
    took: list[float] = []
    started = time.perf_counter()
    try:
        yield took
    finally:
        took.append(time.perf_counter() - started)


def open_consultation(service: Service, admin_token: str, code: str) -> str:
    answer = httpx.post(
        f"{service.url}/v1/consultations",
        json=consultation_body(code),
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30.0,
    )
    answer.raise_for_status()
    consultation_id: str = answer.json()["consultation_id"]
    return consultation_id


@dataclass
class Stack:
    """The three services on one broker and namespace, as ``aireg up`` runs them."""

    submission: Service
    analysis: Service
    reporting: Service

    @property
    def services(self) -> list[Service]:
        return [self.submission, self.analysis, self.reporting]


def start_stack(bench: Bench, backend: str, extra_env: dict[str, str] | None = None) -> Stack:
    stack = Stack(
        *(
            bench.service(name, bench.database(backend, f"{name}_{backend}"), extra_env)
            for name in ("submission", "analysis", "reporting")
        )
    )
    for service in stack.services:
        service.start()
    return stack


def wait_until(probe: Any, what: str, timeout: float = 120.0, interval: float = 0.2) -> Any:
    """Call ``probe()`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            found = probe()
            if found:
                return found
        time.sleep(interval)
    raise TimeoutError(f"{what}: not after {timeout:.0f}s")


def open_consultation_everywhere(bench: Bench, stack: Stack, code: str) -> str:
    """Open a consultation and wait until analysis and reporting know it (their consumers run)."""
    consultation_id = open_consultation(stack.submission, bench.token("admin", "bench-admin"), code)
    dashboard = {"Authorization": f"Bearer {bench.token('dashboard', 'bench-dashboard')}"}
    wait_until(
        lambda: (
            httpx.get(
                f"{stack.reporting.url}/v1/stats",
                params={"consultation_id": consultation_id},
                headers=dashboard,
                timeout=10,
            ).status_code
            == 200
        ),
        "reporting knows the consultation",
    )
    wait_until(lambda: int(stack.analysis.health().get("events_applied", 0)) >= 1, "analysis consumes")
    return consultation_id
