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

Speed: orjson with sorted keys and its 53-bit integer limit writes exactly the JCS form of a value that
holds no float and no character beyond U+FFFF (where UTF-16 order and code-point order part). So the
encoder writes with orjson; a value with floats is written again with each float in ECMAScript's form
(:func:`ecmascript_number`, as orjson fragments); bytes with a character beyond U+FFFF go to the
reference implementation (the ``rfc8785`` package).
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

_WRITE = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER  # strict: an integer beyond ±(2**53 - 1) raises
_BEYOND_U_FFFF = re.compile(rb"[\xf0-\xf4]")
"""The lead byte of a 4-byte UTF-8 sequence: a character beyond U+FFFF, where the UTF-16 order of member
names (JCS's) and their code-point order (orjson's) may part."""


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


def _holds_float(value: Any) -> bool:
    """Whether a value a producer writes holds a float that orjson writes otherwise than ECMAScript
    (``1.0``, ``1e+16``; ``0.85`` both write alike); refuses, on the way, every float a producer may not
    write (orjson would write NaN and infinities as null, and a float beyond ±(2**53 - 1) is an integer JCS
    refuses). Values decoded from JSON take :func:`_float_written_otherwise_in`."""
    if isinstance(value, float):
        if not (math.isfinite(value) and abs(value) <= MAX_EXACT_INTEGER):
            raise NotCanonicalizable(f"{value!r}: an event's numbers are finite and within ±(2**53 - 1)")
        return orjson.dumps(value) != ecmascript_number(value).encode()
    if isinstance(value, dict):
        items: Any = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return False
    found = False
    for item in items:
        if type(item) not in _SCALARS:
            found = _holds_float(item) or found  # every item: each float is checked
    return found


_SCALARS = frozenset({str, int, bool, type(None)})


def _float_written_otherwise_in(decoded: Any) -> bool:
    """:func:`_holds_float` for a container just decoded by orjson (exact types: no ``isinstance``), on
    the path a reader of a million records takes."""
    items: Any = decoded.values() if type(decoded) is dict else decoded
    for item in items:
        kind = type(item)
        if kind is float:
            if orjson.dumps(item) != ecmascript_number(item).encode():
                return True
        elif (kind is dict or kind is list) and _float_written_otherwise_in(item):
            return True
    return False


def ecmascript_number(number: float) -> str:
    """``number`` as ECMAScript's Number::toString writes it (RFC 8785, 3.2.2.3): the shortest digits
    that read back as the same double (Python's ``repr`` finds the same), laid out as ECMAScript does."""
    if number == 0:
        return "0"
    if number < 0:
        return "-" + ecmascript_number(-number)
    mantissa, _, exponent = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)  # number = 0.<digits> x 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return digits + "0" * (point - count)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    power = point - 1
    sign = "+" if power > 0 else "-"
    head = digits if count == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(power)}"


def _numbers_as_fragments(value: Any) -> Any:
    """``value`` (as decoded from JSON) with every float replaced by its ECMAScript form, for orjson."""
    kind = type(value)
    if kind is float:
        return orjson.Fragment(ecmascript_number(value))
    if kind is dict:
        return {key: _numbers_as_fragments(item) for key, item in value.items()}
    if kind is list:
        return [_numbers_as_fragments(item) for item in value]
    return value


def _jcs(written: bytes, holds_float: bool) -> bytes:
    """The JCS form of the bytes orjson ``written`` with ``_WRITE``; ``holds_float``: the value holds a
    float that orjson writes otherwise than ECMAScript."""
    if not written.isascii() and _BEYOND_U_FFFF.search(written) is not None:
        try:
            return rfc8785.dumps(orjson.loads(written))
        except rfc8785.CanonicalizationError as error:
            raise NotCanonicalizable(str(error)) from error
    if not holds_float:
        return written
    return orjson.dumps(_numbers_as_fragments(orjson.loads(written)), option=orjson.OPT_SORT_KEYS)


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as RFC 8785 canonical JSON bytes (datetimes as the contract's timestamps)."""
    holds_float = _holds_float(value)
    try:
        written = orjson.dumps(value, default=_default, option=_WRITE | orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError as error:
        raise NotCanonicalizable(str(error)) from error
    return _jcs(written, holds_float)


def canonical_json_of_decoded(value: Any, *, strict: bool = False) -> bytes:
    """Canonical JSON (JCS) of a value decoded from JSON or read from a table (no datetime, no NaN),
    without the checks of what a producer may write, on the fast path readers of whole logs need.

    ``strict``: refuse an integer beyond ±(2**53 - 1), as JCS does: every hash of an event is computed so.
    Otherwise such an integer, which no event holds but a state digest's table may (64-bit hashes), is
    written in full as orjson writes it, in a value written as orjson writes it."""
    try:
        written = orjson.dumps(value, option=_WRITE)
    except orjson.JSONEncodeError as error:
        if strict:
            raise NotCanonicalizable(f"no JCS form: {error}") from error
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as beyond:
            raise NotCanonicalizable(str(beyond)) from beyond
    return _jcs(written, _float_written_otherwise_in([value]))


def is_canonical(raw: bytes, decoded: Any) -> bool:
    """Whether ``raw`` is exactly the canonical form of ``decoded``, its own decoding: then a reader may
    hash ``raw`` as it is, and agrees with any verifier that canonicalizes first. Costs one orjson write,
    one look at whether the value holds a float, and more only when it does or when ``raw`` holds a
    character beyond U+FFFF."""
    try:
        written = orjson.dumps(decoded, option=_WRITE)
    except orjson.JSONEncodeError:
        return False  # an integer JCS refuses
    if written != raw:
        # not orjson's form: canonical only if ECMAScript's floats or UTF-16 order make it differ
        differs_for_jcs = not raw.isascii() or _float_written_otherwise_in([decoded])
        return differs_for_jcs and canonical_json_of_decoded(decoded, strict=True) == raw
    if _float_written_otherwise_in([decoded]):
        return False  # orjson's form, and a float ECMAScript writes otherwise
    return (
        raw.isascii()
        or _BEYOND_U_FFFF.search(raw) is None
        or canonical_json_of_decoded(decoded, strict=True) == raw
    )


def loads(data: bytes | str) -> Any:
    """Decode JSON (canonical or not)."""
    return orjson.loads(data)
