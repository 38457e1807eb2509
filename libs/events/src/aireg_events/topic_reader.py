"""Reading whole topics from offset 0 with a reader of its own (audit, rebuilds, benchmarks): it joins no consumer group and
commits nothing, so it changes nothing for the services. It reads until the topics are idle."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple, cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition


class TopicRecord(NamedTuple):
    """One record (a tuple: made a million times, it costs half what a frozen dataclass does)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    """As received (the relays' ``event_type``, ``event_id``, ``traceparent``; a dead letter's reason)."""


Progress = Callable[[int, int], None]


def _headers(message: Message) -> list[tuple[str, bytes | None]]:
    # librdkafka hands a consumed message's headers over as a list of (name, value) pairs, or None
    return cast(list[tuple[str, bytes | None]], message.headers() or [])


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a long read: it walks every live object again and again
    while a million chain links pile up (about a fifth of ``aireg audit verify``'s time at 200,000
    events; ``bench/replay.py``). What the readers build holds no reference cycles, so reference counting
    frees it all the same; the collector is back on (if it was) when the block ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def read_topics(
    bootstrap_servers: str,
    topics: list[str],
    *,
    progress: Progress | None = None,
    batch: int = 5000,
    idle_ms: int = 500,
) -> AsyncIterator[TopicRecord]:
    """Every record of ``topics``, each partition in offset order (topics that do not exist are empty),
    until the topics have been idle for two polls of ``idle_ms``."""
    async for records in read_topic_batches(
        bootstrap_servers, topics, progress=progress, batch=batch, idle_ms=idle_ms
    ):
        for record in records:
            yield record


async def read_topic_batches(
    bootstrap_servers: str,
    topics: list[str],
    *,
    progress: Progress | None = None,
    batch: int = 5000,
    idle_ms: int = 500,
) -> AsyncIterator[list[TopicRecord]]:
    """What :func:`read_topics` reads, as batches: each list holds records of one partition in offset
    order. For readers of millions of records, which save a step per record.

    The reading is librdkafka's (``confluent-kafka``), not aiokafka's: it fetches and decodes the
    broker's record batches in C, in threads of its own, so the fetching goes on while the caller works
    on a batch (docs/architecture.md, Services). The wait for records runs in a worker thread: the event loop stays free."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": "aireg-topic-reader",  # required by the client; nothing joins it or commits
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": False,
            "allow.auto.create.topics": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024,
        }
    )
    try:
        partitions = await asyncio.to_thread(_partitions_of, consumer, topics)
        if not partitions:
            return
        consumer.assign(
            [TopicPartition(topic, partition, OFFSET_BEGINNING) for topic, partition in partitions]
        )
        # A lower bound only: the embedded broker's ListOffsets under-reports the end of a partition
        # (seen: 3,866 for 5,000 acknowledged records), so the read goes on until the topics are idle.
        watermarks = await asyncio.to_thread(_watermarks_of, consumer, partitions)
        total = sum(high - low for low, high in watermarks.values())
        done = 0
        quiet_polls = 0
        if progress is not None:
            progress(0, total)
        while True:
            messages = await asyncio.to_thread(consumer.consume, batch, idle_ms / 1000)
            if not messages:
                positions = consumer.position(
                    [TopicPartition(topic, partition) for topic, partition in partitions]
                )
                behind = any(
                    _behind(position, *watermarks[(position.topic, position.partition)])
                    for position in positions
                )
                quiet_polls += 1
                if quiet_polls >= 2 and not behind:
                    break
                continue
            quiet_polls = 0
            for records in _partition_runs(messages):
                yield records
            done += len(messages)
            if progress is not None:
                progress(done, max(total, done))
        if progress is not None:
            progress(done, done)
    finally:
        await asyncio.to_thread(consumer.close)


def _partitions_of(consumer: Consumer, topics: list[str]) -> list[tuple[str, int]]:
    """The partitions of those of ``topics`` that exist, in topic then partition order (the whole
    cluster's metadata: a consumer assigned to nothing knows no topic)."""
    known = consumer.list_topics(timeout=30).topics
    return [
        (topic, partition)
        for topic in topics
        if topic in known and known[topic].error is None
        for partition in sorted(known[topic].partitions)
    ]


def _watermarks_of(
    consumer: Consumer, partitions: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[int, int]]:
    return {
        (topic, partition): consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        for topic, partition in partitions
    }


def _behind(position: TopicPartition, low: int, high: int) -> bool:
    """Whether a partition is read short of ``high``; a partition nothing was read from yet has no
    position (a negative offset): it starts at ``low``."""
    return (position.offset if position.offset >= 0 else low) < high


def _partition_runs(messages: list[Message]) -> Iterator[list[TopicRecord]]:
    """The messages of one ``consume`` as lists of one partition each, in offset order (a fetch
    answers partition by partition; a partition that comes again starts a new list)."""
    run: list[TopicRecord] = []
    topic, partition = "", -1
    for message in messages:
        error = message.error()
        if error is not None:
            raise KafkaException(error)
        if message.partition() != partition or message.topic() != topic:
            if run:
                yield run
            run = []
            topic, partition = message.topic() or "", message.partition() or 0
        # a consumed message without error always has a topic, a partition and an offset
        run.append(
            TopicRecord(
                topic,
                partition,
                message.offset() or 0,
                message.key(),
                message.value(),
                _headers(message),
            )
        )
    if run:
        yield run
