"""Kafka handlers of the analysis service: thin; event → inbox → projection → triage → log.

Every submitted or amended proposal is triaged in the same transaction as its inbox row: the consumed
fact is projected, the pure triage rule decides, ``ProposalTriaged`` is appended (caused by the consumed
event) and projected. The LSH index is a table, so a triage sees every proposal triaged before it, even
earlier in the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from aireg_analysis import domain, store
from aireg_analysis.projections import project_input, project_own
from aireg_analysis.similarity import SimilarityMethod, signature, words
from aireg_analysis.store import ProposalRow
from aireg_events.catalogue.submission import ProposalAmended, ProposalSubmitted
from aireg_events.envelope import Actor, new_event_id
from aireg_events.log.appender import UnitOfWork
from aireg_events.log.consumer import Delivery

TRIAGE_ACTOR = Actor.system("triage")


@dataclass(frozen=True)
class TriagePolicy:
    method: SimilarityMethod
    similar_limit: int = 10
    max_candidates: int = 1000


@dataclass(frozen=True)
class SubmissionConsumer:
    """Applies the submission service's events; holds the triage policy from the settings."""

    policy: TriagePolicy

    async def apply(self, uow: UnitOfWork, delivery: Delivery) -> None:
        event = delivery.event
        # Take the log's lock first (PostgreSQL): replicas then triage one transaction at a time, and
        # each triage sees every proposal indexed before it.
        await uow.log_head()
        await project_input(uow.session, delivery.envelope, event)
        if isinstance(event, (ProposalSubmitted, ProposalAmended)):
            row = await uow.session.get(ProposalRow, event.proposal_id)
            if row is not None and not row.withdrawn and row.triaged_version != row.version:
                await triage(uow, row, delivery, self.policy)


async def triage(uow: UnitOfWork, row: ProposalRow, delivery: Delivery, policy: TriagePolicy) -> None:
    session = uow.session
    content = row.proposal_content()
    values = signature(content.text, policy.method)
    candidates = (
        []
        if values is None
        else await store.near_duplicates(
            session,
            consultation_id=row.consultation_id,
            proposal_id=row.proposal_id,
            signature=values,
            method=policy.method,
            limit=policy.max_candidates,
        )
    )
    campaigns = await store.campaigns_by_id(session, [c.campaign_id for c in candidates if c.campaign_id])
    duplicate, later_duplicates = (
        await store.exact_duplicates(session, row) if words(content.text) else (None, [])
    )
    event = domain.triage(
        domain.TriageSubject(
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            version=row.version,
            received_at=row.received_at,
            content=content,
            released=row.released_from_campaign,
        ),
        candidates=candidates,
        campaigns=campaigns,
        exact_duplicate_of=duplicate,
        method=policy.method,
        new_campaign_id=new_event_id(),
        similar_limit=policy.similar_limit,
        exact_duplicates=later_duplicates,
    )
    envelope = await uow.append(
        event,
        actor=TRIAGE_ACTOR,
        causation_id=delivery.envelope.event_id,
        correlation_id=delivery.envelope.correlation_id,
    )
    await project_own(session, envelope, event)
