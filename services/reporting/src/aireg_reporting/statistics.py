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
from collections.abc import Mapping, Sequence
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


class ProposalFacts(Protocol):
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
    def campaign_id(self) -> str | None: ...
    @property
    def campaign_representative(self) -> str | None: ...
    @property
    def is_analysis_work(self) -> bool: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def assessed_at(self) -> datetime | None: ...
    @property
    def forwarded_at(self) -> datetime | None: ...


class ReviewFacts(Protocol):
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


def _zeros(values: Sequence[str]) -> dict[str, int]:
    return dict.fromkeys(values, 0)


def _tally(counter: Counter[str], values: Sequence[str]) -> dict[str, int]:
    known = _zeros(values)
    for key, count in counter.items():
        known[key] = known.get(key, 0) + count
    return known


def _names(enum: type[object]) -> list[str]:
    return [member.value for member in enum]  # type: ignore[attr-defined]


def _representative(members: list[ProposalFacts]) -> str | None:
    return next((m.campaign_representative for m in members if m.campaign_representative), None)


def tally(
    proposals: Sequence[ProposalFacts],
    reviews: Sequence[ReviewFacts],
    deadlines: Mapping[str, Deadlines],
    *,
    now: datetime,
    consultation_id: str | None = None,
) -> Statistics:
    """The statistics of ``proposals`` at ``now``; ``deadlines`` by consultation id."""
    status: Counter[str] = Counter()
    direction: Counter[str] = Counter()
    question: Counter[str] = Counter()
    kind: Counter[str] = Counter()
    approach: Counter[str] = Counter()
    cost: Counter[str] = Counter()
    instrument: Counter[str] = Counter()
    area: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    positions = {name: _zeros(_names(Position)) for name in _names(Question)}
    campaigns: dict[str, list[ProposalFacts]] = {}
    analysis = {"work": 0, "on_time": 0, "late": 0, "pending": 0, "overdue": 0}
    forwarding = {"work": 0, "on_time": 0, "late": 0, "pending": 0, "overdue": 0}
    late = 0
    for proposal in proposals:
        status[proposal.status] += 1
        late += proposal.late
        if proposal.outcome is not None:
            outcome[proposal.outcome] += 1
        if proposal.status not in SET_ASIDE:
            direction.update(proposal.directions)
            question.update(proposal.questions)
            kind[proposal.submitter_kind] += 1
            approach[proposal.approach] += 1
            cost[proposal.cost_of_error] += 1
            instrument[proposal.instrument] += 1
            area.update(proposal.application_areas)
            for asked, position in proposal.positions.items():
                positions.setdefault(asked, _zeros(_names(Position)))[position] += 1
            if proposal.campaign_id is not None:
                campaigns.setdefault(proposal.campaign_id, []).append(proposal)
        due = deadlines.get(proposal.consultation_id)
        if due is None:
            continue
        if proposal.assessed_at is not None:
            analysis["on_time" if proposal.assessed_at <= due.analysis_due_at else "late"] += 1
        if proposal.is_analysis_work:
            analysis["work"] += 1
            if proposal.assessed_at is None:
                analysis["pending"] += 1
                analysis["overdue"] += now > due.analysis_due_at
        if proposal.forwarded_at is not None:
            forwarding["on_time" if proposal.forwarded_at <= due.forwarding_due_at else "late"] += 1
        awaits_forwarding = (
            proposal.assessed_at is not None
            and proposal.outcome != Outcome.merged.value
            and proposal.status not in SET_ASIDE
        )
        if awaits_forwarding:
            forwarding["work"] += 1
            if proposal.forwarded_at is None:
                forwarding["pending"] += 1
                forwarding["overdue"] += now > due.forwarding_due_at
    single = deadlines.get(consultation_id) if consultation_id is not None else None
    numbers = {proposal.proposal_id: proposal.registration_number for proposal in proposals}
    organizations: Counter[str] = Counter(review.organization for review in reviews)
    recommendations: Counter[str] = Counter(review.recommendation for review in reviews)
    return Statistics(
        consultation_id=consultation_id,
        as_of=now,
        proposals=len(proposals),
        late_submissions=late,
        by_status=_tally(status, STATUSES),
        by_direction=_tally(direction, _names(Direction)),
        by_question=_tally(question, _names(Question)),
        by_submitter_kind=_tally(kind, _names(SubmitterKind)),
        by_approach=_tally(approach, _names(Approach)),
        by_cost_of_error=_tally(cost, _names(CostOfError)),
        by_instrument=_tally(instrument, _names(Instrument)),
        by_application_area=_tally(area, _names(ApplicationArea)),
        positions=positions,
        outcomes=_tally(outcome, _names(Outcome)),
        reviews=len(reviews),
        reviews_by_organization=_tally(organizations, _names(Organization)),
        reviews_by_recommendation=_tally(recommendations, _names(Recommendation)),
        campaigns=sorted(
            (
                Campaign(
                    campaign_id=campaign_id,
                    size=len(members),
                    representative=(representative := _representative(members)),
                    representative_registration_number=numbers.get(representative)
                    if representative
                    else None,
                )
                for campaign_id, members in campaigns.items()
            ),
            key=lambda campaign: (-campaign.size, campaign.campaign_id),
        ),
        deadline_compliance=DeadlineCompliance(
            analysis=AnalysisCompliance(
                due_at=single.analysis_due_at if single is not None else None,
                work=analysis["work"],
                assessed_on_time=analysis["on_time"],
                assessed_late=analysis["late"],
                pending=analysis["pending"],
                overdue=analysis["overdue"],
            ),
            forwarding=ForwardingCompliance(
                due_at=single.forwarding_due_at if single is not None else None,
                work=forwarding["work"],
                forwarded_on_time=forwarding["on_time"],
                forwarded_late=forwarding["late"],
                pending=forwarding["pending"],
                overdue=forwarding["overdue"],
            ),
        ),
    )
