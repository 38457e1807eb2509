"""Kafka handlers of the reporting service: thin; event → inbox → projections.

Both topics come here; the inbox (written by the consumer in the same transaction) makes each event
count once, and the projections fold every subject again, so the order the topics deliver in does not
matter.
"""

from __future__ import annotations

from aireg_events.log.appender import UnitOfWork
from aireg_events.log.consumer import Delivery
from aireg_reporting.domain import Received
from aireg_reporting.projections import project


async def apply_event(uow: UnitOfWork, delivery: Delivery) -> None:
    await project(uow.session, Received(delivery.envelope, delivery.event), received_at=uow.now())
