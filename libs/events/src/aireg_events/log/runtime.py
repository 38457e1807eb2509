"""What every service runs beside its HTTP app: its database (migrated), the appender, the relay of its
own log, and the consumer of other producers' topics. One object, started and stopped by the app's
lifespan, so the three services wire the machinery alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faststream.kafka import KafkaBroker
from sqlalchemy import func, select

from aireg_events.catalogue import CATALOGUE, EventRegistry
from aireg_events.envelope import Envelope, utc_now
from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.appender import Clock, LogAppender
from aireg_events.log.checkpoints import Checkpointer
from aireg_events.log.consumer import Apply, ApplyBatch, EventConsumer
from aireg_events.log.database import Database, open_database
from aireg_events.log.dead_letters import DeadLetters
from aireg_events.log.migrations import upgrade_to_head
from aireg_events.log.relay import Relay
from aireg_events.log.tables import event_log
from aireg_events.signing import load_private_key
from aireg_events.topics import MAX_EVENT_BYTES, Topics, topic_max_message_bytes

logger = logging.getLogger(__name__)


@dataclass
class Subscription:
    """Which topics a service consumes, as which group, and how it applies an event."""

    topics: list[str]
    group_id: str
    apply: Apply | None = None
    """Applies one delivery (run as the batch hook, :func:`~aireg_events.log.consumer.one_by_one`)."""
    handles: Callable[[str], bool] = lambda _event_type: True
    apply_batch: ApplyBatch | None = None
    """Applies a batch of new deliveries at once (see :data:`ApplyBatch`): when given, every delivery
    goes through it."""


@dataclass
class LogRuntime:
    service: str
    database_url: str
    migrations_dir: Path
    bootstrap_servers: str
    topics: Topics
    produces: bool = True
    subscription: Subscription | None = None
    partitions: int = 3
    replication_factor: int = 1
    min_insync_replicas: int = 1
    enable_idempotence: bool | None = None
    """None: the relay's producer is idempotent where the broker grants it (Apache Kafka, not Tansu)."""
    clock: Clock = utc_now
    run_migrations: bool = True
    registry: EventRegistry = CATALOGUE
    signing_key_file: Path | None = None
    """The producer's Ed25519 key: with it, the runtime appends signed chain checkpoints."""
    checkpoint_every: int = 1000
    checkpoint_interval: float = 60.0
    max_event_bytes: int = MAX_EVENT_BYTES
    """The largest event the appender takes; the topics are made to take it, and the relay sends it."""
    database: Database = field(init=False)
    appender: LogAppender = field(init=False)
    relay: Relay | None = field(init=False, default=None)
    consumer: EventConsumer | None = field(init=False, default=None)
    broker: KafkaBroker | None = field(init=False, default=None)
    dead_letters: DeadLetters | None = field(init=False, default=None)
    checkpointer: Checkpointer | None = field(init=False, default=None)
    _consuming: asyncio.Task[None] | None = field(init=False, default=None)
    log_position: int = field(init=False, default=0)
    """The head of the log as this process last appended it (or read it at start)."""

    def __post_init__(self) -> None:
        self.database = open_database(self.database_url)
        self.appender = LogAppender(
            self.database,
            self.service,
            clock=self.clock,
            has_log=self.produces,
            max_event_bytes=self.max_event_bytes,
        )

    @property
    def topic(self) -> str:
        return self.topics.of(self.service)

    async def start(self) -> None:
        if self.run_migrations:
            await upgrade_to_head(self.database, self.migrations_dir)
        await ensure_topics(
            self.bootstrap_servers,
            self.topics.all(),
            partitions=self.partitions,
            replication_factor=self.replication_factor,
            min_insync_replicas=self.min_insync_replicas,
            max_message_bytes=topic_max_message_bytes(self.max_event_bytes),
        )
        if self.produces:
            async with self.database.reader.connect() as connection:
                head = (await connection.execute(select(func.max(event_log.c.log_position)))).scalar()
            self.log_position = head or 0
            self.appender.add_commit_listener(self._moved)
        await self.appender.start()
        if self.produces and self.signing_key_file is not None:
            self.checkpointer = Checkpointer(
                self.appender,
                load_private_key(self.signing_key_file),
                every=self.checkpoint_every,
                interval=self.checkpoint_interval,
            )
            await self.checkpointer.start()
        if self.produces:
            self.relay = Relay(
                self.database,
                self.topic,
                self.bootstrap_servers,
                enable_idempotence=self.enable_idempotence,
                wake=self.appender.committed,
                client_id=f"aireg-{self.service}-relay",
                max_event_bytes=self.max_event_bytes,
            )
            await self.relay.start()
        if self.subscription is not None:
            self.dead_letters = DeadLetters(self.bootstrap_servers, consumer_group=self.subscription.group_id)
            await self.dead_letters.start()
            self.consumer = EventConsumer(
                group_id=self.subscription.group_id,
                appender=self.appender,
                apply=self.subscription.apply,
                dead_letters=self.dead_letters,
                registry=self.registry,
                handles=self.subscription.handles,
                apply_batch=self.subscription.apply_batch,
            )
            self.broker = KafkaBroker(
                # A list: FastStream hands a string to aiokafka as one host, "a:9092,b:9092" included.
                self.bootstrap_servers.split(","),
                client_id=f"aireg-{self.service}",
                allow_auto_create_topics=False,
                log_level=logging.DEBUG,
            )
            self.consumer.subscribe(self.broker, *self.subscription.topics)
            # Joining the consumer group takes seconds, and after a crash the whole session timeout of
            # the dead member (about 11 s): the service answers HTTP meanwhile (intake does not wait
            # for the consumer); /health says "joining" until the consumer runs.
            self._consuming = asyncio.create_task(self._start_consumer(), name=f"consumer:{self.service}")

    async def _start_consumer(self) -> None:
        assert self.broker is not None
        try:
            await self.broker.start()
        except Exception:
            logger.exception("the %s consumer failed to start", self.service)
            raise

    @property
    def consumer_state(self) -> str:
        task = self._consuming
        if task is None or not task.done():
            return "joining"
        return "failed" if task.cancelled() or task.exception() is not None else "running"

    async def stop(self) -> None:
        task, self._consuming = self._consuming, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.broker is not None:
            await self.broker.stop()
        if self.dead_letters is not None:
            await self.dead_letters.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self.appender.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.database.dispose()

    def _moved(self, envelopes: list[Envelope]) -> None:
        self.log_position = max(self.log_position, envelopes[-1].log_position)

    async def health(self) -> dict[str, object]:
        """Figures for ``/health``, from memory (liveness runs no query, so a database that cannot answer
        does not make a live process look dead): how far this process saw its log and the relay go."""
        details: dict[str, object] = {}
        if self.produces:
            details["log_position"] = self.log_position
        if self.relay is not None:
            details["relay_position"] = self.relay.position
            if self.relay.unpublishable:
                details["relay_unpublishable"] = [
                    {"log_position": row.log_position, "event_id": row.event_id, "event_type": row.event_type}
                    for row in self.relay.unpublishable
                ]
        if self.consumer is not None:
            details["events_applied"] = self.consumer.applied
            details["consumer"] = self.consumer_state
        return details
