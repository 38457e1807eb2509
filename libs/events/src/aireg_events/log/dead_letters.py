"""The dead-letter path: a message that cannot be parsed or applied goes to ``<topic>.dlq`` with its error.

The original bytes travel unchanged, with headers naming where they came from and what went wrong, so
an operator can fix the cause and replay them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from prometheus_client import Counter

from aireg_events.topics import DLQ_SUFFIX

logger = logging.getLogger(__name__)

DEAD_LETTERS = Counter(
    "aireg_dlq_messages_total", "Messages sent to a dead-letter topic", ["topic", "reason"]
)


class DeadLetters:
    """Publishes unusable records to their topic's DLQ (``acks=all``)."""

    def __init__(self, bootstrap_servers: str, *, consumer_group: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.consumer_group = consumer_group
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all")
        await self._producer.start()

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def send(self, record: ConsumerRecord, *, reason: str, error: str) -> None:
        if self._producer is None:
            raise RuntimeError("dead-letter producer is not started")
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason.encode()),
            ("dlq_error", error[:4000].encode("utf-8", "replace")),
            ("dlq_source_topic", record.topic.encode()),
            ("dlq_source_partition", str(record.partition).encode()),
            ("dlq_source_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.consumer_group.encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._producer.send_and_wait(
            record.topic + DLQ_SUFFIX, value=record.value, key=record.key, headers=headers
        )
        DEAD_LETTERS.labels(record.topic, reason).inc()
        # The error stays out of the log: it can quote the record's content (a validation error shows
        # input values: texts, addresses). It travels in the dead letter's dlq_error header instead.
        logger.warning(
            "dead-lettered %s[%d]@%d (%s); the error is in its dlq_error header",
            record.topic,
            record.partition,
            record.offset,
            reason,
        )
