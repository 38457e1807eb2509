"""``aireg audit history``: the full decision history of one proposal or one measure, from the topics
alone, as of a moment: a proposal as submitted and amended, triage, assignments, reviews, assessment,
the measures it is evidence for, package and forwarding; a measure as drafted, evidenced, revised,
decided, packaged and forwarded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from aireg_events.canonical import format_timestamp
from aireg_events.envelope import Envelope
from aireg_events.topic_reader import Progress, read_topics
from aireg_events.topics import Topics

PRODUCER_ORDER = {"submission": 0, "analysis": 1}


@dataclass(frozen=True)
class HistoryEntry:
    envelope: Envelope
    destroyed_keys: frozenset[str] = frozenset()
    """Data subject keys that a ``PersonalDataErased`` (as of the moment asked) destroyed."""

    def to_json(self) -> dict[str, Any]:
        envelope = self.envelope
        return {
            "occurred_at": format_timestamp(envelope.occurred_at),
            "event_type": envelope.event_type,
            "event_id": envelope.event_id,
            "producer": envelope.producer,
            "log_position": envelope.log_position,
            "actor": envelope.actor.model_dump(mode="json"),
            "causation_id": envelope.causation_id,
            "summary": summarize(envelope, self.destroyed_keys),
            "payload": envelope.payload,
        }


def _mentions(payload: dict[str, Any], subject_id: str) -> bool:
    """Whether an event names the proposal or measure ``subject_id`` besides its own stream."""
    return (
        payload.get("proposal_id") == subject_id
        or payload.get("measure_id") == subject_id
        or subject_id in (payload.get("proposal_ids") or ())
        or subject_id in (payload.get("measure_ids") or ())
        or subject_id in (payload.get("proposals") or ())  # PersonalDataErased
    )


def _tallies(payload: dict[str, Any]) -> str:
    tallies = payload.get("tallies") or {}
    return ", ".join(
        f"{stance} {tally.get('voices')} voice(s) / {tally.get('signatories')} signatories"
        for stance, tally in sorted(tallies.items())
    )


def _shown(value: Any, destroyed_keys: frozenset[str]) -> str:
    """A submitter's field as an auditor without keys sees it: plain (an organization's), or
    ``[sealed]`` (personal data), ``[erased]`` once its key was destroyed."""
    if not isinstance(value, dict):
        return str(value)
    parts = str(value.get("sealed") or "").split(":")
    if value.get("erased") or (len(parts) == 4 and parts[1] in destroyed_keys):
        return "[erased]"
    return "[sealed]"


def _submitter(content: dict[str, Any], destroyed_keys: frozenset[str]) -> str:
    submitter = content.get("submitter") or {}
    name = _shown(submitter.get("name"), destroyed_keys)
    email = _shown(submitter.get("contact_email"), destroyed_keys)
    return f"{name} ({submitter.get('kind')}, contact {email})"


def summarize(envelope: Envelope, destroyed_keys: frozenset[str] = frozenset()) -> str:
    """One readable line of what the event decided."""
    payload = envelope.payload
    match envelope.event_type:
        case "ProposalSubmitted":
            content = payload.get("content", {})
            late = " (late)" if payload.get("late") else ""
            return (
                f"submitted as {payload.get('registration_number')}{late} by "
                f"{_submitter(content, destroyed_keys)}: {content.get('title', '')!r}"
            )
        case "ProposalAmended":
            return f"amended ({', '.join(sorted(payload.get('changes', {})))}): {payload.get('reason', '')}"
        case "ProposalWithdrawn":
            return f"withdrawn: {payload.get('reason', '')}"
        case "PersonalDataErased":
            return (
                f"personal data [erased] ({payload.get('legal_basis', '')}): "
                f"{len(payload.get('proposals', []))} proposal(s)"
            )
        case "AttributionDisputed":
            complainant = _shown(payload.get("complainant"), destroyed_keys)
            return f"attribution disputed by {complainant}: filed without the named person's consent?"
        case "AttributionDisputeResolved":
            outcome = payload.get("outcome")
            aside = ": set aside as misattributed" if outcome == "upheld" else ""
            return f"attribution dispute {outcome}{aside} ({payload.get('rationale', '')})"
        case "ProposalTriaged":
            parts = [
                "complete" if payload.get("complete") else f"incomplete (missing {payload.get('missing')})"
            ]
            if payload.get("exact_duplicate_of"):
                parts.append(f"exact duplicate of {payload['exact_duplicate_of']}")
            if payload.get("campaign_id"):
                parts.append(f"campaign {payload['campaign_id']}")
            method = payload.get("method") or {}
            parts.append(f"by {method.get('name')} {method.get('version')}")
            return "triaged: " + ", ".join(parts)
        case "ProposalReleasedFromCampaign":
            return f"released from campaign {payload.get('campaign_id')}: {payload.get('reason', '')}"
        case "ReviewerAssigned":
            return f"assigned to {payload.get('reviewer')} ({payload.get('organization')})"
        case "ReviewSubmitted":
            return (
                f"reviewed by {payload.get('reviewer')} ({payload.get('organization')}): "
                f"{payload.get('recommendation')}, scores {payload.get('scores')}"
            )
        case "ProposalAssessed":
            merged = f" into {payload['merged_into']}" if payload.get("merged_into") else ""
            return f"assessed: {payload.get('outcome')}{merged}: {payload.get('rationale', '')}"
        case "ProposalAddedToPackage":
            return f"added to package {payload.get('package_id')}"
        case "ProposalForwardedToGovernment":
            late = " (late)" if payload.get("late") else ""
            return f"forwarded to the government in package {payload.get('package_id')}{late}"
        case "GovernmentPackageSubmitted":
            measures = len(payload.get("measure_ids", []))
            return (
                f"package {payload.get('package_id')} submitted with "
                f"{len(payload.get('proposal_ids', []))} proposals and {measures} measures"
            )
        case "MeasureDrafted" | "MeasureRevised":
            terms = payload.get("terms") or {}
            verb = "drafted" if envelope.event_type == "MeasureDrafted" else "revised"
            return (
                f"measure {verb}: {terms.get('title', '')!r} by {terms.get('instrument')} "
                f"({terms.get('approach')}), from cost of error {terms.get('min_cost_of_error')} on, "
                f"in {', '.join(terms.get('application_areas') or []) or 'every area'}"
            )
        case "ProposalLinkedToMeasure":
            return (
                f"proposal {payload.get('proposal_id')} linked to measure {payload.get('measure_id')}: "
                f"{payload.get('stance')}"
            )
        case "MeasureDecided":
            return f"measure decided: {payload.get('decision')} ({payload.get('rationale', '')})"
        case "MeasureAddedToPackage":
            return f"measure added to package {payload.get('package_id')}"
        case "MeasureForwardedToGovernment":
            late = " (late)" if payload.get("late") else ""
            return (
                f"measure forwarded to the government in package {payload.get('package_id')}{late}: "
                f"{_tallies(payload)}"
            )
        case _:
            return envelope.event_type


async def proposal_history(
    bootstrap_servers: str,
    topics: Topics,
    proposal_id: str,
    *,
    as_of: datetime | None = None,
    progress: Progress | None = None,
) -> list[HistoryEntry]:
    """Every event of the proposal (or measure: the same door, its id in the same place) up to ``as_of``."""
    found: dict[str, Envelope] = {}
    async for record in read_topics(
        bootstrap_servers, [topics.submission, topics.analysis], progress=progress
    ):
        try:
            content = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError:
            continue
        if not isinstance(content, dict):
            continue
        payload = content.get("payload") or {}
        if content.get("stream_id") != proposal_id and not _mentions(payload, proposal_id):
            continue
        envelope = Envelope.model_validate(content)
        if as_of is not None and envelope.occurred_at > as_of:
            continue
        found.setdefault(envelope.event_id, envelope)
    ordered = sorted(
        found.values(),
        key=lambda envelope: (
            envelope.occurred_at,
            PRODUCER_ORDER.get(envelope.producer, 9),
            envelope.log_position,
        ),
    )
    destroyed = frozenset(
        key_id
        for envelope in ordered
        if envelope.event_type == "PersonalDataErased"
        for key_id in envelope.payload.get("key_ids", [])
    )
    return [HistoryEntry(envelope, destroyed) for envelope in ordered]
