"""Reading whole topics from offset 0 with a reader of the audit's own: it joins no consumer group and
commits nothing, so it changes nothing for the services. It reads up to the end offsets it found when
it started, so a log that keeps growing still gives a finite, consistent read."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition


@dataclass(frozen=True, slots=True)
class TopicRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


Progress = Callable[[int, int], None]


async def read_topics(
    bootstrap_servers: str, topics: list[str], *, progress: Progress | None = None, batch: int = 5000
) -> AsyncIterator[TopicRecord]:
    """Every record of ``topics``, partition by partition in offset order (topics that do not exist are
    empty)."""
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
        existing = await consumer.topics()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            if topic in existing
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        consumer.assign(partitions)
        start = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        total = sum(end[partition] - start[partition] for partition in partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {partition for partition in partitions if end[partition] > start[partition]}
        done = 0
        if progress is not None:
            progress(0, total)
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch)
            for partition, records in fetched.items():
                for record in records:
                    if record.offset >= end[partition]:
                        break
                    done += 1
                    yield TopicRecord(record.topic, record.partition, record.offset, record.key, record.value)
                if await consumer.position(partition) >= end[partition]:
                    remaining.discard(partition)
            if progress is not None:
                progress(done, total)
    finally:
        await consumer.stop()
