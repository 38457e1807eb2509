"""What an event says, for people: one sentence in the reader's language (the timeline, the live stream
and the dashboard show it), what a timeline shows of its payload, and which events a dashboard lists as
decisions. Display wording only; the folds are :mod:`aireg_reporting.domain`'s.
"""

from __future__ import annotations

from typing import Any

from aireg_events.catalogue import ChainCheckpoint
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
    ProposalReleasedFromCampaign,
    ProposalRemovedFromPackage,
    ProposalTriaged,
    ReviewerAssigned,
    ReviewSubmitted,
)
from aireg_events.catalogue.submission import (
    AttributionDisputed,
    AttributionDisputeResolved,
    ConsultationOpened,
    DisputeOutcome,
    PersonalDataErased,
    PortalResumed,
    PortalSuspended,
    ProposalAmended,
    ProposalSubmitted,
    ProposalWithdrawn,
)
from aireg_http.messages import Catalogue
from aireg_reporting.domain import Received


def describe(item: Received, words: Catalogue) -> str:
    """One sentence for a person, in ``words``' language: the timeline, the live stream and the dashboard
    show it. Moments are in the consultation's time zone, the zone named."""
    event = item.event
    say, label = words.text, words.label
    if isinstance(event, ConsultationOpened):
        until = words.moment(event.submission_closes_at, event.time_zone)
        return say("event.consultation_opened", code=event.code, until=until)
    if isinstance(event, ProposalSubmitted):
        submitter = event.content.submitter
        return say(
            "event.proposal_submitted",
            number=event.registration_number,
            late=say("event.late") if event.late else "",
            submitter=submitter.public_name,
            kind=label(submitter.kind.value),
            portal=event.portal,
            title=event.content.title,
        )
    if isinstance(event, ProposalAmended):
        changed = ", ".join(sorted(event.changes)) or say("event.nothing")
        return say("event.proposal_amended", changed=changed, reason=event.reason)
    if isinstance(event, ProposalWithdrawn):
        return say("event.proposal_withdrawn", reason=event.reason)
    if isinstance(event, AttributionDisputed):
        return say("event.attribution_disputed")
    if isinstance(event, AttributionDisputeResolved):
        upheld = event.outcome is DisputeOutcome.upheld
        return say("event.dispute_upheld" if upheld else "event.dispute_rejected", rationale=event.rationale)
    if isinstance(event, PersonalDataErased):
        return words.plural("erased_from_proposals", len(event.proposals))
    if isinstance(event, ProposalTriaged):
        parts = [
            say("event.triage_complete")
            if event.complete
            else say("event.triage_incomplete", missing=", ".join(event.missing))
        ]
        if event.exact_duplicate_of:
            parts.append(say("event.exact_duplicate_of", proposal=event.exact_duplicate_of))
        if event.campaign_id:
            parts.append(say("event.in_campaign", campaign=event.campaign_id))
        if event.grouped_with:
            parts.append(words.plural("grouped_with", len(event.grouped_with)))
        if event.exact_duplicates:
            parts.append(words.plural("later_exact_duplicates", len(event.exact_duplicates)))
        if event.similar:
            parts.append(words.plural("similar", len(event.similar)))
        return say("event.triaged", parts="; ".join(parts))
    if isinstance(event, ProposalReleasedFromCampaign):
        return say("event.released", campaign=event.campaign_id, reason=event.reason)
    if isinstance(event, ReviewerAssigned):
        return say(
            "event.reviewer_assigned", reviewer=event.reviewer, organization=label(event.organization.value)
        )
    if isinstance(event, ReviewSubmitted):
        scores = event.scores
        return say(
            "event.review_submitted",
            reviewer=event.reviewer,
            organization=label(event.organization.value),
            recommendation=label(event.recommendation.value),
            scores=f"{scores.legal_soundness}/{scores.feasibility}/{scores.risk_reduction}/{scores.innovation_impact}",
        )
    if isinstance(event, ProposalAssessed):
        return say(
            "event.assessed",
            outcome=label(event.outcome.value),
            merged=say("event.merged_into", proposal=event.merged_into) if event.merged_into else "",
            late=say("event.after_analysis_deadline") if event.late else "",
        )
    if isinstance(event, GovernmentPackageOpened):
        return say("event.package_opened", title=event.title)
    if isinstance(event, ProposalAddedToPackage):
        return say("event.added_to_package")
    if isinstance(event, ProposalRemovedFromPackage):
        reason = f": {event.reason}" if event.reason else ""
        return say("event.removed_from_package", reason=reason)
    if isinstance(event, ProposalForwardedToGovernment):
        return say("event.forwarded", late=say("event.after_forwarding_deadline") if event.late else "")
    if isinstance(event, GovernmentPackageSubmitted):
        return say(
            "event.package_submitted",
            title=event.title,
            proposals=words.plural("proposals", len(event.proposal_ids)),
            late=say("event.after_forwarding_deadline") if event.late else "",
        )
    if isinstance(event, MeasureDrafted):
        return say(
            "event.measure_drafted", title=event.terms.title, instrument=label(event.terms.instrument.value)
        )
    if isinstance(event, ProposalLinkedToMeasure):
        return say("event.linked_to_measure", stance=label(event.stance.value))
    if isinstance(event, MeasureRevised):
        return say("event.measure_revised", title=event.terms.title)
    if isinstance(event, MeasureDecided):
        return say("event.measure_decided", decision=label(event.decision.value), rationale=event.rationale)
    if isinstance(event, MeasureAddedToPackage):
        return say("event.measure_added_to_package")
    if isinstance(event, MeasureForwardedToGovernment):
        return say("event.measure_forwarded", title=event.terms.title)
    if isinstance(event, PortalSuspended):
        return say("event.portal_suspended", portal=event.portal, reason=event.reason)
    if isinstance(event, PortalResumed):
        return say("event.portal_resumed", portal=event.portal)
    if isinstance(event, ChainCheckpoint):
        return say("event.checkpoint", producer=event.chain_producer, position=event.head_position)
    return item.envelope.event_type


def payload_summary(item: Received) -> dict[str, Any]:
    """The payload without the long texts and the contact data: what a timeline shows of an event."""
    event = item.event
    if isinstance(event, (ProposalSubmitted, ProposalAmended)):
        content = event.content
        summary: dict[str, Any] = {
            "consultation_id": event.consultation_id,
            "portal": event.portal,
            "late": event.late,
            "title": content.title,
            "submitter": {"name": content.submitter.public_name, "kind": content.submitter.kind.value},
            "directions": [value.value for value in content.directions],
            "questions": [value.value for value in content.questions],
            "positions": {key.value: value.value for key, value in content.positions.items()},
            "instrument": content.instrument.value,
            "approach": content.approach.value,
            "cost_of_error": content.cost_of_error.value,
            "attachments": len(content.attachments),
        }
        if isinstance(event, ProposalSubmitted):
            summary["registration_number"] = event.registration_number
            summary["received_at"] = event.model_dump(mode="json")["received_at"]
        else:
            summary["changed"] = sorted(event.changes)
            summary["reason"] = event.reason
        return summary
    if isinstance(event, ChainCheckpoint):
        return event.model_dump(mode="json", exclude={"signature"})
    return event.model_dump(mode="json")


def is_decision(event_type: str) -> bool:
    """The events a dashboard lists as the latest decisions."""
    return event_type in {
        ProposalTriaged.event_type,
        ProposalReleasedFromCampaign.event_type,
        ProposalAssessed.event_type,
        ProposalForwardedToGovernment.event_type,
        GovernmentPackageSubmitted.event_type,
        MeasureDecided.event_type,
        ProposalWithdrawn.event_type,
        AttributionDisputeResolved.event_type,
        PortalSuspended.event_type,
        PortalResumed.event_type,
    }
