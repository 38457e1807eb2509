"""Kafka handlers of the reporting service: thin; event → inbox → the projector.

Both topics come here; the inbox (written by the consumer in the same transaction) makes each event
count once, and the projector folds every subject again, so the order the topics deliver in does not
matter.
"""

from __future__ import annotations

from collections.abc import Sequence

from aireg_events.log.appender import UnitOfWork
from aireg_events.log.consumer import Delivery
from aireg_reporting.domain import Received
from aireg_reporting.projector import project


async def apply_events(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[int]:
    """The consumer's one path for every delivery (a batch, or one retried on its own): the projector
    (:func:`aireg_reporting.projector.project`); reporting appends nothing."""
    items = [Received(delivery.envelope, delivery.event, delivery.body) for delivery in deliveries]
    await project(uow.session, items, received_at=uow.now())
    return [0] * len(items)
