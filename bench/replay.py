"""Replay benchmark: ``aireg audit verify`` and ``aireg rebuild reporting`` over N events, against reading
the same events and doing nothing, all on the real broker in the same run.

    uv run python -m bench.replay                           # 1,000,000 events, about 10 minutes
    uv run python -m bench.replay --events 100000 --backend postgresql

It starts the embedded broker (or uses ``KAFKA_BOOTSTRAP_SERVERS``), writes N hash-chained events of both
producers as the services log them (``bench/events.py``: per proposal a submission, its triage, for two
in five a review by both organizations and an assessment; a signed checkpoint every 1,000 events per
producer), then times a bare read, the audit's verification and reporting's rebuild from the topics
into an empty database (``aireg_reporting.rebuild.rebuild_from_topics``, what ``aireg rebuild
reporting`` runs, its final state digest included). Targets: verify >= 100,000 events/s or >= 0.8 x
the bare read (issue 15), rebuild >= 20,000 events/s (issue 9). The bare read and the audit read with
the same reader (``aireg_events.topic_reader``, librdkafka).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from aireg_cli.audit.verify import verify
from aireg_events.kafka_admin import ensure_topics
from aireg_events.topic_reader import collector_paused, read_topic_batches
from aireg_events.topics import Topics
from aireg_reporting.rebuild import rebuild_from_topics
from aireg_reporting.settings import Settings as ReportingSettings
from bench.events import Consultation, publish
from bench.harness import Bench, header, postgres_available


async def bare_read(bootstrap: str, topics: Topics) -> int:
    """The same reader the audit uses (librdkafka, whole batches of a partition), counting and doing
    nothing else."""
    count = 0
    with collector_paused():  # as the audit reads
        async for records in read_topic_batches(bootstrap, [topics.submission, topics.analysis]):
            count += len(records)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--no-rebuild", action="store_true", help="time the bare read and verify only")
    arguments = parser.parse_args()
    if arguments.backend == "postgresql" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL)")
    header(f"replay of {arguments.events:,} events")
    with Bench() as bench:
        topics = Topics(bench.namespace)
        asyncio.run(ensure_topics(bench.bootstrap, topics.all(), partitions=3))
        consultation = Consultation()
        started = time.perf_counter()
        written = asyncio.run(publish(bench.bootstrap, topics, consultation.events(arguments.events)))
        print(
            f"wrote {written:,} events ({consultation.proposals:,} proposals) in "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )

        started = time.perf_counter()
        read = asyncio.run(bare_read(bench.bootstrap, topics))
        bare_seconds = time.perf_counter() - started
        bare_rate = read / bare_seconds
        print(
            f"baseline  read only:       {read:,} events in {bare_seconds:.1f}s = {bare_rate:,.0f} events/s"
        )

        public_keys = {name: [key.public_key()] for name, key in consultation.keys.items()}
        started = time.perf_counter()
        report = asyncio.run(verify(bench.bootstrap, topics, public_keys))
        verify_seconds = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"verify found faults in a correct log: {report.faults[:5]}")
        verify_rate = report.records / verify_seconds
        checkpoints = sum(summary.checkpoints_verified for summary in report.producers.values())
        print(
            f"figure    audit verify:    {report.records:,} events in {verify_seconds:.1f}s = "
            f"{verify_rate:,.0f} events/s ({checkpoints} checkpoints verified, {len(report.faults)} faults)",
            flush=True,
        )
        print(
            f"ratio     verify / read:   {verify_rate / bare_rate:.2f}   "
            "(target >= 100,000 events/s or >= 0.8 x read)"
        )
        if arguments.no_rebuild:
            return

        settings = ReportingSettings(
            database_url=bench.database(arguments.backend, "rebuild"),
            kafka_bootstrap_servers=bench.bootstrap,
            topic_namespace=bench.namespace,
            token_public_key_file=bench.key_ring.token_public,
        )
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 30:
                last[0] = time.monotonic()
                print(f"          rebuild: {done:,} of {total:,} read", flush=True)

        started = time.perf_counter()
        asyncio.run(rebuild_from_topics(settings, progress))
        rebuild_seconds = time.perf_counter() - started
        rebuild_rate = read / rebuild_seconds
        print(
            f"figure    rebuild reporting ({arguments.backend}): {read:,} events in {rebuild_seconds:.1f}s = "
            f"{rebuild_rate:,.0f} events/s"
        )
        print(f"ratio     rebuild / read:  {rebuild_rate / bare_rate:.3f}   (target >= 20,000 events/s)")
        if os.environ.get("AIREG_BENCH_KEEP"):
            print(f"          (reporting database: {settings.database_url})")


if __name__ == "__main__":
    main()
