"""Signed checkpoints of a producer's chain head, appended to its own log every N events and on a timer.

A ``ChainCheckpoint`` at position p+1 commits, with the producer's Ed25519 key, to the hash of the event
at p. An auditor holding the producer's public key (configured, never read from the log) can then tell a
copy of the log that was rewritten after the fact from the one the producer committed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aireg_events.canonical import canonical_json, format_timestamp
from aireg_events.catalogue.checkpoint import ChainCheckpoint
from aireg_events.envelope import Actor, Envelope
from aireg_events.log.appender import LogAppender, UnitOfWork
from aireg_events.signing import key_id, sign, verify

logger = logging.getLogger(__name__)


def checkpoint_message(producer: str, head_position: int, head_hash: str, signed_at: datetime) -> bytes:
    """The bytes a checkpoint signature covers."""
    return canonical_json(
        {
            "producer": producer,
            "head_position": head_position,
            "head_hash": head_hash,
            "signed_at": format_timestamp(signed_at),
        }
    )


def checkpoint_signature_is_valid(checkpoint: ChainCheckpoint, public_key: Ed25519PublicKey) -> bool:
    message = checkpoint_message(
        checkpoint.chain_producer, checkpoint.head_position, checkpoint.head_hash, checkpoint.signed_at
    )
    return key_id(public_key) == checkpoint.key_id and verify(public_key, message, checkpoint.signature)


class Checkpointer:
    """Appends a signed ``ChainCheckpoint`` after every ``every`` events and every ``interval`` seconds
    (when the log moved since the last one)."""

    def __init__(
        self, appender: LogAppender, key: Ed25519PrivateKey, *, every: int = 1000, interval: float = 60.0
    ) -> None:
        self.appender = appender
        self.key = key
        self.every = every
        self.interval = interval
        self._since_last = 0
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        appender.add_commit_listener(self._on_commit)

    def _on_commit(self, envelopes: list[Envelope]) -> None:
        self._since_last += sum(
            1 for envelope in envelopes if envelope.event_type != ChainCheckpoint.event_type
        )
        if self._since_last >= self.every:
            self._due.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"checkpoints:{self.appender.producer}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.interval)
            self._due.clear()
            if self._since_last == 0:
                continue
            try:
                await self.checkpoint()
            except Exception:
                logger.exception("could not append a chain checkpoint; will try again")

    async def checkpoint(self) -> Envelope | None:
        """Append a checkpoint of the current head now (none if the log is empty)."""
        producer = self.appender.producer

        async def work(uow: UnitOfWork) -> Envelope | None:
            position, head_hash = await uow.head()
            if position == 0:
                return None
            signed_at = uow.now()
            event = ChainCheckpoint(
                chain_producer=producer,
                head_position=position,
                head_hash=head_hash,
                signed_at=signed_at,
                key_id=key_id(self.key.public_key()),
                signature=sign(self.key, checkpoint_message(producer, position, head_hash, signed_at)),
            )
            return await uow.append(event, actor=Actor.system("checkpointer"))

        self._since_last = 0
        return await self.appender.run(work)
