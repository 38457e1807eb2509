"""A run of newly submitted proposals triaged at once, with the decisions triaging them one after the other
would take: each proposal's LSH candidates, exact duplicates and campaigns include every proposal
triaged before it, earlier ones of the run too.

What was recorded before the run is read with one query per kind for the whole run (band rows, candidate
signatures, campaigns, same texts); what the run itself changes (its band rows, campaigns joined, merged
and opened, exact duplicates marked) is kept here, in memory, for this unit of work only: a rolled back
unit of work leaves nothing behind. The events are appended with one insert and projected together
(``project_triaged_submissions``).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aireg_analysis import domain, store
from aireg_analysis.projections import TriagedSubmission, project_triaged_submissions
from aireg_analysis.similarity import (
    Signature,
    SimilarityMethod,
    band_keys,
    near_duplicate_similarities,
    signature,
    text_fingerprint,
    to_bytes,
    words,
)
from aireg_events.catalogue.analysis import ProposalTriaged
from aireg_events.catalogue.submission import ProposalSubmitted
from aireg_events.envelope import Actor, new_event_id
from aireg_events.log.appender import NewEvent, UnitOfWork
from aireg_events.log.consumer import Delivery


@dataclass(frozen=True)
class _Subject:
    delivery: Delivery
    event: ProposalSubmitted
    fingerprint: str
    values: Signature | None
    keys: list[int]

    @property
    def proposal_id(self) -> str:
        return self.event.proposal_id

    @property
    def consultation_id(self) -> str:
        return self.event.consultation_id

    @property
    def received(self) -> tuple[datetime, str]:
        return self.event.received_at, self.event.proposal_id


@dataclass
class _Candidate:
    """What a triage compares of an earlier proposal; its campaign as it stood before the run."""

    received_at: datetime
    campaign_id: str | None
    released: bool
    hashvalues: bytes
    text: str


@dataclass
class _SameText:
    proposal_id: str
    received_at: datetime
    exact_duplicate_of: str | None


@dataclass
class _RunState:
    """What the run's triages changed so far, on top of what was recorded before it."""

    bands: defaultdict[tuple[str, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    """(consultation, key) -> the proposals with a band row of that key, one entry per row."""
    candidates: dict[str, _Candidate] = field(default_factory=dict)
    campaign_of: dict[str, str | None] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)
    campaigns: dict[str, domain.CampaignFacts | None] = field(default_factory=dict)
    """Campaigns as the run left them (None: merged away); the others as stored."""
    same_text: defaultdict[tuple[str, str], list[_SameText]] = field(
        default_factory=lambda: defaultdict(list)
    )
    received_at: dict[str, datetime] = field(default_factory=dict)
    """Of every proposal a triage of the run may name as a campaign's representative."""

    def campaign(self, proposal_id: str, stored: str | None) -> str | None:
        campaign_id = self.campaign_of.get(proposal_id, stored)
        while campaign_id is not None and campaign_id in self.merged_into:
            campaign_id = self.merged_into[campaign_id]
        return campaign_id


async def triage_submissions(
    uow: UnitOfWork,
    deliveries: Sequence[Delivery],
    *,
    method: SimilarityMethod,
    similar_limit: int,
    max_candidates: int,
    actor: Actor,
) -> None:
    """Record and triage new proposals (``ProposalSubmitted`` of ids not recorded, distinct), in order.

    One ``ProposalTriaged`` per delivery, appended in the deliveries' order, each caused by its delivery
    and carrying its trace context."""
    session = uow.session
    subjects: list[_Subject] = []
    for index, delivery in enumerate(deliveries):
        event = delivery.event
        assert isinstance(event, ProposalSubmitted)
        values = signature(event.content.text, method)
        keys = band_keys(values, method) if values is not None else []
        subjects.append(_Subject(delivery, event, text_fingerprint(event.content.text), values, keys))
        if index % 50 == 49:
            await asyncio.sleep(0)  # requests are answered while a long run is hashed
    consultations = {subject.consultation_id for subject in subjects}
    state = _RunState()
    for consultation_id, key, proposal_id in await store.band_rows(
        session, consultations, {key for subject in subjects for key in subject.keys}
    ):
        state.bands[consultation_id, key].append(proposal_id)

    # Which proposals each triage compares depends only on band rows: choose them all first (the run's
    # own rows joining the index one triage after the other), then read the stored ones at once.
    chosen: list[list[str]] = []
    for subject in subjects:
        shared: Counter[str] = Counter()
        for key in set(subject.keys):
            shared.update(state.bands.get((subject.consultation_id, key), ()))
        ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:max_candidates]
        chosen.append([proposal_id for proposal_id, _count in ranked])
        for key in subject.keys:
            state.bands[subject.consultation_id, key].append(subject.proposal_id)
    new_ids = {subject.proposal_id for subject in subjects}
    stored = await store.candidates_by_id(
        session, {proposal_id for ids in chosen for proposal_id in ids if proposal_id not in new_ids}, method
    )
    for proposal_id, (received_at, campaign_id, released, hashvalues, text) in stored.items():
        state.candidates[proposal_id] = _Candidate(received_at, campaign_id, released, hashvalues, text)
        state.received_at[proposal_id] = received_at
    stored_campaigns = await store.campaigns_by_id(
        session, {candidate.campaign_id for candidate in state.candidates.values() if candidate.campaign_id}
    )
    state.campaigns.update(stored_campaigns)
    for facts in stored_campaigns.values():
        state.received_at[facts.representative_id] = facts.representative_received_at
    for proposal_id, consultation_id, fingerprint, received_at, original in await store.same_texts(
        session, consultations, {subject.fingerprint for subject in subjects}
    ):
        state.same_text[consultation_id, fingerprint].append(_SameText(proposal_id, received_at, original))

    decisions: list[ProposalTriaged] = []
    for subject, ids in zip(subjects, chosen, strict=True):
        decision = _decide(subject, ids, state, method, similar_limit)
        decisions.append(decision)
        _remember(subject, decision, state)

    envelopes = await uow.append_many(
        [
            NewEvent(
                decision,
                actor=actor,
                causation_id=subject.delivery.envelope.event_id,
                correlation_id=subject.delivery.envelope.correlation_id,
                expected_version=0,
                traceparent=subject.delivery.traceparent,
            )
            for subject, decision in zip(subjects, decisions, strict=True)
        ]
    )
    await project_triaged_submissions(
        session,
        [
            TriagedSubmission(subject.event, envelope, decision)
            for subject, envelope, decision in zip(subjects, envelopes, decisions, strict=True)
        ],
    )


def _decide(
    subject: _Subject, ids: list[str], state: _RunState, method: SimilarityMethod, similar_limit: int
) -> ProposalTriaged:
    """What ``consumers.triage`` decides for the subject, from the run's state instead of the tables."""
    compared = [
        (proposal_id, state.candidates[proposal_id]) for proposal_id in ids if proposal_id in state.candidates
    ]
    similarities = (
        near_duplicate_similarities(
            subject.values,
            [candidate.hashvalues for _id, candidate in compared],
            method,
            text=subject.event.content.text,
            other_texts=[candidate.text for _id, candidate in compared],
        )
        if subject.values is not None
        else []
    )
    candidates = [
        domain.Candidate(
            proposal_id=proposal_id,
            similarity=similarity,
            received_at=candidate.received_at,
            campaign_id=state.campaign(proposal_id, candidate.campaign_id),
            released=candidate.released,
        )
        for (proposal_id, candidate), similarity in zip(compared, similarities, strict=True)
        if similarity is not None
    ]
    campaigns = {}
    for candidate in candidates:
        if candidate.campaign_id is not None:
            facts = state.campaigns.get(candidate.campaign_id)
            if facts is not None:
                campaigns[candidate.campaign_id] = facts
    duplicate: str | None = None
    later: list[str] = []
    if words(subject.event.content.text):
        same = sorted(
            (entry for entry in state.same_text[subject.consultation_id, subject.fingerprint]),
            key=lambda entry: (entry.received_at, entry.proposal_id),
        )
        if same:
            earliest = same[0]
            if (earliest.received_at, earliest.proposal_id) < subject.received:
                duplicate = earliest.proposal_id
            else:
                later = [
                    entry.proposal_id for entry in same if entry.exact_duplicate_of != subject.proposal_id
                ]
    return domain.triage(
        domain.TriageSubject(
            proposal_id=subject.proposal_id,
            consultation_id=subject.consultation_id,
            version=1,
            received_at=subject.event.received_at,
            content=subject.event.content,
        ),
        candidates=candidates,
        campaigns=campaigns,
        exact_duplicate_of=duplicate,
        method=method,
        new_campaign_id=new_event_id(),
        similar_limit=similar_limit,
        exact_duplicates=later,
    )


def _remember(subject: _Subject, decision: ProposalTriaged, state: _RunState) -> None:
    """What the projection of ``decision`` changes, for the triages after it."""
    proposal_id = subject.proposal_id
    state.received_at[proposal_id] = subject.event.received_at
    if subject.values is not None:  # its band rows joined the index when its candidates were chosen
        state.candidates[proposal_id] = _Candidate(
            subject.event.received_at, None, False, to_bytes(subject.values), subject.event.content.text
        )
    state.campaign_of[proposal_id] = decision.campaign_id
    target = decision.campaign_id
    if target is not None:
        for merged in decision.merged_campaigns:
            state.merged_into[merged] = target
            state.campaigns[merged] = None
        for grouped in decision.grouped_with:
            state.campaign_of[grouped] = target
        representative = decision.campaign_representative or proposal_id
        state.campaigns[target] = domain.CampaignFacts(
            target, representative, state.received_at[representative]
        )
    same = state.same_text[subject.consultation_id, subject.fingerprint]
    for entry in same:
        if entry.proposal_id in decision.exact_duplicates:
            entry.exact_duplicate_of = proposal_id
    same.append(_SameText(proposal_id, subject.event.received_at, decision.exact_duplicate_of))
