"""Apache Kafka as production runs it: three KRaft nodes (each broker and controller) on this machine,
every topic on all three (replication factor 3), an ``acks=all`` write acknowledged once two hold it
(``min.insync.replicas=2``). Under a steady load of submissions the node leading most of the topics'
partitions is killed (kill -9), later started again; once it is back in sync, the same is done to the
node that then leads most partitions. Every accepted submission reaches analysis and reporting exactly
once, log positions stay gap-free, and every position of both logs is on its topic."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES, KafkaCluster, KafkaUnavailable
from aireg_events.envelope import Envelope
from aireg_events.topic_reader import read_topics
from aireg_events.topics import Topics
from tests.faults.delivery import count_deliveries
from tests.faults.load import SubmissionLoad
from tests.support.brokers import kafka_unavailable, partition_states
from tests.support.system import System, build_system, consultation_body
from tests.support.tokens import TokenFactory

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.faults]

DOWN_SECONDS = 10.0
"""How long a killed node stays down while the load goes on."""
COPIES = {"AIREG_TOPIC_REPLICATION_FACTOR": "3", "AIREG_TOPIC_MIN_INSYNC_REPLICAS": "2"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    try:
        prepared = KafkaCluster.prepare(tmp_path_factory.mktemp("kafka-cluster"), size=3)
    except KafkaUnavailable as reason:
        kafka_unavailable(str(reason))
    try:
        yield prepared.start()
    finally:
        prepared.stop()


@pytest.fixture
def system(cluster: KafkaCluster, keys: KeyRing, tokens: TokenFactory, tmp_path: Path) -> Iterator[System]:
    running = build_system(
        backend="sqlite",
        bootstrap=cluster.bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path,
        extra_env={name: COPIES for name in SERVICES},
    )
    try:
        yield running.start()
    finally:
        running.stop()


async def leader_of_most(cluster: KafkaCluster, topics: list[str], excluding: int | None = None) -> int:
    """The running node (not ``excluding``) that leads most of ``topics``' partitions."""
    states = await partition_states(cluster.bootstrap, topics)
    running = {node.node_id for node in cluster.nodes if node.running and node.node_id != excluding}
    leaders = Counter(state.leader for state in states.values() if state.leader in running)
    return leaders.most_common(1)[0][0]


async def wait_in_sync(cluster: KafkaCluster, topics: list[str], timeout: float = 90.0) -> float:
    """Until every partition of ``topics`` has all three nodes in sync; returns how long it took."""
    started = time.monotonic()
    every_node = frozenset(node.node_id for node in cluster.nodes)
    while True:
        states = await partition_states(cluster.bootstrap, topics)
        if states and all(state.in_sync == every_node for state in states.values()):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"not back in sync after {timeout}s: {states}"
        await asyncio.sleep(0.5)


async def kill_and_restart(cluster: KafkaCluster, node_id: int, topics: list[str]) -> dict[str, float]:
    node = cluster.node(node_id)
    node.kill()
    killed_at = time.monotonic()
    while True:  # the controller fences the dead node and moves its partitions to the others
        states = await partition_states(cluster.bootstrap, topics)
        if all(state.leader != node_id for state in states.values()):
            break
        assert time.monotonic() - killed_at < 60, f"node {node_id} still leads after 60 s: {states}"
        await asyncio.sleep(0.2)
    new_leaders_after = time.monotonic() - killed_at
    await asyncio.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - killed_at)))
    node.start(cluster.java, cluster.jars)
    back_in_sync_after = await wait_in_sync(cluster, topics)
    return {
        "new_leaders_after_s": round(new_leaders_after, 1),
        "back_in_sync_after_s": round(back_in_sync_after, 1),
    }


async def positions_on_topic(bootstrap: str, topic: str) -> Counter[int]:
    """How many times each log position is on ``topic``."""
    counts: Counter[int] = Counter()
    async for record in read_topics(bootstrap, [topic]):
        if record.value is not None:
            counts[Envelope.from_json(record.value).log_position] += 1
    return counts


@pytest.mark.timeout(600)
async def test_killing_the_partition_leader_then_another_node_loses_nothing_and_applies_nothing_twice(
    cluster: KafkaCluster, system: System, artifacts_dir: Path
) -> None:
    topics = Topics(system.namespace)
    main_topics = [topics.submission, topics.analysis]
    states = await partition_states(cluster.bootstrap, main_topics)
    assert {len(state.in_sync) for state in states.values()} == {3}, "every partition on all three nodes"
    async with httpx.AsyncClient(base_url=system.url("submission"), timeout=30) as client:
        response = await client.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert response.status_code == 201, response.text
    load = SubmissionLoad(
        system, response.json()["consultation_id"], label="kafka-failover", rate=3.0, max_count=600
    )
    load.start()
    outages: list[dict[str, float]] = []
    try:
        await load.wait_accepted(5)
        first = await leader_of_most(cluster, main_topics)
        outages.append({"node": first, **await kill_and_restart(cluster, first, main_topics)})
        await asyncio.sleep(2.0)
        second = await leader_of_most(cluster, main_topics, excluding=first)
        outages.append({"node": second, **await kill_and_restart(cluster, second, main_topics)})
        await asyncio.sleep(2.0)
    finally:
        await load.stop()

    figures, problems = await count_deliveries(
        system, load, "Apache Kafka x3: kill -9 the leader, then another"
    )
    for producer, topic in (("submission", topics.submission), ("analysis", topics.analysis)):
        head = len(await system.feed(producer))
        on_topic = await positions_on_topic(cluster.bootstrap, topic)
        missing = sorted(set(range(1, head + 1)) - set(on_topic))
        if missing:
            problems.append(f"{topic}: positions {missing[:10]} of 1..{head} are not on the topic")
        figures.extra[f"{producer}_topic_repeats"] = sum(count - 1 for count in on_topic.values())
    figures.extra["outages"] = outages
    figures.extra["inbox_duplicates_absorbed"] = sum(
        system.metric(name, "aireg_inbox_duplicates_skipped_total") for name in SERVICES
    )
    figures.report(artifacts_dir)
    assert problems == []
    assert figures.sent == figures.accepted > 0
    assert figures.lost == 0
    assert figures.duplicates == 0
