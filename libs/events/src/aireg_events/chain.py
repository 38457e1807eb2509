"""Verifying one producer's log: hash chain, gap-free log positions, gap-free stream versions.

Used by every reader that must trust a log it did not write (the audit, the property tests). It works on
:class:`ChainLink`, the few fields of an envelope the checks need, so a reader of a million events need
not keep whole envelopes. Faults name the producer, the log position and the kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aireg_events.canonical import is_canonical
from aireg_events.envelope import GENESIS_HASH, Envelope, content_hash, hashed_under_format_1

FaultKind = Literal[
    "tampered",  # the event's content does not match its hash
    "old_format",  # hashed under the canonical form before RFC 8785 (format 1): an old log, refused
    "broken_link",  # prev_hash is not the hash of the event before
    "missing",  # a log position is absent
    "duplicated",  # a log position appears twice with other content
    "reordered",  # a position arrives after a later one
    "stream_gap",  # a stream version is skipped or repeated
    "wrong_producer",  # an event of another producer in this chain
    "unparseable",  # a record that is not an envelope
    "dangling_causation",  # causation_id names no event, or one that came later
    "forged_checkpoint",  # a checkpoint whose signature or head does not hold
    "feed_mismatch",  # the service's feed and its topic disagree
    "feed_unreachable",  # the service's feed could not be read
    "bundle_mismatch",  # a part of an offline bundle does not match its manifest
]


@dataclass(frozen=True)
class ChainFault:
    producer: str
    log_position: int
    kind: FaultKind
    detail: str


@dataclass(slots=True)  # not frozen: a frozen dataclass costs a setattr call per field, a million times
class ChainLink:
    producer: str
    log_position: int
    event_id: str
    event_type: str
    stream_id: str
    stream_version: int
    occurred_at: str
    causation_id: str | None
    prev_hash: str
    hash: str
    content_hash: str
    """The hash recomputed from the content: equal to ``hash`` unless the event was altered."""
    old_format: bool = False
    """Its ``hash`` holds under the canonical form before RFC 8785 only (set where the hash fails)."""

    @property
    def hash_is_valid(self) -> bool:
        return self.hash == self.content_hash

    @classmethod
    def of(cls, envelope: Envelope) -> ChainLink:
        return cls.from_content(envelope.model_dump(mode="json"))

    @classmethod
    def from_record(cls, raw: bytes, content: dict[str, Any]) -> ChainLink:
        """From a record's bytes and their decoding. Bytes that are the canonical form of what they
        decode to (checked: :func:`is_canonical`), minus their one ``hash`` member, are exactly what the
        hash covers, so they are hashed as they are (a relay publishes nothing else); any other bytes
        are canonicalized first, as any JCS verifier does, so both always agree. The member removed is
        the first one with the claimed hash: in canonical bytes one inside ``actor`` (the only member
        sorted before ``hash`` that could be an object) would leave the top-level one in the bytes hashed,
        which then cannot hash to the very value they contain."""
        claimed = content["hash"]
        if not isinstance(claimed, str):
            raise TypeError("hash is not a string")
        member = b'"hash":"' + claimed.encode() + b'",'
        if is_canonical(raw, content):
            recomputed = hashlib.sha256(raw.replace(member, b"", 1)).hexdigest()
        else:
            recomputed = content_hash(content, decoded=True)
        return cls._of(content, recomputed)

    @classmethod
    def _of(cls, content: dict[str, Any], recomputed: str) -> ChainLink:
        claimed = str(content["hash"])
        return cls(
            producer=str(content["producer"]),
            log_position=int(content["log_position"]),
            event_id=str(content["event_id"]),
            event_type=str(content["event_type"]),
            stream_id=str(content["stream_id"]),
            stream_version=int(content["stream_version"]),
            occurred_at=str(content["occurred_at"]),
            causation_id=content.get("causation_id"),
            prev_hash=str(content["prev_hash"]),
            hash=claimed,
            content_hash=recomputed,
            old_format=recomputed != claimed and hashed_under_format_1(content),
        )

    @classmethod
    def from_content(cls, content: dict[str, Any], *, decoded: bool = False) -> ChainLink:
        """From an envelope's fields (raises KeyError/TypeError/ValueError if it is not one);
        ``decoded=True`` when they were just decoded from JSON (the fast path)."""
        recomputed = content_hash(content, decoded=decoded)
        return cls(
            producer=str(content["producer"]),
            log_position=int(content["log_position"]),
            event_id=str(content["event_id"]),
            event_type=str(content["event_type"]),
            stream_id=str(content["stream_id"]),
            stream_version=int(content["stream_version"]),
            occurred_at=str(content["occurred_at"]),
            causation_id=content.get("causation_id"),
            prev_hash=str(content["prev_hash"]),
            hash=str(content["hash"]),
            content_hash=recomputed,
            old_format=recomputed != content["hash"] and decoded and hashed_under_format_1(content),
        )


@dataclass
class ChainReport:
    producer: str
    events: int
    head_position: int
    head_hash: str
    faults: list[ChainFault]
    links: dict[int, ChainLink]

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_chain(producer: str, links: Iterable[ChainLink | Envelope]) -> ChainReport:
    """Check one producer's events, in the order read, as a chain starting at position 1.

    Exact repeats (the same event delivered twice) are not faults: the relay publishes again after a
    crash. A repeat with other content is.
    """
    faults: list[ChainFault] = []
    by_position: dict[int, ChainLink] = {}
    last_seen = 0
    for item in links:
        link = ChainLink.of(item) if isinstance(item, Envelope) else item
        position = link.log_position
        if link.producer != producer:
            faults.append(ChainFault(producer, position, "wrong_producer", f"event of {link.producer}"))
            continue
        if link.old_format:
            faults.append(
                ChainFault(
                    producer,
                    position,
                    "old_format",
                    f"event {link.event_id} is hashed under the canonical form before RFC 8785 (format 1):"
                    " a log written before 2026-12, which this version refuses (docs/architecture.md, Rebuild and audit)",
                )
            )
        elif not link.hash_is_valid:
            faults.append(ChainFault(producer, position, "tampered", f"event {link.event_id} fails its hash"))
        known = by_position.get(position)
        if known is not None:
            if known.hash != link.hash or known.content_hash != link.content_hash:
                faults.append(
                    ChainFault(producer, position, "duplicated", "position read twice with different content")
                )
            continue
        if position < last_seen:
            faults.append(ChainFault(producer, position, "reordered", f"read after position {last_seen}"))
        last_seen = max(last_seen, position)
        by_position[position] = link
    head_hash = GENESIS_HASH
    head = 0
    stream_versions: dict[str, int] = {}
    for position in range(1, (max(by_position) if by_position else 0) + 1):
        found = by_position.get(position)
        if found is None:
            faults.append(ChainFault(producer, position, "missing", "no event at this position"))
            head_hash = ""  # the next link cannot be checked against what is missing
            continue
        if head_hash and found.prev_hash != head_hash:
            faults.append(
                ChainFault(producer, position, "broken_link", "prev_hash is not the previous event's hash")
            )
        expected_version = stream_versions.get(found.stream_id, 0) + 1
        if found.stream_version != expected_version:
            faults.append(
                ChainFault(
                    producer,
                    position,
                    "stream_gap",
                    f"stream {found.stream_id} at version {found.stream_version}, expected {expected_version}",
                )
            )
        stream_versions[found.stream_id] = max(expected_version, found.stream_version)
        head_hash = found.hash
        head = position
    faults.sort(key=lambda fault: (fault.log_position, fault.kind))
    return ChainReport(producer, len(by_position), head, head_hash, faults, by_position)
