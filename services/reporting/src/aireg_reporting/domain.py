"""What reporting knows, as pure functions of the events it received: their causal order, the state of a
proposal and of a government package folded from them, and which subjects an event concerns. No I/O:
the projector stores what these compute, and the package document computes it again from the events as
they stood at any moment. What an event says to a person is :mod:`aireg_reporting.descriptions`.

A state is always folded from *all* the events of its subject, in causal order, never patched by the
latest one: so it does not matter in which order the two topics deliver them (an analysis event may come
before the submission it follows), and a rebuild reaches exactly the live state.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from aireg_events.campaigns import CampaignBook, GroupFacts, fold_decision, hold_elections_in_memory
from aireg_events.catalogue import CATALOGUE, DomainEvent
from aireg_events.catalogue.analysis import (
    GovernmentPackageOpened,
    GovernmentPackageSubmitted,
    MeasureAddedToPackage,
    MeasureDecided,
    MeasureDrafted,
    MeasureForwardedToGovernment,
    MeasureRevised,
    ProposalAddedToPackage,
    ProposalAssessed,
    ProposalForwardedToGovernment,
    ProposalLinkedToMeasure,
    ProposalRemovedFromPackage,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
)
from aireg_events.catalogue.common import Outcome
from aireg_events.catalogue.submission import (
    AttributionDisputeResolved,
    DisputeOutcome,
    ProposalAmended,
    ProposalContent,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_events.envelope import Envelope
from aireg_events.submitter_status import submitter_status

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

STATUSES = (
    "submitted",
    "under_review",
    "rejected_as_duplicate",
    "assessed",
    "forwarded_to_government",
    "withdrawn",
    "misattributed",
)
"""The statuses a submitter sees (docs/contract.md), in the order a proposal moves through them."""


@dataclass(frozen=True)
class Received:
    """An event as reporting keeps it: the envelope and its typed payload."""

    envelope: Envelope
    event: DomainEvent
    body: str | None = None
    """The canonical JSON envelope as received, when the receiver has it (else it is encoded again)."""

    @classmethod
    def parse(cls, body: str | bytes) -> Received:
        envelope = Envelope.from_json(body)
        return cls(envelope, CATALOGUE.read(envelope), body if isinstance(body, str) else body.decode())

    @property
    def canonical(self) -> str:
        return self.body if self.body is not None else self.envelope.to_canonical().decode()

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at


# --- which subjects an event concerns -------------------------------------------------------------


def proposals_of(event: DomainEvent) -> list[str]:
    """The proposals an event is about (its timeline entries): a triage also concerns the proposals it
    groups with its own and those it finds to be exact duplicates of it."""
    if isinstance(event, GovernmentPackageSubmitted):
        return list(dict.fromkeys(event.proposal_ids))
    proposal_id = getattr(event, "proposal_id", None)
    if not isinstance(proposal_id, str):
        return []
    if isinstance(event, ProposalTriaged):
        return list(dict.fromkeys([proposal_id, *event.grouped_with, *event.exact_duplicates]))
    return [proposal_id]


def measures_of(event: DomainEvent) -> list[str]:
    """The measure an event is about (its trace entries)."""
    measure_id = getattr(event, "measure_id", None)
    return [measure_id] if isinstance(measure_id, str) else []


def packages_of(event: DomainEvent) -> list[str]:
    package_id = getattr(event, "package_id", None)
    return [package_id] if isinstance(package_id, str) else []


def consultation_of(event: DomainEvent) -> str | None:
    consultation_id = getattr(event, "consultation_id", None)
    return consultation_id if isinstance(consultation_id, str) else None


def changes_proposal_state(event: DomainEvent) -> bool:
    """Whether folding the proposal again could change it (a package's submission only lists them)."""
    return not isinstance(
        event,
        (
            GovernmentPackageSubmitted,
            ProposalAddedToPackage,
            ProposalRemovedFromPackage,
            MeasureDrafted,
            MeasureRevised,
            MeasureDecided,
            MeasureAddedToPackage,
            MeasureForwardedToGovernment,
        ),
    )


# --- causal order -----------------------------------------------------------------------------------


def _tie_break(item: Received) -> tuple[datetime, str, int, str]:
    envelope = item.envelope
    return (envelope.occurred_at, envelope.producer, envelope.log_position, envelope.event_id)


def causal_order(items: Iterable[Received]) -> list[Received]:
    """Every event after the event that caused it and after what its producer logged before it.

    Within one producer the log position is the order; across producers an event follows its
    ``causation_id``. Where neither says, the earlier ``occurred_at`` comes first (then producer,
    position and id), so the order is the same whatever order the events arrived in.
    """
    by_id: dict[str, Received] = {}
    for item in items:
        by_id.setdefault(item.event_id, item)
    successors: dict[str, list[str]] = {event_id: [] for event_id in by_id}
    waiting_for: dict[str, int] = dict.fromkeys(by_id, 0)

    def edge(before: str, after: str) -> None:
        successors[before].append(after)
        waiting_for[after] += 1

    per_producer: dict[str, list[Received]] = {}
    for item in by_id.values():
        per_producer.setdefault(item.envelope.producer, []).append(item)
    for chain in per_producer.values():
        chain.sort(key=lambda item: (item.envelope.log_position, item.event_id))
        for before, after in pairwise(chain):
            edge(before.event_id, after.event_id)
    for item in by_id.values():
        cause = item.envelope.causation_id
        if cause is not None and cause in by_id and cause != item.event_id:
            edge(cause, item.event_id)

    ready = [(_tie_break(item), item.event_id) for item in by_id.values() if waiting_for[item.event_id] == 0]
    heapq.heapify(ready)
    ordered: list[Received] = []
    while ready:
        _, event_id = heapq.heappop(ready)
        ordered.append(by_id[event_id])
        for successor in successors[event_id]:
            waiting_for[successor] -= 1
            if waiting_for[successor] == 0:
                heapq.heappush(ready, (_tie_break(by_id[successor]), successor))
    if len(ordered) < len(by_id):  # a causation cycle only a forged log can have: keep everything
        placed = {item.event_id for item in ordered}
        ordered.extend(
            sorted((item for item in by_id.values() if item.event_id not in placed), key=_tie_break)
        )
    return ordered


# --- a proposal -------------------------------------------------------------------------------------


@dataclass
class ReviewState:
    review_id: str
    reviewer: str
    organization: str
    proposal_version: int
    scores: dict[str, int]
    recommendation: str
    rationale: str
    submitted_at: datetime
    event_id: str


@dataclass
class ProposalState:
    """One proposal as the events of both producers describe it."""

    proposal_id: str
    consultation_id: str | None = None
    registration_number: str | None = None
    portal: str | None = None
    content: ProposalContent | None = None
    received_at: datetime | None = None
    submitted_at: datetime | None = None
    late: bool = False
    version: int = 0
    amended_at: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    misattributed_at: datetime | None = None
    """When an upheld attribution dispute set it aside: it leaves the counts, it stays in the log."""
    triaged_at: datetime | None = None
    complete: bool | None = None
    missing: list[str] = field(default_factory=list)
    exact_duplicate_of: str | None = None
    campaign_id: str | None = None
    campaign_representative: str | None = None
    reviewers: set[tuple[str, str]] = field(default_factory=set)
    reviews: dict[str, ReviewState] = field(default_factory=dict)
    outcome: str | None = None
    merged_into: str | None = None
    assessment_rationale: str | None = None
    assessed_at: datetime | None = None
    assessment_late: bool = False
    assessment_event_id: str | None = None
    assessed_version: int | None = None
    review_ids: list[str] = field(default_factory=list)
    package_id: str | None = None
    forwarded_at: datetime | None = None
    forwarding_late: bool = False
    measures: set[str] = field(default_factory=set)
    """The measures it is linked to as evidence."""
    event_ids: list[str] = field(default_factory=list)
    last_event_at: datetime | None = None

    @property
    def title(self) -> str | None:
        return self.content.title if self.content is not None else None

    @property
    def is_submitted(self) -> bool:
        """Whether its ``ProposalSubmitted`` has arrived (analysis events may come first)."""
        return self.content is not None and self.submitted_at is not None

    @property
    def status(self) -> str:
        """What its submitter sees (:func:`aireg_events.submitter_status.submitter_status`)."""
        return submitter_status(
            misattributed=self.misattributed_at is not None,
            withdrawn=self.withdrawn_at is not None,
            forwarded=self.forwarded_at is not None,
            assessed=self.assessment_is_current,
            merged=self.outcome == Outcome.merged.value,
            in_review=self.triaged_at is not None or bool(self.reviewers) or bool(self.reviews),
        )

    @property
    def assessment_is_current(self) -> bool:
        """Assessed, and not amended since (an amendment asks for a new assessment)."""
        return self.assessed_at is not None and (
            self.assessed_version is None or self.assessed_version >= self.version
        )

    def regroup(self, facts: GroupFacts) -> None:
        self.campaign_id = facts.campaign_id
        self.campaign_representative = facts.campaign_representative
        self.exact_duplicate_of = facts.exact_duplicate_of

    @property
    def is_analysis_work(self) -> bool:
        if not self.is_submitted or self.withdrawn_at is not None or self.exact_duplicate_of is not None:
            return False
        if self.misattributed_at is not None:
            return False
        represented_by_another = (
            self.campaign_id is not None
            and self.campaign_representative is not None
            and self.campaign_representative != self.proposal_id
        )
        return not represented_by_another

    def evolve(self, item: Received) -> None:
        """Apply one event (given in causal order) of this proposal's own.

        Its campaign and its original, which other proposals' triage may change, come from
        :meth:`regroup`.
        """
        event, at = item.event, item.occurred_at
        if getattr(event, "proposal_id", None) != self.proposal_id or not changes_proposal_state(event):
            return
        self.event_ids.append(item.event_id)
        self.last_event_at = at if self.last_event_at is None else max(self.last_event_at, at)
        self.consultation_id = self.consultation_id or consultation_of(event)
        if isinstance(event, ProposalSubmitted):
            self.consultation_id = event.consultation_id
            self.registration_number = event.registration_number
            self.portal = event.portal
            self.content = event.content
            self.received_at = event.received_at
            self.submitted_at = at
            self.late = event.late
            self.version = max(self.version, 1)
        elif isinstance(event, ProposalAmended):
            self.content = event.content
            self.version = max(self.version, 1) + 1
            self.amended_at = at
        elif isinstance(event, ProposalWithdrawn):
            self.withdrawn_at = at
            self.withdrawal_reason = event.reason
        elif isinstance(event, AttributionDisputeResolved) and event.outcome is DisputeOutcome.upheld:
            self.misattributed_at = at
        elif isinstance(event, ProposalTriaged):
            self.triaged_at = at
            self.complete = event.complete
            self.missing = list(event.missing)
        elif isinstance(event, ReviewerAssigned):
            self.reviewers.add((event.reviewer, event.organization.value))
        elif isinstance(event, ReviewSubmitted):
            self.reviews[event.review_id] = ReviewState(
                review_id=event.review_id,
                reviewer=event.reviewer,
                organization=event.organization.value,
                proposal_version=event.proposal_version,
                scores=event.scores.model_dump(),
                recommendation=event.recommendation.value,
                rationale=event.rationale,
                submitted_at=at,
                event_id=item.event_id,
            )
        elif isinstance(event, ProposalAssessed):
            self.outcome = event.outcome.value
            self.merged_into = event.merged_into
            self.assessment_rationale = event.rationale
            self.assessed_at = at
            self.assessment_late = event.late
            self.assessment_event_id = item.event_id
            self.assessed_version = event.proposal_version
            self.review_ids = list(event.review_ids)
        elif isinstance(event, ProposalForwardedToGovernment):
            self.package_id = event.package_id
            self.forwarded_at = at
            self.forwarding_late = event.late
        elif isinstance(event, ProposalLinkedToMeasure):
            self.measures.add(event.measure_id)

    def columns(self) -> dict[str, Any]:
        """The values of its ``proposal`` row (only for a submitted proposal)."""
        content = self.content
        assert content is not None and self.submitted_at is not None and self.received_at is not None
        assert self.last_event_at is not None and self.consultation_id is not None
        return {
            "proposal_id": self.proposal_id,
            "consultation_id": self.consultation_id,
            "registration_number": self.registration_number or "",
            "portal": self.portal or "",
            "status": self.status,
            "title": content.title,
            "summary": content.summary,
            "submitter_name": content.submitter.public_name,
            "submitter_kind": content.submitter.kind.value,
            "submitter_registration_number": content.submitter.public_registration_number,
            "directions": [value.value for value in content.directions],
            "questions": [value.value for value in content.questions],
            "positions": {question.value: position.value for question, position in content.positions.items()},
            "instrument": content.instrument.value,
            "approach": content.approach.value,
            "cost_of_error": content.cost_of_error.value,
            "application_areas": [value.value for value in content.application_areas],
            "attachments": len(content.attachments),
            "late": self.late,
            "received_at": self.received_at,
            "submitted_at": self.submitted_at,
            "version": self.version,
            "amended_at": self.amended_at,
            "withdrawn_at": self.withdrawn_at,
            "withdrawal_reason": self.withdrawal_reason,
            "triaged_at": self.triaged_at,
            "complete": self.complete,
            "missing": list(self.missing),
            "exact_duplicate_of": self.exact_duplicate_of,
            "is_analysis_work": self.is_analysis_work,
            "reviewers_assigned": len(self.reviewers),
            "outcome": self.outcome,
            "merged_into": self.merged_into,
            "assessment_rationale": self.assessment_rationale,
            "assessed_at": self.assessed_at,
            "assessment_late": self.assessment_late,
            "package_id": self.package_id,
            "forwarded_at": self.forwarded_at,
            "forwarding_late": self.forwarding_late,
            "measure_count": len(self.measures),
            "last_event_at": self.last_event_at,
            "event_ids": list(self.event_ids),
        }


def fold_proposal(proposal_id: str, items: Iterable[Received], facts: GroupFacts) -> ProposalState:
    """The proposal from its own events, placed among the others by ``facts`` (:mod:`.campaigns`)."""
    state = ProposalState(proposal_id)
    for item in causal_order(items):
        state.evolve(item)
    state.regroup(facts)
    return state


def fold_consultation(items: Iterable[Received]) -> dict[str, ProposalState]:
    """Every submitted proposal among ``items`` (one consultation's events), placed in its campaign."""
    by_proposal: dict[str, list[Received]] = {}
    book = CampaignBook()
    for item in items:
        fold_decision(book, item.event, item.envelope.log_position)
        if changes_proposal_state(item.event):
            for proposal_id in proposals_of(item.event):
                by_proposal.setdefault(proposal_id, []).append(item)
    hold_elections_in_memory(book)
    return {
        proposal_id: state
        for proposal_id, mine in sorted(by_proposal.items())
        if (state := fold_proposal(proposal_id, mine, book.facts(proposal_id))).is_submitted
    }


# --- a government package ---------------------------------------------------------------------------


@dataclass
class PackageItem:
    proposal_id: str
    event_id: str | None


@dataclass
class PackageState:
    package_id: str
    consultation_id: str | None = None
    title: str | None = None
    opened_at: datetime | None = None
    added: list[PackageItem] = field(default_factory=list)
    submitted_at: datetime | None = None
    submitted_proposal_ids: list[str] | None = None
    late: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)

    @property
    def is_opened(self) -> bool:
        return self.opened_at is not None

    @property
    def status(self) -> str:
        return "submitted" if self.submitted_at is not None else "open"

    @property
    def items(self) -> list[PackageItem]:
        """What it holds: once submitted, exactly the proposals its submission lists."""
        if self.submitted_proposal_ids is None:
            return list(self.added)
        added = {item.proposal_id: item for item in self.added}
        return [
            added.get(proposal_id, PackageItem(proposal_id, None))
            for proposal_id in self.submitted_proposal_ids
        ]

    def evolve(self, item: Received) -> None:
        event = item.event
        if isinstance(event, GovernmentPackageOpened):
            self.consultation_id = event.consultation_id
            self.title = event.title
            self.opened_at = item.occurred_at
        elif isinstance(event, ProposalAddedToPackage):
            if all(known.proposal_id != event.proposal_id for known in self.added):
                self.added.append(PackageItem(event.proposal_id, item.event_id))
        elif isinstance(event, ProposalRemovedFromPackage):
            self.added = [known for known in self.added if known.proposal_id != event.proposal_id]
        elif isinstance(event, GovernmentPackageSubmitted):
            self.consultation_id = event.consultation_id
            self.title = event.title
            self.submitted_at = item.occurred_at
            self.submitted_proposal_ids = list(dict.fromkeys(event.proposal_ids))
            self.late = event.late
            self.counts = dict(event.counts)
        else:
            return
        self.event_ids.append(item.event_id)


def fold_package(package_id: str, items: Iterable[Received]) -> PackageState:
    state = PackageState(package_id)
    for item in causal_order(items):
        if package_id in packages_of(item.event) and not isinstance(
            item.event, ProposalForwardedToGovernment
        ):
            state.evolve(item)
    return state
