"""The envelope every event travels in, and the SHA-256 hash that chains a producer's events together.

``hash`` = SHA-256 over the canonical JSON (RFC 8785) of every other envelope field, ``prev_hash`` included,
so each event commits to the whole history of its producer before it (docs/architecture.md, "The event log").

Logs written before canonical JSON became RFC 8785 (format 1: orjson's output, which writes ``1.0`` where
JCS writes ``1``) are refused, never verified under the old rule: :func:`hashed_under_format_1` only
names such an event in the refusal (docs/architecture.md, "Rebuild and audit").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import uuid_utils
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator

from aireg_events.canonical import canonical_json, canonical_json_of_decoded, format_timestamp, loads

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of a producer's first event."""

Role = Literal["portal", "reviewer", "lead", "admin", "auditor", "dashboard", "system"]


def new_event_id() -> str:
    """A fresh UUIDv7: time-ordered, so ids sort roughly by creation."""
    return str(uuid_utils.uuid7())


def utc_now() -> datetime:
    return datetime.now(UTC)


def content_hash(content: dict[str, Any], *, decoded: bool = False) -> str:
    """SHA-256 over the canonical JSON of an envelope's fields, ``hash`` left out if present.

    ``decoded=True`` says the content was decoded from JSON, so it holds nothing JSON cannot (no
    datetime, no NaN) and the checks can be skipped.
    """
    if "hash" in content:
        content = {key: value for key, value in content.items() if key != "hash"}
    encoded = canonical_json_of_decoded(content, strict=True) if decoded else canonical_json(content)
    return hashlib.sha256(encoded).hexdigest()


def hashed_under_format_1(content: dict[str, Any]) -> bool:
    """Whether an envelope's ``hash`` holds under the rule before RFC 8785 (orjson's output with sorted
    keys) and not under RFC 8785: an event of an old log, to be named as such when it is refused."""
    claimed = content.get("hash")
    rest = {key: value for key, value in content.items() if key != "hash"}
    try:
        old = hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()
        return claimed == old and content_hash(rest, decoded=True) != claimed
    except (TypeError, ValueError):
        return False


class Actor(BaseModel):
    """Who caused an event: a portal, a staff member with a role, or the system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200)
    organization: str | None = Field(default=None, max_length=200)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(role="system", name=name)


class Envelope(BaseModel):
    """One event as stored in a producer's log and published to Kafka."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_type: str
    schema_version: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1)
    log_position: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str
    causation_id: str | None = None
    actor: Actor
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_serializer("occurred_at")
    def _one_format(self, value: datetime) -> str:
        return format_timestamp(value)

    @classmethod
    def seal(cls, **fields: Any) -> Envelope:
        """Build an envelope from every field but ``hash``, computing the hash."""
        unsealed = {**fields, "hash": ""}
        draft = cls.model_validate(unsealed)
        return draft.model_copy(update={"hash": draft.compute_hash()})

    def hashed_content(self) -> dict[str, Any]:
        """Everything the hash covers: every field but ``hash`` itself."""
        return self.model_dump(mode="json", exclude={"hash"})

    def compute_hash(self) -> str:
        return content_hash(self.hashed_content())

    def hash_is_valid(self) -> bool:
        return self.compute_hash() == self.hash

    def to_canonical(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        return cls.model_validate(loads(data))
