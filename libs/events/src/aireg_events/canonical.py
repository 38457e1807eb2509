"""Canonical JSON: the one byte form of an event that hashes and signatures are computed over.

It is RFC 8785, the JSON Canonicalization Scheme (JCS), exactly: object members sorted by the UTF-16 code
units of their names, no insignificant whitespace, UTF-8, strings escaped as ECMAScript's
``JSON.stringify`` escapes them, numbers written as ECMAScript writes them (an integral ``1.0`` is ``1``).
So any JCS library (``rfc8785`` in Python, ``canonicalize`` in JavaScript, ...) gives the same bytes and
the same hashes as ours (docs/audit.md).

What the contract adds on top, for the values a producer writes: one timestamp format,
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (a string); every number, integer or float, finite and within
``±(2**53 - 1)`` (JCS numbers are IEEE doubles: a larger integer would not survive a JavaScript reader, and
a float that large is integral, written as an integer that would then be refused on the way back), else
:class:`NotCanonicalizable`. Floats stay floats: ``0.85`` is written ``0.85``, ``1.0`` is written ``1``
and reads back as the integer 1, whose form is the same.

Speed: orjson with sorted keys writes exactly the JCS form of a value that holds no float, no integer of
16 digits or more and no character beyond U+FFFF (where UTF-16 order and code-point order part). The
encoder writes with orjson, looks for those three in its output (one regular expression over the bytes)
and hands only such values to the reference implementation (the ``rfc8785`` package).
``libs/events/tests/test_jcs.py`` proves the two equal on RFC 8785's own examples and on arbitrary values.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import rfc8785

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

MAX_EXACT_INTEGER = 2**53 - 1
"""The largest integer a JCS number (an IEEE double) holds exactly; events hold none beyond ±this."""

_WHERE_ORJSON_IS_NOT_JCS = re.compile(
    # a number token with a fraction or an exponent (a float), in orjson's compact output only ever
    # at the start or right after a member's colon, an array's bracket or a comma; inside strings a
    # quote is escaped, so a match there is only a needless trip to the reference, never a miss
    rb'(?:^|":|[\[,])-?[0-9]+[.eE]'
    # an integer of 16 digits or more: 2**53 has 16
    rb'|(?:^|":|[\[,])-?[0-9]{16}'
    # the lead byte of a 4-byte UTF-8 sequence: a character beyond U+FFFF, whose UTF-16 order may differ
    rb"|[\xf0-\xf4]"
)


class NotCanonicalizable(ValueError):
    """A value has no canonical JSON form (naive datetime, NaN, an integer beyond 2**53 - 1, a set...)."""


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
    # orjson writes NaN and infinities as null: refuse them before they are written at all
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonicalizable("non-finite float")
        if abs(value) > MAX_EXACT_INTEGER:
            raise NotCanonicalizable(f"{value!r} is beyond ±(2**53 - 1), where JCS numbers are exact")
    elif isinstance(value, dict):
        for item in value.values():
            _check_floats(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_floats(item)


def _jcs(written: bytes) -> bytes:
    """The JCS form of what orjson ``written`` (sorted keys, or not) holds."""
    if _WHERE_ORJSON_IS_NOT_JCS.search(written) is None:
        return written
    try:
        return rfc8785.dumps(orjson.loads(written))
    except rfc8785.CanonicalizationError as error:
        raise NotCanonicalizable(str(error)) from error


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as RFC 8785 canonical JSON bytes (datetimes as the contract's timestamps)."""
    _check_floats(value)
    try:
        written = orjson.dumps(
            value,
            default=_default,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
        )
    except orjson.JSONEncodeError as error:
        raise NotCanonicalizable(str(error)) from error
    return _jcs(written)


def canonical_json_of_decoded(value: Any) -> bytes:
    """Canonical JSON (JCS) of a value decoded from JSON (no datetime, no NaN: JSON cannot hold them),
    without the checks of what a producer may write: what any JCS verifier computes for a record, on the
    fast path readers of whole logs need."""
    try:
        return _jcs(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError as error:
        raise NotCanonicalizable(str(error)) from error


def is_canonical(raw: bytes, decoded: Any) -> bool:
    """Whether ``raw`` is exactly the canonical form of ``decoded``, its own decoding: then a reader may
    hash ``raw`` as it is, and agrees with any verifier that canonicalizes first. Costs one orjson write
    and one scan of the bytes, unless ``raw`` holds floats, long integers or characters beyond U+FFFF."""
    if _WHERE_ORJSON_IS_NOT_JCS.search(raw) is None:
        # compact orjson output is matched only by bytes without whitespace, so if equal, the scan above
        # saw every number token of ``raw`` where orjson puts them: no float, no long integer
        return orjson.dumps(decoded, option=orjson.OPT_SORT_KEYS) == raw
    try:
        return canonical_json_of_decoded(decoded) == raw
    except NotCanonicalizable:
        return False


def loads(data: bytes | str) -> Any:
    """Decode JSON (canonical or not)."""
    return orjson.loads(data)
