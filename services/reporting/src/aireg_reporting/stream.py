"""``GET /v1/stream``: every received event as Server-Sent Events, live, resumable with ``Last-Event-ID``.

Each event's SSE id is ``<epoch>-<seq>``: ``seq`` is its gap-free number in ``received_event`` (the
order reporting applied it in), so a client that comes back with the last id it saw gets exactly the
events after it, none twice and none skipped. A rebuild renumbers the events and changes the epoch; a
client that comes back with an id of another epoch gets a ``reset`` event (reload your figures) and the
events from then on. A bare number is taken as a ``seq`` of the current epoch.

Auth: ``Authorization: Bearer`` as everywhere. A browser's ``EventSource`` cannot send that header, so
this endpoint (and only this one) also takes the token as ``?token=``; prefer the header where the
client can (the dashboard page reads the stream with ``fetch`` and sends the header), because a query
string may end up in a proxy's log. Give such clients a ``dashboard`` token: read-only and revocable.

Limits: at most ``AIREG_STREAM_MAX_PER_TOKEN`` open streams per token (429 ``too_many_streams``) and
``AIREG_STREAM_MAX_TOTAL`` in all (503 ``streams_at_capacity``). An open stream checks its token again at
least every :data:`RECHECK_SECONDS`: revoked or expired, it sends a ``closed`` event and ends. New events
are read and rendered once, by the :class:`StreamHub`, for every stream that has caught up with them; only
a stream behind the hub's window (a resume, a backlog) reads for itself until it reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from aireg_events.canonical import format_timestamp
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, TokenVerifier
from aireg_http.errors import ApiError, ErrorBody, Forbidden, ServiceUnavailable, Unauthorized, Unprocessable
from aireg_http.messages import DEFAULT_LANGUAGE, LANGUAGES, catalogue
from aireg_reporting import descriptions, domain, views
from aireg_reporting.api import ERRORS, READ_ROLES
from aireg_reporting.domain import Received
from aireg_reporting.tables import ReceivedEventRow, ReportedProposalRow

logger = logging.getLogger(__name__)

BATCH = 500
RECENT = 2000
"""Rendered events the hub keeps for the streams that follow it (the newest; a stream further behind reads
for itself until it is within them)."""
RECHECK_SECONDS = 2.0
"""How often at most an open stream checks its token again (revocation, expiry)."""
RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Rendered:
    """One event as the stream sends it, rendered once for every stream."""

    seq: int
    consultation_id: str | None
    data: str


@dataclass
class StreamSlot:
    """One open stream's place in the caps; released once, whichever way the stream ends."""

    hub: StreamHub
    token_id: str
    released: bool = field(default=False)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.hub.release(self.token_id)


class StreamHub:
    """What every open stream shares: one poll of the head, one read and one rendering of the new events
    (the last :data:`RECENT` kept), and the count of open streams, per token and in all."""

    def __init__(self, runtime: LogRuntime, *, interval: float = 0.2) -> None:
        self.runtime = runtime
        self.interval = interval
        self.head = 0
        self.recent: deque[Rendered] = deque(maxlen=RECENT)
        self.open_streams: Counter[str] = Counter()
        self.total = 0
        self.started = False
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reporting-stream-hub")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def open(self, token_id: str, *, max_per_token: int, max_total: int) -> StreamSlot:
        """A place for one more stream of ``token_id``, or the refusal that says which cap is reached."""
        retry: dict[str, Any] = {
            "retry_after": RETRY_AFTER_SECONDS,
            "headers": {"Retry-After": str(RETRY_AFTER_SECONDS)},
        }
        if max_per_token > 0 and self.open_streams[token_id] >= max_per_token:
            raise ApiError(
                f"this token has {max_per_token} open streams already, the most it may have; close one",
                code="too_many_streams",
                status_code=429,
                **retry,
            )
        if max_total > 0 and self.total >= max_total:
            raise ServiceUnavailable(
                f"the service serves {max_total} open streams already, the most it takes; retry later",
                code="streams_at_capacity",
                **retry,
            )
        self.open_streams[token_id] += 1
        self.total += 1
        return StreamSlot(self, token_id)

    def release(self, token_id: str) -> None:
        self.open_streams[token_id] -= 1
        if self.open_streams[token_id] <= 0:
            del self.open_streams[token_id]
        self.total -= 1

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except Exception:  # the database is away for a moment: clients wait, the stream goes on
                logger.warning("the stream could not read the new events; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(self.interval)

    async def _follow(self) -> None:
        """Read and render what was applied since the last time, once for every stream."""
        async with self.runtime.database.read_session() as session:
            known = await views.head_seq(session)
            if not self.started or known < self.head:  # first look, or renumbered by a rebuild
                self.started = True
                self.recent.clear()
                moved = known != self.head
                self.head = known
                if moved:
                    await self._notify()
                return
            while known > self.head:
                rows = await views.events_after(session, self.head, limit=BATCH)
                rows = [row for row in rows if row.seq <= known]
                if not rows:
                    break
                self.recent.extend(await render(session, rows))
                self.head = rows[-1].seq
                await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def after(self, seq: int, consultation_id: str | None) -> tuple[list[Rendered], int] | None:
        """The kept events after ``seq`` (of ``consultation_id`` when given) and the seq they reach, or
        None when ``seq`` is before the kept window (the stream reads for itself)."""
        if seq >= self.head:
            return [], self.head
        if not self.recent or self.recent[0].seq > seq + 1:
            return None
        wanted = [
            item
            for item in self.recent
            if item.seq > seq and (consultation_id is None or item.consultation_id == consultation_id)
        ]
        return wanted, self.head

    async def wait_beyond(self, seq: int, timeout: float) -> None:
        """Return once an event after ``seq`` was applied, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.head > seq), timeout)


async def render(session: AsyncSession, rows: Sequence[ReceivedEventRow]) -> list[Rendered]:
    """``rows`` as the stream sends them."""
    items = [Received.parse(row.body) for row in rows]
    wanted = {key for item in items for key in domain.proposals_of(item.event)[:20]}
    names = await proposal_names(session, wanted)
    return [
        Rendered(row.seq, row.consultation_id, orjson.dumps(stream_payload(row, item, names)).decode())
        for row, item in zip(rows, items, strict=True)
    ]


class CountedStream(EventSourceResponse):
    """The stream's answer, which gives its place in the caps back however it ends."""

    def __init__(self, *args: Any, slot: StreamSlot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


@dataclass(frozen=True)
class StreamCaller:
    """Who reads the stream, and the token to check again while it is open."""

    principal: Principal
    token: str


async def _stream_principal(
    request: Request,
    token: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="a dashboard token, for EventSource clients only (any other role: 401 `token_in_url`)",
        ),
    ] = None,
) -> StreamCaller:
    header = request.headers.get("authorization", "")
    scheme, _, bearer = header.partition(" ")
    from_url = not (scheme.lower() == "bearer" and bearer.strip())
    if not from_url:
        token = bearer.strip()
    if not token:
        raise Unauthorized(
            "send Authorization: Bearer <token> (or ?token= from an EventSource)",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(token)
    if from_url and principal.role != "dashboard":
        raise Unauthorized(
            f"only a dashboard token may travel in a URL; send this {principal.role} token as "
            "Authorization: Bearer <token>",
            code="token_in_url",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal.role not in READ_ROLES:
        raise Forbidden(
            f"this needs the role {' or '.join(READ_ROLES)}; the token has {principal.role}",
            code="forbidden_role",
        )
    return StreamCaller(principal, token)


StreamReader = Annotated[StreamCaller, Depends(_stream_principal)]


async def proposal_names(session: AsyncSession, proposal_ids: set[str]) -> dict[str, dict[str, str]]:
    """Registration number and title of the proposals known among ``proposal_ids``."""
    if not proposal_ids:
        return {}
    rows = (
        await session.exec(
            select(
                ReportedProposalRow.proposal_id,
                ReportedProposalRow.registration_number,
                ReportedProposalRow.title,
            ).where(col(ReportedProposalRow.proposal_id).in_(sorted(proposal_ids)))
        )
    ).all()
    return {
        proposal_id: {"registration_number": number, "title": title} for proposal_id, number, title in rows
    }


def stream_payload(row: ReceivedEventRow, item: Received, names: dict[str, dict[str, str]]) -> dict[str, Any]:
    envelope = item.envelope
    proposal_ids = domain.proposals_of(item.event)
    return {
        "seq": row.seq,
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "producer": envelope.producer,
        "stream_id": envelope.stream_id,
        "occurred_at": format_timestamp(envelope.occurred_at),
        "consultation_id": row.consultation_id,
        "proposal_ids": proposal_ids,
        "proposals": [{"proposal_id": key, **names[key]} for key in proposal_ids[:20] if key in names],
        "package_ids": domain.packages_of(item.event),
        "actor": envelope.actor.model_dump(mode="json"),
        "summary": descriptions.describe(item, catalogue(DEFAULT_LANGUAGE)),
        "summaries": {language: descriptions.describe(item, catalogue(language)) for language in LANGUAGES},
        "decision": descriptions.is_decision(envelope.event_type),
    }


def _resume_point(last_event_id: str, epoch: str) -> tuple[int | None, bool]:
    """(seq to resume after, whether the id is of another epoch)."""
    text = last_event_id.strip()
    given_epoch, _, number = text.rpartition("-")
    if not number.isdigit() or len(number) > 18:
        raise Unprocessable("Last-Event-ID is not an id this stream sent", code="invalid_last_event_id")
    if given_epoch and given_epoch != epoch:
        return None, True
    return int(number), False


def stream_router(runtime: LogRuntime, hub: StreamHub) -> APIRouter:
    router = APIRouter(tags=["stream"], responses=ERRORS)

    @router.get(
        "/v1/stream",
        summary="Live events as Server-Sent Events; resumable with Last-Event-ID",
        response_class=EventSourceResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "id: <epoch>-<seq>, data: JSON"},
            429: {
                "description": "too_many_streams: this token has its most open streams",
                "model": ErrorBody,
            },
            503: {
                "description": "streams_at_capacity: the service has its most open streams",
                "model": ErrorBody,
            },
        },
    )
    async def stream(
        request: Request,
        caller: StreamReader,
        consultation_id: Annotated[
            str | None, Query(max_length=36, description="only this consultation")
        ] = None,
        backlog: Annotated[
            int, Query(ge=0, le=1000, description="on a first connection, start this many events back")
        ] = 0,
        last_event_id: Annotated[
            str | None,
            Query(max_length=64, description="as the Last-Event-ID header, for a first connection"),
        ] = None,
    ) -> EventSourceResponse:
        resume_from = request.headers.get("last-event-id") or last_event_id
        async with runtime.database.read_session() as session:
            epoch = await views.stream_epoch(session)
            head = await views.head_seq(session)
        reset = False
        start: int | None = None
        if resume_from:
            start, reset = _resume_point(resume_from, epoch)
        if start is None:
            start = max(head - backlog, 0) if not reset else head
        settings = request.app.state.settings
        slot = hub.open(
            caller.principal.token_id,
            max_per_token=settings.stream_max_per_token,
            max_total=settings.stream_max_total,
        )
        verifier: TokenVerifier = request.app.state.token_verifier

        def refused() -> ApiError | None:
            try:
                verifier.verify(caller.token)
            except ApiError as error:
                return error
            return None

        async def events() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(comment="aireg reporting stream", retry=2000)
            if reset:
                yield ServerSentEvent(
                    event="reset",
                    data=orjson.dumps(
                        {"epoch": epoch, "reason": "the stream was rebuilt; reload your figures"}
                    ).decode(),
                )
            last = start
            while True:
                error = refused()
                if error is not None:
                    yield ServerSentEvent(event="closed", data=orjson.dumps(error.body()).decode())
                    return
                shared = hub.after(last, consultation_id)
                if shared is None:  # behind the hub's window: catch up alone
                    async with runtime.database.read_session() as session:
                        known = await views.head_seq(session)
                        rows = await views.events_after(
                            session, last, limit=BATCH, consultation_id=consultation_id
                        )
                        rows = [row for row in rows if row.seq <= known]
                        own = await render(session, rows)
                    for item in own:
                        yield ServerSentEvent(id=f"{epoch}-{item.seq}", data=item.data)
                    last = rows[-1].seq if len(rows) == BATCH else max(last, known)
                    continue
                items, reached = shared
                for item in items:
                    yield ServerSentEvent(id=f"{epoch}-{item.seq}", data=item.data)
                last = max(last, reached)
                await hub.wait_beyond(last, timeout=RECHECK_SECONDS)

        return CountedStream(events(), slot=slot, ping=15, headers={"Cache-Control": "no-store"})

    return router
