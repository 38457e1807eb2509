"""Measures as analysis's events describe them, folded for the measure's trace and the package document:
the latest terms, the evidence linked, the decision, and what was forwarded with a package (its
evidence and tallies as analysis counted them when the package was submitted)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

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
from aireg_reporting.domain import Received, causal_order


@dataclass(frozen=True)
class LinkedEvidence:
    proposal_id: str
    stance: MeasureStance
    note: str
    linked_at: datetime
    event_id: str


@dataclass
class MeasureState:
    measure_id: str
    consultation_id: str | None = None
    terms: MeasureTerms | None = None
    revision: int = 0
    status: str = "drafted"
    decision_rationale: str | None = None
    decided_at: datetime | None = None
    package_id: str | None = None
    evidence: list[LinkedEvidence] = field(default_factory=list)
    forwarded_at: datetime | None = None
    forwarded_evidence: list[Evidence] = field(default_factory=list)
    tallies: dict[MeasureStance, Tally] | None = None
    """As forwarded (analysis counts voices and signatories); none before the package is submitted."""
    event_ids: list[str] = field(default_factory=list)

    def evolve(self, item: Received) -> None:
        event = item.event
        if getattr(event, "measure_id", None) != self.measure_id:
            return
        self.event_ids.append(item.event_id)
        if isinstance(event, (MeasureDrafted, MeasureRevised)):
            self.consultation_id = event.consultation_id
            self.terms = event.terms
            self.revision += 1
        elif isinstance(event, ProposalLinkedToMeasure):
            self.evidence.append(
                LinkedEvidence(event.proposal_id, event.stance, event.note, item.occurred_at, item.event_id)
            )
        elif isinstance(event, MeasureDecided):
            self.status = "adopted" if event.decision is MeasureDecision.adopt else "dropped"
            self.decision_rationale = event.rationale
            self.decided_at = item.occurred_at
        elif isinstance(event, MeasureAddedToPackage):
            self.package_id = event.package_id
        elif isinstance(event, MeasureForwardedToGovernment):
            self.package_id = event.package_id
            self.terms = event.terms
            self.forwarded_at = item.occurred_at
            self.forwarded_evidence = list(event.evidence)
            self.tallies = dict(event.tallies)


def fold_measures(items: Iterable[Received]) -> dict[str, MeasureState]:
    """Every measure drafted among ``items``, in the order drafted."""
    measures: dict[str, MeasureState] = {}
    for item in causal_order(items):
        measure_id = getattr(item.event, "measure_id", None)
        if not isinstance(measure_id, str):
            continue
        if isinstance(item.event, MeasureDrafted):
            measures.setdefault(measure_id, MeasureState(measure_id))
        if measure_id in measures:
            measures[measure_id].evolve(item)
    return measures
