"""Kafka handlers of the submission service: thin; an analysis event → inbox → ``project_input``.

The submission service decides nothing on what it consumes: the analysis topic only moves the status a
submitter sees."""

from __future__ import annotations

from aireg_events.log.appender import UnitOfWork
from aireg_events.log.consumer import Delivery
from aireg_submission.domain import STATUS_EVENTS
from aireg_submission.projections import project_input


async def apply_analysis_event(uow: UnitOfWork, delivery: Delivery) -> None:
    await project_input(uow.session, delivery.envelope, delivery.event)


def handles(event_type: str) -> bool:
    """Only the events that move a status reach the inbox (checkpoints and reviews do not)."""
    return event_type in STATUS_EVENTS
