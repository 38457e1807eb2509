"""The call the reporting tests tell: ten proposals of one consultation taken through every outcome,
relative to a given ``now`` (proposals closed ten days ago, the analysis was due three days ago, the
forwarding is due in ten days).

| proposal | what happens |
| --- | --- |
| p1 | triaged (the analysis clock two seconds behind), two reviews, recommended on time, forwarded |
| p2 | recommended with changes after the analysis deadline, forwarded |
| p3 | withdrawn |
| p4 | a campaign's representative (grouped by p5's triage), not recommended on time, forwarded |
| p5, p6 | members of p4's campaign |
| p7 | an exact duplicate of p1 |
| p8 | submitted late, triaged, a reviewer assigned, not assessed (overdue) |
| p9 | only submitted (overdue) |
| p10 | amended (a second direction and a position), merged into p1 |
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aireg_events.campaigns import GroupFacts
from aireg_events.catalogue.analysis import ProposalReleasedFromCampaign, ProposalTriaged
from aireg_events.catalogue.common import Organization, Outcome, Recommendation
from aireg_events.catalogue.submission import ProposalContent, ProposalSubmitted, ProposalWithdrawn
from aireg_reporting.domain import Received
from services.reporting.tests.chains import LEAD, Call, content, days


@dataclass
class Scenario:
    call: Call
    now: datetime
    consultation_id: str
    package_id: str
    ids: dict[str, str]
    """p1..p10 → proposal id."""
    package_opened_at: datetime
    package_submitted_at: datetime
    before_assessments: datetime
    """A moment after every submission and before any assessment (for ``as_of``)."""

    def final_content(self, name: str) -> ProposalContent:
        return self.call.contents[self.ids[name]]


def tell_the_call(
    now: datetime, code: str = "AI-2030", *, time_zone: str = "UTC", language: str = "en"
) -> Scenario:
    call = Call()
    opens = now - days(20)
    consultation_id = call.open_consultation(
        code,
        at=opens,
        closes=now - days(10),
        analysis_due=now - days(3),
        forwarding_due=now + days(10),
        time_zone=time_zone,
        language=language,
    )
    at = opens + timedelta(hours=1)

    def tick(hours: float = 1) -> datetime:
        nonlocal at
        at = at + timedelta(hours=hours)
        return at

    proposals = {
        "p1": content(
            title="A definition of AI in federal law",
            kind="business",
            name="Northwind Analytics",
            directions=["regulation_and_barriers", "data"],
            questions=["definition_and_liability", "training_data"],
            positions={"definition_and_liability": "support", "training_data": "conditional"},
            instrument="federal_law",
            approach="targeted",
            cost_of_error="high",
            areas=["finance"],
        ),
        "p2": content(
            title="Certify training data sets",
            kind="academia",
            name="Institute of Applied Mathematics",
            directions=["model_training"],
            questions=["training_data"],
            positions={"training_data": "oppose"},
            instrument="technical_standard",
            approach="comprehensive",
            cost_of_error="critical",
            areas=["healthcare", "education"],
        ),
        "p3": content(
            title="Leave chat bots alone",
            kind="citizen",
            name="Ivan Petrov",
            directions=["adoption"],
            questions=["other"],
            instrument="none",
            approach="mixed",
            cost_of_error="low",
        ),
    }
    campaign_letter: dict[str, Any] = {
        "kind": "non_profit",
        "directions": ["support_measures"],
        "questions": ["permitted_areas"],
        "positions": {"permitted_areas": "oppose"},
        "instrument": "self_regulation",
        "approach": "targeted",
        "cost_of_error": "medium",
        "areas": ["media"],
    }
    for name in ("p4", "p5", "p6"):
        proposals[name] = content(
            title="Keep AI out of the newsrooms", name=f"Media union {name}", **campaign_letter
        )
    proposals["p7"] = proposals["p1"]
    proposals["p8"] = content(
        title="Sovereign models for the state",
        kind="government_body",
        name="Regional Digital Office",
        directions=["information_security", "support_measures"],
        questions=["sovereign_and_foreign_models", "quality_and_certification"],
        positions={"sovereign_and_foreign_models": "support", "quality_and_certification": "support"},
        instrument="government_decree",
        approach="comprehensive",
        cost_of_error="critical",
        areas=["public_administration", "defence"],
    )
    proposals["p9"] = content(
        title="Data centres need cheap power",
        kind="industry_association",
        name="Association of Data Centres",
        directions=["infrastructure_and_datacenters"],
        questions=["permitted_areas"],
        positions={"permitted_areas": "conditional"},
        instrument="government_decree",
        approach="targeted",
        cost_of_error="low",
        areas=["industry"],
    )
    proposals["p10"] = content(
        title="Liability stays with the user",
        kind="expert_community",
        name="Bar Association AI group",
        directions=["data"],
        questions=["definition_and_liability"],
        instrument="experimental_legal_regime",
        approach="mixed",
        cost_of_error="medium",
        areas=["transport"],
    )

    ids: dict[str, str] = {}
    for name in ("p1", "p2", "p3", "p4", "p5", "p6", "p7", "p9", "p10"):
        ids[name] = call.submit(consultation_id, proposals[name], at=tick())
    amended = content(
        title="Liability stays with the user",
        kind="expert_community",
        name="Bar Association AI group",
        directions=["data", "adoption"],
        questions=["definition_and_liability"],
        positions={"definition_and_liability": "oppose"},
        instrument="experimental_legal_regime",
        approach="mixed",
        cost_of_error="medium",
        areas=["transport"],
    )
    call.amend(ids["p10"], amended, at=tick(), changes={"directions": ["data", "adoption"]})
    call.withdraw(ids["p3"], at=tick())
    ids["p8"] = call.submit(consultation_id, proposals["p8"], at=now - days(9), late=True)
    before_assessments = now - days(8)

    # The analysis service's clock is two seconds behind: its triage of p1 carries an earlier time
    # than the submission it follows, and only the causation puts it after.
    call.triage(ids["p1"], at=call.submitted[ids["p1"]].occurred_at - timedelta(seconds=2))
    call.triage(ids["p2"], at=tick())
    # p4 has no near-duplicate when triaged; p5 finds it and starts the campaign; p6 joins.
    call.triage(ids["p4"], at=tick())
    call.triage(
        ids["p5"],
        at=tick(),
        campaign="campaign-newsrooms",
        representative=ids["p4"],
        grouped_with=[ids["p4"]],
    )
    call.triage(ids["p6"], at=tick(), campaign="campaign-newsrooms", representative=ids["p4"])
    call.triage(ids["p7"], at=tick(), duplicate_of=ids["p1"])
    call.triage(ids["p10"], at=tick())
    call.triage(ids["p8"], at=now - days(8) - timedelta(hours=12))
    call.assign(ids["p8"], "reviewer-orlov", Organization.ministry, at=now - days(7))

    for name in ("p1", "p2", "p4"):
        call.assign(ids[name], "reviewer-orlov", Organization.ministry, at=now - days(7))
        call.assign(ids[name], "reviewer-chen", Organization.analytical_center, at=now - days(7))
    reviews = {}
    for name in ("p1", "p2", "p4"):
        first = call.review(
            ids[name],
            "reviewer-orlov",
            Organization.ministry,
            Recommendation.support,
            at=now - days(6),
            scores=(5, 4, 4, 3),
        )
        second = call.review(
            ids[name],
            "reviewer-chen",
            Organization.analytical_center,
            Recommendation.support_with_changes,
            at=now - days(6) + timedelta(hours=2),
            scores=(4, 3, 5, 4),
        )
        reviews[name] = [str(first.payload["review_id"]), str(second.payload["review_id"])]
    call.assess(ids["p1"], Outcome.recommended, at=now - days(5), review_ids=reviews["p1"])
    call.assess(
        ids["p4"], Outcome.not_recommended, at=now - days(4) - timedelta(hours=12), review_ids=reviews["p4"]
    )
    call.assess(ids["p10"], Outcome.merged, at=now - days(4), merged_into=ids["p1"])
    call.assess(
        ids["p2"], Outcome.recommended_with_changes, at=now - days(2), late=True, review_ids=reviews["p2"]
    )

    package_opened_at = now - days(1) - timedelta(hours=12)
    title = "Recommendations on the regulation of AI, first call"
    package_id = call.open_package(consultation_id, title, at=package_opened_at)
    for offset, name in enumerate(("p1", "p2", "p4")):
        call.add_to_package(package_id, ids[name], at=package_opened_at + timedelta(minutes=offset + 1))
    package_submitted_at = now - days(1)
    call.submit_package(package_id, title, [ids["p1"], ids["p2"], ids["p4"]], at=package_submitted_at)
    return Scenario(
        call=call,
        now=now,
        consultation_id=consultation_id,
        package_id=package_id,
        ids=ids,
        package_opened_at=package_opened_at,
        package_submitted_at=package_submitted_at,
        before_assessments=before_assessments,
    )


@dataclass
class Campaigns:
    call: Call
    consultation_id: str
    ids: dict[str, str]


def tell_the_campaigns(now: datetime) -> Campaigns:
    """A consultation where triage groups, merges, releases and finds exact duplicates late:

    q1 and q2 start campaign A (q2's triage groups q1); q3 and q4 start campaign B; q5's triage
    merges B into A; q6 is released from A by a lead; q7 is triaged before q8, which came first with the
    same text, so q8's triage names q7 an exact duplicate of it; q2 is withdrawn.
    """
    call = Call()
    consultation_id = call.open_consultation(
        "CAMPAIGNS",
        at=now - days(10),
        closes=now - days(1),
        analysis_due=now + days(5),
        forwarding_due=now + days(9),
    )
    letter = content(title="One form letter", kind="citizen", name="A citizen")
    ids: dict[str, str] = {}
    for index in range(1, 9):
        ids[f"q{index}"] = call.submit(consultation_id, letter, at=now - days(9) + timedelta(hours=index))
    call.triage(ids["q1"], at=now - days(8))
    call.triage(ids["q2"], at=now - days(8) + timedelta(minutes=1), campaign="A", grouped_with=[ids["q1"]])
    call.triage(ids["q3"], at=now - days(8) + timedelta(minutes=2))
    call.triage(ids["q4"], at=now - days(8) + timedelta(minutes=3), campaign="B", grouped_with=[ids["q3"]])
    call.triage(ids["q6"], at=now - days(8) + timedelta(minutes=4), campaign="A")
    call.triage(ids["q5"], at=now - days(8) + timedelta(minutes=5), campaign="A", merged_campaigns=["B"])
    call.analysis.append(
        ProposalReleasedFromCampaign(
            proposal_id=ids["q6"], consultation_id=consultation_id, campaign_id="A", reason="a different ask"
        ),
        at=now - days(7),
        actor=LEAD,
    )
    call.triage(ids["q7"], at=now - days(7) + timedelta(minutes=1))
    call.triage(ids["q8"], at=now - days(7) + timedelta(minutes=2), exact_duplicates=[ids["q7"]])
    call.withdraw(ids["q2"], at=now - days(6))
    return Campaigns(call, consultation_id, ids)


def tell_random_grouping(seed: int, now: datetime) -> Campaigns:
    """A consultation of a few proposals (one form letter, received in a random order) where triage,
    releases and withdrawals follow one another at random: campaigns formed, joined, merged, left and
    dissolved, exact duplicates named and taken back, proposals withdrawn. As analysis decides them: a
    triage names only campaigns that exist (two members or more, not merged away) or a new one, groups
    only proposals in no campaign, and a release takes a proposal out of the campaign it is in."""
    rng = random.Random(seed)
    call = Call()
    consultation_id = call.open_consultation(
        f"RANDOM-{seed}",
        at=now - days(10),
        closes=now - days(1),
        analysis_due=now + days(5),
        forwarding_due=now + days(9),
    )
    letter = content(title="One form letter", kind="citizen", name="A citizen")
    ids: dict[str, str] = {}
    for index in range(1, rng.randint(3, 8) + 1):
        received = now - days(9) + timedelta(minutes=rng.randint(0, 600))
        ids[f"q{index}"] = call.submit(consultation_id, letter, at=received)
    proposals = list(ids.values())
    campaign_of: dict[str, str] = {}  # as analysis sees it (a withdrawal may reach it any time later)
    fresh = iter(f"C{number}" for number in range(1, 100))
    withdrawn: set[str] = set()
    at = now - days(8)

    def live() -> list[str]:
        sizes = Counter(campaign_of.values())
        return sorted(campaign for campaign, size in sizes.items() if size >= 2)

    def dissolve() -> None:
        for proposal_id in [key for key, campaign in campaign_of.items() if campaign not in live()]:
            del campaign_of[proposal_id]

    for _ in range(rng.randint(3, 16)):
        at += timedelta(minutes=1)
        proposal_id = rng.choice(proposals)
        others = [other for other in proposals if other != proposal_id]
        roll = rng.random()
        if roll < 0.65:
            campaigns = live()
            campaign = rng.choice([None, None, *campaigns, next(fresh)])
            merged = (
                rng.sample(
                    [c for c in campaigns if c != campaign],
                    min(rng.randint(0, 1), len(campaigns) - (campaign in campaigns)),
                )
                if campaign
                else []
            )
            free = [other for other in others if other not in campaign_of]
            grouped = rng.sample(free, min(len(free), rng.randint(0, 2))) if campaign else []
            call.triage(
                proposal_id,
                at=at,
                campaign=campaign,
                grouped_with=grouped,
                merged_campaigns=merged,
                duplicate_of=rng.choice(others) if rng.random() < 0.2 else None,
                exact_duplicates=rng.sample(others, 1) if rng.random() < 0.2 else [],
            )
            campaign_of.pop(proposal_id, None)
            if campaign is not None:
                for member, named in list(campaign_of.items()):
                    if named in merged:
                        campaign_of[member] = campaign
                for member in [proposal_id, *grouped]:
                    campaign_of[member] = campaign
            dissolve()
        elif roll < 0.85:
            if proposal_id in campaign_of:
                call.analysis.append(
                    ProposalReleasedFromCampaign(
                        proposal_id=proposal_id,
                        consultation_id=consultation_id,
                        campaign_id=campaign_of.pop(proposal_id),
                        reason="a different ask",
                    ),
                    at=at,
                    actor=LEAD,
                )
                dissolve()
        elif proposal_id not in withdrawn:
            withdrawn.add(proposal_id)
            call.withdraw(proposal_id, at=at)
    return Campaigns(call, consultation_id, ids)


def replayed_literally(items: Iterable[Received]) -> dict[str, GroupFacts]:
    """Campaigns and exact duplicates as analysis's log states them, replayed step by step over every
    proposal (slow, plain; the reference the campaign book is held to): in log order, a triage takes its
    proposal out of a campaign it does not name, moves the members of the merged campaigns, places its
    proposal and ``grouped_with``; a release takes its proposal out; a campaign of one is none after
    each step; withdrawn proposals leave at the end (a withdrawal is not in analysis's log); the
    representative is the member received first (one whose submission has not arrived: last)."""
    items = list(items)
    campaign_of: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    received_at: dict[str, datetime] = {}
    withdrawn: set[str] = set()

    def dissolve_singletons() -> None:
        sizes = Counter(campaign_of.values())
        for proposal_id, campaign in list(campaign_of.items()):
            if sizes[campaign] < 2:
                del campaign_of[proposal_id]

    for item in items:
        if isinstance(item.event, ProposalSubmitted):
            received_at[item.event.proposal_id] = item.event.received_at
        elif isinstance(item.event, ProposalWithdrawn):
            withdrawn.add(item.event.proposal_id)
    analysis = [
        item for item in items if isinstance(item.event, (ProposalTriaged, ProposalReleasedFromCampaign))
    ]
    for item in sorted(analysis, key=lambda item: item.envelope.log_position):
        event = item.event
        subject = event.proposal_id
        if isinstance(event, ProposalReleasedFromCampaign):
            campaign_of.pop(subject, None)
        elif isinstance(event, ProposalTriaged):
            if event.exact_duplicate_of is not None:
                duplicate_of[subject] = event.exact_duplicate_of
            else:
                duplicate_of.pop(subject, None)
            for duplicate in event.exact_duplicates:
                duplicate_of[duplicate] = subject
            current = campaign_of.get(subject)
            if current is not None and current not in (event.campaign_id, *event.merged_campaigns):
                del campaign_of[subject]
            if event.campaign_id is not None:
                for proposal_id, campaign in list(campaign_of.items()):
                    if campaign in event.merged_campaigns:
                        campaign_of[proposal_id] = event.campaign_id
                campaign_of[subject] = event.campaign_id
                for proposal_id in event.grouped_with:
                    campaign_of[proposal_id] = event.campaign_id
        dissolve_singletons()
    for proposal_id in withdrawn:
        campaign_of.pop(proposal_id, None)
    dissolve_singletons()
    last = datetime.max.replace(tzinfo=UTC)
    members: dict[str, list[tuple[datetime, str]]] = {}
    for proposal_id, campaign in campaign_of.items():
        members.setdefault(campaign, []).append((received_at.get(proposal_id, last), proposal_id))
    representative = {campaign: min(entries)[1] for campaign, entries in members.items()}
    named = set(campaign_of) | set(duplicate_of) | set(received_at)
    return {
        proposal_id: GroupFacts(
            campaign_of.get(proposal_id),
            representative.get(campaign_of.get(proposal_id, "")),
            duplicate_of.get(proposal_id),
        )
        for proposal_id in sorted(named)
    }
