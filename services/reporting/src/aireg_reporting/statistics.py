"""The statistics of a call, as a pure function of its proposals, their reviews and its deadlines.

``/v1/stats`` feeds it the stored read models; the package document feeds it the same facts folded from
the events up to its ``as_of``: one computation, so the two always agree.

What counts: ``by_status`` counts every proposal; the content breakdowns (direction, question, positions,
submitter kind, approach, cost of error, instrument, application area) count the proposals neither
withdrawn nor misattributed (an upheld attribution dispute set it aside). Deadline compliance: a proposal
is analysis work unless it is withdrawn, misattributed, an exact duplicate,
or a campaign member its campaign's representative stands for; it is assessed on time when its
``ProposalAssessed`` occurred at or before ``analysis_due_at``. A proposal assessed with any outcome but
``merged`` awaits forwarding; it is forwarded on time at or before ``forwarding_due_at``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from aireg_events.catalogue.common import (
    ApplicationArea,
    Approach,
    CostOfError,
    Direction,
    Instrument,
    Organization,
    Outcome,
    Position,
    Question,
    Recommendation,
    SubmitterKind,
    UtcDateTime,
)
from aireg_reporting.domain import STATUSES

SET_ASIDE = frozenset({"withdrawn", "misattributed"})
"""Statuses whose proposals leave the content breakdowns and the work awaiting forwarding."""


class CountedProposal(Protocol):
    """What the statistics read of a proposal (a ``proposal`` row, or one folded for a document)."""

    @property
    def proposal_id(self) -> str: ...
    @property
    def consultation_id(self) -> str: ...
    @property
    def registration_number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def late(self) -> bool: ...
    @property
    def submitter_kind(self) -> str: ...
    @property
    def directions(self) -> list[str]: ...
    @property
    def questions(self) -> list[str]: ...
    @property
    def positions(self) -> dict[str, str]: ...
    @property
    def instrument(self) -> str: ...
    @property
    def approach(self) -> str: ...
    @property
    def cost_of_error(self) -> str: ...
    @property
    def application_areas(self) -> list[str]: ...
    @property
    def is_analysis_work(self) -> bool: ...
    @property
    def measure_count(self) -> int: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def assessed_at(self) -> datetime | None: ...
    @property
    def forwarded_at(self) -> datetime | None: ...


class CountedReview(Protocol):
    @property
    def organization(self) -> str: ...
    @property
    def recommendation(self) -> str: ...


class Deadlines(Protocol):
    @property
    def analysis_due_at(self) -> datetime: ...
    @property
    def forwarding_due_at(self) -> datetime: ...


class Campaign(BaseModel):
    campaign_id: str
    size: int = Field(description="proposals triage put in it and that were not released from it")
    representative: str | None = Field(description="the proposal id of the member received first")
    representative_registration_number: str | None = None
    representative_title: str | None = Field(
        default=None, description="the representative's title: what a campaign is shown by, with its size"
    )


class AnalysisCompliance(BaseModel):
    due_at: UtcDateTime | None = Field(description="analysis_due_at (null over several consultations)")
    work: int = Field(description="proposals to be assessed")
    assessed_on_time: int
    assessed_late: int
    pending: int = Field(description="analysis work not assessed yet")
    overdue: int = Field(description="pending after its deadline")


class ForwardingCompliance(BaseModel):
    due_at: UtcDateTime | None
    work: int = Field(description="proposals assessed with an outcome other than merged")
    forwarded_on_time: int
    forwarded_late: int
    pending: int
    overdue: int


class DeadlineCompliance(BaseModel):
    analysis: AnalysisCompliance
    forwarding: ForwardingCompliance


class CoverageCell(BaseModel):
    measures: int = Field(description="measures (not dropped) that name it")
    proposals_without_measure: int = Field(
        description="proposals naming it that are evidence for no measure (withdrawn and misattributed left out)"
    )


class Coverage(BaseModel):
    """How far the measures cover the call: per direction and question, the measures and the proposals
    linked to none."""

    measures: int = Field(description="measures not dropped")
    by_direction: dict[str, CoverageCell]
    by_question: dict[str, CoverageCell]


class Statistics(BaseModel):
    consultation_id: str | None
    as_of: UtcDateTime
    proposals: int
    late_submissions: int
    by_status: dict[str, int]
    by_direction: dict[str, int]
    by_question: dict[str, int]
    by_submitter_kind: dict[str, int]
    by_approach: dict[str, int]
    by_cost_of_error: dict[str, int]
    by_instrument: dict[str, int]
    by_application_area: dict[str, int]
    positions: dict[str, dict[str, int]] = Field(description="per question: support, oppose, conditional")
    outcomes: dict[str, int]
    reviews: int
    reviews_by_organization: dict[str, int]
    reviews_by_recommendation: dict[str, int]
    campaigns: list[Campaign]
    deadline_compliance: DeadlineCompliance
    coverage: Coverage


Counts = Counter[tuple[str, str]]
"""Figures by ``(dimension, key)``: what ``/v1/stats`` keeps per consultation in the ``counter`` table, one
row per figure, kept current per event by adding what each proposal's fold changes."""


def proposal_counts(proposal: CountedProposal, due: Deadlines | None) -> Counts:
    """What one proposal adds to the figures of its consultation (``due``: its deadlines, when known)."""
    counts: Counts = Counter()
    counts["proposals", ""] += 1
    counts["status", proposal.status] += 1
    if proposal.late:
        counts["late", ""] += 1
    if proposal.outcome is not None:
        counts["outcome", proposal.outcome] += 1
    if proposal.status not in SET_ASIDE:
        counts.update(("direction", value) for value in proposal.directions)
        counts.update(("question", value) for value in proposal.questions)
        counts.update(("application_area", value) for value in proposal.application_areas)
        counts["submitter_kind", proposal.submitter_kind] += 1
        counts["approach", proposal.approach] += 1
        counts["cost_of_error", proposal.cost_of_error] += 1
        counts["instrument", proposal.instrument] += 1
        counts.update(("position", f"{asked}:{position}") for asked, position in proposal.positions.items())
        if not proposal.measure_count:
            counts.update(("unlinked_direction", value) for value in proposal.directions)
            counts.update(("unlinked_question", value) for value in proposal.questions)
    if due is None:
        return counts
    if proposal.assessed_at is not None:
        counts["analysis", "on_time" if proposal.assessed_at <= due.analysis_due_at else "late"] += 1
    if proposal.is_analysis_work:
        counts["analysis", "work"] += 1
        if proposal.assessed_at is None:
            counts["analysis", "pending"] += 1
    if proposal.forwarded_at is not None:
        counts["forwarding", "on_time" if proposal.forwarded_at <= due.forwarding_due_at else "late"] += 1
    awaits_forwarding = (
        proposal.assessed_at is not None
        and proposal.outcome != Outcome.merged.value
        and proposal.status not in SET_ASIDE
    )
    if awaits_forwarding:
        counts["forwarding", "work"] += 1
        if proposal.forwarded_at is None:
            counts["forwarding", "pending"] += 1
    return counts


def measure_counts(status: str, directions: Iterable[str], questions: Iterable[str]) -> Counts:
    """What one measure adds to the coverage figures of its consultation (a dropped one nothing)."""
    counts: Counts = Counter()
    if status == "dropped":
        return counts
    counts["measures", ""] += 1
    counts.update(("measure_direction", value) for value in directions)
    counts.update(("measure_question", value) for value in questions)
    return counts


def _coverage(counts: Counts) -> Coverage:
    def cells(measured: str, unlinked: str, values: list[str]) -> dict[str, CoverageCell]:
        measures, without = _of(counts, measured, values), _of(counts, unlinked, values)
        return {
            value: CoverageCell(
                measures=measures.get(value, 0), proposals_without_measure=without.get(value, 0)
            )
            for value in dict.fromkeys([*measures, *without])
        }

    return Coverage(
        measures=counts["measures", ""],
        by_direction=cells("measure_direction", "unlinked_direction", _names(Direction)),
        by_question=cells("measure_question", "unlinked_question", _names(Question)),
    )


def review_counts(reviews: Iterable[CountedReview]) -> Counts:
    counts: Counts = Counter()
    for review in reviews:
        counts["reviews", ""] += 1
        counts["review_organization", review.organization] += 1
        counts["review_recommendation", review.recommendation] += 1
    return counts


def _of(counts: Counts, dimension: str, values: Sequence[str]) -> dict[str, int]:
    known = dict.fromkeys(values, 0)
    for (kind, key), count in sorted(counts.items()):
        if kind == dimension and (count or key in known):
            known[key] = known.get(key, 0) + count
    return known


def _names(enum: type[object]) -> list[str]:
    return [member.value for member in enum]  # type: ignore[attr-defined]


def figures(
    counts: Mapping[str, Counts],
    deadlines: Mapping[str, Deadlines],
    campaigns: Sequence[Campaign],
    *,
    now: datetime,
    consultation_id: str | None = None,
) -> Statistics:
    """The statistics from the figures of each consultation (``counts`` by consultation id; what is
    overdue is its pending work once its deadline has passed)."""
    total: Counts = Counter()
    overdue = {"analysis": 0, "forwarding": 0}
    for consultation, mine in counts.items():
        total.update(mine)
        due = deadlines.get(consultation)
        if due is not None:
            overdue["analysis"] += mine["analysis", "pending"] if now > due.analysis_due_at else 0
            overdue["forwarding"] += mine["forwarding", "pending"] if now > due.forwarding_due_at else 0
    positions: dict[str, dict[str, int]] = {
        name: dict.fromkeys(_names(Position), 0) for name in _names(Question)
    }
    for (kind, key), count in sorted(total.items()):
        if kind == "position" and count:
            asked, position = key.split(":", 1)
            positions.setdefault(asked, dict.fromkeys(_names(Position), 0))[position] += count
    single = deadlines.get(consultation_id) if consultation_id is not None else None
    return Statistics(
        consultation_id=consultation_id,
        as_of=now,
        proposals=total["proposals", ""],
        late_submissions=total["late", ""],
        by_status=_of(total, "status", STATUSES),
        by_direction=_of(total, "direction", _names(Direction)),
        by_question=_of(total, "question", _names(Question)),
        by_submitter_kind=_of(total, "submitter_kind", _names(SubmitterKind)),
        by_approach=_of(total, "approach", _names(Approach)),
        by_cost_of_error=_of(total, "cost_of_error", _names(CostOfError)),
        by_instrument=_of(total, "instrument", _names(Instrument)),
        by_application_area=_of(total, "application_area", _names(ApplicationArea)),
        positions=positions,
        outcomes=_of(total, "outcome", _names(Outcome)),
        reviews=total["reviews", ""],
        reviews_by_organization=_of(total, "review_organization", _names(Organization)),
        reviews_by_recommendation=_of(total, "review_recommendation", _names(Recommendation)),
        campaigns=sorted(campaigns, key=lambda campaign: (-campaign.size, campaign.campaign_id)),
        coverage=_coverage(total),
        deadline_compliance=DeadlineCompliance(
            analysis=AnalysisCompliance(
                due_at=single.analysis_due_at if single is not None else None,
                work=total["analysis", "work"],
                assessed_on_time=total["analysis", "on_time"],
                assessed_late=total["analysis", "late"],
                pending=total["analysis", "pending"],
                overdue=overdue["analysis"],
            ),
            forwarding=ForwardingCompliance(
                due_at=single.forwarding_due_at if single is not None else None,
                work=total["forwarding", "work"],
                forwarded_on_time=total["forwarding", "on_time"],
                forwarded_late=total["forwarding", "late"],
                pending=total["forwarding", "pending"],
                overdue=overdue["forwarding"],
            ),
        ),
    )


class CampaignMember(Protocol):
    @property
    def proposal_id(self) -> str: ...
    @property
    def registration_number(self) -> str | None: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def campaign_representative(self) -> str | None: ...
    @property
    def withdrawn_at(self) -> datetime | None: ...
    @property
    def title(self) -> str | None: ...


def campaigns_of(proposals: Iterable[CampaignMember]) -> list[Campaign]:
    """The campaigns of folded proposals (the document's; ``/v1/stats`` reads the ``campaign`` table)."""
    members: dict[str, list[CampaignMember]] = {}
    numbers = {proposal.proposal_id: proposal.registration_number for proposal in proposals}
    titles = {proposal.proposal_id: proposal.title for proposal in proposals}
    for proposal in proposals:
        if proposal.campaign_id is not None and proposal.withdrawn_at is None:
            members.setdefault(proposal.campaign_id, []).append(proposal)
    campaigns = []
    for campaign_id, mine in members.items():
        representative = mine[0].campaign_representative
        campaigns.append(
            Campaign(
                campaign_id=campaign_id,
                size=len(mine),
                representative=representative,
                representative_registration_number=numbers.get(representative) if representative else None,
                representative_title=titles.get(representative) if representative else None,
            )
        )
    return campaigns


def tally(
    proposals: Iterable[CountedProposal],
    reviews: Iterable[CountedReview],
    deadlines: Mapping[str, Deadlines],
    *,
    now: datetime,
    consultation_id: str | None = None,
    campaigns: Sequence[Campaign] = (),
) -> Statistics:
    """The statistics of ``proposals`` at ``now`` (``deadlines`` by consultation id): the figures each
    adds, summed, as the ``counter`` table keeps them per event."""
    counts: dict[str, Counts] = {}
    for proposal in proposals:
        counts.setdefault(proposal.consultation_id, Counter()).update(
            proposal_counts(proposal, deadlines.get(proposal.consultation_id))
        )
    counts.setdefault("", Counter()).update(review_counts(reviews))
    return figures(counts, deadlines, campaigns, now=now, consultation_id=consultation_id)
