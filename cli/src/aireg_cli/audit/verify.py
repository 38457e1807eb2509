"""``aireg audit verify``: every producer's chain, positions, stream versions, causation, signed
checkpoints, and the services' feeds against their topics. Every fault names producer and position.
The records come from the broker or from an offline bundle (``bundle.py``); the checks are the same."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aireg_cli.audit.bundle import OpenBundle
from aireg_events.canonical import parse_timestamp
from aireg_events.catalogue.checkpoint import ChainCheckpoint
from aireg_events.chain import ChainFault, ChainLink, verify_chain
from aireg_events.log.checkpoints import checkpoint_signature_is_valid
from aireg_events.signing import key_id
from aireg_events.topic_reader import Progress, TopicRecord, collector_paused, read_topic_batches
from aireg_events.topics import PRODUCER_TOPICS, Topics

RecordBatches = AsyncIterator[Sequence[TopicRecord]]
"""Records of one partition each, in offset order (the broker's batches, or a bundle's)."""

FeedFetcher = Callable[[str, int], Awaitable[list[dict[str, Any]]]]
"""``fetch(producer, after)`` → the next page of the producer's feed (empty when done)."""


@dataclass
class ProducerSummary:
    producer: str
    topic: str
    records: int = 0
    events: int = 0
    head_position: int = 0
    head_hash: str = ""
    checkpoints_verified: int = 0
    feed_events: int | None = None
    pending_relay: int = 0


@dataclass
class AuditReport:
    producers: dict[str, ProducerSummary]
    faults: list[ChainFault] = field(default_factory=list)
    records: int = 0
    seconds: float = 0.0
    source: str = "broker"
    key_ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.faults

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "source": self.source,
            "key_ids": self.key_ids,
            "producers": {name: vars(summary) for name, summary in self.producers.items()},
            "faults": [vars(fault) for fault in self.faults],
        }


@dataclass
class _Collected:
    links: list[ChainLink] = field(default_factory=list)
    checkpoints: list[tuple[ChainLink, dict[str, Any]]] = field(default_factory=list)


def http_feed_fetcher(urls: dict[str, str], token: str, client: httpx.AsyncClient) -> FeedFetcher:
    async def fetch(producer: str, after: int) -> list[dict[str, Any]]:
        response = await client.get(
            f"{urls[producer]}/v1/events",
            params={"after": after, "limit": 1000},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    return fetch


async def verify(
    bootstrap_servers: str,
    topics: Topics,
    public_keys: dict[str, list[Ed25519PublicKey]],
    *,
    feed: FeedFetcher | None = None,
    relay_grace: timedelta = timedelta(seconds=30),
    progress: Progress | None = None,
) -> AuditReport:
    topic_of = {producer: topics.of(producer) for producer in PRODUCER_TOPICS}
    with collector_paused():
        batches = read_topic_batches(bootstrap_servers, list(topic_of.values()), progress=progress)
        return await verify_records(batches, topic_of, public_keys, feed=feed, relay_grace=relay_grace)


async def verify_bundle(bundle: OpenBundle, public_keys: dict[str, list[Ed25519PublicKey]]) -> AuditReport:
    """Verify an offline bundle's records (no broker, no service, so no feeds); a part that does not
    match the manifest is a fault as well."""
    topic_of = {str(producer): str(topic) for producer, topic in bundle.manifest["topics"].items()}
    with collector_paused():
        report = await verify_records(bundle.record_batches(), topic_of, public_keys, source="bundle")
    report.faults[:0] = [ChainFault("bundle", 0, "bundle_mismatch", problem) for problem in bundle.mismatches]
    return report


async def verify_records(
    batches: RecordBatches,
    topic_of: dict[str, str],
    public_keys: dict[str, list[Ed25519PublicKey]],
    *,
    feed: FeedFetcher | None = None,
    relay_grace: timedelta = timedelta(seconds=30),
    source: str = "broker",
) -> AuditReport:
    """Verify the records of ``batches``; ``topic_of`` names each producer's topic."""
    started = time.monotonic()
    summaries = {producer: ProducerSummary(producer, topic) for producer, topic in topic_of.items()}
    report = AuditReport(summaries, source=source)
    report.key_ids = {producer: [key_id(key) for key in keys] for producer, keys in public_keys.items()}
    collected = {producer: _Collected() for producer in topic_of}
    topic_producer = {topic: producer for producer, topic in topic_of.items()}
    partition_max: dict[tuple[str, int], int] = {}
    first_seen: dict[str, dict[int, str]] = {producer: {} for producer in topic_of}
    reorder_faults: list[ChainFault] = []
    checkpoint_type = ChainCheckpoint.event_type
    loads, link_of = orjson.loads, ChainLink.from_record
    # A batch holds records of one partition: what is per partition is looked up once per batch (a
    # million records go through this loop; ``bench/replay.py``).
    async for records in batches:
        topic, partition = records[0].topic, records[0].partition
        producer = topic_producer[topic]
        report.records += len(records)
        summaries[producer].records += len(records)
        seen = first_seen[producer]
        links = collected[producer].links
        checkpoints = collected[producer].checkpoints
        highest = partition_max.get((topic, partition), 0)
        for record in records:
            try:
                raw = record.value or b""
                content = loads(raw)
                link = link_of(raw, content)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                report.faults.append(
                    ChainFault(
                        producer,
                        0,
                        "unparseable",
                        f"{topic}[{partition}]@{record.offset} is not an envelope: {error}",
                    )
                )
                continue
            position = link.log_position
            previous = seen.get(position)
            if previous is None:
                seen[position] = link.content_hash
            if position < highest and previous != link.content_hash:
                reorder_faults.append(
                    ChainFault(
                        producer,
                        position,
                        "reordered",
                        f"{topic}[{partition}]@{record.offset} comes after position {highest}",
                    )
                )
            elif position > highest:
                highest = position
            links.append(link)
            if link.event_type == checkpoint_type:
                checkpoints.append((link, content.get("payload") or {}))
        partition_max[(topic, partition)] = highest
    by_event_id: dict[str, ChainLink] = {}
    chains = {}
    for producer, found in collected.items():
        found.links.sort(key=lambda item: item.log_position)
        chain = verify_chain(producer, found.links)
        chains[producer] = chain
        summary = summaries[producer]
        summary.events, summary.head_position, summary.head_hash = (
            chain.events,
            chain.head_position,
            chain.head_hash,
        )
        report.faults.extend(chain.faults)
        for link in chain.links.values():
            by_event_id[link.event_id] = link
        _check_checkpoints(
            producer, found.checkpoints, chain.links, public_keys.get(producer, []), summary, report
        )
    report.faults.extend(reorder_faults)
    _check_causation(chains, by_event_id, report)
    if feed is not None:
        for producer, chain in chains.items():
            await _check_feed(producer, chain.links, feed, summaries[producer], relay_grace, report)
    report.faults.sort(key=lambda fault: (fault.producer, fault.log_position, fault.kind))
    report.seconds = time.monotonic() - started
    return report


def _check_checkpoints(
    producer: str,
    checkpoints: list[tuple[ChainLink, dict[str, Any]]],
    links: dict[int, ChainLink],
    public_keys: list[Ed25519PublicKey],
    summary: ProducerSummary,
    report: AuditReport,
) -> None:
    verified: set[int] = set()
    for link, payload in checkpoints:
        if link.log_position in verified or links.get(link.log_position) != link:
            continue
        position = link.log_position
        try:
            checkpoint = ChainCheckpoint.model_validate(payload)
        except ValueError as error:
            report.faults.append(
                ChainFault(producer, position, "forged_checkpoint", f"not a checkpoint: {error}")
            )
            continue
        public_key = next((key for key in public_keys if key_id(key) == checkpoint.key_id), None)
        if public_key is None:
            report.faults.append(
                ChainFault(
                    producer,
                    position,
                    "forged_checkpoint",
                    f"signed with key {checkpoint.key_id}, none of the keys configured for {producer}",
                )
            )
            continue
        if checkpoint.chain_producer != producer:
            report.faults.append(
                ChainFault(
                    producer, position, "forged_checkpoint", f"checkpoint of {checkpoint.chain_producer}"
                )
            )
            continue
        if not checkpoint_signature_is_valid(checkpoint, public_key):
            report.faults.append(
                ChainFault(
                    producer,
                    position,
                    "forged_checkpoint",
                    "signature does not verify with the configured key",
                )
            )
            continue
        head = links.get(checkpoint.head_position)
        if checkpoint.head_position >= position or head is None or head.hash != checkpoint.head_hash:
            report.faults.append(
                ChainFault(
                    producer,
                    position,
                    "forged_checkpoint",
                    f"signed head {checkpoint.head_position} does not match the log",
                )
            )
            continue
        verified.add(position)
    summary.checkpoints_verified = len(verified)


def _check_causation(chains: dict[str, Any], by_event_id: dict[str, ChainLink], report: AuditReport) -> None:
    for producer, chain in chains.items():
        for link in chain.links.values():
            if link.causation_id is None:
                continue
            cause = by_event_id.get(link.causation_id)
            if cause is None:
                report.faults.append(
                    ChainFault(
                        producer,
                        link.log_position,
                        "dangling_causation",
                        f"cause {link.causation_id} is in no log",
                    )
                )
            elif cause.producer == producer and cause.log_position >= link.log_position:
                report.faults.append(
                    ChainFault(
                        producer, link.log_position, "dangling_causation", "its cause comes later in the log"
                    )
                )
            elif cause.occurred_at > link.occurred_at:
                report.faults.append(
                    ChainFault(
                        producer, link.log_position, "dangling_causation", "its cause happened after it"
                    )
                )


async def _check_feed(
    producer: str,
    links: dict[int, ChainLink],
    feed: FeedFetcher,
    summary: ProducerSummary,
    relay_grace: timedelta,
    report: AuditReport,
) -> None:
    after = 0
    in_feed: set[int] = set()
    grace_start = datetime.now(UTC) - relay_grace
    try:
        while True:
            items = await feed(producer, after)
            if not items:
                break
            for content in items:
                link = ChainLink.from_content(content, decoded=True)
                in_feed.add(link.log_position)
                on_topic = links.get(link.log_position)
                if on_topic is None:
                    if (
                        link.log_position > summary.head_position
                        and parse_timestamp(link.occurred_at) > grace_start
                    ):
                        summary.pending_relay += 1
                    else:
                        report.faults.append(
                            ChainFault(
                                producer,
                                link.log_position,
                                "feed_mismatch",
                                "in the service's log, not on the topic",
                            )
                        )
                elif on_topic.hash != link.hash or on_topic.content_hash != link.content_hash:
                    report.faults.append(
                        ChainFault(
                            producer,
                            link.log_position,
                            "feed_mismatch",
                            "the topic's event differs from the service's log",
                        )
                    )
                after = max(after, link.log_position)
    except (httpx.HTTPError, KeyError, ValueError) as error:
        report.faults.append(
            ChainFault(producer, 0, "feed_unreachable", f"could not read the feed: {error!r}")
        )
        return
    summary.feed_events = len(in_feed)
    for position in sorted(set(links) - in_feed):
        report.faults.append(
            ChainFault(producer, position, "feed_mismatch", "on the topic, not in the service's log")
        )
