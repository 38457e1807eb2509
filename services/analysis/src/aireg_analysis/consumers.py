"""Kafka handlers of the analysis service: thin; event → inbox → domain → log."""

from __future__ import annotations

from aireg_analysis.store import ConsultationRow
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_events.log.appender import UnitOfWork
from aireg_events.log.consumer import Delivery


async def apply_submission_event(uow: UnitOfWork, delivery: Delivery) -> None:
    event = delivery.event
    if isinstance(event, ConsultationOpened):
        await uow.session.merge(
            ConsultationRow(
                consultation_id=event.consultation_id,
                code=event.code,
                title=event.title,
                submission_closes_at=event.submission_closes_at,
                analysis_due_at=event.analysis_due_at,
                forwarding_due_at=event.forwarding_due_at,
            )
        )
