"""Kafka handlers of the analysis service: thin; event → inbox → projection → triage → log.

A batch's runs of new submissions are triaged at once (``batch_triage.py``: the same decisions, a few
statements per run); every other event of the batch, one by one as ever.

Every submitted or amended proposal is triaged in the same transaction as its inbox row: the consumed
fact is projected, the pure triage rule decides, ``ProposalTriaged`` is appended (caused by the consumed
event) and projected. The LSH index is a table, so a triage sees every proposal triaged before it, even
earlier in the same batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aireg_analysis import domain, store
from aireg_analysis.batch_triage import triage_submissions
from aireg_analysis.projections import (
    ProposalUnderTriage,
    project_input,
    project_own,
    project_triage,
    record_submission,
)
from aireg_analysis.similarity import SimilarityMethod, signature, text_fingerprint, words
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
        session = uow.session
        # Take the log's lock first (PostgreSQL): replicas then triage one transaction at a time, and
        # each triage sees every proposal indexed before it.
        await uow.log_head()
        if isinstance(event, ProposalSubmitted):
            if await record_submission(session, delivery.envelope, event):
                # A new proposal: what triage needs of its row is in the event.
                subject = domain.TriageSubject(
                    proposal_id=event.proposal_id,
                    consultation_id=event.consultation_id,
                    version=1,
                    received_at=event.received_at,
                    content=event.content,
                )
                await triage(
                    uow,
                    subject,
                    text_fingerprint(event.content.text),
                    delivery,
                    self.policy,
                    new=ProposalUnderTriage.just_submitted(event),
                )
                return
        else:
            await project_input(session, delivery.envelope, event)
        if isinstance(event, (ProposalSubmitted, ProposalAmended)):
            row = await session.get(ProposalRow, event.proposal_id)
            if row is not None and not row.withdrawn and row.triaged_version != row.version:
                subject = domain.TriageSubject(
                    proposal_id=row.proposal_id,
                    consultation_id=row.consultation_id,
                    version=row.version,
                    received_at=row.received_at,
                    content=row.proposal_content(),
                    released=row.released_from_campaign,
                )
                await triage(uow, subject, row.text_sha256, delivery, self.policy)

    async def apply_batch(self, uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[int]:
        """Apply ``deliveries`` in order: each run of new proposals' submissions triaged at once, the
        others through :meth:`apply`; returns how many events each appended (``ApplyBatch``)."""
        await uow.log_head()  # the log's lock first, as in apply
        recorded = await store.recorded_among(
            uow.session,
            [d.event.proposal_id for d in deliveries if isinstance(d.event, ProposalSubmitted)],
        )
        appended: list[int] = []
        run: list[Delivery] = []
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, ProposalSubmitted) and event.proposal_id not in recorded:
                recorded.add(event.proposal_id)
                run.append(delivery)
                continue
            appended += await self._triage_run(uow, run)
            run = []
            before = len(uow.appended)
            uow.traceparent = delivery.traceparent
            await self.apply(uow, delivery)
            appended.append(len(uow.appended) - before)
        appended += await self._triage_run(uow, run)
        return appended

    async def _triage_run(self, uow: UnitOfWork, run: list[Delivery]) -> list[int]:
        if run:
            await triage_submissions(
                uow,
                run,
                method=self.policy.method,
                similar_limit=self.policy.similar_limit,
                max_candidates=self.policy.max_candidates,
                actor=TRIAGE_ACTOR,
            )
        return [1] * len(run)


async def triage(
    uow: UnitOfWork,
    subject: domain.TriageSubject,
    text_sha256: str,
    delivery: Delivery,
    policy: TriagePolicy,
    *,
    new: ProposalUnderTriage | None = None,
) -> None:
    """Decide on ``subject`` (its text's fingerprint: ``text_sha256``), append the decision, project it.

    ``new``: the subject was recorded by this very delivery; its row and its stream in the log are known
    to be as ``new`` says (no events yet), so neither is read again."""
    session = uow.session
    content = subject.content
    values = signature(content.text, policy.method)
    candidates = (
        []
        if values is None
        else await store.near_duplicates(
            session,
            consultation_id=subject.consultation_id,
            proposal_id=subject.proposal_id,
            signature=values,
            text=content.text,
            method=policy.method,
            limit=policy.max_candidates,
        )
    )
    campaigns = await store.campaigns_by_id(session, [c.campaign_id for c in candidates if c.campaign_id])
    duplicate, later_duplicates = (
        await store.exact_duplicates(session, subject, text_sha256) if words(content.text) else (None, [])
    )
    event = domain.triage(
        subject,
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
        expected_version=0 if new is not None else None,
    )
    if new is not None:
        await project_triage(session, envelope, event, new)
    else:
        await project_own(session, envelope, event)
