"""Replay benchmark: ``aireg audit verify`` over N events, against reading the same events and doing
nothing, both on the real broker in the same run.

    uv run python bench/replay.py --events 1000000

It starts the embedded broker (or uses ``KAFKA_BOOTSTRAP_SERVERS``), writes N hash-chained events of
both producers (about one submission event in four, the rest analysis decisions, with a signed checkpoint
every 1,000), then times a bare read and the audit's verification over them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from aireg_cli.audit.verify import verify
from aireg_cli.stack import free_port, start_broker, stop_process
from aireg_events.canonical import canonical_json_of_decoded, format_timestamp
from aireg_events.envelope import GENESIS_HASH, content_hash
from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.checkpoints import checkpoint_message
from aireg_events.signing import generate_private_key, key_id, sign
from aireg_events.topic_reader import read_topics
from aireg_events.topics import Topics

WORDS = [
    "regulation",
    "liability",
    "certification",
    "sovereign",
    "model",
    "training",
    "data",
    "risk",
    "transparency",
    "audit",
    "healthcare",
    "finance",
    "transport",
    "education",
    "registry",
    "standard",
    "sandbox",
    "consent",
    "provenance",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


class ChainWriter:
    """Builds one producer's chain of envelopes as the appender would."""

    def __init__(self, producer: str, key: Any) -> None:
        self.producer = producer
        self.key = key
        self.position = 0
        self.head = GENESIS_HASH
        self.versions: dict[str, int] = {}
        self.moment = time.time() - 86_400

    def seal(self, event_type: str, stream_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.position += 1
        self.moment += 0.01
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        from datetime import UTC, datetime

        envelope: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "stream_id": stream_id,
            "stream_version": self.versions[stream_id],
            "log_position": self.position,
            "occurred_at": format_timestamp(datetime.fromtimestamp(self.moment, UTC)),
            "producer": self.producer,
            "correlation_id": str(uuid.uuid4()),
            "causation_id": None,
            "actor": {"role": "system", "name": "bench", "organization": None},
            "payload": payload,
            "prev_hash": self.head,
        }
        self.head = envelope["hash"] = content_hash(envelope, decoded=True)
        return envelope

    def checkpoint(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        signed_at = datetime.now(UTC)
        payload = {
            "chain_producer": self.producer,
            "head_position": self.position,
            "head_hash": self.head,
            "signed_at": format_timestamp(signed_at),
            "key_id": key_id(self.key.public_key()),
            "signature": sign(
                self.key, checkpoint_message(self.producer, self.position, self.head, signed_at)
            ),
        }
        return self.seal("ChainCheckpoint", f"checkpoint:{self.producer}", payload)


async def write_events(bootstrap: str, topics: Topics, count: int, keys: dict[str, Any]) -> None:
    rng = random.Random(7)
    writers = {producer: ChainWriter(producer, keys[producer]) for producer in ("submission", "analysis")}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    pending: list[Any] = []
    try:
        for index in range(count):
            proposal = f"p{index // 4}"
            if index % 4 == 0:
                writer = writers["submission"]
                payload: dict[str, Any] = {
                    "proposal_id": proposal,
                    "title": _text(rng, 8),
                    "text": _text(rng, 120),
                }
                envelope = writer.seal("ProposalSubmitted", proposal, payload)
            else:
                writer = writers["analysis"]
                payload = {"proposal_id": proposal, "rationale": _text(rng, 30), "score": rng.randint(1, 5)}
                envelope = writer.seal("ReviewSubmitted", proposal, payload)
            await _send(producer, topics, envelope, pending)
            if writer.position % 1000 == 999:
                await _send(producer, topics, writer.checkpoint(), pending)
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _send(
    producer: AIOKafkaProducer, topics: Topics, envelope: dict[str, Any], pending: list[Any]
) -> None:
    pending.append(
        await producer.send(
            topics.of(envelope["producer"]),
            value=canonical_json_of_decoded(envelope),
            key=envelope["stream_id"].encode(),
        )
    )


async def bare_read(bootstrap: str, topics: Topics) -> int:
    count = 0
    async for _record in read_topics(bootstrap, [topics.submission, topics.analysis]):
        count += 1
    return count


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    arguments = parser.parse_args()
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        port = free_port()
        broker = start_broker(port, Path(tempfile.gettempdir()) / "aireg-bench-broker.log")
        bootstrap = f"127.0.0.1:{port}"
    try:
        topics = Topics(f"bench{uuid.uuid4().hex[:8]}.")
        await ensure_topics(bootstrap, topics.all(), partitions=3)
        keys = {producer: generate_private_key() for producer in ("submission", "analysis")}
        started = time.perf_counter()
        await write_events(bootstrap, topics, arguments.events, keys)
        print(f"wrote {arguments.events:,} events in {time.perf_counter() - started:.1f}s")

        started = time.perf_counter()
        read = await bare_read(bootstrap, topics)
        bare_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = await verify(bootstrap, topics, {name: [key.public_key()] for name, key in keys.items()})
        verify_seconds = time.perf_counter() - started
        assert report.ok, report.faults[:5]
        bare_rate, verify_rate = read / bare_seconds, report.records / verify_seconds
        print(f"baseline  read only:     {read:,} events in {bare_seconds:.1f}s = {bare_rate:,.0f} events/s")
        print(
            f"figure    audit verify:  {report.records:,} events in {verify_seconds:.1f}s = {verify_rate:,.0f} events/s"
        )
        checkpoints = sum(summary.checkpoints_verified for summary in report.producers.values())
        print(f"          ({checkpoints} checkpoints verified, {len(report.faults)} faults)")
        print(f"ratio     verify / read: {verify_rate / bare_rate:.2f}")
    finally:
        if broker is not None:
            stop_process(broker)


if __name__ == "__main__":
    asyncio.run(main())
