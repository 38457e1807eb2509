"""The relay: publishes a service's log to its Kafka topic in log order, and remembers how far it got.

It reads committed rows after its persisted position, sends them with ``acks=all`` (key = stream id,
value = the canonical envelope, headers = type, version, event id, position and ``traceparent``), waits for every acknowledgement,
and only then moves its position. A crash between the two publishes the tail again; consumers drop the
repeats through their inbox. On PostgreSQL only one replica relays at a time (a session advisory lock).

Records are gzip-compressed, and no larger than the topics are made to take (``AIREG_MAX_EVENT_BYTES``
with its framing, ``aireg_events.topics``). A row the broker refuses as too large all the same (a topic
made elsewhere with a smaller limit) is sent once more alone, then set aside: logged, counted
(``aireg_relay_unpublishable_events_total``) and listed on ``/health``, and the rows after it are
published; waiting for it would stop every later event from reaching a consumer, for a refusal that no
retry changes.

Where the broker grants one (Apache Kafka), the producer is idempotent: a send retried after a lost
acknowledgement is not written twice. Correctness does not depend on it (the inboxes absorb repeats), so
on a broker that refuses ``InitProducerId`` (the embedded Tansu) the relay says so and sends without.

The position is written to the database at most every ``save_interval`` seconds while the log moves,
when the relay falls idle, and when it stops: one write per publish would be one more transaction (and
one more fsync) per group commit of the appender, for a position that only bounds what a crash
publishes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import BrokerResponseError, MessageSizeTooLargeError, RecordTooLargeError
from prometheus_client import Counter, Gauge
from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from aireg_events.kafka_admin import topic_partitions
from aireg_events.log.database import Database
from aireg_events.log.tables import event_log, relay_position
from aireg_events.topics import MAX_EVENT_BYTES, topic_max_message_bytes

logger = logging.getLogger(__name__)

_RELAY_LOCK_KEY = 0x41495245_4752454C & 0x7FFFFFFFFFFFFFFF  # "AIREGREL"

RELAYED = Counter("aireg_relay_published_events_total", "Events the relay published", ["topic"])
RELAY_POSITION = Gauge("aireg_relay_position", "Last log position the relay published", ["topic"])
UNPUBLISHABLE = Counter(
    "aireg_relay_unpublishable_events_total",
    "Rows of the log the broker refused to take (too large for the topic); set aside, not published",
    ["topic"],
)
COMPRESSION = "gzip"
"""The relay's codec: gzip is the one aiokafka has without another package (lz4, snappy and zstd need
cramjam); JSON events shrink to a third or less, well under the topic's limit."""
UNPUBLISHABLE_KEPT = 100


@dataclass(frozen=True)
class UnpublishableRow:
    """A row the broker refused whatever the retry: it stays in the log (and its feed), not on the topic."""

    log_position: int
    event_id: str
    event_type: str
    size: int
    error: str


def _refused_for_size(error: BaseException) -> bool:
    """Whether the broker (or the client, before sending) refused a record as too large for the topic."""
    return isinstance(error, (MessageSizeTooLargeError, RecordTooLargeError))


async def read_relay_position(connection: AsyncConnection, topic: str) -> int:
    row = (
        await connection.execute(select(relay_position.c.log_position).where(relay_position.c.topic == topic))
    ).first()
    return int(row[0]) if row else 0


class Relay:
    """Tails ``event_log`` and publishes it to ``topic``."""

    def __init__(
        self,
        database: Database,
        topic: str,
        bootstrap_servers: str,
        *,
        batch_size: int = 1000,
        poll_interval: float = 0.5,
        enable_idempotence: bool | None = None,
        wake: asyncio.Event | None = None,
        client_id: str = "aireg-relay",
        save_interval: float = 1.0,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.database = database
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.enable_idempotence = enable_idempotence
        """True: required; False: never; None: where the broker grants it."""
        self.idempotent = False
        """Whether the running producer is idempotent."""
        self.wake = wake or asyncio.Event()
        self.client_id = client_id
        self.save_interval = save_interval
        self.max_request_bytes = topic_max_message_bytes(max_event_bytes)
        """The largest record the producer sends: the largest event the appender takes, with its framing."""
        self.position = 0
        """The last position published (and acknowledged), or set aside as :attr:`unpublishable`."""
        self.unpublishable: list[UnpublishableRow] = []
        """The rows the broker refused, alone and again (the last :data:`UNPUBLISHABLE_KEPT`)."""
        self.saved_position = 0
        """The last position written to the database."""
        self._saved_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._lock_connection: AsyncConnection | None = None
        self.caught_up = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name=f"relay:{self.topic}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self._save_position_if_moved()
        except Exception as error:  # the next start publishes the unsaved tail again
            logger.warning("relay to %s could not save its position on stop: %r", self.topic, error)
        await self._release_lock()

    async def _acquire_lock(self) -> None:
        """Single-active relay on PostgreSQL: wait until this process holds the relay lock."""
        if self.database.dialect != "postgresql":
            return
        while True:
            connection = await self.database.writer.connect()
            got = (
                await connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _RELAY_LOCK_KEY})
            ).scalar_one()
            await connection.commit()
            if got:
                self._lock_connection = connection
                return
            await connection.close()
            logger.info("another replica is relaying %s; waiting", self.topic)
            await asyncio.sleep(2.0)

    async def _release_lock(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _run_forever(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._acquire_lock()
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("relay to %s failed (%r); retrying in %.1fs", self.topic, error, backoff)
                await self._release_lock()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _run(self) -> None:
        producer = await self._start_producer()
        try:
            async with self.database.reader.connect() as connection:
                self.position = await read_relay_position(connection, self.topic)
            self.saved_position = self.position
            if self.position > 0 and await self._topic_is_empty():
                logger.warning(
                    "%s is empty but the relay had published up to %d: the broker lost it (a memory-only "
                    "broker restarted?); publishing the log again from the start",
                    self.topic,
                    self.position,
                )
                self.position = 0
            while True:
                published = await self.publish_once(producer)
                if published < self.batch_size:
                    self.caught_up.set()
                    self.wake.clear()
                    try:
                        await asyncio.wait_for(self.wake.wait(), self.poll_interval)
                    except TimeoutError:
                        await self._save_position_if_moved()  # idle: remember how far it got
        finally:
            await producer.stop()

    def _producer(self, idempotent: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            acks="all",
            enable_idempotence=idempotent,
            client_id=self.client_id,
            linger_ms=2,
            # A batch of several records stays under the topic's limit; a larger record goes alone.
            max_batch_size=min(1024 * 1024, self.max_request_bytes),
            max_request_size=self.max_request_bytes,
            compression_type=COMPRESSION,
        )

    async def _start_producer(self) -> AIOKafkaProducer:
        idempotent = self.enable_idempotence is not False
        producer = self._producer(idempotent)
        try:
            await producer.start()
        except BrokerResponseError as error:
            await producer.stop()
            if not idempotent or self.enable_idempotence or error.retriable:
                raise
            logger.warning(
                "the broker refuses an idempotent producer (InitProducerId: %r); relaying %s without it",
                error,
                self.topic,
            )
            idempotent = False
            producer = self._producer(idempotent)
            await producer.start()
        self.idempotent = idempotent
        return producer

    async def _topic_is_empty(self) -> bool:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = await topic_partitions(consumer, [self.topic])
            if not partitions:
                return True
            ends = await consumer.end_offsets(partitions)
            return sum(ends.values()) == 0
        finally:
            await consumer.stop()

    async def publish_once(self, producer: AIOKafkaProducer) -> int:
        """Publish the next rows after the persisted position; returns how many."""
        async with self.database.reader.connect() as connection:
            rows = (
                await connection.execute(
                    select(
                        event_log.c.log_position,
                        event_log.c.stream_id,
                        event_log.c.event_id,
                        event_log.c.event_type,
                        event_log.c.schema_version,
                        event_log.c.body,
                        event_log.c.traceparent,
                    )
                    .where(event_log.c.log_position > self.position)
                    .order_by(event_log.c.log_position)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        pending = [await self._send(producer, row) for row in rows]
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        refused = next(
            (index for index, outcome in enumerate(outcomes) if isinstance(outcome, BaseException)), None
        )
        if refused is None:
            await self._moved(int(rows[-1][0]), len(rows))
            return len(rows)
        if refused > 0:  # the rows before the refused one are acknowledged, in order
            await self._moved(int(rows[refused - 1][0]), refused)
        error = outcomes[refused]
        assert isinstance(error, BaseException)
        if not _refused_for_size(error):
            raise error
        await self._publish_alone(producer, rows[refused])
        return self.batch_size  # go on at once with the rows after it (sent again: the inboxes drop repeats)

    async def _send(self, producer: AIOKafkaProducer, row: Any) -> asyncio.Future[Any]:
        position, stream_id, event_id, event_type, schema_version, body, traceparent = row
        headers = [
            ("event_type", event_type.encode()),
            ("schema_version", str(schema_version).encode()),
            ("event_id", event_id.encode()),
            ("log_position", str(position).encode()),
        ]
        if traceparent:
            headers.append(("traceparent", traceparent.encode()))
        try:
            future: asyncio.Future[Any] = await producer.send(
                self.topic, value=body.encode(), key=stream_id.encode(), headers=headers
            )
        except (MessageSizeTooLargeError, RecordTooLargeError) as error:  # refused before sending
            future = asyncio.get_running_loop().create_future()
            future.set_exception(error)
        return future

    async def _publish_alone(self, producer: AIOKafkaProducer, row: Any) -> None:
        """Send a row refused as too large once more, alone in its batch (it may have shared one that was
        too large together); refused again, it is set aside: reported and skipped, so that the rows after
        it reach the topic. It stays in the log and its feed; once the topic takes it (a larger
        ``max.message.bytes``), setting the relay's position before it publishes it again."""
        position = int(row[0])
        try:
            await (await self._send(producer, row))
        except (MessageSizeTooLargeError, RecordTooLargeError) as error:
            unpublishable = UnpublishableRow(position, row[2], row[3], len(row[5].encode()), repr(error))
            self.unpublishable = [*self.unpublishable, unpublishable][-UNPUBLISHABLE_KEPT:]
            UNPUBLISHABLE.labels(self.topic).inc()
            logger.error(
                "relay to %s cannot publish log position %d (%s %s, %d bytes): the broker refuses it as too "
                "large (%r); set aside, the rows after it go on. Raise the topic's max.message.bytes and "
                "set the relay's position before it to publish it",
                self.topic,
                position,
                unpublishable.event_type,
                unpublishable.event_id,
                unpublishable.size,
                error,
            )
            await self._moved(position, 0)
            await self._save_position(position)  # a restart does not meet it again
            return
        await self._moved(position, 1)

    async def _moved(self, position: int, published: int) -> None:
        self.position = position
        if time.monotonic() - self._saved_at >= self.save_interval:
            await self._save_position(position)
        RELAYED.labels(self.topic).inc(published)
        RELAY_POSITION.labels(self.topic).set(position)

    async def _save_position_if_moved(self) -> None:
        if self.position != self.saved_position:
            await self._save_position(self.position)

    async def _save_position(self, position: int) -> None:
        now = datetime.now(UTC)
        async with self.database.writer.begin() as connection:
            changed = await connection.execute(
                update(relay_position)
                .where(relay_position.c.topic == self.topic)
                .values(log_position=position, updated_at=now)
            )
            if changed.rowcount == 0:
                await connection.execute(
                    insert(relay_position).values(topic=self.topic, log_position=position, updated_at=now)
                )
        self.saved_position = position
        self._saved_at = time.monotonic()
