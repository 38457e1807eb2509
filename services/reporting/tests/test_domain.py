"""Reporting's pure rules, without I/O: the causal order, folds that do not care in which order events
arrive, the statistics of a call, and a package document that is the same for the same events."""

from __future__ import annotations

import csv
import io
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aireg_events.campaigns import GroupFacts
from aireg_events.canonical import canonical_json
from aireg_reporting import domain
from aireg_reporting.document.content import PackageNotFound, build_document, content_sha256
from aireg_reporting.document.html import render_html
from aireg_reporting.document.markdown import render_markdown
from aireg_reporting.document.pdf import render_pdf, unicode_font
from aireg_reporting.document.table import render_csv
from aireg_reporting.domain import Received
from aireg_reporting.statistics import campaigns_of, tally
from aireg_reporting.tables import ReportedConsultationRow, ReportedProposalRow
from services.reporting.tests.chains import content
from services.reporting.tests.scenario import (
    Scenario,
    replayed_literally,
    tell_random_grouping,
    tell_the_call,
)

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return tell_the_call(NOW)


def received(scenario: Scenario) -> list[Received]:
    envelopes = scenario.call.submission.envelopes + scenario.call.analysis.envelopes
    return [Received.parse(envelope.to_canonical()) for envelope in envelopes]


def of_proposal(items: list[Received], proposal_id: str) -> list[Received]:
    return [item for item in items if proposal_id in domain.proposals_of(item.event)]


def test_the_causal_order_puts_an_event_after_its_cause_even_when_its_clock_is_behind(
    scenario: Scenario,
) -> None:
    p1 = of_proposal(received(scenario), scenario.ids["p1"])
    triage = next(item for item in p1 if item.envelope.event_type == "ProposalTriaged")
    submitted = next(item for item in p1 if item.envelope.event_type == "ProposalSubmitted")
    assert triage.occurred_at < submitted.occurred_at, "the scenario skews the analysis clock"
    ordered = [item.envelope.event_type for item in domain.causal_order(reversed(p1))]
    assert ordered == [
        "ProposalSubmitted",
        "ProposalTriaged",
        "ReviewerAssigned",
        "ReviewerAssigned",
        "ReviewSubmitted",
        "ReviewSubmitted",
        "ProposalAssessed",
        "ProposalAddedToPackage",
        "ProposalForwardedToGovernment",
        "GovernmentPackageSubmitted",
    ]


def test_a_call_folds_to_the_same_state_whatever_order_its_events_arrive_in(scenario: Scenario) -> None:
    items = received(scenario)
    expected = {key: state.columns() for key, state in domain.fold_consultation(items).items()}
    assert len(expected) == 10
    shuffler = random.Random(7)
    for _ in range(25):
        shuffled = list(items)
        shuffler.shuffle(shuffled)
        assert {key: state.columns() for key, state in domain.fold_consultation(shuffled).items()} == expected


def test_a_proposal_whose_submission_has_not_arrived_is_not_counted_yet(scenario: Scenario) -> None:
    p2 = of_proposal(received(scenario), scenario.ids["p2"])
    analysis_only = [item for item in p2 if item.envelope.producer == "analysis"]
    assert scenario.ids["p2"] not in domain.fold_consultation(analysis_only)
    state = domain.fold_consultation(p2)[scenario.ids["p2"]]
    assert state.status == "forwarded_to_government" and state.assessment_late


def test_statuses_follow_the_events_of_both_producers(scenario: Scenario) -> None:
    states = domain.fold_consultation(received(scenario))
    statuses = {name: states[proposal_id].status for name, proposal_id in scenario.ids.items()}
    assert statuses == {
        "p1": "forwarded_to_government",
        "p2": "forwarded_to_government",
        "p3": "withdrawn",
        "p4": "forwarded_to_government",
        "p5": "under_review",
        "p6": "under_review",
        "p7": "under_review",
        "p8": "under_review",
        "p9": "submitted",
        "p10": "rejected_as_duplicate",
    }, "triage only flags p7 as a duplicate; the lead merged p10 into p1"


def test_the_statistics_of_the_call_count_what_was_sent(scenario: Scenario) -> None:
    states = domain.fold_consultation(received(scenario)).values()
    rows = [ReportedProposalRow(**state.columns()) for state in states]
    deadlines = {
        scenario.consultation_id: ReportedConsultationRow(
            consultation_id=scenario.consultation_id,
            code="AI-2030",
            title="t",
            submission_closes_at=NOW - timedelta(days=10),
            analysis_due_at=NOW - timedelta(days=3),
            forwarding_due_at=NOW + timedelta(days=10),
        )
    }
    stats = tally(
        rows, [], deadlines, now=NOW, consultation_id=scenario.consultation_id, campaigns=campaigns_of(states)
    )
    assert stats.proposals == 10 and stats.late_submissions == 1
    assert stats.by_direction["data"] == 3, "p1, p7 and p10 (amended to add adoption)"
    assert stats.by_direction["adoption"] == 1, "p3 is withdrawn; p10 added it"
    assert stats.positions["definition_and_liability"] == {"support": 2, "oppose": 1, "conditional": 0}
    assert [(c.campaign_id, c.size, c.representative) for c in stats.campaigns] == [
        ("campaign-newsrooms", 3, scenario.ids["p4"])
    ]
    analysis = stats.deadline_compliance.analysis
    assert (analysis.work, analysis.assessed_on_time, analysis.assessed_late) == (6, 3, 1)
    assert (analysis.pending, analysis.overdue) == (2, 2)
    forwarding = stats.deadline_compliance.forwarding
    assert (forwarding.work, forwarding.forwarded_on_time, forwarding.pending) == (3, 3, 0)


def test_the_document_is_the_same_for_the_same_events_whatever_their_order(scenario: Scenario) -> None:
    items = received(scenario)
    first = build_document(scenario.package_id, items)
    shuffled = list(items)
    random.Random(3).shuffle(shuffled)
    second = build_document(scenario.package_id, shuffled)
    assert canonical_json(first.model_dump(mode="json")) == canonical_json(second.model_dump(mode="json"))
    assert first.manifest.content_sha256 == content_sha256(first.document)
    assert first.manifest.event_ids == sorted(item.event_id for item in items)
    assert [entry.registration_number for entry in first.document.recommendations] == [
        scenario.call.numbers[scenario.ids[name]] for name in ("p1", "p2", "p4")
    ], "grouped by first direction: regulation and barriers, model training, support measures"
    again = build_document(scenario.package_id, items, as_of=first.manifest.as_of)
    assert again.manifest.content_sha256 == first.manifest.content_sha256, (
        "as_of names the moment it stands at"
    )


def test_the_document_as_of_a_moment_shows_the_package_as_it_stood_then(scenario: Scenario) -> None:
    items = received(scenario)
    with pytest.raises(PackageNotFound):
        build_document(scenario.package_id, items, as_of=scenario.package_opened_at - timedelta(seconds=1))
    draft = build_document(
        scenario.package_id, items, as_of=scenario.package_opened_at + timedelta(minutes=2, seconds=30)
    )
    assert draft.document.package.status == "open"
    assert len(draft.document.recommendations) == 2, "two of the three were added by then"
    assert draft.document.statistics.by_status["forwarded_to_government"] == 0
    assert set(draft.manifest.event_ids) < {item.event_id for item in items}
    final = build_document(scenario.package_id, items)
    assert final.document.package.status == "submitted"
    assert final.manifest.content_sha256 != draft.manifest.content_sha256


def test_every_rendering_carries_the_manifest_and_labels_late_submissions(scenario: Scenario) -> None:
    document = build_document(scenario.package_id, received(scenario))
    digest = document.manifest.content_sha256
    markdown = render_markdown(document, "en")
    assert digest in markdown and scenario.call.numbers[scenario.ids["p1"]] in markdown
    assert all(event_id in markdown for event_id in document.manifest.event_ids)
    html = render_html(document, "en")
    assert html.count("<svg") == 2 and digest in html and "<script" not in html
    rows = list(csv.DictReader(io.StringIO(render_csv(document, "en"))))
    assert [row["Record"] for row in rows] == ["recommendation"] * 3 + ["manifest"]
    assert rows[-1]["Content SHA-256"] == digest
    assert rows[0]["Event ids"].split() == document.document.recommendations[0].event_ids
    assert render_pdf(document, "en").startswith(b"%PDF")


def test_user_text_cannot_change_the_structure_of_the_markdown_or_html() -> None:
    from aireg_reporting.document.markdown import md

    assert md("# heading | cell\n<script>") == "\\# heading \\| cell \\<script\\>"
    spec = content(title="<script>alert(1)</script>", name='=HYPERLINK("x")')
    assert spec.title == "<script>alert(1)</script>"


@pytest.mark.skipif(
    shutil.which("pdftotext") is None or unicode_font() is None, reason="needs poppler and a font"
)
def test_the_pdf_shows_names_in_any_script(scenario: Scenario, tmp_path: Path) -> None:
    from services.reporting.tests.chains import Call

    call = Call()
    consultation = call.open_consultation(
        "AI-RU", at=NOW - timedelta(days=9), closes=NOW, analysis_due=NOW, forwarding_due=NOW
    )
    proposal = call.submit(
        consultation,
        content(title="Определение ИИ в законе", name="Ассоциация разработчиков"),
        at=NOW - timedelta(days=8),
    )
    package = call.open_package(consultation, "Предложения правительству", at=NOW - timedelta(days=1))
    call.add_to_package(package, proposal, at=NOW - timedelta(hours=20))
    items = [Received.parse(e.to_canonical()) for e in call.submission.envelopes + call.analysis.envelopes]
    path = tmp_path / "cyrillic.pdf"
    path.write_bytes(render_pdf(build_document(package, items), "ru"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Ассоциация разработчиков" in text and "Предложения правительству" in text


def test_campaigns_and_duplicates_follow_the_analysis_log_whatever_order_triage_arrives_in() -> None:
    """The campaign book folds analysis's decisions (places, merges by union, releases, duplicates,
    withdrawals) to what a literal replay of the analysis log gives, whatever order they arrive in."""
    for seed in range(200):
        told = tell_random_grouping(seed, NOW)
        items = [
            Received.parse(e.to_canonical())
            for e in told.call.submission.envelopes + told.call.analysis.envelopes
        ]
        replayed = replayed_literally(items)
        for order in range(3):
            random.Random(order).shuffle(items)
            states = domain.fold_consultation(items)
            folded = {
                key: GroupFacts(state.campaign_id, state.campaign_representative, state.exact_duplicate_of)
                for key, state in states.items()
            }
            assert folded == {key: replayed.get(key, GroupFacts()) for key in folded}, f"seed {seed}"
