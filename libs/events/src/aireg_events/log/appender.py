"""The single writer of a service's log: concurrent units of work share one transaction (group commit).

Each caller hands :meth:`LogAppender.submit` a *work* function; the appender runs the queued works one
after another inside one database transaction, each in its own savepoint, and commits once. A work reads
and changes the service's state through ``uow.session`` and records its decisions with
:meth:`UnitOfWork.append`, which gives each event the next ``log_position`` and ``stream_version`` and
chains its hash to the one before. A work that raises is rolled back alone and its caller gets the error;
the others commit. Callers get their result only after the commit, so an answer is never given for a
decision that is not durable.

Log positions are assigned by this one writer, in commit order, which is what lets the relay tail the log
without skipping a row (docs/architecture.md, "Insert order is not commit order"). On PostgreSQL the transaction
also takes an advisory lock, so replicas of a service append one at a time and still in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from aireg_events.canonical import canonical_json
from aireg_events.catalogue.common import DomainEvent
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id, utc_now
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log
from aireg_events.rules import RefusalKind, RuleViolation
from aireg_events.topics import MAX_EVENT_BYTES
from aireg_events.tracing import current_traceparent

T = TypeVar("T")
Clock = Callable[[], datetime]
Work = Callable[["UnitOfWork"], Awaitable[T]]
CommitListener = Callable[[list[Envelope]], Awaitable[None] | None]

logger = logging.getLogger(__name__)

_ADVISORY_LOCK_KEY = 0x41495245_474C4F47 & 0x7FFFFFFFFFFFFFFF  # "AIREGLOG"

# Built once: a statement built per append costs its cache key (and .values() its compilation) each time.
_STREAM_VERSION = select(func.max(event_log.c.stream_version)).where(
    event_log.c.stream_id == bindparam("stream_id")
)
_INSERT_EVENT = insert(event_log)


class StreamVersionConflict(Exception):
    """Someone else appended to the stream first: ``expected`` is not the stream's current version."""

    code = "stream_version_conflict"

    def __init__(self, stream_id: str, expected: int | None, actual: int | None) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not {expected}: it changed concurrently"
            if actual is not None
            else f"stream {stream_id!r} is not at version {expected}: it changed concurrently"
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class EventTooLarge(RuleViolation):
    """An event whose canonical JSON is over the log's limit: refused before it is appended, so that the
    log never holds an event its topic would refuse. ``field`` names its largest payload field."""

    code = "event_too_large"
    kind: RefusalKind = "invalid"


def _refuse_if_too_large(envelope: Envelope, body: bytes, max_bytes: int) -> None:
    if len(body) <= max_bytes:
        return
    sizes = {name: len(canonical_json(value)) for name, value in envelope.payload.items()}
    field_name = max(sizes, key=lambda name: sizes[name]) if sizes else "payload"
    raise EventTooLarge(
        f"the {envelope.event_type} this would record is {len(body):,} bytes, over the {max_bytes:,} an "
        f"event may have; its largest field is {field_name} ({sizes.get(field_name, 0):,} bytes as JSON)",
        field=field_name,
        bytes=len(body),
        max_bytes=max_bytes,
    )


class AppenderStopped(RuntimeError):
    """The appender is not running; nothing was recorded."""


@dataclass
class _Head:
    position: int
    hash: str


@dataclass
class _Request(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T]
    traceparent: str | None = None


@dataclass
class _Batch:
    """What the current transaction has appended so far."""

    head: _Head | None = None
    stream_versions: dict[str, int] = field(default_factory=dict)
    envelopes: list[Envelope] = field(default_factory=list)


class UnitOfWork:
    """One caller's view of the shared transaction: its session, its clock and its appends."""

    def __init__(
        self, appender: LogAppender, session: AsyncSession, batch: _Batch, traceparent: str | None = None
    ) -> None:
        self._appender = appender
        self.session = session
        self._batch = batch
        self.traceparent = traceparent
        """The trace context of whoever submitted the work; stored with each event it appends."""
        self.appended: list[Envelope] = []

    @property
    def producer(self) -> str:
        return self._appender.producer

    def now(self) -> datetime:
        return self._appender.clock()

    async def stream_version(self, stream_id: str) -> int:
        """The current version of ``stream_id`` in this producer's log (0 if it has no event)."""
        known = self._batch.stream_versions.get(stream_id)
        if known is not None:
            return known
        result = await self.session.execute(_STREAM_VERSION, {"stream_id": stream_id})
        version = result.scalar_one_or_none() or 0
        self._batch.stream_versions[stream_id] = version
        return version

    async def log_head(self) -> int:
        """The position of the last event in this producer's log, as this transaction sees it (0 if none).

        A service that produces nothing (no ``event_log`` table) always sees 0.
        """
        if not self._appender.has_log:
            return 0
        return (await self._head()).position

    async def head(self) -> tuple[int, str]:
        """The (position, hash) of the last event in this producer's log, as this transaction sees it."""
        head = await self._head()
        return head.position, head.hash

    async def _head(self) -> _Head:
        if self._batch.head is None:
            if self._appender.database.dialect == "postgresql":
                await self.session.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
            row = (
                await self.session.execute(
                    select(event_log.c.log_position, event_log.c.hash)
                    .order_by(event_log.c.log_position.desc())
                    .limit(1)
                )
            ).first()
            self._batch.head = _Head(row[0], row[1]) if row else _Head(0, GENESIS_HASH)
        return self._batch.head

    async def append(
        self,
        event: DomainEvent,
        *,
        actor: Actor,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        expected_version: int | None = None,
    ) -> Envelope:
        """Record ``event`` as the next event of its stream; returns the sealed envelope.

        ``expected_version`` is the stream version the caller's decision was based on; a different
        current version raises :class:`StreamVersionConflict` and the caller's work is rolled back.
        """
        envelopes = await self.append_many(
            [
                NewEvent(
                    event,
                    actor=actor,
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                    expected_version=expected_version,
                    traceparent=self.traceparent,
                )
            ]
        )
        return envelopes[0]

    async def append_many(self, events: Sequence[NewEvent]) -> list[Envelope]:
        """Record ``events`` in order, as :meth:`append` would one after another, with one insert.

        Positions, hashes and stream versions chain exactly as with single appends; a conflict on any
        stream raises :class:`StreamVersionConflict` and none of them is recorded.
        """
        if not events:
            return []
        versions: dict[str, int] = {}  # the streams these events move, as they stand after each
        head = await self._head()
        envelopes: list[Envelope] = []
        rows: list[dict[str, Any]] = []
        for new in events:
            event = new.event
            if event.producer not in (self.producer, "*"):
                raise ValueError(f"{event.event_type} is produced by {event.producer}, not {self.producer}")
            stream_id = event.stream_id()
            if stream_id in versions:
                current = versions[stream_id]
            elif new.expected_version == 0 and stream_id not in self._batch.stream_versions:
                # A new stream: no need to read its version, the unique (stream_id, stream_version)
                # refuses the insert below if the stream has events after all.
                current = 0
            else:
                current = await self.stream_version(stream_id)
            if new.expected_version is not None and new.expected_version != current:
                raise StreamVersionConflict(stream_id, new.expected_version, current)
            event_id = new_event_id()
            envelope = Envelope.seal(
                event_id=event_id,
                event_type=event.event_type,
                schema_version=event.schema_version,
                stream_id=stream_id,
                stream_version=current + 1,
                log_position=head.position + 1,
                occurred_at=self.now(),
                producer=self.producer,
                correlation_id=new.correlation_id or event_id,
                causation_id=new.causation_id,
                actor=new.actor,
                payload=event.to_payload(),
                prev_hash=head.hash,
            )
            body = envelope.to_canonical()
            _refuse_if_too_large(envelope, body, self._appender.max_event_bytes)
            rows.append(
                {
                    "log_position": envelope.log_position,
                    "event_id": envelope.event_id,
                    "event_type": envelope.event_type,
                    "schema_version": envelope.schema_version,
                    "stream_id": envelope.stream_id,
                    "stream_version": envelope.stream_version,
                    "occurred_at": envelope.occurred_at,
                    "causation_id": envelope.causation_id,
                    "hash": envelope.hash,
                    "body": body.decode(),
                    "traceparent": new.traceparent,
                }
            )
            head = _Head(envelope.log_position, envelope.hash)
            versions[stream_id] = envelope.stream_version
            envelopes.append(envelope)
        try:
            await self.session.execute(_INSERT_EVENT, rows)
        except IntegrityError as error:
            self._batch.head = None  # another writer moved the log: re-read it next time
            for stream_id in versions:
                self._batch.stream_versions.pop(stream_id, None)
            first = envelopes[0]
            raise StreamVersionConflict(first.stream_id, events[0].expected_version, None) from error
        self._batch.head = head
        self._batch.stream_versions.update(versions)
        self._batch.envelopes.extend(envelopes)
        self.appended.extend(envelopes)
        return envelopes


@dataclass(frozen=True)
class NewEvent:
    """One event for :meth:`UnitOfWork.append_many`, with what :meth:`UnitOfWork.append` takes beside it."""

    event: DomainEvent
    actor: Actor
    correlation_id: str | None = None
    causation_id: str | None = None
    expected_version: int | None = None
    traceparent: str | None = None
    """The trace context stored with it (``append`` stores the unit of work's)."""


class LogAppender:
    """Runs units of work for one producer, many per transaction, in the order they were submitted."""

    def __init__(
        self,
        database: Database,
        producer: str,
        *,
        clock: Clock = utc_now,
        max_batch: int = 500,
        has_log: bool = True,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.database = database
        self.max_event_bytes = max_event_bytes
        """The largest event (canonical JSON) a work may append: a larger one is :class:`EventTooLarge`."""
        self.has_log = has_log
        self.producer = producer
        self.clock = clock
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Request[Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[CommitListener] = []
        self.committed = asyncio.Event()
        """Set after every commit that appended events (the relay waits on it)."""
        self.batches = 0
        self.works = 0

    def add_commit_listener(self, listener: CommitListener) -> None:
        """``listener(envelopes)`` runs after each commit that appended events."""
        self._listeners.append(listener)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"appender:{self.producer}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        await self._queue.put(None)
        await task

    def submit(self, work: Work[T]) -> asyncio.Future[T]:
        """Queue ``work``; the future resolves with its result once the transaction committed.

        Works run in the order they were submitted, so a caller that submits several in a row (a
        consumer applying a batch of messages) keeps their order.
        """
        if self._task is None:
            raise AppenderStopped(f"the {self.producer} appender is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(work, future, current_traceparent()))
        return future

    async def run(self, work: Work[T]) -> T:
        """Submit ``work`` and wait for its committed result."""
        return await self.submit(work)

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)
        while not self._queue.empty():  # refuse what arrived after stop
            item = self._queue.get_nowait()
            if item is not None and not item.future.done():
                item.future.set_exception(AppenderStopped(f"the {self.producer} appender stopped"))

    async def _commit(self, requests: list[_Request[Any]]) -> None:
        live = [request for request in requests if not request.future.done()]
        if not live:
            return
        outcomes: list[tuple[_Request[Any], bool, Any]] = []
        batch = _Batch()
        try:
            async with AsyncSession(self.database.writer, expire_on_commit=False) as session:
                async with session.begin():
                    for request in live:
                        outcomes.append(await self._run_one(session, batch, request))
                        # On SQLite a work never waits for the database (it runs on this thread), so
                        # let the loop answer requests between works, not only after the whole batch.
                        await asyncio.sleep(0)
        except Exception as error:  # the commit itself failed: nothing of this batch is durable
            logger.warning("log commit failed for %d works: %r", len(live), error)
            for request in live:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        self.batches += 1
        self.works += len(live)
        for request, ok, value in outcomes:
            if request.future.done():
                continue
            if ok:
                request.future.set_result(value)
            else:
                request.future.set_exception(value)
        if batch.envelopes:
            self.committed.set()
            for listener in self._listeners:
                try:
                    outcome = listener(batch.envelopes)
                    if outcome is not None:
                        await outcome
                except Exception:  # a listener never undoes a commit
                    logger.exception("commit listener failed")

    async def _run_one(
        self, session: AsyncSession, batch: _Batch, request: _Request[Any]
    ) -> tuple[_Request[Any], bool, Any]:
        saved_head = batch.head
        saved_versions = dict(batch.stream_versions) if batch.stream_versions else {}
        saved_count = len(batch.envelopes)
        uow = UnitOfWork(self, session, batch, request.traceparent)
        savepoint = await session.begin_nested()
        try:
            value = await request.work(uow)
            await savepoint.commit()
            return request, True, value
        except Exception as error:
            with contextlib.suppress(Exception):
                await savepoint.rollback()
            batch.head = saved_head
            batch.stream_versions = saved_versions
            del batch.envelopes[saved_count:]
            return request, False, error
