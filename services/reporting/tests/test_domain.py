"""Reporting's pure rules, without I/O: the causal order, folds that do not care in which order events
arrive, the statistics of a call, and a package document that is the same for the same events."""

from __future__ import annotations

import csv
import io
import random
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aireg_events.canonical import canonical_json
from aireg_reporting import domain
from aireg_reporting.document.content import PackageNotFound, build_document, content_sha256
from aireg_reporting.document.html import render_html
from aireg_reporting.document.markdown import render_markdown
from aireg_reporting.document.pdf import render_pdf, unicode_font
from aireg_reporting.document.table import render_csv
from aireg_reporting.domain import Received
from aireg_reporting.statistics import tally
from aireg_reporting.store import ConsultationRow, ProposalRow
from services.reporting.tests.chains import content
from services.reporting.tests.scenario import Scenario, tell_the_call

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
        "p7": "rejected_as_duplicate",
        "p8": "under_review",
        "p9": "submitted",
        "p10": "assessed",
    }


def test_the_statistics_of_the_call_count_what_was_sent(scenario: Scenario) -> None:
    rows = [ProposalRow(**state.columns()) for state in domain.fold_consultation(received(scenario)).values()]
    deadlines = {
        scenario.consultation_id: ConsultationRow(
            consultation_id=scenario.consultation_id,
            code="AI-2030",
            title="t",
            submission_closes_at=NOW - timedelta(days=10),
            analysis_due_at=NOW - timedelta(days=3),
            forwarding_due_at=NOW + timedelta(days=10),
        )
    }
    stats = tally(rows, [], deadlines, now=NOW, consultation_id=scenario.consultation_id)
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


def link(
    position: int,
    proposal: str,
    *,
    released: bool,
    campaign_id: str | None = None,
    merged_campaigns: tuple[str, ...] = (),
    grouped_with: tuple[str, ...] = (),
    exact_duplicate_of: str | None = None,
    exact_duplicates: tuple[str, ...] = (),
) -> domain.TriageLink:
    return domain.TriageLink(
        log_position=position,
        event_id=f"e{position}",
        proposal_id=proposal,
        released=released,
        campaign_id=campaign_id,
        merged_campaigns=merged_campaigns,
        grouped_with=grouped_with,
        exact_duplicate_of=exact_duplicate_of,
        exact_duplicates=exact_duplicates,
    )


def test_campaigns_and_duplicates_follow_the_analysis_log_whatever_order_triage_arrives_in() -> None:
    received_at = {name: NOW + timedelta(minutes=index) for index, name in enumerate("abcdefgh")}
    links = [
        link(1, "b", released=False, campaign_id="C1", grouped_with=("a",)),
        link(2, "d", released=False, campaign_id="C2", grouped_with=("c",)),
        link(3, "e", released=False, campaign_id="C1", merged_campaigns=("C2",)),
        link(4, "f", released=False, exact_duplicates=("g",)),
        link(5, "g", released=False, exact_duplicate_of="h"),
        link(6, "c", released=True),
    ]
    expected = domain.Grouping(
        campaign_of={"a": "C1", "b": "C1", "d": "C1", "e": "C1"},
        representatives={"C1": "a"},
        duplicate_of={"g": "h"},
    )
    for seed in range(10):
        shuffled = list(links)
        random.Random(seed).shuffle(shuffled)
        assert domain.group(shuffled, received_at=received_at, withdrawn=set()) == expected
    withdrawn = domain.group(links, received_at=received_at, withdrawn={"a"})
    assert withdrawn.representatives == {"C1": "b"}, "the first received of those still in it"
    two = domain.group(links[:2], received_at=received_at, withdrawn={"a"})
    assert two.campaign_of == {"c": "C2", "d": "C2"}, "a campaign of one is no campaign"


def replayed_literally(
    links: list[domain.TriageLink], received_at: dict[str, datetime], withdrawn: set[str]
) -> domain.Grouping:
    """The replay as the analysis service states it, step by step over every proposal (slow, plain):
    what :func:`domain.group` must give, however it gets there."""
    campaign_of: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}

    def dissolve_singletons() -> None:
        sizes = Counter(campaign_of.values())
        for proposal_id, campaign in list(campaign_of.items()):
            if sizes[campaign] < 2:
                del campaign_of[proposal_id]

    for link in sorted(links, key=lambda link: (link.log_position, link.event_id)):
        subject = link.proposal_id
        if link.released:
            campaign_of.pop(subject, None)
        else:
            if link.exact_duplicate_of is not None:
                duplicate_of[subject] = link.exact_duplicate_of
            else:
                duplicate_of.pop(subject, None)
            for duplicate in link.exact_duplicates:
                duplicate_of[duplicate] = subject
            current = campaign_of.get(subject)
            if current is not None and current not in (link.campaign_id, *link.merged_campaigns):
                del campaign_of[subject]
            if link.campaign_id is not None:
                for proposal_id, campaign in list(campaign_of.items()):
                    if campaign in link.merged_campaigns:
                        campaign_of[proposal_id] = link.campaign_id
                campaign_of[subject] = link.campaign_id
                for proposal_id in link.grouped_with:
                    campaign_of[proposal_id] = link.campaign_id
        dissolve_singletons()
    for proposal_id in withdrawn:
        campaign_of.pop(proposal_id, None)
    dissolve_singletons()
    members: dict[str, list[tuple[datetime, str]]] = {}
    for proposal_id, campaign in campaign_of.items():
        members.setdefault(campaign, []).append((received_at[proposal_id], proposal_id))
    return domain.Grouping(
        campaign_of, {campaign: min(entries)[1] for campaign, entries in members.items()}, duplicate_of
    )


_PROPOSALS = st.sampled_from("abcdefg")
_CAMPAIGNS = st.sampled_from(["C1", "C2", "C3"])


@st.composite
def _links(draw: st.DrawFn) -> list[domain.TriageLink]:
    links = []
    for position in range(1, draw(st.integers(0, 14)) + 1):
        subject = draw(_PROPOSALS)
        if draw(st.integers(0, 4)) == 0:
            links.append(link(position, subject, released=True))
            continue
        campaign = draw(st.none() | _CAMPAIGNS)
        links.append(
            link(
                position,
                subject,
                released=False,
                campaign_id=campaign,
                merged_campaigns=tuple(draw(st.lists(_CAMPAIGNS, max_size=2))) if campaign else (),
                grouped_with=tuple(draw(st.lists(_PROPOSALS, max_size=3))) if campaign else (),
                exact_duplicate_of=draw(st.none() | _PROPOSALS),
                exact_duplicates=tuple(draw(st.lists(_PROPOSALS, max_size=2))),
            )
        )
    return links


@settings(max_examples=400, deadline=None)
@given(_links(), st.sets(_PROPOSALS))
def test_campaigns_are_what_a_step_by_step_replay_of_the_analysis_log_makes_them(
    links: list[domain.TriageLink], withdrawn: set[str]
) -> None:
    received_at = {name: NOW + timedelta(minutes=index) for index, name in enumerate("gfedcba")}
    assert domain.group(links, received_at=received_at, withdrawn=withdrawn) == replayed_literally(
        links, received_at, withdrawn
    )
