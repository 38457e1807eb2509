# ruff: noqa: RUF001  (Russian text: Cyrillic letters that look Latin are meant)
"""The reporting service as a user meets it: a real process on a real port, fed real sealed events of
both producers through the real broker, on SQLite and on PostgreSQL. Its statistics, timelines,
deadlines, package documents and live stream are checked against what was sent; a rebuild from the
topics reaches the same state digest as the live projections.

One service per backend serves the tests of this module (starting one costs seconds); the tests that
add events use consultations of their own, and the rebuild, which stops the service, comes last.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy import text

from aireg_cli.keys import KeyRing
from aireg_events.canonical import canonical_json, format_timestamp
from aireg_events.catalogue.common import Outcome
from aireg_events.envelope import Envelope
from aireg_events.log.database import open_database
from aireg_events.topics import Topics
from aireg_reporting.rebuild import rebuild_from_topics, state_digest
from aireg_reporting.settings import Settings
from services.reporting.tests.chains import content, publish
from services.reporting.tests.scenario import Scenario, tell_the_call
from tests.support.databases import DatabaseFactory, backend_or_skip
from tests.support.services import ServiceProcess, service_process
from tests.support.sse import sse_events
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Live:
    backend: str
    process: ServiceProcess
    scenario: Scenario
    namespace: str
    bootstrap: str
    keys: KeyRing
    tokens: TokenFactory

    @property
    def database_url(self) -> str:
        return self.process.spec.env["DATABASE_URL"]

    @property
    def reader(self) -> dict[str, str]:
        return self.tokens.header("dashboard", name="wall-display")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.process.url, headers=self.reader, timeout=30)

    def published(self) -> list[Envelope]:
        return self.scenario.call.submission.envelopes + self.scenario.call.analysis.envelopes


async def applied_events(url: str) -> int:
    async with httpx.AsyncClient(base_url=url) as client:
        return int((await client.get("/health")).json().get("events_applied", 0))


@pytest.fixture(scope="module", params=BACKENDS)
def live(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    keys: KeyRing,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    backend = backend_or_skip(request.param)
    folder = tmp_path_factory.mktemp(f"reporting-{backend}")
    factory = DatabaseFactory(backend, folder)
    namespace = f"t{uuid.uuid4().hex[:12]}."
    scenario = tell_the_call(datetime.now(UTC).replace(microsecond=0))
    process = service_process(
        "reporting",
        database_url=factory.create("reporting"),
        bootstrap=kafka_bootstrap,
        keys=keys,
        namespace=namespace,
        log_dir=folder,
    )
    try:
        process.start()
        asyncio.run(scenario.call.publish(kafka_bootstrap, namespace))
        total = len(scenario.call.submission.envelopes) + len(scenario.call.analysis.envelopes)
        asyncio.run(eventually(lambda: applied_events(process.url), until=lambda count: count >= total))
        yield Live(backend, process, scenario, namespace, kafka_bootstrap, keys, tokens)
    finally:
        process.stop()
        factory.drop_all()


async def test_statistics_count_what_was_sent_by_status_direction_question_submitter_approach_and_cost(
    live: Live,
) -> None:
    scenario = live.scenario
    async with live.client() as client:
        response = await client.get("/v1/stats", params={"consultation_id": scenario.consultation_id})
    assert response.status_code == 200, response.text
    stats = response.json()
    active = [name for name in scenario.ids if name != "p3"]  # p3 was withdrawn
    contents = {name: scenario.final_content(name) for name in scenario.ids}

    def counted(values: Any) -> dict[str, int]:
        return {key: count for key, count in Counter(values).items()}

    def nonzero(figures: dict[str, int]) -> dict[str, int]:
        return {key: count for key, count in figures.items() if count}

    assert stats["proposals"] == 10
    assert stats["late_submissions"] == 1
    assert stats["by_status"] == {
        "submitted": 1,
        "under_review": 4,
        "rejected_as_duplicate": 1,
        "assessed": 0,
        "forwarded_to_government": 3,
        "withdrawn": 1,
        "misattributed": 0,
    }
    assert nonzero(stats["by_direction"]) == counted(d.value for n in active for d in contents[n].directions)
    assert nonzero(stats["by_question"]) == counted(q.value for n in active for q in contents[n].questions)
    assert nonzero(stats["by_submitter_kind"]) == counted(contents[n].submitter.kind.value for n in active)
    assert nonzero(stats["by_approach"]) == counted(contents[n].approach.value for n in active)
    assert nonzero(stats["by_cost_of_error"]) == counted(contents[n].cost_of_error.value for n in active)
    assert nonzero(stats["by_instrument"]) == counted(contents[n].instrument.value for n in active)
    positions: dict[str, Counter[str]] = {}
    for name in active:
        for question, position in contents[name].positions.items():
            positions.setdefault(question.value, Counter())[position.value] += 1
    assert {q: nonzero(p) for q, p in stats["positions"].items() if any(p.values())} == {
        q: dict(c) for q, c in positions.items()
    }
    assert set(stats["by_direction"]) == {
        "regulation_and_barriers",
        "infrastructure_and_datacenters",
        "data",
        "model_training",
        "information_security",
        "adoption",
        "support_measures",
    }, "every direction is named, with zeros"
    assert stats["outcomes"] == {
        "recommended": 1,
        "recommended_with_changes": 1,
        "not_recommended": 1,
        "merged": 1,
    }
    assert stats["campaigns"] == [
        {
            "campaign_id": "campaign-newsrooms",
            "size": 3,
            "representative": scenario.ids["p4"],
            "representative_registration_number": scenario.call.numbers[scenario.ids["p4"]],
            "representative_title": scenario.call.contents[scenario.ids["p4"]].title,
        }
    ]
    assert stats["reviews"] == 6
    assert stats["reviews_by_organization"] == {"ministry": 3, "analytical_center": 3}
    compliance = stats["deadline_compliance"]
    assert compliance["analysis"] | {"due_at": None} == {
        "due_at": None,
        "work": 6,
        "assessed_on_time": 3,
        "assessed_late": 1,
        "pending": 2,
        "overdue": 2,
    }
    assert compliance["analysis"]["due_at"] == format_timestamp(scenario.now - timedelta(days=3))
    assert compliance["forwarding"] | {"due_at": None} == {
        "due_at": None,
        "work": 3,
        "forwarded_on_time": 3,
        "forwarded_late": 0,
        "pending": 0,
        "overdue": 0,
    }


async def test_the_timeline_lists_every_event_of_a_proposal_from_both_producers_in_causal_order(
    live: Live,
) -> None:
    proposal_id = live.scenario.ids["p1"]

    def about(envelope: Envelope) -> bool:
        payload = envelope.payload
        return payload.get("proposal_id") == proposal_id or proposal_id in payload.get("proposal_ids", [])

    submission = [e for e in live.scenario.call.submission.envelopes if about(e)]
    analysis = [e for e in live.scenario.call.analysis.envelopes if about(e)]
    expected = submission + analysis  # the triage follows the submission it was caused by
    async with live.client() as client:
        first = await client.get(f"/v1/proposals/{proposal_id}/timeline", params={"limit": 4})
        assert first.status_code == 200, first.text
        rest = await client.get(
            f"/v1/proposals/{proposal_id}/timeline",
            params={"limit": 100, "cursor": first.json()["next_cursor"]},
        )
        missing = await client.get(f"/v1/proposals/{uuid.uuid4()}/timeline")
        in_russian = await client.get(
            f"/v1/proposals/{proposal_id}/timeline", params={"limit": 2}, headers={"Accept-Language": "ru"}
        )
    entries = first.json()["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert [entry["event_id"] for entry in entries] == [envelope.event_id for envelope in expected]
    assert entries[1]["occurred_at"] < entries[0]["occurred_at"], "the triage's clock was behind"
    for entry, envelope in zip(entries, expected, strict=True):
        assert entry["event_type"] == envelope.event_type
        assert entry["producer"] == envelope.producer
        assert entry["actor"] == envelope.actor.model_dump(mode="json")
        assert entry["occurred_at"] == format_timestamp(envelope.occurred_at)
        assert entry["summary"]
    submitted = entries[0]
    assert submitted["payload"]["registration_number"] == live.scenario.call.numbers[proposal_id]
    assert "text" not in submitted["payload"] and "contact_email" not in str(submitted["payload"])
    assert missing.status_code == 404 and missing.json()["error"] == "proposal_not_found"
    russian = in_russian.json()["items"]
    assert [entry["event_id"] for entry in russian] == [entry["event_id"] for entry in entries[:2]]
    number = live.scenario.call.numbers[proposal_id]
    assert entries[0]["summary"].startswith(f"Proposal {number} submitted")
    assert russian[0]["summary"].startswith(f"Предложение {number} подано")
    assert russian[1]["summary"].startswith("Первичная обработка: ")


async def test_an_analysis_event_that_arrives_before_its_submission_waits_and_the_figures_converge(
    live: Live,
) -> None:
    call, now = live.scenario.call, live.scenario.now
    start_submission, start_analysis = len(call.submission.envelopes), len(call.analysis.envelopes)
    consultation = call.open_consultation(
        "ORDER",
        at=now - timedelta(days=2),
        closes=now + timedelta(days=1),
        analysis_due=now + timedelta(days=2),
        forwarding_due=now + timedelta(days=3),
    )
    proposal = call.submit(consultation, content(title="Order does not matter"), at=now - timedelta(days=1))
    call.triage(proposal, at=now - timedelta(hours=20))
    call.assess(proposal, Outcome.recommended, at=now - timedelta(hours=10))
    topics = Topics(live.namespace)
    async with live.client() as client:
        await publish(live.bootstrap, topics.analysis, call.analysis.envelopes[start_analysis:])

        async def timeline() -> list[str]:
            response = await client.get(f"/v1/proposals/{proposal}/timeline")
            return (
                [item["event_type"] for item in response.json()["items"]]
                if response.status_code == 200
                else []
            )

        assert await eventually(timeline, until=lambda types: len(types) == 2) == [
            "ProposalTriaged",
            "ProposalAssessed",
        ]
        early = await client.get("/v1/stats", params={"consultation_id": consultation})
        assert early.status_code == 404, "nothing of this consultation is counted before its submissions"

        await publish(live.bootstrap, topics.submission, call.submission.envelopes[start_submission:])

        async def figures() -> dict[str, Any]:
            response = await client.get("/v1/stats", params={"consultation_id": consultation})
            return response.json() if response.status_code == 200 else {}

        stats = await eventually(figures, until=lambda found: found.get("proposals") == 1)
        assert stats["by_status"]["assessed"] == 1
        assert stats["deadline_compliance"]["analysis"]["assessed_on_time"] == 1
        assert await timeline() == ["ProposalSubmitted", "ProposalTriaged", "ProposalAssessed"]


async def test_an_event_delivered_twice_is_applied_once(live: Live) -> None:
    scenario = live.scenario
    again = scenario.call.submitted[scenario.ids["p9"]]

    async def duplicates() -> float:
        async with httpx.AsyncClient(base_url=live.process.url) as client:
            lines = (await client.get("/metrics")).text.splitlines()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in lines
            if line.startswith("aireg_inbox_duplicates_skipped_total{")
        )

    before = await duplicates()
    await publish(live.bootstrap, Topics(live.namespace).submission, [again])
    await eventually(duplicates, until=lambda count: count == before + 1)
    database = open_database(live.database_url)
    try:
        async with database.reader.connect() as connection:
            query = text("SELECT count(*) FROM received_event WHERE event_id = :event_id")
            assert (await connection.execute(query, {"event_id": again.event_id})).scalar_one() == 1
            query = text("SELECT count(*) FROM inbox WHERE event_id = :event_id")
            assert (await connection.execute(query, {"event_id": again.event_id})).scalar_one() == 1
    finally:
        await database.dispose()
    async with live.client() as client:
        stats = (await client.get("/v1/stats", params={"consultation_id": scenario.consultation_id})).json()
    assert stats["proposals"] == 10


async def test_deadlines_show_the_time_left_and_the_overdue_work(live: Live) -> None:
    scenario = live.scenario
    async with live.client() as client:
        response = await client.get("/v1/deadlines", params={"limit": 1000})
    assert response.status_code == 200, response.text
    [mine] = [
        item for item in response.json()["items"] if item["consultation_id"] == scenario.consultation_id
    ]
    deadlines = {deadline["name"]: deadline for deadline in mine["deadlines"]}
    assert deadlines["submission_closes_at"]["passed"] and deadlines["analysis_due_at"]["passed"]
    forwarding = deadlines["forwarding_due_at"]
    assert not forwarding["passed"]
    assert 9 * 86400 < forwarding["seconds_left"] <= 10 * 86400
    assert deadlines["analysis_due_at"]["seconds_left"] < 0
    assert mine["next_deadline"] == "forwarding_due_at"
    assert (mine["analysis"]["pending"], mine["analysis"]["overdue"]) == (2, 2)
    assert mine["forwarding"]["pending"] == 0


async def test_the_document_speaks_the_language_asked_for_then_accept_language_then_the_consultations(
    live: Live,
) -> None:
    path = f"/v1/packages/{live.scenario.package_id}/document"
    async with live.client() as client:
        default = await client.get(path, params={"format": "md"})
        asked = await client.get(path, params={"format": "md", "lang": "ru"})
        browser = await client.get(
            path, params={"format": "md"}, headers={"Accept-Language": "ru-RU,ru;q=0.9"}
        )
        both = await client.get(
            path, params={"format": "md", "lang": "en"}, headers={"Accept-Language": "ru-RU,ru;q=0.9"}
        )
        unknown = await client.get(path, params={"format": "md", "lang": "de"})
    assert default.headers["content-language"] == "en", "the consultation of the scenario is in English"
    assert "## Recommendations by direction and question" in default.text
    for russian in (asked, browser):
        assert russian.status_code == 200 and russian.headers["content-language"] == "ru"
        assert "## Предложения по направлениям и вопросам" in russian.text
    assert both.headers["content-language"] == "en", "lang wins over Accept-Language"
    assert len({answer.headers["x-aireg-document-sha256"] for answer in (default, asked, browser, both)}) == 1
    assert unknown.status_code == 422 and unknown.json()["error"] == "validation_failed"


async def test_the_deadline_view_shows_a_moscow_call_in_moscow_time(live: Live) -> None:
    call, now = live.scenario.call, live.scenario.now
    start = len(call.submission.envelopes)
    consultation = call.open_consultation(
        "MOSCOW",
        at=now - timedelta(days=1),
        closes=datetime(2027, 1, 20, 20, 59, 59, tzinfo=UTC),
        analysis_due=datetime(2027, 2, 28, 20, 59, 59, tzinfo=UTC),
        forwarding_due=datetime(2027, 3, 13, 20, 59, 59, tzinfo=UTC),
        time_zone="Europe/Moscow",
        language="ru",
    )
    await publish(live.bootstrap, Topics(live.namespace).submission, call.submission.envelopes[start:])

    async def moscow(**params: str) -> dict[str, Any]:
        async with live.client() as client:
            response = await client.get("/v1/deadlines", params={"limit": 1000, **params})
        items = [item for item in response.json()["items"] if item["consultation_id"] == consultation]
        return items[0] if items else {}

    russian = await eventually(moscow, until=bool)
    assert (russian["time_zone"], russian["language"]) == ("Europe/Moscow", "ru")
    closes = russian["deadlines"][0]
    assert closes["due_at"] == "2027-01-20T20:59:59.000000Z", "instants stay UTC in the API"
    assert closes["due_at_local"] == "2027-01-20T23:59:59+03:00"
    assert closes["due_text"] == "20 января 2027, 23:59 (МСК)", "without lang: the consultation's language"
    assert closes["label"] == "Приём предложений до"
    english = (await moscow(lang="en"))["deadlines"]
    assert [deadline["due_text"] for deadline in english] == [
        "20 January 2027, 23:59 (MSK)",
        "28 February 2027, 23:59 (MSK)",
        "13 March 2027, 23:59 (MSK)",
    ]


def first_page_as_png(pdf: Path) -> Path:
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "poppler-utils is missing: run scripts/system-deps.sh"
    stem = pdf.with_suffix("")
    subprocess.run(
        [pdftoppm, "-f", "1", "-l", "1", "-r", "60", "-png", "-singlefile", str(pdf), str(stem)],
        check=True,
        capture_output=True,
    )
    return stem.with_suffix(".png")


def _not_blank(png: Path) -> float:
    """The share of pixels that are not (nearly) white."""
    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    return sum(histogram[:235]) / sum(histogram)


async def test_the_package_document_in_every_format_carries_its_manifest(
    live: Live, artifacts_dir: Path
) -> None:
    scenario = live.scenario
    path = f"/v1/packages/{scenario.package_id}/document"
    async with live.client() as client:
        answers = {
            fmt: await client.get(path, params={"format": fmt})
            for fmt in ("json", "md", "html", "csv", "pdf")
        }
        portal = await client.get(path, headers=live.tokens.header("portal", name="portal-a"))
        unknown = await client.get(f"/v1/packages/{uuid.uuid4()}/document")
    for fmt, answer in answers.items():
        assert answer.status_code == 200, (fmt, answer.text[:500])
    body = answers["json"].json()
    manifest, document = body["manifest"], body["document"]
    digest = hashlib.sha256(canonical_json(document)).hexdigest()
    assert manifest["content_sha256"] == digest
    assert all(answer.headers["x-aireg-document-sha256"] == digest for answer in answers.values())
    consultation_events = {
        envelope.event_id
        for envelope in live.published()
        if envelope.payload.get("consultation_id") == scenario.consultation_id
    }
    assert set(manifest["event_ids"]) == consultation_events
    assert manifest["event_count"] == len(consultation_events)
    numbers = [entry["registration_number"] for entry in document["recommendations"]]
    assert numbers == [scenario.call.numbers[scenario.ids[name]] for name in ("p1", "p2", "p4")]
    p2 = document["recommendations"][1]
    assert p2["assessment_late"] and p2["reviews_summary"]["count"] == 2
    assert set(p2["event_ids"]) <= consultation_events
    assert document["statistics"]["late_submissions"] == 1
    assert document["package"]["status"] == "submitted"

    markdown = answers["md"].text
    assert digest in markdown and all(number in markdown for number in numbers)
    html = answers["html"].text
    assert html.count("<svg") == 2, "positions per question and proposals per direction"
    assert "Positions per question" in html and "Proposals per direction" in html
    assert "default-src 'none'" in answers["html"].headers["content-security-policy"]
    rows = answers["csv"].text.splitlines()
    assert rows[0].startswith("Record,Registration number") and rows[-1].startswith("manifest,")
    assert digest in rows[-1]
    assert answers["pdf"].content.startswith(b"%PDF")
    assert portal.status_code == 403 and unknown.status_code == 404

    stem = artifacts_dir / f"reporting-package-{live.backend}"
    for fmt, answer in answers.items():
        stem.with_suffix(f".{fmt}").write_bytes(answer.content)
    png = await asyncio.to_thread(first_page_as_png, stem.with_suffix(".pdf"))
    assert _not_blank(png) > 0.02, "the first page shows text and charts"


async def test_the_document_as_of_a_moment_is_rebuilt_from_the_events_up_to_then(live: Live) -> None:
    scenario = live.scenario
    path = f"/v1/packages/{scenario.package_id}/document"
    draft_moment = scenario.package_opened_at + timedelta(minutes=2, seconds=30)
    async with live.client() as client:
        draft = await client.get(path, params={"as_of": format_timestamp(draft_moment)})
        before = await client.get(
            path, params={"as_of": format_timestamp(scenario.package_opened_at - timedelta(hours=1))}
        )
        naive = await client.get(path, params={"as_of": "2030-01-01T00:00:00"})
        final = await client.get(path)
        again = await client.get(path, params={"as_of": final.json()["manifest"]["as_of"]})
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert body["document"]["package"]["status"] == "open"
    assert len(body["document"]["recommendations"]) == 2
    assert body["document"]["as_of"] == format_timestamp(draft_moment)
    moments = {e.event_id: e.occurred_at for e in live.published()}
    assert all(moments[event_id] <= draft_moment for event_id in body["manifest"]["event_ids"])
    assert before.status_code == 404 and before.json()["error"] == "package_not_found"
    assert naive.status_code == 422
    assert again.json()["manifest"]["content_sha256"] == final.json()["manifest"]["content_sha256"]


async def read_until(response: httpx.Response, event_ids: set[str]) -> list[dict[str, Any]]:
    """Read the stream until every one of ``event_ids`` was seen; every event read, in order."""
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        async for event in sse_events(response):
            seen.append(
                {"id": event.get("id"), "event": event.get("event", "message"), **orjson.loads(event["data"])}
            )
            if event_ids <= {item.get("event_id") for item in seen}:
                return

    await asyncio.wait_for(read(), timeout=30)
    return seen


async def test_a_resumed_stream_client_gets_exactly_the_events_it_missed(live: Live) -> None:
    call, now = live.scenario.call, live.scenario.now
    topics = Topics(live.namespace)

    def more_events(code: str) -> list[Envelope]:
        start = len(call.submission.envelopes)
        consultation = call.open_consultation(
            code,
            at=now - timedelta(days=1),
            closes=now + timedelta(days=5),
            analysis_due=now + timedelta(days=6),
            forwarding_due=now + timedelta(days=7),
        )
        for index in range(2):
            call.submit(
                consultation, content(title=f"{code} proposal {index}"), at=now - timedelta(hours=index + 1)
            )
        return call.submission.envelopes[start:]

    async with live.client() as client:
        async with client.stream("GET", "/v1/stream") as first:
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/event-stream")
            seen = more_events("SEEN")
            await publish(live.bootstrap, topics.submission, seen)
            received = await read_until(first, {envelope.event_id for envelope in seen})
        # three partitions: the events come in the order reporting applied them, not always as published
        assert sorted(event["event_id"] for event in received) == sorted(
            envelope.event_id for envelope in seen
        )
        last_id = received[-1]["id"]
        epoch, _, last_seq = last_id.rpartition("-")
        assert [event["id"] for event in received] == [f"{epoch}-{int(last_seq) - 2 + i}" for i in range(3)]

        missed = more_events("MISSED")
        await publish(live.bootstrap, topics.submission, missed)
        await eventually(
            lambda: applied_events(live.process.url), until=lambda count: count >= int(last_seq) + 3
        )
        async with client.stream("GET", "/v1/stream", headers={"Last-Event-ID": last_id}) as resumed:
            sentinel = more_events("AFTER")
            await publish(live.bootstrap, topics.submission, sentinel)
            again = await read_until(resumed, {envelope.event_id for envelope in sentinel})
    ids = [event["event_id"] for event in again]
    assert sorted(ids[:3]) == sorted(envelope.event_id for envelope in missed), "first what it missed"
    assert sorted(ids[3:]) == sorted(envelope.event_id for envelope in sentinel), (
        "then the new ones, once each"
    )
    assert [event["id"] for event in again] == [f"{epoch}-{int(last_seq) + 1 + i}" for i in range(6)]
    opened = next(event for event in again if event["event_type"] == "ConsultationOpened")
    assert opened["summary"].startswith("Consultation MISSED")
    assert opened["summaries"]["en"] == opened["summary"]
    assert opened["summaries"]["ru"].startswith("Консультация MISSED открыта: предложения принимаются до ")


async def test_portals_may_not_read_reports_and_a_request_without_a_token_is_unauthorized(live: Live) -> None:
    portal = live.tokens.header("portal", name="portal-a")
    scenario = live.scenario
    paths = [
        "/v1/stats",
        "/v1/deadlines",
        f"/v1/proposals/{scenario.ids['p1']}/timeline",
        f"/v1/packages/{scenario.package_id}/document",
        "/v1/stream",
    ]
    async with httpx.AsyncClient(base_url=live.process.url, timeout=30) as client:
        for path in paths:
            assert (await client.get(path, headers=portal)).status_code == 403, path
            anonymous = await client.get(path)
            assert anonymous.status_code == 401 and anonymous.json()["error"] == "missing_token", path
        for role in ("lead", "reviewer", "admin", "auditor"):
            assert (await client.get("/v1/stats", headers=live.tokens.header(role))).status_code == 200, role
        token = live.tokens("dashboard", name="wall")
        async with client.stream("GET", "/v1/stream", params={"token": token}) as stream:
            assert stream.status_code == 200, "an EventSource passes its token in the query"
        for role in ("lead", "reviewer", "admin", "auditor"):
            # Tokens that can change things (or read everything) never travel in a URL, where logs keep them.
            in_url = await client.get("/v1/stream", params={"token": live.tokens(role)})
            assert in_url.status_code == 401 and in_url.json()["error"] == "token_in_url", role
        page = await client.get("/dashboard")
    assert page.status_code == 200 and "script-src 'nonce-" in page.headers["content-security-policy"]


async def test_a_rebuild_from_the_topics_reaches_the_digest_of_the_live_projections(live: Live) -> None:
    database = open_database(live.database_url)
    try:
        live_digest = await state_digest(database)
        async with database.reader.connect() as connection:
            events = (await connection.execute(text("SELECT count(*) FROM received_event"))).scalar_one()
            epoch = (await connection.execute(text("SELECT value FROM stream_meta"))).scalar_one()
    finally:
        await database.dispose()
    live.process.stop()  # a rebuild runs with the service stopped
    settings = Settings(
        database_url=live.database_url,
        kafka_bootstrap_servers=live.bootstrap,
        topic_namespace=live.namespace,
        token_public_key_file=live.keys.token_public,
    )
    progress: list[tuple[int, int]] = []
    rebuilt = await rebuild_from_topics(settings, progress=lambda done, total: progress.append((done, total)))
    assert rebuilt == live_digest
    assert progress and progress[-1][0] == progress[-1][1] >= events
    database = open_database(live.database_url)
    try:
        assert await state_digest(database) == live_digest
        async with database.reader.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM inbox"))).scalar_one() == events
            assert (await connection.execute(text("SELECT value FROM stream_meta"))).scalar_one() != epoch
    finally:
        await database.dispose()
