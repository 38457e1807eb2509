"""How each of this service's own events changes its state tables (used live and by rebuild)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.catalogue.common import DomainEvent
from aireg_events.catalogue.submission import ConsultationOpened
from aireg_events.envelope import Envelope
from aireg_submission.store import ConsultationRow


async def project(session: AsyncSession, envelope: Envelope, event: DomainEvent) -> None:
    if isinstance(event, ConsultationOpened):
        session.add(
            ConsultationRow(
                consultation_id=event.consultation_id,
                code=event.code,
                title=event.title,
                description=event.description,
                submission_opens_at=event.submission_opens_at,
                submission_closes_at=event.submission_closes_at,
                analysis_due_at=event.analysis_due_at,
                forwarding_due_at=event.forwarding_due_at,
                late_submissions=event.late_submissions.value,
                opened_at=envelope.occurred_at,
                event_id=envelope.event_id,
            )
        )
