"""Reading whole topics from offset 0 with a reader of its own (audit, rebuilds, benchmarks): it joins no consumer group and
commits nothing, so it changes nothing for the services. It reads until the topics are idle."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from aireg_events.kafka_admin import topic_partitions


@dataclass(frozen=True, slots=True)
class TopicRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


Progress = Callable[[int, int], None]


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
            yield TopicRecord(record.topic, record.partition, record.offset, record.key, record.value)


async def read_topic_batches(
    bootstrap_servers: str,
    topics: list[str],
    *,
    progress: Progress | None = None,
    batch: int = 5000,
    idle_ms: int = 500,
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """What :func:`read_topics` reads, as the broker's batches: each list holds records of one partition
    in offset order. For readers of millions of records, which save a step per record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topics)
        if not partitions:
            return
        consumer.assign(partitions)
        start = await consumer.beginning_offsets(partitions)
        # A lower bound only: the embedded broker's ListOffsets under-reports the end of a partition
        # (seen: 3,866 for 5,000 acknowledged records), so the read goes on until the topics are idle.
        end = await consumer.end_offsets(partitions)
        total = sum(end[partition] - start[partition] for partition in partitions)
        await consumer.seek_to_beginning(*partitions)
        done = 0
        quiet_polls = 0
        if progress is not None:
            progress(0, total)
        while True:
            fetched = await consumer.getmany(timeout_ms=idle_ms, max_records=batch)
            count = sum(len(records) for records in fetched.values())
            if count == 0:
                positions = [await consumer.position(partition) for partition in partitions]
                behind = any(
                    position < end[partition]
                    for position, partition in zip(positions, partitions, strict=True)
                )
                quiet_polls += 1
                if quiet_polls >= 2 and not behind:
                    break
                continue
            quiet_polls = 0
            for records in fetched.values():
                if records:
                    yield records
            done += count
            if progress is not None:
                progress(done, max(total, done))
        if progress is not None:
            progress(done, done)
    finally:
        await consumer.stop()
