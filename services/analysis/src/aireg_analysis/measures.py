"""The rules of measures as pure functions: a lead drafts a measure, links proposals as evidence, revises
it, adopts or drops it, and a package forwards the adopted ones with their evidence and tallies.

A campaign member stands for its campaign: a *voice* is a distinct campaign (or a proposal in no
campaign); *signatories* count every member (ACUS Recommendation 2021-1). Withdrawn and misattributed
proposals never count. Nothing here reads a database or a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aireg_analysis.domain import (
    ConsultationUnknown,
    PackageAlreadySubmitted,
    PackageFacts,
    ProposalFacts,
    ProposalInOtherConsultation,
    ProposalIsWithdrawn,
    ProposalUnknown,
)
from aireg_events.catalogue.analysis import (
    Evidence,
    MeasureAddedToPackage,
    MeasureDecided,
    MeasureDecision,
    MeasureDrafted,
    MeasureForwardedToGovernment,
    MeasureRevised,
    MeasureStance,
    MeasureTerms,
    ProposalLinkedToMeasure,
    Tally,
)
from aireg_events.rules import RuleViolation


class MeasureStatus(StrEnum):
    drafted = "drafted"
    adopted = "adopted"
    dropped = "dropped"


# --- refusals -------------------------------------------------------------------------------------------


class MeasureNotFound(RuleViolation):
    code = "measure_not_found"
    kind = "not_found"


class MeasureUnknown(RuleViolation):
    """A body names a measure this service has not recorded."""

    code = "measure_unknown"
    kind = "invalid"


class ProposalIsMisattributed(RuleViolation):
    """An upheld attribution dispute set the proposal aside: it is evidence for nothing."""

    code = "proposal_misattributed"
    kind = "conflict"


class EvidenceAlreadyLinked(RuleViolation):
    code = "evidence_already_linked"
    kind = "conflict"


class MeasureAlreadyDecided(RuleViolation):
    """A decided measure is not revised, and the same decision is not taken twice."""

    code = "measure_already_decided"
    kind = "conflict"


class MeasureInPackage(RuleViolation):
    """An adopted measure in a package is not dropped; take it out of the package first."""

    code = "measure_in_package"
    kind = "conflict"


class MeasureInSubmittedPackage(RuleViolation):
    """A measure forwarded to the government with a submitted package is final."""

    code = "measure_in_submitted_package"
    kind = "conflict"


class MeasureInOtherConsultation(RuleViolation):
    code = "measure_in_other_consultation"
    kind = "invalid"


class MeasureNotAdopted(RuleViolation):
    code = "measure_not_adopted"
    kind = "conflict"


class MeasureAlreadyInPackage(RuleViolation):
    code = "measure_already_in_package"
    kind = "conflict"


class PackageMeasureNotAdopted(RuleViolation):
    """A measure of the package is no longer adopted when the package is submitted."""

    code = "package_measure_not_adopted"
    kind = "conflict"


# --- facts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFact:
    """One linked proposal as it stands now: whether it still counts, and the campaign it stands for."""

    proposal_id: str
    stance: MeasureStance
    counts: bool
    """Neither withdrawn nor misattributed."""
    campaign_id: str | None = None
    campaign_signatories: int = 1
    """Members of its campaign that count (1 outside a campaign)."""


@dataclass(frozen=True)
class MeasureFacts:
    measure_id: str
    consultation_id: str
    status: MeasureStatus
    terms: MeasureTerms
    package_id: str | None = None
    package_submitted: bool = False
    evidence: tuple[EvidenceFact, ...] = field(default_factory=tuple)


def tallies(evidence: Iterable[EvidenceFact]) -> dict[MeasureStance, Tally]:
    """Per stance: voices (each campaign once, each proposal in no campaign once) and signatories (every
    member of those campaigns, each proposal in no campaign once). Evidence that no longer counts is out."""
    voices: dict[MeasureStance, dict[str, int]] = {stance: {} for stance in MeasureStance}
    for fact in evidence:
        if not fact.counts:
            continue
        voice = f"campaign:{fact.campaign_id}" if fact.campaign_id else f"proposal:{fact.proposal_id}"
        voices[fact.stance][voice] = fact.campaign_signatories if fact.campaign_id else 1
    return {
        stance: Tally(voices=len(found), signatories=sum(found.values())) for stance, found in voices.items()
    }


# --- the rules ------------------------------------------------------------------------------------------


def draft_measure(
    *, measure_id: str, consultation_id: str, terms: MeasureTerms, consultation_known: bool
) -> MeasureDrafted:
    if not consultation_known:
        raise ConsultationUnknown(f"no consultation {consultation_id} is known to the analysis service")
    return MeasureDrafted(measure_id=measure_id, consultation_id=consultation_id, terms=terms)


def _refuse_forwarded(measure: MeasureFacts) -> None:
    if measure.package_submitted:
        raise MeasureInSubmittedPackage(
            f"measure {measure.measure_id} was forwarded to the government with package {measure.package_id}"
        )


def link_evidence(
    measure: MeasureFacts,
    proposal: ProposalFacts | None,
    *,
    proposal_id: str,
    stance: MeasureStance,
    note: str,
) -> ProposalLinkedToMeasure:
    """A proposal of the measure's consultation, neither withdrawn nor misattributed, linked once."""
    _refuse_forwarded(measure)
    if proposal is None:
        raise ProposalUnknown(f"no proposal {proposal_id} is known to the analysis service")
    if proposal.consultation_id != measure.consultation_id:
        raise ProposalInOtherConsultation(
            f"proposal {proposal_id} belongs to consultation {proposal.consultation_id}, "
            f"the measure to {measure.consultation_id}"
        )
    if proposal.misattributed:
        raise ProposalIsMisattributed(f"proposal {proposal_id} was filed in someone's name without consent")
    if proposal.withdrawn:
        raise ProposalIsWithdrawn(f"proposal {proposal_id} was withdrawn by its submitter")
    for fact in measure.evidence:
        if fact.proposal_id == proposal_id:
            raise EvidenceAlreadyLinked(
                f"proposal {proposal_id} is already linked to measure {measure.measure_id} ({fact.stance.value})",
                stance=fact.stance.value,
            )
    return ProposalLinkedToMeasure(
        measure_id=measure.measure_id,
        consultation_id=measure.consultation_id,
        proposal_id=proposal_id,
        stance=stance,
        note=note,
        campaign_id=proposal.campaign_id,
    )


def revise_measure(measure: MeasureFacts, *, terms: MeasureTerms, rationale: str) -> MeasureRevised:
    """Only a draft is revised: a decision is taken on terms that no longer change."""
    if measure.status != MeasureStatus.drafted:
        raise MeasureAlreadyDecided(f"measure {measure.measure_id} was already {measure.status.value}")
    return MeasureRevised(
        measure_id=measure.measure_id,
        consultation_id=measure.consultation_id,
        terms=terms,
        rationale=rationale,
    )


def decide_measure(measure: MeasureFacts, *, decision: MeasureDecision, rationale: str) -> MeasureDecided:
    """Adopt or drop; a decision may be changed until the measure is in a package (dropping) or
    forwarded (either)."""
    _refuse_forwarded(measure)
    taken = MeasureStatus.adopted if decision == MeasureDecision.adopt else MeasureStatus.dropped
    if measure.status == taken:
        raise MeasureAlreadyDecided(f"measure {measure.measure_id} is already {taken.value}")
    if measure.package_id is not None and decision == MeasureDecision.drop:
        raise MeasureInPackage(
            f"measure {measure.measure_id} is in package {measure.package_id}", package_id=measure.package_id
        )
    return MeasureDecided(
        measure_id=measure.measure_id,
        consultation_id=measure.consultation_id,
        decision=decision,
        rationale=rationale,
    )


def add_measure_to_package(
    package: PackageFacts, measure: MeasureFacts | None, *, measure_id: str
) -> MeasureAddedToPackage:
    """Adopted measures of the package's consultation, each in one package."""
    if package.submitted:
        raise PackageAlreadySubmitted(f"package {package.package_id} was already submitted to the government")
    if measure is None:
        raise MeasureUnknown(f"no measure {measure_id} is known to the analysis service")
    if measure.consultation_id != package.consultation_id:
        raise MeasureInOtherConsultation(
            f"measure {measure_id} belongs to consultation {measure.consultation_id}, "
            f"the package to {package.consultation_id}"
        )
    if measure.package_id is not None:
        raise MeasureAlreadyInPackage(
            f"measure {measure_id} is already in package {measure.package_id}", package_id=measure.package_id
        )
    if measure.status != MeasureStatus.adopted:
        raise MeasureNotAdopted(
            f"measure {measure_id} is {measure.status.value}; a package carries adopted ones"
        )
    return MeasureAddedToPackage(
        package_id=package.package_id, consultation_id=package.consultation_id, measure_id=measure_id
    )


def forward_measures(
    package: PackageFacts,
    measures: Sequence[MeasureFacts],
    *,
    now: datetime,
    forwarding_due_at: datetime | None,
) -> list[MeasureForwardedToGovernment]:
    """What a package's submission forwards of its measures: each with the evidence that still counts and
    its tallies. Every one must still be adopted."""
    refused = [measure.measure_id for measure in measures if measure.status != MeasureStatus.adopted]
    if refused:
        raise PackageMeasureNotAdopted(
            f"{len(refused)} measure(s) of package {package.package_id} are no longer adopted",
            measures=refused,
        )
    late = forwarding_due_at is not None and now > forwarding_due_at
    return [
        MeasureForwardedToGovernment(
            measure_id=measure.measure_id,
            consultation_id=measure.consultation_id,
            package_id=package.package_id,
            terms=measure.terms,
            evidence=[
                Evidence(
                    proposal_id=fact.proposal_id,
                    stance=fact.stance,
                    campaign_id=fact.campaign_id,
                    signatories=fact.campaign_signatories if fact.campaign_id else 1,
                )
                for fact in measure.evidence
                if fact.counts
            ],
            tallies=tallies(measure.evidence),
            late=late,
        )
        for measure in measures
    ]


def campaign_signatories(members: Mapping[str, int], campaign_id: str | None) -> int:
    """The members of ``campaign_id`` that count (1 outside a campaign)."""
    return members.get(campaign_id, 1) if campaign_id else 1
