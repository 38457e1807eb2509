"""Verifying one producer's log: hash chain, gap-free log positions, gap-free stream versions.

Used by every reader that must trust a log it did not write (the audit, the property tests). Faults
name the producer, the log position and the kind, so that a report points at exactly what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from aireg_events.envelope import GENESIS_HASH, Envelope

FaultKind = Literal[
    "tampered",  # the event's content does not match its hash
    "broken_link",  # prev_hash is not the hash of the event before
    "missing",  # a log position is absent
    "duplicated",  # a log position appears twice with other content
    "reordered",  # positions arrive out of order
    "stream_gap",  # a stream version is skipped or repeated
    "wrong_producer",  # an event of another producer in this chain
]


@dataclass(frozen=True)
class ChainFault:
    producer: str
    log_position: int
    kind: FaultKind
    detail: str


@dataclass
class ChainReport:
    producer: str
    events: int
    head_position: int
    head_hash: str
    faults: list[ChainFault]

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_chain(producer: str, envelopes: Iterable[Envelope]) -> ChainReport:
    """Check ``envelopes`` (one producer's, in the order read) as a chain starting at position 1.

    Exact repeats (the same event delivered twice) are not faults: the relay publishes again after a
    crash. A repeat with other content is.
    """
    faults: list[ChainFault] = []
    by_position: dict[int, Envelope] = {}
    last_seen = 0
    for envelope in envelopes:
        position = envelope.log_position
        if envelope.producer != producer:
            faults.append(ChainFault(producer, position, "wrong_producer", f"event of {envelope.producer}"))
            continue
        if not envelope.hash_is_valid():
            faults.append(
                ChainFault(producer, position, "tampered", f"event {envelope.event_id} fails its hash")
            )
        known = by_position.get(position)
        if known is not None:
            if known.hash != envelope.hash or known.to_canonical() != envelope.to_canonical():
                faults.append(
                    ChainFault(producer, position, "duplicated", "position read twice with different content")
                )
            continue
        if position < last_seen:
            faults.append(ChainFault(producer, position, "reordered", f"read after position {last_seen}"))
        last_seen = max(last_seen, position)
        by_position[position] = envelope
    head_hash = GENESIS_HASH
    head = 0
    stream_versions: dict[str, int] = {}
    for position in range(1, (max(by_position) if by_position else 0) + 1):
        envelope = by_position.get(position)
        if envelope is None:
            faults.append(ChainFault(producer, position, "missing", "no event at this position"))
            head_hash = ""  # the next link cannot be checked against what is missing
            continue
        if head_hash and envelope.prev_hash != head_hash:
            faults.append(
                ChainFault(producer, position, "broken_link", "prev_hash is not the previous event's hash")
            )
        expected_version = stream_versions.get(envelope.stream_id, 0) + 1
        if envelope.stream_version != expected_version:
            faults.append(
                ChainFault(
                    producer,
                    position,
                    "stream_gap",
                    f"stream {envelope.stream_id} at version {envelope.stream_version}, expected {expected_version}",
                )
            )
        stream_versions[envelope.stream_id] = max(expected_version, envelope.stream_version)
        head_hash = envelope.hash
        head = position
    faults.sort(key=lambda fault: (fault.log_position, fault.kind))
    return ChainReport(producer, len(by_position), head, head_hash, faults)
