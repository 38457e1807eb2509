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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from aireg_events.canonical import format_timestamp
from aireg_events.log.runtime import LogRuntime
from aireg_http.auth import Principal, TokenVerifier
from aireg_http.errors import Forbidden, Unauthorized, Unprocessable
from aireg_http.messages import DEFAULT_LANGUAGE, LANGUAGES, catalogue
from aireg_reporting import descriptions, domain, views
from aireg_reporting.api import ERRORS, READ_ROLES
from aireg_reporting.domain import Received
from aireg_reporting.tables import ReceivedEventRow, ReportedProposalRow

logger = logging.getLogger(__name__)

BATCH = 500


class StreamHub:
    """Wakes the stream's clients when events were applied: one poll of the head, shared by all."""

    def __init__(self, runtime: LogRuntime, *, interval: float = 0.2) -> None:
        self.runtime = runtime
        self.interval = interval
        self.head = 0
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

    async def _run(self) -> None:
        while True:
            try:
                async with self.runtime.database.read_session() as session:
                    head = await views.head_seq(session)
            except Exception:  # the database is away for a moment: clients wait, the stream goes on
                logger.warning("the stream could not read the head; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if head != self.head:
                self.head = head
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self.interval)

    async def wait_beyond(self, seq: int, timeout: float) -> None:
        """Return once an event after ``seq`` was applied, or after ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.head > seq), timeout)


async def _stream_principal(
    request: Request,
    token: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="a dashboard token, for EventSource clients only (any other role: 401 `token_in_url`)",
        ),
    ] = None,
) -> Principal:
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
    return principal


StreamReader = Annotated[Principal, Depends(_stream_principal)]


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
            200: {"content": {"text/event-stream": {}}, "description": "id: <epoch>-<seq>, data: JSON"}
        },
    )
    async def stream(
        request: Request,
        _principal: StreamReader,
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
                async with runtime.database.read_session() as session:
                    known = await views.head_seq(session)
                    rows = await views.events_after(
                        session, last, limit=BATCH, consultation_id=consultation_id
                    )
                    rows = [row for row in rows if row.seq <= known]
                    items = [Received.parse(row.body) for row in rows]
                    wanted = {key for item in items for key in domain.proposals_of(item.event)[:20]}
                    names = await proposal_names(session, wanted)
                for row, item in zip(rows, items, strict=True):
                    payload = stream_payload(row, item, names)
                    yield ServerSentEvent(id=f"{epoch}-{row.seq}", data=orjson.dumps(payload).decode())
                if len(rows) == BATCH:
                    last = rows[-1].seq
                    continue
                last = max(last, known)
                await hub.wait_beyond(last, timeout=15.0)

        return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})

    return router
