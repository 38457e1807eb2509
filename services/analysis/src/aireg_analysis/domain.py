"""The analysis rules as pure functions: facts and a command in, events (or a refusal naming the rule) out.

Triage decides completeness, exact duplicates and campaigns; the workflow rules decide who may assign,
review, assess, package and forward what. Nothing here reads a database or a clock: callers pass the
facts and the time.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aireg_analysis.similarity import SimilarityMethod, words
from aireg_events.campaigns import first_received, rank
from aireg_events.catalogue.analysis import (
    CriteriaScores,
    GovernmentPackageOpened,
    GovernmentPackageSubmitted,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalReleasedFromCampaign,
    ProposalRemovedFromPackage,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
    Risk,
    SimilarProposal,
)
from aireg_events.catalogue.common import Organization, Outcome, Question, Recommendation, SubmitterKind
from aireg_events.catalogue.submission import ProposalContent
from aireg_events.rules import RuleViolation


class WorkflowStatus(StrEnum):
    """Where a proposal is in the analysis workflow (the queue's ``status``)."""

    received = "received"
    triaged = "triaged"
    under_review = "under_review"
    assessed = "assessed"
    in_package = "in_package"
    forwarded = "forwarded"
    withdrawn = "withdrawn"
    misattributed = "misattributed"
    """An upheld attribution dispute (the submission service's): filed in someone's name without consent."""


RECOMMENDING = (Outcome.recommended, Outcome.recommended_with_changes)
"""The outcomes a package for the government may carry."""


# --- refusals -------------------------------------------------------------------------------------------


class ProposalNotFound(RuleViolation):
    code = "proposal_not_found"
    kind = "not_found"


class ProposalUnknown(RuleViolation):
    """A body names a proposal this service has not received."""

    code = "proposal_unknown"
    kind = "invalid"


class ProposalIsWithdrawn(RuleViolation):
    code = "proposal_withdrawn"
    kind = "conflict"


class ProposalAlreadyAssessed(RuleViolation):
    code = "proposal_already_assessed"
    kind = "conflict"


class ReviewerAlreadyAssigned(RuleViolation):
    code = "reviewer_already_assigned"
    kind = "conflict"


class OrganizationMismatch(RuleViolation):
    """A reviewer reviews for the organization of their token, not another one."""

    code = "organization_mismatch"
    kind = "forbidden"


class ReviewRequiresAssignment(RuleViolation):
    code = "review_requires_assignment"
    kind = "conflict"


class ReviewAlreadySubmitted(RuleViolation):
    code = "review_already_submitted"
    kind = "conflict"


class AssessmentNeedsBothOrganizations(RuleViolation):
    code = "assessment_needs_both_organizations"
    kind = "conflict"


class MergedIntoRequired(RuleViolation):
    code = "merged_into_required"
    kind = "invalid"


class MergedIntoOnlyWhenMerged(RuleViolation):
    code = "merged_into_only_when_merged"
    kind = "invalid"


class MergedIntoUnknown(RuleViolation):
    code = "merged_into_unknown"
    kind = "invalid"


class ProposalNotInCampaign(RuleViolation):
    code = "proposal_not_in_campaign"
    kind = "conflict"


class ConsultationUnknown(RuleViolation):
    code = "consultation_unknown"
    kind = "invalid"


class PackageNotFound(RuleViolation):
    code = "package_not_found"
    kind = "not_found"


class PackageAlreadySubmitted(RuleViolation):
    code = "package_already_submitted"
    kind = "conflict"


class ProposalInOtherConsultation(RuleViolation):
    code = "proposal_in_other_consultation"
    kind = "invalid"


class ProposalNotAssessed(RuleViolation):
    code = "proposal_not_assessed"
    kind = "conflict"


class ProposalNotRecommended(RuleViolation):
    code = "proposal_not_recommended"
    kind = "conflict"


class ProposalAlreadyInPackage(RuleViolation):
    code = "proposal_already_in_package"
    kind = "conflict"


class ProposalNotInPackage(RuleViolation):
    code = "proposal_not_in_package"
    kind = "not_found"


class PackageEmpty(RuleViolation):
    code = "package_empty"
    kind = "conflict"


class PackageItemNotEligible(RuleViolation):
    """An item was withdrawn, amended after its assessment, or re-assessed since it was added."""

    code = "package_item_not_eligible"
    kind = "conflict"


# --- facts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFact:
    review_id: str
    reviewer: str
    organization: Organization
    proposal_version: int


@dataclass(frozen=True)
class ProposalFacts:
    """What the rules need to know about one proposal."""

    proposal_id: str
    consultation_id: str
    version: int
    withdrawn: bool = False
    misattributed: bool = False
    campaign_id: str | None = None
    assessed_version: int | None = None
    outcome: Outcome | None = None
    package_id: str | None = None
    forwarded: bool = False
    assignments: tuple[tuple[str, Organization], ...] = ()
    reviews: tuple[ReviewFact, ...] = ()

    @property
    def assessment_current(self) -> bool:
        return self.assessed_version is not None and self.assessed_version == self.version

    def current_reviews(self) -> list[ReviewFact]:
        return [review for review in self.reviews if review.proposal_version == self.version]


@dataclass(frozen=True)
class PackageFacts:
    package_id: str
    consultation_id: str
    title: str
    submitted: bool
    items: tuple[str, ...]


def workflow_status(
    *,
    withdrawn: bool,
    misattributed: bool,
    forwarded: bool,
    assessment_current: bool,
    in_package: bool,
    assigned: bool,
    triaged_current: bool,
) -> WorkflowStatus:
    """The one place the workflow status is derived from the facts (stored for the queue's filter)."""
    if misattributed:
        return WorkflowStatus.misattributed
    if withdrawn:
        return WorkflowStatus.withdrawn
    if forwarded:
        return WorkflowStatus.forwarded
    if assessment_current:
        return WorkflowStatus.in_package if in_package else WorkflowStatus.assessed
    if assigned:
        return WorkflowStatus.under_review
    if triaged_current:
        return WorkflowStatus.triaged
    return WorkflowStatus.received


# --- triage ---------------------------------------------------------------------------------------------

_ORGANIZATION_KINDS = {
    SubmitterKind.government_body,
    SubmitterKind.business,
    SubmitterKind.industry_association,
    SubmitterKind.non_profit,
    SubmitterKind.academia,
}
_MENTIONS_ATTACHMENT = re.compile(
    r"\b(attached|attachments?|annex(?:es)?|enclosed|enclosures?|appendix|appendices|приложени\w*)\b",
    re.IGNORECASE,
)
_FILE_RUN = re.compile(r"[\w-]++")
"""A maximal run of word characters and hyphens: the stem a file name ends with."""
_FILE_EXTENSION = re.compile(r"\.(?:pdf|docx?|xlsx?|csv|odt|ods|txt|rtf|zip|pptx?)\b", re.IGNORECASE)
_BOUNDARY = re.compile(r"\b")


def file_names(text: str) -> list[str]:
    """The file names the text mentions, as ``\\b[\\w-]+\\.(?:pdf|...)\\b`` finds them, in linear time.

    That pattern, searched as is, scans a run of word characters and hyphens again from every word
    boundary inside it (quadratic on ``"a-" * n``). Here each run is scanned once: its extension is
    matched after its end, and the name starts at the run's first word boundary (where the pattern's
    leftmost match starts)."""
    found: list[str] = []
    position = 0
    while run := _FILE_RUN.search(text, position):
        start, end = run.span()
        position = end
        extension = _FILE_EXTENSION.match(text, end)
        if extension is None:
            continue
        boundary = _BOUNDARY.search(text, start, end)
        if boundary is None or boundary.start() == end:
            continue
        found.append(text[boundary.start() : extension.end()])
        position = extension.end()
    return found


def missing_answers(content: ProposalContent) -> list[str]:
    """What a complete proposal has and this one lacks; empty when complete.

    Codes: ``summary``, ``text`` (blank), ``position:<question>`` (a question answered without a position;
    ``other`` needs none), ``submitter.registration_number`` (organizations), and attachments declared
    inconsistently: ``attachment:<file>:empty``, ``attachment:<file>:media_type`` (type and extension
    disagree), ``attachment:<file>:not_declared`` (the text names a file not attached), ``attachments``
    (the text speaks of attachments and none is declared).
    """
    missing: list[str] = []
    if not content.summary.strip():
        missing.append("summary")
    if not words(content.text):
        missing.append("text")
    for question in content.questions:
        if question != Question.other and question not in content.positions:
            missing.append(f"position:{question.value}")
    if (
        content.submitter.kind in _ORGANIZATION_KINDS
        and not (content.submitter.public_registration_number or "").strip()
    ):
        missing.append("submitter.registration_number")
    declared = {attachment.filename.casefold() for attachment in content.attachments}
    for attachment in content.attachments:
        if attachment.size_bytes == 0:
            missing.append(f"attachment:{attachment.filename}:empty")
        guessed, _encoding = mimetypes.guess_type(attachment.filename, strict=False)
        if (
            guessed is not None
            and guessed.casefold() != attachment.media_type.split(";")[0].strip().casefold()
        ):
            missing.append(f"attachment:{attachment.filename}:media_type")
    mentioned = dict.fromkeys(file_names(content.text))
    for name in mentioned:
        if name.casefold() not in declared:
            missing.append(f"attachment:{name}:not_declared")
    if not content.attachments and _MENTIONS_ATTACHMENT.search(content.text):
        missing.append("attachments")
    return missing


@dataclass(frozen=True)
class TriageSubject:
    proposal_id: str
    consultation_id: str
    version: int
    received_at: datetime
    content: ProposalContent
    released: bool = False
    """A lead took it out of a campaign: it is reviewed on its own and never grouped again."""


@dataclass(frozen=True)
class Candidate:
    """A proposal of the same consultation sharing an LSH band with the subject, with its estimate."""

    proposal_id: str
    similarity: float
    received_at: datetime
    campaign_id: str | None = None
    released: bool = False


@dataclass(frozen=True)
class CampaignFacts:
    campaign_id: str
    representative_id: str
    representative_received_at: datetime


def triage(
    subject: TriageSubject,
    *,
    candidates: Iterable[Candidate],
    campaigns: Mapping[str, CampaignFacts],
    exact_duplicate_of: str | None,
    method: SimilarityMethod,
    new_campaign_id: str,
    similar_limit: int,
    exact_duplicates: Sequence[str] = (),
) -> ProposalTriaged:
    """Completeness, exact duplicate, near-duplicates and the campaign the proposal belongs to.

    A campaign is a connected group of near-duplicates within a consultation: the proposal joins the
    campaigns of every near-duplicate (the one whose representative came first absorbs the others) and
    takes ungrouped near-duplicates with it; with near-duplicates but no campaign among them, a new one
    starts. Its representative is :func:`aireg_events.campaigns.first_received`. Proposals a lead
    released stay out.

    ``exact_duplicate_of`` is the earliest proposal received before this one with the same normalized
    text; ``exact_duplicates`` those received after it with the same text but triaged before it.
    """
    near = sorted(
        (
            candidate
            for candidate in candidates
            if candidate.proposal_id != subject.proposal_id and candidate.similarity >= method.threshold
        ),
        key=lambda candidate: (-candidate.similarity, candidate.proposal_id),
    )
    links = [candidate for candidate in near if not candidate.released]
    campaign_id: str | None = None
    representative: str | None = None
    grouped_with: list[str] = []
    merged: list[str] = []
    if links and not subject.released:
        linked = sorted(
            {
                campaigns[c.campaign_id]
                for c in links
                if c.campaign_id is not None and c.campaign_id in campaigns
            },
            key=lambda campaign: rank(campaign.representative_received_at, campaign.representative_id),
        )
        grouped_with = sorted(
            c.proposal_id for c in links if c.campaign_id is None or c.campaign_id not in campaigns
        )
        if linked:
            campaign_id = linked[0].campaign_id
            merged = [campaign.campaign_id for campaign in linked[1:]]
        else:
            campaign_id = new_campaign_id
        members: list[tuple[datetime | None, str]] = [(subject.received_at, subject.proposal_id)]
        members += [(c.received_at, c.proposal_id) for c in links if c.proposal_id in grouped_with]
        members += [(campaign.representative_received_at, campaign.representative_id) for campaign in linked]
        representative = first_received(members)
    missing = missing_answers(subject.content)
    return ProposalTriaged(
        proposal_id=subject.proposal_id,
        consultation_id=subject.consultation_id,
        proposal_version=subject.version,
        complete=not missing,
        missing=missing,
        exact_duplicate_of=exact_duplicate_of,
        campaign_id=campaign_id,
        campaign_representative=representative,
        similar=[
            SimilarProposal(proposal_id=c.proposal_id, similarity=round(c.similarity, 4))
            for c in near[:similar_limit]
        ],
        method=method.describe(),
        grouped_with=grouped_with,
        merged_campaigns=merged,
        exact_duplicates=list(exact_duplicates),
    )


def release_from_campaign(proposal: ProposalFacts, *, reason: str) -> ProposalReleasedFromCampaign:
    _refuse_withdrawn(proposal)
    if proposal.campaign_id is None:
        raise ProposalNotInCampaign(f"proposal {proposal.proposal_id} is in no campaign")
    return ProposalReleasedFromCampaign(
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        campaign_id=proposal.campaign_id,
        reason=reason,
    )


# --- review and assessment ------------------------------------------------------------------------------


def _refuse_withdrawn(proposal: ProposalFacts) -> None:
    if proposal.withdrawn:
        raise ProposalIsWithdrawn(f"proposal {proposal.proposal_id} was withdrawn by its submitter")


def _refuse_assessed(proposal: ProposalFacts) -> None:
    if proposal.forwarded or proposal.assessment_current:
        raise ProposalAlreadyAssessed(
            f"proposal {proposal.proposal_id} is already assessed in its version {proposal.version}"
        )


def assign_reviewer(
    proposal: ProposalFacts, *, reviewer: str, organization: Organization
) -> ReviewerAssigned:
    """A lead assigns a reviewer of an organization; one assignment per reviewer and proposal."""
    _refuse_withdrawn(proposal)
    _refuse_assessed(proposal)
    for assigned, assigned_organization in proposal.assignments:
        if assigned == reviewer:
            raise ReviewerAlreadyAssigned(
                f"{reviewer} is already assigned to proposal {proposal.proposal_id} "
                f"for {assigned_organization.value}"
            )
    return ReviewerAssigned(
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        reviewer=reviewer,
        organization=organization,
    )


def submit_review(
    proposal: ProposalFacts,
    *,
    review_id: str,
    reviewer: str,
    reviewer_organization: str | None,
    organization: Organization,
    scores: CriteriaScores,
    recommendation: Recommendation,
    rationale: str,
) -> ReviewSubmitted:
    """An assigned reviewer reviews the current version, once, for the organization of their token."""
    if reviewer_organization != organization.value:
        raise OrganizationMismatch(
            f"the token's organization is {reviewer_organization}, not {organization.value}"
        )
    _refuse_withdrawn(proposal)
    _refuse_assessed(proposal)
    if (reviewer, organization) not in proposal.assignments:
        raise ReviewRequiresAssignment(
            f"{reviewer} is not assigned to proposal {proposal.proposal_id} for {organization.value}"
        )
    for review in proposal.current_reviews():
        if review.reviewer == reviewer:
            raise ReviewAlreadySubmitted(
                f"{reviewer} already reviewed version {proposal.version} of proposal {proposal.proposal_id}"
            )
    return ReviewSubmitted(
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        review_id=review_id,
        reviewer=reviewer,
        organization=organization,
        proposal_version=proposal.version,
        scores=scores,
        recommendation=recommendation,
        rationale=rationale,
    )


def assess(
    proposal: ProposalFacts,
    *,
    outcome: Outcome,
    merged_into: ProposalFacts | None,
    merged_into_id: str | None,
    rationale: str,
    now: datetime,
    analysis_due_at: datetime | None,
    risks_of_adoption: Sequence[Risk] = (),
    risks_of_rejection: Sequence[Risk] = (),
) -> ProposalAssessed:
    """The lead's consolidated assessment: at least one current review from each organization.

    After ``analysis_due_at`` it is still recorded, and marked late.
    """
    if outcome == Outcome.merged and merged_into_id is None:
        raise MergedIntoRequired("outcome merged needs merged_into: the proposal it was merged into")
    if outcome != Outcome.merged and merged_into_id is not None:
        raise MergedIntoOnlyWhenMerged("merged_into is given only with outcome merged")
    if merged_into_id is not None and (
        merged_into is None
        or merged_into.proposal_id == proposal.proposal_id
        or merged_into.consultation_id != proposal.consultation_id
    ):
        raise MergedIntoUnknown(
            f"merged_into {merged_into_id} is not another proposal of consultation {proposal.consultation_id}"
        )
    _refuse_withdrawn(proposal)
    _refuse_assessed(proposal)
    current = proposal.current_reviews()
    reviewed = {review.organization for review in current}
    lacking = [organization.value for organization in Organization if organization not in reviewed]
    if lacking:
        raise AssessmentNeedsBothOrganizations(
            f"version {proposal.version} of proposal {proposal.proposal_id} has no current review from "
            + " and ".join(lacking),
            missing_organizations=lacking,
        )
    return ProposalAssessed(
        proposal_id=proposal.proposal_id,
        consultation_id=proposal.consultation_id,
        outcome=outcome,
        merged_into=merged_into_id,
        rationale=rationale,
        review_ids=[review.review_id for review in current],
        late=analysis_due_at is not None and now > analysis_due_at,
        proposal_version=proposal.version,
        risks_of_adoption=list(risks_of_adoption),
        risks_of_rejection=list(risks_of_rejection),
    )


# --- packages for the government ------------------------------------------------------------------------


def open_package(
    *, package_id: str, consultation_id: str, title: str, consultation_known: bool
) -> GovernmentPackageOpened:
    if not consultation_known:
        raise ConsultationUnknown(f"no consultation {consultation_id} is known to the analysis service")
    return GovernmentPackageOpened(package_id=package_id, consultation_id=consultation_id, title=title)


def _refuse_submitted(package: PackageFacts) -> None:
    if package.submitted:
        raise PackageAlreadySubmitted(f"package {package.package_id} was already submitted to the government")


def _ineligibility(proposal: ProposalFacts) -> str | None:
    if proposal.withdrawn:
        return "withdrawn"
    if proposal.forwarded:
        return "already_forwarded"
    if not proposal.assessment_current:
        return "not_assessed"
    if proposal.outcome not in RECOMMENDING:
        return "not_recommended"
    return None


def add_to_package(
    package: PackageFacts, proposal: ProposalFacts | None, *, proposal_id: str
) -> ProposalAddedToPackage:
    """Assessed proposals recommended (with or without changes), of the package's consultation, once."""
    _refuse_submitted(package)
    if proposal is None:
        raise ProposalUnknown(f"no proposal {proposal_id} is known to the analysis service")
    if proposal.consultation_id != package.consultation_id:
        raise ProposalInOtherConsultation(
            f"proposal {proposal_id} belongs to consultation {proposal.consultation_id}, "
            f"the package to {package.consultation_id}"
        )
    _refuse_withdrawn(proposal)
    if proposal.package_id is not None or proposal.forwarded:
        raise ProposalAlreadyInPackage(
            f"proposal {proposal_id} is already in package {proposal.package_id}",
            package_id=proposal.package_id,
        )
    if not proposal.assessment_current:
        raise ProposalNotAssessed(f"proposal {proposal_id} has no assessment of its current version")
    if proposal.outcome not in RECOMMENDING:
        raise ProposalNotRecommended(
            f"proposal {proposal_id} was assessed {proposal.outcome.value if proposal.outcome else None}; "
            "a package carries recommended proposals only"
        )
    return ProposalAddedToPackage(
        package_id=package.package_id, consultation_id=package.consultation_id, proposal_id=proposal_id
    )


def remove_from_package(
    package: PackageFacts, *, proposal_id: str, reason: str
) -> ProposalRemovedFromPackage:
    _refuse_submitted(package)
    if proposal_id not in package.items:
        raise ProposalNotInPackage(f"proposal {proposal_id} is not in package {package.package_id}")
    return ProposalRemovedFromPackage(
        package_id=package.package_id,
        consultation_id=package.consultation_id,
        proposal_id=proposal_id,
        reason=reason,
    )


def submit_package(
    package: PackageFacts,
    items: Mapping[str, ProposalFacts],
    *,
    now: datetime,
    forwarding_due_at: datetime | None,
    measure_ids: Sequence[str] = (),
) -> tuple[list[ProposalForwardedToGovernment], GovernmentPackageSubmitted]:
    """Submit once: one forwarding per item and the package with its list, its measures and counts; late
    after the consultation's ``forwarding_due_at`` (recorded all the same). The measures' own forwarding
    is :func:`aireg_analysis.measures.forward_measures`."""
    _refuse_submitted(package)
    if not package.items and not measure_ids:
        raise PackageEmpty(f"package {package.package_id} has neither proposals nor measures")
    refused = {
        proposal_id: reason
        for proposal_id in package.items
        if (reason := _ineligibility(items[proposal_id])) is not None
    }
    if refused:
        raise PackageItemNotEligible(
            f"{len(refused)} proposal(s) of package {package.package_id} can no longer be forwarded; "
            "remove them or assess them again",
            items=[{"proposal_id": key, "reason": value} for key, value in refused.items()],
        )
    late = forwarding_due_at is not None and now > forwarding_due_at
    forwarded = [
        ProposalForwardedToGovernment(
            proposal_id=proposal_id,
            consultation_id=package.consultation_id,
            package_id=package.package_id,
            late=late,
        )
        for proposal_id in package.items
    ]
    counts = {"proposals": len(package.items)}
    if measure_ids:
        counts["measures"] = len(measure_ids)
    for outcome in RECOMMENDING:
        counts[outcome.value] = sum(
            1 for proposal_id in package.items if items[proposal_id].outcome == outcome
        )
    submitted = GovernmentPackageSubmitted(
        package_id=package.package_id,
        consultation_id=package.consultation_id,
        title=package.title,
        proposal_ids=list(package.items),
        counts=counts,
        late=late,
        measure_ids=list(measure_ids),
    )
    return forwarded, submitted
