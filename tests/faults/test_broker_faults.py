"""The broker misbehaves: poison messages on both topics go to their DLQ with the error and the consumers
go on (a metric counts them); and the broker frozen (SIGSTOP) for 15 seconds under a load of submissions:
intake keeps answering 201 the whole time (the log keeps the events), and everything is delivered once
the broker is back.

Both on a broker of the module's own, Apache Kafka then Tansu: freezing the session's broker would stall
every other test."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from aireg_cli.keys import KeyRing
from aireg_cli.stack import SERVICES, KafkaCluster, KafkaUnavailable, free_port, start_broker, stop_process
from aireg_events.envelope import GENESIS_HASH, Actor, Envelope, new_event_id, utc_now
from aireg_events.topics import Topics
from tests.faults.delivery import count_deliveries
from tests.faults.load import Figures, SubmissionLoad
from tests.support.brokers import kafka_unavailable
from tests.support.system import System, build_system, consultation_body
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.faults]

PAUSE_SECONDS = 15
SECRET_EMAIL = "poisoned.sender@clinic-9.example.org"


@dataclass
class OwnBroker:
    """A broker of the module's own (Apache Kafka or Tansu) and the process that serves it."""

    kind: str
    bootstrap: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module", params=["kafka", "tansu"])
def own_broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OwnBroker]:
    if request.param == "kafka":
        try:
            cluster = KafkaCluster.prepare(tmp_path_factory.mktemp("frozen-kafka"))
        except KafkaUnavailable as reason:
            kafka_unavailable(str(reason))
        cluster.start()
        assert cluster.nodes[0].process is not None
        try:
            yield OwnBroker("kafka", cluster.bootstrap, cluster.nodes[0].process)
        finally:
            os.kill(cluster.nodes[0].process.pid, signal.SIGCONT)
            cluster.stop()
        return
    port = free_port()
    process = start_broker(port)
    try:
        yield OwnBroker("tansu", f"127.0.0.1:{port}", process)
    finally:
        os.kill(process.pid, signal.SIGCONT)
        stop_process(process)


@pytest.fixture(scope="module")
def system(
    own_broker: OwnBroker,
    keys: KeyRing,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    running = build_system(
        backend="sqlite",
        bootstrap=own_broker.bootstrap,
        keys=keys,
        tokens=tokens,
        folder=tmp_path_factory.mktemp("broker-faults"),
    )
    try:
        yield running.start()
    finally:
        running.stop()


def poison(producer: str) -> dict[str, bytes]:
    """One record of each kind a consumer cannot use, as if ``producer`` had sent it."""

    def sealed(event_type: str, payload: dict[str, object]) -> Envelope:
        return Envelope.seal(
            event_id=new_event_id(),
            event_type=event_type,
            schema_version=1,
            stream_id="poison",
            stream_version=1,
            log_position=10**9,
            occurred_at=utc_now(),
            producer=producer,
            correlation_id=new_event_id(),
            actor=Actor(role="portal", name="mallory", organization=None),
            payload=payload,
            prev_hash=GENESIS_HASH,
        )

    tampered = sealed("ConsultationOpened", {"consultation_id": "x"}).model_copy(update={"payload": {"a": 1}})
    return {
        "unparseable": b'{"event_type": "ProposalSubmitted", "contact_email": "'
        + SECRET_EMAIL.encode()
        + b'"',
        "hash_mismatch": tampered.to_canonical(),
        "unknown_event_type": sealed("ProposalTeleported", {"proposal_id": "x"}).to_canonical(),
        "invalid_payload": sealed(
            "ProposalSubmitted" if producer == "submission" else "ProposalTriaged",
            {"proposal_id": "x", "contact_email": SECRET_EMAIL},
        ).to_canonical(),
    }


async def dead_letters(bootstrap: str, topic: str, expected: int) -> list[tuple[str, str]]:
    """(reason, consumer group) of the records on ``topic``'s DLQ, read from offset 0 without a group."""
    consumer = AIOKafkaConsumer(
        topic + ".dlq", bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[tuple[str, str]] = []
    try:
        deadline = time.monotonic() + 60
        while len(found) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    headers = {key: value.decode() for key, value in record.headers}
                    assert headers["dlq_source_topic"] == topic and headers["dlq_error"]
                    found.append((headers["dlq_reason"], headers["dlq_consumer_group"]))
    finally:
        await consumer.stop()
    return found


async def test_poison_on_each_topic_goes_to_its_dlq_and_every_consumer_goes_on(
    system: System, own_broker: OwnBroker, artifacts_dir: Path
) -> None:
    bootstrap = own_broker.bootstrap
    topics = Topics(system.namespace)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, source in ((topics.submission, "submission"), (topics.analysis, "analysis")):
            for value in poison(source).values():
                await producer.send_and_wait(topic, value=value, key=b"poison")
    finally:
        await producer.stop()

    # After the poison, real events on both topics: each consumer must have gone on to apply them.
    load = SubmissionLoad(
        system, await open_consultation(system), label="after-poison", rate=5.0, max_count=3
    )
    load.start()
    await load.wait_accepted(3)
    await load.stop()
    figures, problems = await count_deliveries(
        system, load, f"poison messages on both topics ({own_broker.kind})", timeout=90
    )

    kinds = set(poison("submission"))
    groups = {name: f"{system.namespace}aireg-{name}" for name in SERVICES}
    on_submission = await dead_letters(bootstrap, topics.submission, expected=2 * len(kinds))
    on_analysis = await dead_letters(bootstrap, topics.analysis, expected=2 * len(kinds))
    assert Counter(on_submission) == Counter(
        (kind, groups[name]) for kind in kinds for name in ("analysis", "reporting")
    )
    assert Counter(on_analysis) == Counter(
        (kind, groups[name]) for kind in kinds for name in ("submission", "reporting")
    )
    counted = {name: system.metric(name, "aireg_dlq_messages_total") for name in SERVICES}
    assert counted == {"submission": 4, "analysis": 4, "reporting": 8}
    for name in SERVICES:  # what was in the poison stays out of the logs (it is in the DLQ headers)
        log = "\n".join(system.log_lines(name))
        assert "dead-lettered" in log, f"{name} logged no dead letter: the check below would prove nothing"
        assert [leak for leak in (SECRET_EMAIL, "clinic-9", "input_value") if leak in log] == [], name
    figures.extra.update(poison_sent=2 * len(kinds), dead_lettered=len(on_submission) + len(on_analysis))
    figures.report(artifacts_dir)
    assert problems == []
    assert figures.lost == 0 and figures.duplicates == 0 and figures.accepted == 3


async def open_consultation(system: System) -> str:
    async with httpx.AsyncClient(base_url=system.url("submission"), timeout=30) as client:
        response = await client.post("/v1/consultations", headers=system.admin, json=consultation_body())
    assert response.status_code == 201, response.text
    return str(response.json()["consultation_id"])


@pytest.mark.timeout(600)
async def test_a_frozen_broker_stops_no_intake_and_loses_nothing(
    system: System, own_broker: OwnBroker, artifacts_dir: Path
) -> None:
    process = own_broker.process
    consultation_id = await open_consultation(system)
    load = SubmissionLoad(system, consultation_id, label="frozen-broker", rate=3.0, max_count=200)
    load.start()
    try:
        await load.wait_accepted(4)
        os.kill(process.pid, signal.SIGSTOP)
        try:
            before = len(load.accepted), dict(load.answers)
            await asyncio.sleep(PAUSE_SECONDS)
            during = len(load.accepted) - before[0], Counter(load.answers) - Counter(before[1])
        finally:
            os.kill(process.pid, signal.SIGCONT)
        await asyncio.sleep(3.0)
    finally:
        await load.stop()
    accepted_during, answers_during = during
    # intake needs no broker: it answered 201 all through the pause, nothing else
    assert accepted_during >= PAUSE_SECONDS * 2
    assert set(answers_during) == {"201"}

    async def relayed() -> bool:
        async with httpx.AsyncClient(timeout=10) as client:
            heads = [
                (await client.get(f"{system.url(name)}/health")).json() for name in ("submission", "analysis")
            ]
        return all(head["relay_position"] == head["log_position"] for head in heads)

    await eventually(relayed, until=bool, timeout=90)
    figures: Figures
    figures, problems = await count_deliveries(
        system, load, f"broker frozen {PAUSE_SECONDS}s under load ({own_broker.kind})"
    )
    figures.extra["accepted_while_frozen"] = accepted_during
    figures.report(artifacts_dir)
    assert problems == []
    assert figures.sent == figures.accepted
    assert figures.lost == 0 and figures.duplicates == 0
