"""Consuming another producer's topic: parse → inbox → apply, exactly once, then commit the offsets.

Records arrive in batches. Each one is parsed (JSON envelope, known type, valid hash); one that cannot be
goes to the DLQ at once. The others are applied through the service's :class:`LogAppender` as one unit
of work: one look-up of the inbox for the whole batch, the new events through the service's batch hook
(:data:`ApplyBatch`), the inbox rows written with the effects, one transaction. A service that applies
one event at a time gives ``apply``, which runs as a batch hook (:func:`one_by_one`): every delivery takes
that one path. Each inbox row records the log head before that event's own appends, and each event has
its span. Offsets are committed only after that commit (at-least-once delivery
+ inbox = exactly-once effect). If the batch fails as a whole, its events are applied again one by one,
each in a savepoint of its own, so one that cannot be applied is isolated: retried forever with backoff
while the database is unreachable, a few times otherwise, then dead-lettered; the consumer goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from aireg_events.canonical import loads
from aireg_events.catalogue import CATALOGUE, EventRegistry, UnknownEventType
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import Envelope
from aireg_events.log.appender import LogAppender, UnitOfWork
from aireg_events.log.dead_letters import DeadLetters
from aireg_events.log.inbox import applied_among, inbox_row
from aireg_events.log.tables import inbox
from aireg_events.tracing import (
    context_from_traceparent,
    correlation_id_var,
    current_traceparent,
    event_id_var,
    span_attributes,
    tracer,
)

logger = logging.getLogger(__name__)

FETCH_MAX_WAIT_MS = 20
"""How long the broker may hold a fetch that finds nothing new. aiokafka's default (500 ms) is what an
event waits per hop on a broker that answers a waiting fetch only when the wait ends (the embedded one:
two hops took p50 204 ms at 500 ms, 14 ms at 10 ms; ``bench/pipeline.py``). An idle consumer asks about
50 times a second instead of twice."""

APPLIED = Counter(
    "aireg_consumer_applied_events_total", "Events applied by a consumer", ["group", "event_type"]
)
DUPLICATES = Counter(
    "aireg_inbox_duplicates_skipped_total", "Redelivered events the inbox skipped", ["group"]
)


@dataclass(frozen=True)
class Delivery:
    """An event as a consumer receives it: the envelope, its typed payload, and where it came from."""

    envelope: Envelope
    event: DomainEvent
    topic: str
    partition: int
    offset: int
    traceparent: str | None = None
    """The trace context of the consumer's span for it, given to an :data:`ApplyBatch` (what the
    delivery's effects append carries it on)."""
    body: str | None = None
    """The envelope as the record carried it (the relays publish the canonical JSON their log stores),
    so that the inbox and the projections keep it without encoding it again."""


Apply = Callable[[UnitOfWork, Delivery], Awaitable[None]]
ApplyBatch = Callable[[UnitOfWork, Sequence[Delivery]], Awaitable[Sequence[int]]]
"""Applies new deliveries in order in one unit of work and says how many events each one appended.

Its appends must follow the deliveries' order (those of the first, then those of the second, ...): each
delivery's inbox row records the log head before its own appends, and a rebuild replays it right there.
Each event appended for a delivery carries ``delivery.traceparent``."""


def one_by_one(apply: Apply) -> ApplyBatch:
    """The batch hook of a service that applies one delivery at a time: each in order, its trace and
    its ids current while it applies (what it appends and logs carries them), the others answered
    between two deliveries of a long batch."""

    async def apply_each(uow: UnitOfWork, deliveries: Sequence[Delivery]) -> list[int]:
        appended: list[int] = []
        for delivery in deliveries:
            before = len(uow.appended)
            uow.traceparent = delivery.traceparent
            parent = context_from_traceparent(delivery.traceparent)
            token = otel_context.attach(parent) if parent is not None else None
            event_token = event_id_var.set(delivery.envelope.event_id)
            correlation_token = correlation_id_var.set(delivery.envelope.correlation_id)
            try:
                await apply(uow, delivery)
            finally:
                event_id_var.reset(event_token)
                correlation_id_var.reset(correlation_token)
                if token is not None:
                    otel_context.detach(token)
            appended.append(len(uow.appended) - before)
            if len(deliveries) > 1:
                await asyncio.sleep(0)
        return appended

    return apply_each


class PoisonMessage(ValueError):
    """A record that can never be applied as it is: not an envelope, unknown type, broken hash."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError)):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def parse_record(record: ConsumerRecord, registry: EventRegistry = CATALOGUE) -> Delivery:
    """Turn a Kafka record into a :class:`Delivery`, or raise :class:`PoisonMessage`."""
    try:
        envelope = Envelope.model_validate(loads(record.value or b""))
    except (ValueError, ValidationError) as error:
        raise PoisonMessage("unparseable", str(error)[:2000]) from error
    if not envelope.hash_is_valid():
        raise PoisonMessage("hash_mismatch", f"event {envelope.event_id} does not match its hash")
    try:
        event = registry.read(envelope)
    except UnknownEventType as error:
        raise PoisonMessage("unknown_event_type", str(error)) from error
    except ValidationError as error:
        raise PoisonMessage("invalid_payload", str(error)[:2000]) from error
    body = record.value.decode() if isinstance(record.value, bytes) else None
    return Delivery(envelope, event, record.topic, record.partition, record.offset, body=body)


class EventConsumer:
    """Applies records to a service's state through its appender, with inbox and dead letters."""

    def __init__(
        self,
        *,
        group_id: str,
        appender: LogAppender,
        apply: Apply | None,
        dead_letters: DeadLetters,
        registry: EventRegistry = CATALOGUE,
        handles: Callable[[str], bool] = lambda _event_type: True,
        max_attempts: int = 3,
        apply_batch: ApplyBatch | None = None,
    ) -> None:
        self.group_id = group_id
        self.appender = appender
        if apply_batch is None:
            if apply is None:
                raise ValueError("a consumer needs apply or apply_batch")
            apply_batch = one_by_one(apply)
        self.apply_batch = apply_batch
        """The one path every delivery takes: a batch's new ones, or one retried on its own."""
        self.dead_letters = dead_letters
        self.registry = registry
        self.handles = handles
        self.max_attempts = max_attempts
        self.applied = 0
        self.duplicates = 0

    @staticmethod
    def _span(record: ConsumerRecord, delivery: Delivery) -> trace.Span:
        """A consumer span for the delivery whose parent is the producer's trace."""
        headers = dict(record.headers or ())
        raw_parent = headers.get("traceparent")
        parent = context_from_traceparent(raw_parent.decode() if raw_parent else None)
        envelope = delivery.envelope
        return tracer().start_span(
            f"apply {envelope.event_type}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=span_attributes(envelope),
        )

    def _batch_work(
        self, batch: list[tuple[ConsumerRecord, Delivery]]
    ) -> Callable[[UnitOfWork], Awaitable[list[bool]]]:
        """One unit of work for the batch (or for one delivery retried on its own): which events are new
        (one query), the new ones through the batch hook, each in its own span, the inbox rows of all."""

        async def work(uow: UnitOfWork) -> list[bool]:
            known = await applied_among(uow.session, [delivery.envelope.event_id for _, delivery in batch])
            return await self._apply_new_at_once(uow, batch, known)

        return work

    async def _apply_new_at_once(
        self, uow: UnitOfWork, batch: list[tuple[ConsumerRecord, Delivery]], known: set[str]
    ) -> list[bool]:
        """The batch's new deliveries through ``apply_batch``, each in a span of its own, and their inbox
        rows, each with the log head before its own appends (from the counts the hook returns)."""
        outcomes: list[bool] = []
        new: list[Delivery] = []
        spans: list[trace.Span] = []
        for record, delivery in batch:
            event_id = delivery.envelope.event_id
            outcomes.append(event_id not in known)
            if event_id in known:
                continue
            known.add(event_id)  # the same event twice in one batch
            span = self._span(record, delivery)
            with trace.use_span(span, end_on_exit=False):
                traceparent = current_traceparent()
            spans.append(span)
            new.append(dataclasses.replace(delivery, traceparent=traceparent))
        if not new:
            return outcomes
        head = await uow.log_head()
        appended_before = len(uow.appended)
        try:
            counts = list(await self.apply_batch(uow, new))
        finally:
            for span in spans:
                span.end()
        appended = len(uow.appended) - appended_before
        if len(counts) != len(new) or sum(counts) != appended or await uow.log_head() != head + appended:
            raise RuntimeError(
                f"apply_batch reported {counts} appends for {len(new)} deliveries; it appended {appended}"
            )
        rows = []
        for delivery, count in zip(new, counts, strict=True):
            rows.append(
                inbox_row(
                    delivery.envelope,
                    topic=delivery.topic,
                    partition=delivery.partition,
                    offset=delivery.offset,
                    own_log_head=head,  # a rebuild replays this input right after that event
                    body=delivery.body,
                )
            )
            head += count
        await uow.session.execute(insert(inbox), rows)
        return outcomes

    def _count(self, delivery: Delivery, applied: bool) -> None:
        if applied:
            self.applied += 1
            APPLIED.labels(self.group_id, delivery.envelope.event_type).inc()
        else:
            self.duplicates += 1
            DUPLICATES.labels(self.group_id).inc()

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply ``records`` in order; returns once every one is applied, skipped or dead-lettered."""
        deliveries: list[tuple[ConsumerRecord, Delivery]] = []
        for record in records:
            try:
                delivery = parse_record(record, self.registry)
            except PoisonMessage as poison:
                await self.dead_letters.send(record, reason=poison.reason, error=str(poison))
                continue
            if self.handles(delivery.envelope.event_type):
                deliveries.append((record, delivery))
        if len(deliveries) > 1:
            try:
                applied = await self.appender.run(self._batch_work(deliveries))
            except Exception as failure:
                logger.info(
                    "a batch of %d events failed as one (%r); applying them one by one",
                    len(deliveries),
                    failure,
                )
            else:
                for (_record, delivery), new in zip(deliveries, applied, strict=True):
                    self._count(delivery, new)
                return
        attempt = 0
        while deliveries:
            attempt += 1
            futures = [self.appender.submit(self._batch_work([item])) for item in deliveries]
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
            failed: list[tuple[ConsumerRecord, Delivery, BaseException]] = []
            for (record, delivery), outcome in zip(deliveries, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    failed.append((record, delivery, outcome))
                else:
                    self._count(delivery, outcome[0])
            deliveries = []
            for record, delivery, error in failed:
                if _is_transient(error) or attempt < self.max_attempts:
                    deliveries.append((record, delivery))
                else:
                    await self.dead_letters.send(record, reason="apply_failed", error=repr(error))
            if deliveries:
                delay = min(0.1 * 2**attempt, 5.0)
                logger.warning(
                    "%d events failed to apply (attempt %d, %r); retrying in %.1fs",
                    len(deliveries),
                    attempt,
                    failed[0][2],
                    delay,
                )
                await asyncio.sleep(delay)

    def subscribe(self, broker: KafkaBroker, *topics: str, max_records: int = 500) -> None:
        """Register this consumer on ``broker``: batches, offsets committed only after the commit."""

        async def on_batch(message: KafkaMessage) -> None:
            records = message.raw_message
            batch = list(records) if isinstance(records, (tuple, list)) else [records]
            try:
                await self.handle(batch)
            except Exception:
                # Nothing of what failed is committed: rewind to the batch's first record and try again.
                logger.exception("batch of %d records failed; it will be redelivered", len(batch))
                await asyncio.sleep(1.0)
                await message.nack()
                return
            await message.ack()

        broker.subscriber(
            *topics,
            group_id=self.group_id,
            batch=True,
            max_records=max_records,
            batch_timeout_ms=50,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=500,
            max_poll_interval_ms=300_000,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )(on_batch)
