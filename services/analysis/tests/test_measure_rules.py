"""The measure rules as pure functions: tallies of voices and signatories, and each refusal's code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aireg_analysis import measures
from aireg_analysis.domain import PackageFacts, ProposalFacts
from aireg_events.catalogue.analysis import MeasureDecision, MeasureStance, MeasureTerms, Tally
from aireg_events.rules import RuleViolation

TERMS = MeasureTerms(
    title="Certify diagnostic AI",
    description="Certification before clinical use.",
    directions=["regulation_and_barriers"],
    instrument="certification",
    approach="targeted",
    application_areas=["healthcare"],
    min_cost_of_error="high",
)
NOW = datetime(2027, 3, 1, tzinfo=UTC)


def measure(
    status: measures.MeasureStatus = measures.MeasureStatus.drafted, **changes: object
) -> measures.MeasureFacts:
    values: dict[str, object] = {
        "measure_id": "m",
        "consultation_id": "c",
        "status": status,
        "terms": TERMS,
        **changes,
    }
    return measures.MeasureFacts(**values)


def evidence(
    proposal_id: str,
    stance: MeasureStance,
    *,
    campaign: str | None = None,
    size: int = 1,
    counts: bool = True,
) -> measures.EvidenceFact:
    return measures.EvidenceFact(proposal_id, stance, counts, campaign, size)


def test_a_campaign_is_one_voice_with_every_member_a_signatory_however_many_members_are_linked() -> None:
    found = measures.tallies(
        [
            evidence("a", MeasureStance.supports, campaign="k", size=20),
            evidence("b", MeasureStance.supports, campaign="k", size=20),
            evidence("c", MeasureStance.supports),
            evidence("d", MeasureStance.opposes),
            evidence("e", MeasureStance.opposes, counts=False),
        ]
    )
    assert found[MeasureStance.supports] == Tally(voices=2, signatories=21)
    assert found[MeasureStance.opposes] == Tally(voices=1, signatories=1)
    assert found[MeasureStance.informs] == Tally(voices=0, signatories=0)


@pytest.mark.parametrize(
    ("proposal", "code"),
    [
        (None, "proposal_unknown"),
        (ProposalFacts("p", "other", 1), "proposal_in_other_consultation"),
        (ProposalFacts("p", "c", 1, withdrawn=True), "proposal_withdrawn"),
        (ProposalFacts("p", "c", 1, misattributed=True), "proposal_misattributed"),
    ],
)
def test_evidence_must_be_a_counting_proposal_of_the_same_consultation(
    proposal: ProposalFacts | None, code: str
) -> None:
    with pytest.raises(RuleViolation) as refused:
        measures.link_evidence(measure(), proposal, proposal_id="p", stance=MeasureStance.supports, note="")
    assert refused.value.code == code


def test_a_proposal_is_linked_once_and_a_campaign_member_carries_its_campaign() -> None:
    linked = measures.link_evidence(
        measure(),
        ProposalFacts("p", "c", 1, campaign_id="k"),
        proposal_id="p",
        stance=MeasureStance.supports,
        note="",
    )
    assert linked.campaign_id == "k"
    with pytest.raises(measures.EvidenceAlreadyLinked):
        measures.link_evidence(
            measure(evidence=(evidence("p", MeasureStance.supports),)),
            ProposalFacts("p", "c", 1),
            proposal_id="p",
            stance=MeasureStance.opposes,
            note="",
        )


def test_decisions_respect_packages() -> None:
    adopted = measures.MeasureStatus.adopted
    with pytest.raises(measures.MeasureInPackage):
        measures.decide_measure(
            measure(adopted, package_id="k"), decision=MeasureDecision.drop, rationale="r"
        )
    with pytest.raises(measures.MeasureInSubmittedPackage):
        measures.decide_measure(
            measure(adopted, package_id="k", package_submitted=True),
            decision=MeasureDecision.drop,
            rationale="r",
        )
    with pytest.raises(measures.MeasureAlreadyDecided):
        measures.decide_measure(measure(adopted), decision=MeasureDecision.adopt, rationale="r")
    with pytest.raises(measures.MeasureAlreadyDecided):
        measures.revise_measure(measure(adopted), terms=TERMS, rationale="r")
    package = PackageFacts("k", "c", "t", submitted=False, items=())
    with pytest.raises(measures.MeasureNotAdopted):
        measures.add_measure_to_package(package, measure(), measure_id="m")
    with pytest.raises(measures.PackageMeasureNotAdopted):
        measures.forward_measures(
            package, [measure(measures.MeasureStatus.dropped)], now=NOW, forwarding_due_at=None
        )


def test_a_forwarded_measure_carries_only_the_evidence_that_counts_and_is_late_after_the_deadline() -> None:
    (forwarded,) = measures.forward_measures(
        PackageFacts("k", "c", "t", submitted=False, items=()),
        [
            measure(
                measures.MeasureStatus.adopted,
                evidence=(
                    evidence("a", MeasureStance.supports, campaign="x", size=20),
                    evidence("b", MeasureStance.opposes, counts=False),
                ),
            )
        ],
        now=NOW,
        forwarding_due_at=datetime(2027, 2, 1, tzinfo=UTC),
    )
    assert [(e.proposal_id, e.signatories) for e in forwarded.evidence] == [("a", 20)]
    assert forwarded.tallies[MeasureStance.supports] == Tally(voices=1, signatories=20)
    assert forwarded.late is True
