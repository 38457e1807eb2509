"""The analysis rules as pure functions: triage, campaigns, review, assessment and packages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aireg_analysis import domain
from aireg_analysis.domain import (
    CampaignFacts,
    Candidate,
    ProposalFacts,
    ReviewFact,
    TriageSubject,
    WorkflowStatus,
)
from aireg_analysis.similarity import SimilarityMethod
from aireg_events.catalogue.analysis import CriteriaScores
from aireg_events.catalogue.common import Organization, Outcome, Recommendation
from services.analysis.tests.proposals import content

METHOD = SimilarityMethod.configure(threshold=0.6, num_perm=128, shingle_size=3)
T0 = datetime(2027, 1, 10, tzinfo=UTC)
MINISTRY, CENTER = Organization.ministry, Organization.analytical_center
SCORES = CriteriaScores(legal_soundness=4, feasibility=3, risk_reduction=5, innovation_impact=2)


def subject(
    proposal_id: str = "p9", *, at: datetime = T0 + timedelta(hours=9), released: bool = False
) -> TriageSubject:
    return TriageSubject(proposal_id, "c1", 1, at, content(), released=released)


def triage(
    candidates: list[Candidate], campaigns: dict[str, CampaignFacts] | None = None, **kwargs: object
) -> domain.ProposalTriaged:
    return domain.triage(
        kwargs.pop("subject", None) or subject(),
        candidates=candidates,
        campaigns=campaigns or {},
        exact_duplicate_of=None,
        method=METHOD,
        new_campaign_id="new-campaign",
        similar_limit=3,
    )


# --- completeness ---------------------------------------------------------------------------------------


def test_a_complete_proposal_misses_nothing() -> None:
    assert domain.missing_answers(content()) == []


def test_triage_names_what_a_proposal_lacks() -> None:
    lacking = content(
        text="See the attached impact-study.pdf for figures.",
        summary="   ",
        questions=["definition_and_liability", "training_data", "other"],
        positions={"definition_and_liability": "support"},
        submitter={"name": "Roga LLC", "kind": "business", "contact_email": "a@example.org"},
        attachments=[
            {"filename": "letter.pdf", "media_type": "image/png", "size_bytes": 10, "sha256": "a" * 64},
            {"filename": "empty.txt", "media_type": "text/plain", "size_bytes": 0, "sha256": "b" * 64},
        ],
    )
    assert domain.missing_answers(lacking) == [
        "summary",
        "position:training_data",
        "submitter.registration_number",
        "attachment:letter.pdf:media_type",
        "attachment:empty.txt:empty",
        "attachment:impact-study.pdf:not_declared",
    ]
    assert domain.missing_answers(content(text="The annex has our figures.")) == ["attachments"]
    assert domain.missing_answers(
        content(text="...", submitter={"name": "A", "kind": "citizen", "contact_email": "a@example.org"})
    ) == ["text"]


# --- campaigns ------------------------------------------------------------------------------------------


def test_two_ungrouped_near_duplicates_start_a_campaign_represented_by_the_earliest() -> None:
    event = triage([Candidate("p1", 0.8, T0 + timedelta(hours=1)), Candidate("p2", 0.3, T0)])
    assert event.campaign_id == "new-campaign"
    assert event.campaign_representative == "p1"
    assert event.grouped_with == ["p1"]
    assert [(s.proposal_id, s.similarity) for s in event.similar] == [("p1", 0.8)]
    assert event.method.parameters["threshold"] == 0.6


def test_a_proposal_resembling_nothing_is_in_no_campaign() -> None:
    event = triage([Candidate("p2", 0.59, T0)])
    assert event.campaign_id is None and event.similar == [] and event.grouped_with == []


def test_a_near_duplicate_of_campaign_members_joins_their_campaign() -> None:
    campaigns = {"c-a": CampaignFacts("c-a", "p1", T0)}
    event = triage([Candidate("p2", 0.9, T0 + timedelta(hours=2), campaign_id="c-a")], campaigns)
    assert (event.campaign_id, event.campaign_representative) == ("c-a", "p1")
    assert event.grouped_with == [] and event.merged_campaigns == []


def test_a_proposal_linking_two_campaigns_merges_them_into_the_one_with_the_earliest_representative() -> None:
    campaigns = {
        "late": CampaignFacts("late", "p5", T0 + timedelta(hours=5)),
        "early": CampaignFacts("early", "p1", T0 + timedelta(hours=1)),
    }
    event = triage(
        [
            Candidate("p6", 0.95, T0 + timedelta(hours=6), campaign_id="late"),
            Candidate("p2", 0.7, T0 + timedelta(hours=2), campaign_id="early"),
            Candidate("p3", 0.65, T0 + timedelta(hours=3)),
        ],
        campaigns,
    )
    assert event.campaign_id == "early"
    assert event.merged_campaigns == ["late"]
    assert event.grouped_with == ["p3"]
    assert event.campaign_representative == "p1"
    assert [s.proposal_id for s in event.similar] == ["p6", "p2", "p3"]


def test_a_released_proposal_neither_groups_nor_is_grouped_but_still_resembles() -> None:
    released = triage([Candidate("p1", 0.9, T0, released=True)])
    assert released.campaign_id is None
    assert [s.proposal_id for s in released.similar] == ["p1"]
    own = triage([Candidate("p1", 0.9, T0)], subject=subject(released=True))
    assert own.campaign_id is None and own.grouped_with == []


def test_the_similar_list_is_capped_closest_first() -> None:
    event = triage([Candidate(f"p{i}", 0.6 + i / 100, T0 + timedelta(minutes=i)) for i in range(8)])
    assert [s.proposal_id for s in event.similar] == ["p7", "p6", "p5"]
    assert event.grouped_with == [f"p{i}" for i in range(8)]
    assert event.campaign_representative == "p0"


# --- status ---------------------------------------------------------------------------------------------


def test_the_status_follows_the_facts_in_order_of_precedence() -> None:
    def status(**facts: bool) -> WorkflowStatus:
        base = dict.fromkeys(
            (
                "withdrawn",
                "misattributed",
                "forwarded",
                "assessment_current",
                "in_package",
                "assigned",
                "triaged_current",
            ),
            False,
        )
        return domain.workflow_status(**{**base, **facts})

    assert status() == WorkflowStatus.received
    assert status(triaged_current=True) == WorkflowStatus.triaged
    assert status(triaged_current=True, assigned=True) == WorkflowStatus.under_review
    assert status(assigned=True, assessment_current=True) == WorkflowStatus.assessed
    assert status(assessment_current=True, in_package=True) == WorkflowStatus.in_package
    assert status(in_package=True, assigned=True) == WorkflowStatus.under_review  # amended after assessment
    assert status(forwarded=True, assessment_current=True) == WorkflowStatus.forwarded
    assert status(withdrawn=True, forwarded=True) == WorkflowStatus.withdrawn


# --- review and assessment ------------------------------------------------------------------------------


def proposal(**facts: object) -> ProposalFacts:
    return ProposalFacts(**{"proposal_id": "p1", "consultation_id": "c1", "version": 1, **facts})


def review(
    proposal_facts: ProposalFacts, reviewer: str, organization: Organization
) -> domain.ReviewSubmitted:
    return domain.submit_review(
        proposal_facts,
        review_id=f"r-{reviewer}",
        reviewer=reviewer,
        reviewer_organization=organization.value,
        organization=organization,
        scores=SCORES,
        recommendation=Recommendation.support,
        rationale="sound",
    )


def test_a_reviewer_is_assigned_once() -> None:
    assigned = domain.assign_reviewer(proposal(), reviewer="ivanova", organization=MINISTRY)
    assert (assigned.reviewer, assigned.organization) == ("ivanova", MINISTRY)
    with pytest.raises(domain.ReviewerAlreadyAssigned):
        domain.assign_reviewer(
            proposal(assignments=(("ivanova", MINISTRY),)), reviewer="ivanova", organization=CENTER
        )
    with pytest.raises(domain.ProposalIsWithdrawn):
        domain.assign_reviewer(proposal(withdrawn=True), reviewer="ivanova", organization=MINISTRY)
    with pytest.raises(domain.ProposalAlreadyAssessed):
        domain.assign_reviewer(proposal(assessed_version=1), reviewer="petrov", organization=MINISTRY)


def test_only_an_assigned_reviewer_reviews_the_current_version_once_for_their_own_organization() -> None:
    assigned = proposal(version=2, assignments=(("ivanova", MINISTRY),))
    submitted = review(assigned, "ivanova", MINISTRY)
    assert submitted.proposal_version == 2
    with pytest.raises(domain.OrganizationMismatch):
        domain.submit_review(
            assigned,
            review_id="r",
            reviewer="ivanova",
            reviewer_organization="analytical_center",
            organization=MINISTRY,
            scores=SCORES,
            recommendation=Recommendation.support,
            rationale="x",
        )
    with pytest.raises(domain.ReviewRequiresAssignment):
        review(assigned, "petrov", MINISTRY)
    reviewed = proposal(
        version=2, assignments=(("ivanova", MINISTRY),), reviews=(ReviewFact("r1", "ivanova", MINISTRY, 2),)
    )
    with pytest.raises(domain.ReviewAlreadySubmitted):
        review(reviewed, "ivanova", MINISTRY)
    stale = proposal(
        version=3, assignments=(("ivanova", MINISTRY),), reviews=(ReviewFact("r1", "ivanova", MINISTRY, 2),)
    )
    assert review(stale, "ivanova", MINISTRY).proposal_version == 3


def assess(facts: ProposalFacts, *, now: datetime = T0, **kwargs: object) -> domain.ProposalAssessed:
    arguments: dict[str, object] = {
        "outcome": Outcome.recommended,
        "merged_into": None,
        "merged_into_id": None,
        "rationale": "good",
        "now": now,
        "analysis_due_at": T0 + timedelta(days=30),
        **kwargs,
    }
    return domain.assess(facts, **arguments)


def test_an_assessment_needs_a_current_review_from_each_organization() -> None:
    both = (ReviewFact("r1", "a", MINISTRY, 2), ReviewFact("r2", "b", CENTER, 2))
    assessed = assess(proposal(version=2, reviews=both))
    assert assessed.review_ids == ["r1", "r2"] and assessed.proposal_version == 2 and not assessed.late
    with pytest.raises(domain.AssessmentNeedsBothOrganizations) as refused:
        assess(proposal(version=2, reviews=both[:1]))
    assert refused.value.extra["missing_organizations"] == ["analytical_center"]
    with pytest.raises(domain.AssessmentNeedsBothOrganizations):
        assess(proposal(version=3, reviews=both))  # amended since: both reviews are stale
    assert assess(proposal(version=2, reviews=both), now=T0 + timedelta(days=31)).late


def test_a_merged_outcome_names_another_proposal_of_the_same_consultation() -> None:
    reviewed = proposal(reviews=(ReviewFact("r1", "a", MINISTRY, 1), ReviewFact("r2", "b", CENTER, 1)))
    with pytest.raises(domain.MergedIntoRequired):
        assess(reviewed, outcome=Outcome.merged)
    with pytest.raises(domain.MergedIntoOnlyWhenMerged):
        assess(reviewed, merged_into_id="p2", merged_into=proposal(proposal_id="p2"))
    with pytest.raises(domain.MergedIntoUnknown):
        assess(reviewed, outcome=Outcome.merged, merged_into_id="p2", merged_into=None)
    with pytest.raises(domain.MergedIntoUnknown):
        assess(reviewed, outcome=Outcome.merged, merged_into_id="p1", merged_into=reviewed)
    other = proposal(proposal_id="p2", consultation_id="c2")
    with pytest.raises(domain.MergedIntoUnknown):
        assess(reviewed, outcome=Outcome.merged, merged_into_id="p2", merged_into=other)
    merged = assess(
        reviewed, outcome=Outcome.merged, merged_into_id="p2", merged_into=proposal(proposal_id="p2")
    )
    assert merged.merged_into == "p2"


# --- packages -------------------------------------------------------------------------------------------


def package(*items: str, submitted: bool = False) -> domain.PackageFacts:
    return domain.PackageFacts("k1", "c1", "Recommendations", submitted, items)


def test_a_package_takes_recommended_proposals_of_its_consultation_once() -> None:
    recommended = proposal(assessed_version=1, outcome=Outcome.recommended_with_changes)
    assert domain.add_to_package(package(), recommended, proposal_id="p1").proposal_id == "p1"
    refusals = [
        (None, domain.ProposalUnknown),
        (
            proposal(consultation_id="c2", assessed_version=1, outcome=Outcome.recommended),
            domain.ProposalInOtherConsultation,
        ),
        (proposal(), domain.ProposalNotAssessed),
        (proposal(version=2, assessed_version=1, outcome=Outcome.recommended), domain.ProposalNotAssessed),
        (proposal(assessed_version=1, outcome=Outcome.not_recommended), domain.ProposalNotRecommended),
        (
            proposal(assessed_version=1, outcome=Outcome.recommended, package_id="k0"),
            domain.ProposalAlreadyInPackage,
        ),
        (proposal(withdrawn=True), domain.ProposalIsWithdrawn),
    ]
    for facts, refusal in refusals:
        with pytest.raises(refusal):
            domain.add_to_package(package(), facts, proposal_id="p1")
    with pytest.raises(domain.PackageAlreadySubmitted):
        domain.add_to_package(package(submitted=True), recommended, proposal_id="p1")


def test_a_package_is_submitted_once_with_one_forwarding_per_item_and_counts_late_after_the_deadline() -> (
    None
):
    items = {
        "p1": proposal(proposal_id="p1", assessed_version=1, outcome=Outcome.recommended, package_id="k1"),
        "p2": proposal(
            proposal_id="p2", assessed_version=1, outcome=Outcome.recommended_with_changes, package_id="k1"
        ),
    }
    forwarded, submitted = domain.submit_package(
        package("p1", "p2"), items, now=T0, forwarding_due_at=T0 + timedelta(days=1)
    )
    assert [event.proposal_id for event in forwarded] == ["p1", "p2"]
    assert submitted.proposal_ids == ["p1", "p2"] and not submitted.late
    assert submitted.counts == {"proposals": 2, "recommended": 1, "recommended_with_changes": 1}
    forwarded, late = domain.submit_package(
        package("p1", "p2"), items, now=T0 + timedelta(days=2), forwarding_due_at=T0 + timedelta(days=1)
    )
    assert late.late and all(event.late for event in forwarded)
    with pytest.raises(domain.PackageAlreadySubmitted):
        domain.submit_package(package("p1", submitted=True), items, now=T0, forwarding_due_at=None)
    with pytest.raises(domain.PackageEmpty):
        domain.submit_package(package(), items, now=T0, forwarding_due_at=None)
    gone = {
        **items,
        "p2": proposal(proposal_id="p2", withdrawn=True, assessed_version=1, outcome=Outcome.recommended),
    }
    with pytest.raises(domain.PackageItemNotEligible) as refused:
        domain.submit_package(package("p1", "p2"), gone, now=T0, forwarding_due_at=None)
    assert refused.value.extra["items"] == [{"proposal_id": "p2", "reason": "withdrawn"}]


def test_only_an_item_of_an_open_package_is_removed() -> None:
    assert domain.remove_from_package(package("p1"), proposal_id="p1", reason="withdrawn").proposal_id == "p1"
    with pytest.raises(domain.ProposalNotInPackage):
        domain.remove_from_package(package("p1"), proposal_id="p2", reason="")
    with pytest.raises(domain.PackageAlreadySubmitted):
        domain.remove_from_package(package("p1", submitted=True), proposal_id="p1", reason="")


def test_a_campaign_release_needs_a_campaign() -> None:
    assert domain.release_from_campaign(proposal(campaign_id="c-a"), reason="own text").campaign_id == "c-a"
    with pytest.raises(domain.ProposalNotInCampaign):
        domain.release_from_campaign(proposal(), reason="own text")


def test_a_package_needs_a_known_consultation() -> None:
    with pytest.raises(domain.ConsultationUnknown):
        domain.open_package(package_id="k", consultation_id="c9", title="t", consultation_known=False)
