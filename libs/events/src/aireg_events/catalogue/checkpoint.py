"""``ChainCheckpoint``: a producer's signed commitment to the head of its hash chain (every producer)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aireg_events.catalogue.common import DomainEvent, UtcDateTime


class ChainCheckpoint(DomainEvent):
    """Signed (Ed25519) over ``producer``, ``head_position``, ``head_hash`` and ``signed_at``.

    ``producer`` is set per instance, so the class-level producer is a placeholder.
    """

    event_type: ClassVar[str] = "ChainCheckpoint"
    producer: ClassVar[str] = "*"
    stream_field: ClassVar[str] = "stream"

    chain_producer: str
    head_position: int = Field(ge=0)
    head_hash: str
    signed_at: UtcDateTime
    key_id: str
    signature: str

    @property
    def stream(self) -> str:
        return f"checkpoint:{self.chain_producer}"
