"""What a caller may ask the analysis service to do: one command per command route, named in the imperative.

A route parses its request into one of these and hands it to the message bus; the handler of each one is
in ``handlers.py`` under the same name in snake case.
"""

from __future__ import annotations

from aireg_events.bus import Command
from aireg_events.catalogue.analysis import CriteriaScores, MeasureDecision, MeasureStance, MeasureTerms, Risk
from aireg_events.catalogue.common import Organization, Outcome, Recommendation


class AssignReviewer(Command):
    proposal_id: str
    reviewer: str
    organization: Organization


class SubmitReview(Command):
    proposal_id: str
    reviewer: str
    """The reviewer's name, from their token."""
    reviewer_organization: str | None
    """The organization of the reviewer's token (the review's organization must be it)."""
    organization: Organization
    scores: CriteriaScores
    recommendation: Recommendation
    rationale: str


class Assess(Command):
    proposal_id: str
    outcome: Outcome
    merged_into: str | None = None
    rationale: str
    risks_of_adoption: tuple[Risk, ...] = ()
    risks_of_rejection: tuple[Risk, ...] = ()


class ReleaseFromCampaign(Command):
    proposal_id: str
    reason: str


class OpenPackage(Command):
    consultation_id: str
    title: str


class AddToPackage(Command):
    package_id: str
    proposal_id: str


class AddMeasureToPackage(Command):
    package_id: str
    measure_id: str


class RemoveFromPackage(Command):
    package_id: str
    proposal_id: str
    reason: str = ""


class SubmitPackage(Command):
    package_id: str


class DraftMeasure(Command):
    consultation_id: str
    terms: MeasureTerms


class LinkEvidence(Command):
    measure_id: str
    proposal_id: str
    stance: MeasureStance
    note: str = ""


class ReviseMeasure(Command):
    measure_id: str
    terms: MeasureTerms
    rationale: str = ""


class DecideMeasure(Command):
    measure_id: str
    decision: MeasureDecision
    rationale: str
