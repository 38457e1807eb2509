"""Triage, the one decider: proposals triaged one after the other, each against a triage index, so that
each one's LSH candidates, exact duplicates and campaigns include every proposal triaged before it.

The index is what was recorded before the run, read with one query per kind for the whole run (band rows,
candidate signatures, campaigns, same texts), with an in-memory overlay of the decisions the run has
already taken (its band rows, campaigns joined, merged and opened, exact duplicates marked), for this
unit of work only: a rolled back unit of work leaves nothing behind. One delivery is a run of one.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_analysis import domain, loaders
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
from aireg_events.envelope import new_event_id


@dataclass(frozen=True)
class TriagePolicy:
    method: SimilarityMethod
    similar_limit: int = 10
    max_candidates: int = 1000


@dataclass(frozen=True)
class _Subject:
    proposal: domain.TriageSubject
    fingerprint: str
    values: Signature | None
    keys: list[int]

    @property
    def proposal_id(self) -> str:
        return self.proposal.proposal_id

    @property
    def consultation_id(self) -> str:
        return self.proposal.consultation_id


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
class TriageIndex:
    """The index as recorded before the run, and what the run's triages changed so far on top of it."""

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


async def triage(
    session: AsyncSession, proposals: Sequence[domain.TriageSubject], policy: TriagePolicy
) -> list[ProposalTriaged]:
    """Decide on ``proposals`` (distinct, recorded or about to be), in order: one ``ProposalTriaged``
    each, as triaging them one after the other, each seeing the decisions before it, would decide."""
    method = policy.method
    subjects: list[_Subject] = []
    for count, proposal in enumerate(proposals):
        text = proposal.content.text
        values = signature(text, method)
        keys = band_keys(values, method) if values is not None else []
        subjects.append(_Subject(proposal, text_fingerprint(text), values, keys))
        if count % 50 == 49:
            await asyncio.sleep(0)  # requests are answered while a long run is hashed
    consultations = {subject.consultation_id for subject in subjects}
    index = TriageIndex()
    for consultation_id, key, proposal_id in await loaders.band_rows(
        session, consultations, {key for subject in subjects for key in subject.keys}
    ):
        index.bands[consultation_id, key].append(proposal_id)

    # Which proposals each triage compares depends only on band rows: choose them all first (the run's
    # own rows joining the index one triage after the other), then read the stored ones at once.
    chosen: list[list[str]] = []
    for subject in subjects:
        shared: Counter[str] = Counter()
        for key in set(subject.keys):
            shared.update(index.bands.get((subject.consultation_id, key), ()))
        shared.pop(subject.proposal_id, None)  # its own rows, of the text it had before an amendment
        ranked = sorted(shared.items(), key=lambda item: (-item[1], item[0]))[: policy.max_candidates]
        chosen.append([proposal_id for proposal_id, _count in ranked])
        for key in subject.keys:
            index.bands[subject.consultation_id, key].append(subject.proposal_id)
    subject_ids = {subject.proposal_id for subject in subjects}
    stored = await loaders.candidates_by_id(
        session,
        {proposal_id for ids in chosen for proposal_id in ids if proposal_id not in subject_ids},
        method,
    )
    for proposal_id, (received_at, campaign_id, released, hashvalues, text) in stored.items():
        index.candidates[proposal_id] = _Candidate(received_at, campaign_id, released, hashvalues, text)
        index.received_at[proposal_id] = received_at
    stored_campaigns = await loaders.campaigns_by_id(
        session, {candidate.campaign_id for candidate in index.candidates.values() if candidate.campaign_id}
    )
    index.campaigns.update(stored_campaigns)
    for facts in stored_campaigns.values():
        index.received_at[facts.representative_id] = facts.representative_received_at
    for proposal_id, consultation_id, fingerprint, received_at, original in await loaders.same_texts(
        session, consultations, {subject.fingerprint for subject in subjects}
    ):
        if proposal_id not in subject_ids:  # a subject joins the overlay when it is decided
            index.same_text[consultation_id, fingerprint].append(
                _SameText(proposal_id, received_at, original)
            )

    decisions: list[ProposalTriaged] = []
    for subject, ids in zip(subjects, chosen, strict=True):
        decision = _decide(subject, ids, index, policy)
        decisions.append(decision)
        _remember(subject, decision, index)
    return decisions


def _decide(subject: _Subject, ids: list[str], index: TriageIndex, policy: TriagePolicy) -> ProposalTriaged:
    method = policy.method
    proposal = subject.proposal
    compared = [
        (proposal_id, index.candidates[proposal_id]) for proposal_id in ids if proposal_id in index.candidates
    ]
    similarities = (
        near_duplicate_similarities(
            subject.values,
            [candidate.hashvalues for _id, candidate in compared],
            method,
            text=proposal.content.text,
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
            campaign_id=index.campaign(proposal_id, candidate.campaign_id),
            released=candidate.released,
        )
        for (proposal_id, candidate), similarity in zip(compared, similarities, strict=True)
        if similarity is not None
    ]
    campaigns = {}
    for candidate in candidates:
        if candidate.campaign_id is not None:
            facts = index.campaigns.get(candidate.campaign_id)
            if facts is not None:
                campaigns[candidate.campaign_id] = facts
    duplicate: str | None = None
    later: list[str] = []
    if words(proposal.content.text):
        same = sorted(
            index.same_text[subject.consultation_id, subject.fingerprint],
            key=lambda entry: (entry.received_at, entry.proposal_id),
        )
        if same:
            earliest = same[0]
            if (earliest.received_at, earliest.proposal_id) < (proposal.received_at, proposal.proposal_id):
                duplicate = earliest.proposal_id
            else:
                later = [
                    entry.proposal_id for entry in same if entry.exact_duplicate_of != subject.proposal_id
                ]
    return domain.triage(
        proposal,
        candidates=candidates,
        campaigns=campaigns,
        exact_duplicate_of=duplicate,
        method=method,
        new_campaign_id=new_event_id(),
        similar_limit=policy.similar_limit,
        exact_duplicates=later,
    )


def _remember(subject: _Subject, decision: ProposalTriaged, index: TriageIndex) -> None:
    """What the projection of ``decision`` changes, for the triages after it."""
    proposal = subject.proposal
    proposal_id = subject.proposal_id
    index.received_at[proposal_id] = proposal.received_at
    if subject.values is not None:  # its band rows joined the index when its candidates were chosen
        index.candidates[proposal_id] = _Candidate(
            proposal.received_at, None, proposal.released, to_bytes(subject.values), proposal.content.text
        )
    else:
        index.candidates.pop(proposal_id, None)
    index.campaign_of[proposal_id] = decision.campaign_id
    target = decision.campaign_id
    if target is not None:
        for merged in decision.merged_campaigns:
            index.merged_into[merged] = target
            index.campaigns[merged] = None
        for grouped in decision.grouped_with:
            index.campaign_of[grouped] = target
        representative = decision.campaign_representative or proposal_id
        index.campaigns[target] = domain.CampaignFacts(
            target, representative, index.received_at[representative]
        )
    same = index.same_text[subject.consultation_id, subject.fingerprint]
    for entry in same:
        if entry.proposal_id in decision.exact_duplicates:
            entry.exact_duplicate_of = proposal_id
    same.append(_SameText(proposal_id, proposal.received_at, decision.exact_duplicate_of))
