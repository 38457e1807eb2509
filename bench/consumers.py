"""Consumers benchmark: the analysis and reporting services applying a backlog of N events, against a bare
aiokafka consumer that writes the same kind of rows, on the same broker and database in the same run.

    uv run python -m bench.consumers                        # 100,000 events, SQLite, at most ~12 min
    uv run python -m bench.consumers --events 20000 --backend postgresql

The backlog is written to the topics first (``bench/events.py``): for analysis, the submission log of
a consultation (N events, nearly all ``ProposalSubmitted``, each one it triages: MinHash signature, LSH
candidates, exact duplicates, a ``ProposalTriaged`` appended and projected); for reporting, both logs
(N events: submissions, triages, reviews, assessments, checkpoints). Each service is then started on
an empty database and its ``/health`` polled until it has applied every event; the rate counts from
its first applied event (the consumer group join, a few seconds on the embedded broker, is left out);
a service that has not applied the whole backlog after ``--timeout`` seconds is measured on what it
applied by then (the figure says so).

The baseline reads the same topics with a plain ``AIOKafkaConsumer`` (no group, from offset 0, batches
of 500) and writes, per event, an inbox row and the event's state row (the proposal for a submission,
the received envelope for the others), one transaction per batch through the same database engine.
Target (issue 9): each service >= 2,000 events/s, or >= 0.5 x the bare consumer.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import JSON, Column, MetaData, String, Table, insert

from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.database import open_database
from aireg_events.log.tables import LOG_METADATA, inbox
from aireg_events.topics import Topics
from bench.events import Consultation, publish
from bench.harness import Bench, Service, header, postgres_available

BARE_METADATA = MetaData()
bare_state = Table(
    "bare_state",
    BARE_METADATA,
    Column("stream_id", String(200), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("consultation_id", String(36)),
    Column("title", String(300)),
    Column("payload", JSON, nullable=False),
)


@dataclass
class Rate:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


async def bare_consumer(database_url: str, bootstrap: str, topics: list[str], expected: int) -> Rate:
    """Read ``topics`` from offset 0 and write an inbox row and a state row per event, per batch."""
    database = open_database(database_url)
    async with database.writer.begin() as connection:
        await connection.run_sync(lambda sync: LOG_METADATA.create_all(sync, tables=[inbox]))
        await connection.run_sync(BARE_METADATA.create_all)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    applied = 0
    started = 0.0
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(
                consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
            )
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while applied < expected:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=500)
            records = [record for batch in fetched.values() for record in batch]
            if not records:
                continue
            if not started:
                started = time.perf_counter()
            now = datetime.now(UTC)
            inbox_rows = []
            state_rows = []
            for record in records:
                envelope = orjson.loads(record.value or b"")
                payload = envelope["payload"]
                inbox_rows.append(
                    {
                        "event_id": envelope["event_id"],
                        "producer": envelope["producer"],
                        "log_position": envelope["log_position"],
                        "event_type": envelope["event_type"],
                        "topic": record.topic,
                        "partition": record.partition,
                        "offset": record.offset,
                        "applied_at": now,
                        "own_log_head": 0,
                        "body": (record.value or b"").decode(),
                    }
                )
                state_rows.append(
                    {
                        "stream_id": envelope["event_id"],
                        "event_type": envelope["event_type"],
                        "consultation_id": payload.get("consultation_id"),
                        "title": (payload.get("content") or {}).get("title"),
                        "payload": payload,
                    }
                )
            async with database.writer.begin() as connection:
                await connection.execute(insert(inbox), inbox_rows)
                await connection.execute(insert(bare_state), state_rows)
            applied += len(records)
        return Rate(applied, time.perf_counter() - started)
    finally:
        await consumer.stop()
        await database.dispose()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer.topics()
    return consumer.partitions_for_topic(topic) or set()


def service_rate(service: Service, expected: int, timeout: float) -> Rate:
    """Poll ``/health`` until the service has applied ``expected`` events, or ``timeout`` seconds have
    passed since it applied its first (then the rate so far)."""
    service.start()
    first_at = 0.0
    first_count = 0
    applied = 0
    last_report = time.monotonic()
    started = time.perf_counter()
    while True:
        applied = int(service.health().get("events_applied", 0))
        now = time.perf_counter()
        if applied and not first_at:
            first_at, first_count = now, applied
        if applied >= expected:
            return Rate(applied - first_count, now - first_at)
        if (first_at and now - first_at > timeout) or now - started > timeout + 120:
            print(f"          (stopped after {timeout:.0f} s: {applied:,} of {expected:,} applied)")
            return Rate(applied - first_count, now - first_at) if first_at else Rate(0, now - started)
        if time.monotonic() - last_report > 30:
            last_report = time.monotonic()
            print(f"          {service.name}: {applied:,} of {expected:,} applied", flush=True)
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--services", default="analysis,reporting")
    parser.add_argument(
        "--timeout",
        type=float,
        default=240.0,
        help="seconds per service; a service still applying then is measured on what it applied",
    )
    arguments = parser.parse_args()
    if arguments.backend == "postgresql" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL)")
    header(f"consumers, a backlog of {arguments.events:,} events, {arguments.backend}")
    with Bench() as bench:
        for name in [item for item in arguments.services.split(",") if item]:
            namespace = f"{bench.namespace}{name}."
            topics = Topics(namespace)
            asyncio.run(ensure_topics(bench.bootstrap, topics.all(), partitions=3))
            consultation = Consultation(seed=11)
            backlog = consultation.events(arguments.events, analysis=name != "analysis")
            written = asyncio.run(publish(bench.bootstrap, topics, backlog))
            consumed = [topics.submission] if name == "analysis" else [topics.submission, topics.analysis]
            print(f"{name}: a backlog of {written:,} events on {', '.join(consumed)}", flush=True)

            bare = asyncio.run(
                bare_consumer(
                    bench.database(arguments.backend, f"bare_{name}"), bench.bootstrap, consumed, written
                )
            )
            print(
                f"baseline  bare aiokafka consumer: {bare.events:,} events in {bare.seconds:.1f}s = "
                f"{bare.per_second:,.0f} events/s",
                flush=True,
            )
            service = bench.service(
                name,
                bench.database(arguments.backend, f"consumer_{name}"),
                {"AIREG_TOPIC_NAMESPACE": namespace},
            )
            figure = service_rate(service, written, arguments.timeout)
            print(
                f"figure    {name} service:          {figure.events:,} events in {figure.seconds:.1f}s = "
                f"{figure.per_second:,.0f} events/s",
                flush=True,
            )
            print(
                f"ratio     {name} / bare: {figure.per_second / bare.per_second:.3f}   "
                f"(target >= 2,000 events/s or >= 0.5)",
                flush=True,
            )
            service.stop()


if __name__ == "__main__":
    main()
