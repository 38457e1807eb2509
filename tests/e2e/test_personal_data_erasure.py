"""The people behind proposals, end to end: the three services as real processes on a real broker, on SQLite
and on PostgreSQL. A citizen's proposal goes through triage, reviews, assessment and a package for the
government; the citizen's data is erased; then the e-mail and the name are in no byte the system keeps
(database files or rows, topics, feeds, documents in all five formats, the live stream, log files, trace
spans, ``/metrics``), as UTF-8 and as JSON-escaped text, the destroyed key is gone from the key table's storage,
``aireg audit verify`` still finds every chain whole and ``aireg audit history`` shows ``[erased]``. Then an
attribution dispute is upheld and its proposal leaves the counts, the queue and stays in the log; and
``aireg rebuild submission`` gives the same state back without touching the remaining keys.

What "every byte" means here. SQLite: each service's database, ``-wal`` and ``-shm`` files, read raw.
PostgreSQL: the server's data directory is not readable by the tests (another user owns it), so every row
of every table of each service's database is read through SQL (``row::text``), and the key table's pages
are read raw through ``pageinspect`` (``get_raw_page``: the page as the server holds it, free space
included) to show the destroyed key's bytes were vacuumed away.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from aireg_cli.keys import KeyRing
from aireg_events.topic_reader import read_topic_batches, read_topics
from aireg_events.topics import Topics
from aireg_http.messages import catalogue
from tests.support.databases import DatabaseFactory
from tests.support.system import (
    System,
    build_system,
    consultation_body,
    proposal_body,
    review_by_both_organizations,
)
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

SUFFIX = uuid.uuid4().hex[:8]
EMAIL = f"evdokiya.{SUFFIX}@example.org"
GIVEN_NAME, FAMILY_NAME = "Евдокия", f"Перепелкина-{SUFFIX}"
NAME = f"{GIVEN_NAME} {FAMILY_NAME}"
SNILS = f"СНИЛС 112-{SUFFIX}"


def secrets_as_bytes() -> dict[str, list[bytes]]:
    """Each personal value as UTF-8, and JSON-escaped (``\\uXXXX`` in lower and upper case hex)."""
    forms: dict[str, list[bytes]] = {}
    for label, value in (
        ("e-mail", EMAIL),
        ("e-mail (upper case)", EMAIL.upper()),
        ("name", NAME),
        ("family name", FAMILY_NAME),
        ("registration number", SNILS),
    ):
        escaped = json.dumps(value)[1:-1]
        forms[label] = list(
            dict.fromkeys([value.encode(), escaped.encode(), escaped.upper().replace("\\U", "\\u").encode()])
        )
    return forms


SECRETS = secrets_as_bytes()


def leaks(where: str, data: bytes) -> list[str]:
    return [f"{label} in {where}" for label, forms in SECRETS.items() if any(form in data for form in forms)]


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout}s: {what}")


@dataclass
class Scene:
    system: System
    tokens: TokenFactory
    consultation_id: str
    erased_id: str
    """The citizen's proposal that went to the government, and whose data is erased."""
    disputed_id: str
    package_id: str


@pytest.fixture
def scene(
    kafka_bootstrap: str,
    keys: KeyRing,
    tokens: TokenFactory,
    tmp_path: Path,
    db_backend: str,
) -> Iterator[Scene]:
    system = build_system(
        backend=db_backend,
        bootstrap=kafka_bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path,
        databases=DatabaseFactory(db_backend, tmp_path),
        extra_env={
            name: {
                "AIREG_OTEL_EXPORTER": "jsonl",
                "AIREG_OTEL_JSONL_FILE": str(tmp_path / f"{name}-spans.jsonl"),
            }
            for name in ("submission", "analysis", "reporting")
        },
    )
    try:
        system.start()
        yield drive(system, tokens)
    finally:
        system.stop()


def drive(system: System, tokens: TokenFactory) -> Scene:
    """A citizen's proposal to the government, and two organizations' proposals beside it."""
    submission, analysis = system.url("submission"), system.url("analysis")
    lead = tokens.header("lead", "lead-1")
    portal = {**tokens.header("portal", "gosuslugi")}
    consultation = httpx.post(
        f"{submission}/v1/consultations", headers=system.admin, json=consultation_body()
    )
    assert consultation.status_code == 201, consultation.text
    consultation_id = consultation.json()["consultation_id"]

    def submit(body: dict[str, Any]) -> str:
        answer = httpx.post(
            f"{submission}/v1/consultations/{consultation_id}/proposals",
            headers={**portal, "Idempotency-Key": str(uuid.uuid4())},
            json=body,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["proposal_id"])

    citizen = proposal_body(
        "Explainable decisions of AI in public services",
        submitter={"name": NAME, "kind": "citizen", "registration_number": SNILS, "contact_email": EMAIL},
    )
    erased_id = submit(citizen)
    submit(proposal_body("Certify medical AI before use"))
    disputed_id = submit(
        proposal_body(
            "Ban AI in courts",
            submitter={
                "name": "Union of Lawyers",
                "kind": "non_profit",
                "registration_number": "1027700000001",
                "contact_email": f"board.{SUFFIX}@lawyers.example.org",
            },
            text="Ban AI in courts: a decision about a person's liberty must be a judge's.",
        )
    )

    wait_for(
        lambda: httpx.get(f"{analysis}/v1/proposals/{erased_id}", headers=lead).status_code == 200,
        "the citizen's proposal triaged by analysis",
    )
    review_by_both_organizations(analysis, tokens, erased_id, rationale="Proportionate.")
    assessed = httpx.post(
        f"{analysis}/v1/proposals/{erased_id}/assessment",
        headers=lead,
        json={"outcome": "recommended", "rationale": "Both organizations support it."},
    )
    assert assessed.status_code in (200, 201), assessed.text
    package = httpx.post(
        f"{analysis}/v1/packages",
        headers=lead,
        json={"consultation_id": consultation_id, "title": "First call"},
    ).json()
    added = httpx.post(
        f"{analysis}/v1/packages/{package['package_id']}/items", headers=lead, json={"proposal_id": erased_id}
    )
    assert added.status_code in (200, 201), added.text
    sent = httpx.post(f"{analysis}/v1/packages/{package['package_id']}/submission", headers=lead)
    assert sent.status_code in (200, 201), sent.text
    wait_for(
        lambda: (
            httpx.get(f"{submission}/v1/proposals/{erased_id}", headers=portal).json()["status"]
            == "forwarded_to_government"
        ),
        "the citizen sees forwarded_to_government",
    )
    return Scene(system, tokens, consultation_id, erased_id, disputed_id, package["package_id"])


# --- what the system keeps ------------------------------------------------------------------------


async def postgres_rows(url: str) -> bytes:
    """Every row of every table of a PostgreSQL database, as text."""
    connection = await asyncpg.connect(str(make_url(url).set(drivername="postgresql")))
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        dump = []
        for (table,) in tables:
            rows = await connection.fetch(f'SELECT t::text FROM "{table}" t')
            dump += [f"{table}: {row[0]}" for row in rows]
        return "\n".join(dump).encode()
    finally:
        await connection.close()


async def postgres_key_pages(url: str) -> bytes:
    """The key table's pages as the server holds them, free space included (``pageinspect``)."""
    connection = await asyncpg.connect(str(make_url(url).set(drivername="postgresql")))
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        pages = await connection.fetchval(
            "SELECT pg_relation_size('data_subject_key') / current_setting('block_size')::int"
        )
        return b"".join(
            [
                bytes(await connection.fetchval("SELECT get_raw_page('data_subject_key', $1)", page))
                for page in range(pages)
            ]
        )
    finally:
        await connection.close()


def database_bytes(system: System, name: str) -> dict[str, bytes]:
    url = system.database_url(name)
    if system.backend == "sqlite":
        path = Path(str(make_url(url).database))
        return {
            f"{name} {file.name}": file.read_bytes()
            for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
            if file.exists()
        }
    return {f"{name} rows": asyncio.run(postgres_rows(url))}


async def topic_bytes(bootstrap: str, namespace: str) -> bytes:
    """Every record of both topics and their dead-letter topics: key, value and headers."""
    topics = Topics(namespace)
    names = [topics.submission, topics.analysis, f"{topics.submission}.dlq", f"{topics.analysis}.dlq"]
    kept = b""
    async for records in read_topic_batches(bootstrap, names):
        for record in records:
            headers = b" ".join(name.encode() + b"=" + (value or b"") for name, value in record.headers)
            kept += (record.key or b"") + b" " + (record.value or b"") + b" " + headers + b"\n"
    return kept


def stream_bytes(system: System, dashboard: dict[str, str], events: int) -> bytes:
    """The live stream from its first event, until it has sent ``events`` of them."""
    received = b""
    with httpx.stream(
        "GET",
        f"{system.url('reporting')}/v1/stream",
        headers={**dashboard, "Last-Event-ID": "0"},
        timeout=httpx.Timeout(30.0),
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received += chunk
            if received.count(b"\nid:") + received.startswith(b"id:") >= events:
                break
    return received


def documents(system: System, dashboard: dict[str, str], package_id: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for form in ("json", "md", "html", "pdf", "csv"):
        response = httpx.get(
            f"{system.url('reporting')}/v1/packages/{package_id}/document",
            params={"format": form},
            headers=dashboard,
            timeout=60,
        )
        assert response.status_code == 200, (form, response.text[:500])
        found[f"document.{form}"] = response.content
    pdftotext = shutil.which("pdftotext")
    if pdftotext:  # the PDF's text streams are compressed: read its text as a reader would
        text = subprocess.run(
            [pdftotext, "-", "-"], input=found["document.pdf"], capture_output=True, check=True
        )
        found["document.pdf (text)"] = text.stdout
    return found


def everything(scene: Scene, bootstrap: str) -> dict[str, bytes]:
    system, dashboard = scene.system, scene.tokens.header("dashboard", "wall")
    kept: dict[str, bytes] = {}
    for name in ("submission", "analysis", "reporting"):
        kept.update(database_bytes(system, name))
        kept[f"{name} log file"] = "\n".join(system.log_lines(name)).encode()
        kept[f"{name} traces"] = (system.folder / f"{name}-spans.jsonl").read_bytes()
        kept[f"{name} /metrics"] = httpx.get(f"{system.url(name)}/metrics", timeout=10).content
    for name in ("submission", "analysis"):
        kept[f"{name} feed"] = json.dumps(asyncio.run(system.feed(name)), ensure_ascii=False).encode()
    kept["topics"] = asyncio.run(topic_bytes(bootstrap, system.namespace))
    kept.update(documents(system, dashboard, scene.package_id))
    reporting = system.url("reporting")
    for path in (
        f"/v1/proposals/{scene.erased_id}/timeline",
        f"/v1/stats?consultation_id={scene.consultation_id}",
    ):
        kept[f"reporting {path}"] = httpx.get(f"{reporting}{path}", headers=dashboard, timeout=30).content
    applied = httpx.get(f"{reporting}/health").json()["events_applied"]
    kept["reporting /v1/stream"] = stream_bytes(system, dashboard, applied)
    queue = httpx.get(f"{system.url('analysis')}/v1/queue", headers=scene.tokens.header("lead", "lead-1"))
    kept["analysis /v1/queue"] = queue.content
    return kept


def aireg(scene: Scene, bootstrap: str, keys: KeyRing, *arguments: str) -> tuple[int, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "aireg_cli.main",
            *arguments,
            "--json",
            "--bootstrap",
            bootstrap,
            "--namespace",
            scene.system.namespace,
        ],
        capture_output=True,
        timeout=180,
        cwd=scene.system.folder,
    )
    assert completed.stdout, completed.stderr.decode()[-2000:]
    return completed.returncode, json.loads(completed.stdout)


def reporting_caught_up(system: System, bootstrap: str) -> bool:
    async def records() -> int:
        topics = Topics(system.namespace)
        return sum([1 async for _ in read_topics(bootstrap, [topics.submission, topics.analysis])])

    applied = httpx.get(f"{system.url('reporting')}/health").json()["events_applied"]
    return bool(applied == asyncio.run(records()))


# --- the test -------------------------------------------------------------------------------------


def test_an_erased_citizen_is_in_no_byte_the_system_keeps_and_an_upheld_dispute_leaves_the_counts(
    scene: Scene, kafka_bootstrap: str, keys: KeyRing
) -> None:
    system, admin = scene.system, scene.system.admin
    submission = system.url("submission")
    as_admin = httpx.get(f"{submission}/v1/proposals/{scene.erased_id}", headers=admin).json()
    assert as_admin["content"]["submitter"]["name"] == NAME, (
        "an admin reads the plain values while the key exists"
    )
    sealed = httpx.get(
        f"{submission}/v1/proposals/{scene.erased_id}",
        headers=scene.tokens.header("reviewer", "r", "ministry"),
    ).json()["content"]["submitter"]
    key_id = sealed["contact_email"]["sealed"].split(":")[1]
    [(key,)] = asyncio.run(
        system.rows("submission", "SELECT key FROM data_subject_key WHERE key_id = :k", k=key_id)
    )
    key = bytes(key)

    erasure = {"contact_email": EMAIL.upper(), "reason": "the citizen asked", "legal_basis": "152-FZ art. 21"}
    erased = httpx.post(f"{submission}/v1/personal-data/erasures", headers=admin, json=erasure)
    assert erased.status_code == 200, erased.text
    assert erased.json()["proposals"] == [scene.erased_id]
    again = httpx.post(f"{submission}/v1/personal-data/erasures", headers=admin, json=erasure)
    assert again.json() == erased.json()
    after = httpx.get(f"{submission}/v1/proposals/{scene.erased_id}", headers=admin).json()["content"][
        "submitter"
    ]
    assert after == {
        "name": {"erased": True},
        "kind": "citizen",
        "registration_number": {"erased": True},
        "contact_email": {"erased": True},
    }, "not even an admin reads it any more"

    # a complaint naming the erased citizen, on another proposal: recorded sealed, never in plain text
    dispute = httpx.post(
        f"{submission}/v1/proposals/{scene.disputed_id}/attribution-disputes",
        headers=admin,
        json={"complainant": NAME, "statement": f"I, {NAME} ({EMAIL}), never signed this for the union."},
    )
    assert dispute.status_code == 201, dispute.text
    reporting = system.url("reporting")
    dashboard = scene.tokens.header("dashboard", "wall")
    stats_url = f"{reporting}/v1/stats?consultation_id={scene.consultation_id}"
    wait_for(lambda: reporting_caught_up(system, kafka_bootstrap), "reporting applying every event")
    before = httpx.get(stats_url, headers=dashboard).json()
    resolved = httpx.post(
        f"{submission}/v1/attribution-disputes/{dispute.json()['dispute_id']}/resolution",
        headers=admin,
        json={"outcome": "upheld", "rationale": "The union could not show the consent."},
    )
    assert resolved.status_code == 200, resolved.text

    # the upheld dispute: misattributed everywhere, out of the counts and the queue, still in the log
    assert (
        httpx.get(f"{submission}/v1/proposals/{scene.disputed_id}", headers=admin).json()["status"]
        == "misattributed"
    )
    counted = wait_for(
        lambda: (
            (stats := httpx.get(stats_url, headers=dashboard).json())["by_status"].get("misattributed") == 1
            and stats
        ),
        "reporting counting the proposal as misattributed",
    )
    assert sum(counted["by_status"].values()) == sum(before["by_status"].values()) == 3
    assert counted["by_submitter_kind"]["non_profit"] == before["by_submitter_kind"]["non_profit"] - 1
    for direction in ("regulation_and_barriers", "information_security"):
        assert counted["by_direction"][direction] == before["by_direction"][direction] - 1
    lead = scene.tokens.header("lead", "lead-1")
    queue = wait_for(
        lambda: (
            (items := httpx.get(f"{system.url('analysis')}/v1/queue", headers=lead).json()["items"])
            and scene.disputed_id not in {item["proposal_id"] for item in items}
            and items
        ),
        "the analysis queue without the misattributed proposal",
    )
    assert {item["proposal_id"] for item in queue} >= {scene.erased_id}
    document = httpx.get(
        f"{reporting}/v1/packages/{scene.package_id}/document", params={"format": "json"}, headers=dashboard
    ).json()
    assert document["document"]["statistics"]["by_status"]["misattributed"] == 1
    markdown = httpx.get(
        f"{reporting}/v1/packages/{scene.package_id}/document", params={"format": "md"}, headers=dashboard
    ).text
    set_aside = catalogue("en").label("misattributed")
    assert f"| {set_aside} | 1 |" in markdown, "the document says how many were set aside so"
    stays = [
        item["event_type"]
        for item in asyncio.run(system.feed("submission"))
        if item["stream_id"] == scene.disputed_id
    ]
    assert stays == ["ProposalSubmitted", "AttributionDisputed", "AttributionDisputeResolved"]

    # no byte the system keeps holds the e-mail or the name
    wait_for(lambda: reporting_caught_up(system, kafka_bootstrap), "reporting applying every event")
    kept = everything(scene, kafka_bootstrap)
    assert len(kept) >= 20 and [where for where, data in kept.items() if not data] == [], sorted(kept)
    assert key_id.encode() in kept["topics"] and key_id.encode() in kept["submission feed"], (
        "the search reads the records: the sealed values (naming their destroyed key) are still there"
    )
    assert [leak for where, data in kept.items() for leak in leaks(where, data)] == []
    assert b"citizen" in kept["document.json"] and b"Union of Lawyers" in kept["reporting /v1/stream"], (
        "the search reads what readers see: a citizen shows as such, an organization by its name"
    )
    if system.backend == "sqlite":
        files = {where: data for where, data in kept.items() if where.startswith("submission submission.db")}
        assert files and not [where for where, data in files.items() if key in data], (
            "the key's bytes are gone"
        )
    else:
        assert key not in asyncio.run(postgres_key_pages(system.database_url("submission"))), (
            "the dead row version of the key was vacuumed away"
        )

    # the logs still verify, and the history says what was erased
    code, report = aireg(
        scene,
        kafka_bootstrap,
        keys,
        "audit",
        "verify",
        "--keys",
        str(keys.directory),
        "--submission-url",
        submission,
        "--analysis-url",
        system.url("analysis"),
    )
    assert (code, report["faults"]) == (0, [])
    code, history = aireg(scene, kafka_bootstrap, keys, "audit", "history", scene.erased_id)
    assert code == 0
    summaries = {entry["event_type"]: entry["summary"] for entry in history}
    assert "[erased]" in summaries["ProposalSubmitted"] and "[erased]" in summaries["PersonalDataErased"]
    assert "ProposalForwardedToGovernment" in summaries
    assert system.unhandled_errors() == []

    # the key table is no state: a rebuild gives the same state back and keeps the remaining keys
    keys_before = asyncio.run(
        system.rows("submission", "SELECT key_id FROM data_subject_key ORDER BY key_id")
    )
    assert len(keys_before) == 2, "the two organizations' subjects keep their keys"
    system["submission"].stop()
    code, rebuilt = aireg(
        scene,
        kafka_bootstrap,
        keys,
        "rebuild",
        "submission",
        "--database-url",
        system.database_url("submission"),
    )
    assert (code, rebuilt["identical"]) == (0, True), rebuilt
    assert (
        asyncio.run(system.rows("submission", "SELECT key_id FROM data_subject_key ORDER BY key_id"))
        == keys_before
    )
