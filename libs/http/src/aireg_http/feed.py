"""``GET /v1/events?after=N&limit=M``: a producer's own log, for auditors to compare with its topic."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from sqlalchemy import select

from aireg_events.log.database import Database
from aireg_events.log.tables import event_log
from aireg_http.auth import require_roles
from aireg_http.errors import ErrorBody
from aireg_http.pagination import MAX_LIMIT, Page

MAX_POSITION = 2**63 - 1
"""Log positions are 64-bit integers in both stores."""


def feed_router(database: Database) -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get(
        "/v1/events",
        summary="This service's event log, in log order",
        dependencies=[require_roles("auditor")],
        response_model=Page[dict[str, Any]],
        responses={
            401: {
                "description": "`missing_token`, `invalid_token`, `token_expired`, `token_revoked`",
                "model": ErrorBody,
            },
            403: {"description": "`forbidden_role`: the feed is for auditors", "model": ErrorBody},
        },
    )
    async def events(
        after: Annotated[
            int, Query(ge=0, le=MAX_POSITION, description="return events after this log position")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor")] = None,
    ) -> Page[dict[str, Any]]:
        start = int(cursor) if cursor else after
        async with database.reader.connect() as connection:
            rows = (
                await connection.execute(
                    select(event_log.c.log_position, event_log.c.body)
                    .where(event_log.c.log_position > start)
                    .order_by(event_log.c.log_position)
                    .limit(limit + 1)
                )
            ).all()
        items = [orjson.loads(body) for _, body in rows[:limit]]
        next_cursor = str(rows[limit - 1][0]) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    return router
