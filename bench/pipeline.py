"""Pipeline benchmark: at a fixed rate of submissions (200/s for 60 s), the time from each 201 to the
proposal's ``ProposalTriaged`` being visible in reporting's statistics, p50 and p99; against the same
rate of messages passing the same two broker hops with bare aiokafka clients, in the same run.

    uv run python -m bench.pipeline                         # 200/s for 60 s, SQLite, about 3 minutes
    uv run python -m bench.pipeline --rate 100 --seconds 30 --backend postgresql

The three services run as processes on one broker. An open-loop generator posts proposals at the rate
(from 20 portals, each request due at its time whether or not the earlier ones were answered) while a
dashboard client asks ``GET /v1/stats?consultation_id=`` again as soon as each answer arrives. The
proposals triaged are those no longer ``submitted`` (``proposals - by_status.submitted``); the k-th
triaged one is matched with the k-th 201 (counts, not ids: the statistics hold no ids), and its latency
is the moment the answer showing k triaged arrived minus the moment of the k-th 201.

Baseline: a producer sends the same number of messages at the same rate to a topic, a bare consumer
(batches and fetch settings like the services') forwards each to a second topic and a second
consumer reads it there: the floor of two hops through this broker. Targets (issue 9): p50 <= 50 ms,
p99 <= 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import time
import uuid
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.consumer import FETCH_MAX_WAIT_MS
from bench.harness import (
    Bench,
    header,
    open_consultation_everywhere,
    percentile,
    postgres_available,
    proposal_body,
    start_stack,
)
from bench.load import Client, Sent, open_loop

PORTALS = 20


@dataclass
class Observations:
    answered: list[float] = field(default_factory=list)
    """When each 201 arrived (``perf_counter``)."""
    triaged: list[tuple[float, int]] = field(default_factory=list)
    """(when a statistics answer arrived, how many proposals it shows triaged)."""
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    stats_calls: int = 0
    stats_seconds: float = 0.0

    def latencies_ms(self) -> list[float]:
        created = sorted(self.answered)
        moments = [moment for moment, _ in self.triaged]
        counts = _running_max([count for _, count in self.triaged])
        latencies = []
        for index, answered_at in enumerate(created, start=1):
            seen = bisect.bisect_left(counts, index)
            if seen >= len(moments):
                break
            latencies.append((moments[seen] - answered_at) * 1000)
        return latencies


def _running_max(values: list[int]) -> list[int]:
    result, top = [], 0
    for value in values:
        top = max(top, value)
        result.append(top)
    return result


async def drive(
    submission_url: str,
    reporting_url: str,
    consultation_id: str,
    portal_tokens: list[str],
    dashboard_token: str,
    rate: float,
    seconds: float,
    settle: float,
) -> Observations:
    observed = Observations()
    rng = random.Random(3)
    bodies = [orjson.dumps(proposal_body(rng, index)) for index in range(int(rate * seconds))]
    path = f"/v1/consultations/{consultation_id}/proposals"
    stamp = uuid.uuid4().hex[:8]
    submissions = Client(submission_url)
    dashboard = Client(reporting_url, {"Authorization": f"Bearer {dashboard_token}"})
    stop_polling = asyncio.Event()

    def request(index: int) -> tuple[str, str, bytes, dict[str, str]]:
        token = portal_tokens[index % len(portal_tokens)]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"{stamp}-{index}"}
        return "POST", path, bodies[index], headers

    def on_answer(sent: Sent) -> None:
        observed.statuses[sent.status] = observed.statuses.get(sent.status, 0) + 1
        if sent.error is not None:
            kind = sent.error.split("(", 1)[0]
            observed.errors[kind] = observed.errors.get(kind, 0) + 1
        if sent.status == 201:
            observed.answered.append(sent.finished)

    async def poll() -> None:
        while not stop_polling.is_set():
            started = time.perf_counter()
            answer = await dashboard.request("GET", f"/v1/stats?consultation_id={consultation_id}")
            arrived = time.perf_counter()
            observed.stats_calls += 1
            observed.stats_seconds += arrived - started
            if answer.status == 200:
                figures = answer.json()
                triaged = figures["proposals"] - figures["by_status"].get("submitted", 0)
                observed.triaged.append((arrived, triaged))

    poller = asyncio.create_task(poll())
    try:
        await open_loop(submissions, rate=rate, seconds=seconds, request=request, on_answer=on_answer)
        deadline = time.perf_counter() + settle
        while time.perf_counter() < deadline:
            if observed.triaged and observed.triaged[-1][1] >= len(observed.answered):
                break
            await asyncio.sleep(0.05)
    finally:
        stop_polling.set()
        await poller
        submissions.close()
        dashboard.close()
    return observed


async def two_hops(bootstrap: str, namespace: str, rate: float, seconds: float) -> list[float]:
    """The baseline: latencies (ms) of messages sent at ``rate`` through two topics by bare clients."""
    first, second = f"{namespace}hop.one", f"{namespace}hop.two"
    await ensure_topics(bootstrap, [first, second], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    forwarder = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    hop_one, hop_two = (
        AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        for topic in (first, second)
    )
    for client in (producer, forwarder, hop_one, hop_two):
        await client.start()
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)
    done = asyncio.Event()

    async def forward() -> None:
        while not done.is_set():
            batches = await hop_one.getmany(timeout_ms=50, max_records=500)
            for records in batches.values():
                for record in records:
                    await forwarder.send(second, value=record.value, key=record.key)

    async def receive() -> None:
        while len(latencies) < total:
            batches = await hop_two.getmany(timeout_ms=50, max_records=500)
            arrived = time.perf_counter()
            for records in batches.values():
                for record in records:
                    latencies.append((arrived - sent_at[record.value or b""]) * 1000)
        done.set()

    tasks = [asyncio.create_task(forward()), asyncio.create_task(receive())]
    await asyncio.sleep(2.0)  # both consumers positioned at the end
    started = time.perf_counter()
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        value = str(index).encode()
        sent_at[value] = time.perf_counter()
        await producer.send(first, value=value, key=uuid.uuid4().bytes)
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        done.set()
        for task in tasks:
            task.cancel()
        for client in (producer, forwarder, hop_one, hop_two):
            await client.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the last triage")
    arguments = parser.parse_args()
    if arguments.backend == "postgresql" and not postgres_available():
        raise SystemExit("PostgreSQL is not reachable (AIREG_BENCH_POSTGRES_URL)")
    header(
        f"pipeline at {arguments.rate:.0f} submissions/s for {arguments.seconds:.0f} s, {arguments.backend}"
    )
    with Bench() as bench:
        baseline = asyncio.run(two_hops(bench.bootstrap, bench.namespace, arguments.rate, arguments.seconds))
        print(
            f"baseline  two bare broker hops: p50 {percentile(baseline, 0.5):6.1f} ms, "
            f"p99 {percentile(baseline, 0.99):6.1f} ms ({len(baseline):,} messages)",
            flush=True,
        )
        stack = start_stack(bench, arguments.backend)
        consultation_id = open_consultation_everywhere(bench, stack, "PIPELINE")
        portals = [bench.token("portal", f"portal-{index}") for index in range(PORTALS)]
        observed = asyncio.run(
            drive(
                stack.submission.url,
                stack.reporting.url,
                consultation_id,
                portals,
                bench.token("dashboard", "bench-dashboard"),
                arguments.rate,
                arguments.seconds,
                arguments.settle,
            )
        )
        latencies = observed.latencies_ms()
        triaged = observed.triaged[-1][1] if observed.triaged else 0
        print(
            f"figure    201 -> triaged in statistics: p50 {percentile(latencies, 0.5):6.1f} ms, "
            f"p99 {percentile(latencies, 0.99):6.1f} ms, max {max(latencies, default=float('nan')):6.1f} ms "
            f"({len(observed.answered):,} x 201, {triaged:,} triaged, answers {observed.statuses}, "
            f"errors {observed.errors or 'none'})",
            flush=True,
        )
        mean_stats = observed.stats_seconds / max(1, observed.stats_calls) * 1000
        print(f"          ({observed.stats_calls:,} statistics answers, {mean_stats:.0f} ms each on average)")
        print(
            f"ratio     p50 {percentile(latencies, 0.5) / percentile(baseline, 0.5):.1f} x, "
            f"p99 {percentile(latencies, 0.99) / percentile(baseline, 0.99):.1f} x the bare hops "
            "(targets p50 <= 50 ms, p99 <= 250 ms)"
        )


if __name__ == "__main__":
    main()
