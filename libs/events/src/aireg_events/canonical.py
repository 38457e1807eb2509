"""Canonical JSON: the one byte form of an event that hashes and signatures are computed over.

Sorted keys, no insignificant whitespace, UTF-8 (no ASCII escaping), and one timestamp format:
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. Floats must be finite.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class NotCanonicalizable(ValueError):
    """A value has no canonical JSON form (naive datetime, NaN, an unknown type)."""


def format_timestamp(moment: datetime) -> str:
    """The single timestamp format of the contract; refuses naive datetimes."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NotCanonicalizable(f"timestamp without a time zone: {moment.isoformat()}")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse any ISO-8601 timestamp with a zone into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise NotCanonicalizable(f"timestamp without a time zone: {text}")
    return moment.astimezone(UTC)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        raise NotCanonicalizable("sets have no canonical order; use a sorted list")
    raise NotCanonicalizable(f"no canonical JSON form for {type(value).__name__}")


def _check_floats(value: Any) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonicalizable("non-finite float")
    elif isinstance(value, dict):
        for item in value.values():
            _check_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_floats(item)


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes."""
    _check_floats(value)
    try:
        return orjson.dumps(
            value,
            default=_default,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
        )
    except orjson.JSONEncodeError as error:
        raise NotCanonicalizable(str(error)) from error


def canonical_json_of_decoded(value: Any) -> bytes:
    """Canonical JSON of a value decoded from JSON (no datetimes, no NaN: JSON cannot hold them), on the
    fast path readers of whole logs need."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def loads(data: bytes | str) -> Any:
    """Decode JSON (canonical or not)."""
    return orjson.loads(data)
