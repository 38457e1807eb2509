"""Kafka handlers of the analysis service: thin; event → inbox → projector → triage → log.

Every delivery goes through :meth:`SubmissionConsumer.apply_batch` (one delivery is a batch of one). Each
run of new submissions is triaged at once by the one decider (``triage.py``); every other event is
projected, and the proposal it changed (an amendment) triaged again as a run of one. Everything happens
in the unit of work of the inbox rows: the consumed fact is projected, triage decides, ``ProposalTriaged``
is appended (caused by the consumed event, with its trace context) and projected, all through the one
projector (whose write buffer is flushed before triage reads the tables and at the batch's end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aireg_analysis import domain, loaders
from aireg_analysis.projector import flush, project
from aireg_analysis.tables import ProposalRow
from aireg_analysis.triage import TriagePolicy, triage
from aireg_events.catalogue.submission import ProposalAmended, ProposalSubmitted
from aireg_events.envelope import Actor
from aireg_events.log.appender import NewEvent, UnitOfWork
from aireg_events.log.consumer import Delivery

TRIAGE_ACTOR = Actor.system("triage")


@dataclass(frozen=True)
class SubmissionConsumer:
    """Applies the submission service's events; holds the triage policy from the settings."""

    policy: TriagePolicy

    async def apply(self, uow: UnitOfWork, delivery: Delivery) -> None:
        """One delivery: a batch of one."""
        await self.apply_batch(uow, [delivery])

    async def apply_batch(self, uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[int]:
        """Apply ``deliveries`` in order: each run of new proposals' submissions triaged at once, the
        others one by one; returns how many events each appended (``ApplyBatch``)."""
        # Take the log's lock first (PostgreSQL): replicas then triage one transaction at a time, and
        # each triage sees every proposal indexed before it.
        await uow.log_head()
        recorded = await loaders.recorded_among(
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
            appended += await self._triage_new(uow, run)
            run = []
            before = len(uow.appended)
            uow.traceparent = delivery.traceparent
            await self._apply_one(uow, delivery)
            appended.append(len(uow.appended) - before)
        appended += await self._triage_new(uow, run)
        await flush(uow.session)
        return appended

    async def _apply_one(self, uow: UnitOfWork, delivery: Delivery) -> None:
        """A fact that is not a new submission: projected; the proposal triaged again if its current
        version is not triaged yet (an amendment)."""
        event = delivery.event
        await project(uow.session, delivery.envelope, event)
        if not isinstance(event, (ProposalSubmitted, ProposalAmended)):
            return
        await flush(uow.session)
        row = await uow.session.get(ProposalRow, event.proposal_id)
        if row is None or row.withdrawn or row.triaged_version == row.version:
            return
        subject = domain.TriageSubject(
            proposal_id=row.proposal_id,
            consultation_id=row.consultation_id,
            version=row.version,
            received_at=row.received_at,
            content=row.proposal_content(),
            released=row.released_from_campaign,
        )
        (decision,) = await triage(uow.session, [subject], self.policy)
        envelope = await uow.append(
            decision,
            actor=TRIAGE_ACTOR,
            causation_id=delivery.envelope.event_id,
            correlation_id=delivery.envelope.correlation_id,
        )
        await project(uow.session, envelope, decision)

    async def _triage_new(self, uow: UnitOfWork, run: list[Delivery]) -> list[int]:
        """Record and triage a run of new proposals (distinct ids, none recorded), in order: one
        ``ProposalTriaged`` each, caused by its delivery and carrying its trace context."""
        if not run:
            return []
        await flush(uow.session)  # triage reads the tables as the deliveries before the run left them
        subjects: list[domain.TriageSubject] = []
        for delivery in run:
            event = delivery.event
            assert isinstance(event, ProposalSubmitted)
            await project(uow.session, delivery.envelope, event)
            subjects.append(
                domain.TriageSubject(
                    proposal_id=event.proposal_id,
                    consultation_id=event.consultation_id,
                    version=1,
                    received_at=event.received_at,
                    content=event.content,
                )
            )
        decisions = await triage(uow.session, subjects, self.policy)
        envelopes = await uow.append_many(
            [
                NewEvent(
                    decision,
                    actor=TRIAGE_ACTOR,
                    causation_id=delivery.envelope.event_id,
                    correlation_id=delivery.envelope.correlation_id,
                    expected_version=0,
                    traceparent=delivery.traceparent,
                )
                for delivery, decision in zip(run, decisions, strict=True)
            ]
        )
        for envelope, decision in zip(envelopes, decisions, strict=True):
            await project(uow.session, envelope, decision)
        return [1] * len(run)
