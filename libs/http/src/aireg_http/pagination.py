"""Lists answer ``{"items": [...], "next_cursor": ...}`` and take ``limit`` (1..1000, default 100) and
``cursor`` (opaque: the keyset position after the last item of the previous page)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel

from aireg_http.errors import Unprocessable

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise Unprocessable("cursor is not one this service issued", code="invalid_cursor") from error
    if not isinstance(position, list):
        raise Unprocessable("cursor is not one this service issued", code="invalid_cursor")
    return position


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: list[Any] | None

    def page(self, items: list[T], position_of: Any) -> Page[T]:
        """Build the page from up to ``limit + 1`` fetched ``items`` (the extra one says there is more)."""
        if len(items) > self.limit:
            kept = items[: self.limit]
            return Page(items=kept, next_cursor=encode_cursor(position_of(kept[-1])))
        return Page(items=items, next_cursor=None)


async def _page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


PageParams = Annotated[PageRequest, Depends(_page_request)]
