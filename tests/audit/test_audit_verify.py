"""``aireg audit verify`` on a real run: the intact log passes; a forged byte, a missing event, a
reordered pair, a duplicate with other content, a checkpoint signed by another key, and a feed that
disagrees with its topic are each named with producer and position, with a non-zero exit.

The services run as real processes (submission and analysis, SQLite, the real broker). The faulty logs
are copies of the real topics, altered the way an attacker or a broken pipeline would, published to
topics of another namespace; the feeds stay those of the real services.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from aireg_cli.keys import KeyRing
from aireg_events.canonical import canonical_json
from aireg_events.envelope import content_hash
from aireg_events.kafka_admin import ensure_topics
from aireg_events.log.checkpoints import checkpoint_message
from aireg_events.signing import generate_private_key, key_id, sign
from aireg_events.topic_reader import read_topics
from aireg_events.topics import Topics
from tests.support.services import ServiceProcess, service_process
from tests.support.tokens import TokenFactory
from tests.support.waiting import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

Log = dict[str, list[dict[str, Any]]]  # producer -> envelopes in log order


@dataclass
class RealRun:
    namespace: str
    services: dict[str, ServiceProcess]
    log: Log


@pytest.fixture(scope="module")
def real_run(
    kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealRun]:
    import asyncio
    import uuid

    folder = tmp_path_factory.mktemp("audit-run")
    namespace = f"t{uuid.uuid4().hex[:12]}."
    services = {
        name: service_process(
            name,
            database_url=f"sqlite+aiosqlite:///{folder / (name + '.db')}",
            bootstrap=kafka_bootstrap,
            keys=keys,
            namespace=namespace,
            log_dir=folder,
            extra_env={"AIREG_CHECKPOINT_EVERY": "3", "AIREG_CHECKPOINT_INTERVAL_SECONDS": "3600"},
        )
        for name in ("submission", "analysis")
    }
    try:
        for process in services.values():
            process.start()
        now = datetime.now(UTC)
        for index in range(7):
            response = httpx.post(
                f"{services['submission'].url}/v1/consultations",
                headers=tokens.header("admin"),
                json={
                    "code": f"call-{index}",
                    "title": f"Call {index}",
                    "submission_opens_at": now.isoformat(),
                    "submission_closes_at": (now + timedelta(days=30)).isoformat(),
                    "analysis_due_at": (now + timedelta(days=60)).isoformat(),
                    "forwarding_due_at": (now + timedelta(days=70)).isoformat(),
                },
            )
            assert response.status_code == 201, response.text
        log = asyncio.run(_settled_log(kafka_bootstrap, Topics(namespace), services, tokens))
        yield RealRun(namespace, services, log)
    finally:
        for process in services.values():
            process.stop()


async def _settled_log(
    bootstrap: str, topics: Topics, services: dict[str, ServiceProcess], tokens: TokenFactory
) -> Log:
    """Wait until each topic holds everything its service's feed holds; return the log in order."""

    async def feed_head(producer: str) -> int:
        async with httpx.AsyncClient() as client:
            response = await client.get(
                f"{services[producer].url}/v1/events",
                params={"limit": 1000},
                headers=tokens.header("auditor"),
            )
        return len(response.json()["items"])

    async def read() -> Log:
        log: Log = {"submission": [], "analysis": []}
        async for record in read_topics(bootstrap, [topics.submission, topics.analysis]):
            envelope = orjson.loads(record.value or b"")
            log[envelope["producer"]].append(envelope)
        for envelopes in log.values():
            envelopes.sort(key=lambda item: item["log_position"])
        return log

    heads = {producer: await feed_head(producer) for producer in services}
    return await eventually(
        read,
        until=lambda log: all(len(log[producer]) == heads[producer] for producer in services),
        timeout=30,
    )


def run_verify(
    real_run: RealRun, bootstrap: str, keys: KeyRing, namespace: str
) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "aireg_cli.main",
            "audit",
            "verify",
            "--json",
            "--bootstrap",
            bootstrap,
            "--namespace",
            namespace,
            "--keys",
            str(keys.directory),
            "--submission-url",
            real_run.services["submission"].url,
            "--analysis-url",
            real_run.services["analysis"].url,
        ],
        capture_output=True,
        timeout=120,
    )
    assert completed.stdout, completed.stderr.decode()
    return completed.returncode, json.loads(completed.stdout)


def faults_of(report: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(fault["producer"], fault["log_position"], fault["kind"]) for fault in report["faults"]}


async def publish_copy(bootstrap: str, namespace: str, records: list[dict[str, Any] | bytes]) -> None:
    """Publish ``records`` (envelopes or raw bytes) to the submission topic of ``namespace``, one
    partition, in the order given."""
    topics = Topics(namespace)
    await ensure_topics(bootstrap, topics.all(), partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            value = record if isinstance(record, bytes) else canonical_json(record)
            await producer.send_and_wait(topics.submission, value=value, key=b"k")
    finally:
        await producer.stop()


def resealed(envelope: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    again = {**envelope, "prev_hash": prev_hash}
    again["hash"] = content_hash(again)
    return again


def rechain(envelopes: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """What a forger who rewrites history does: recompute every hash from ``start`` on."""
    out = list(envelopes)
    for index in range(start, len(out)):
        out[index] = resealed(out[index], out[index - 1]["hash"] if index else "0" * 64)
    return out


def test_the_intact_log_of_a_real_run_verifies(
    real_run: RealRun, kafka_bootstrap: str, keys: KeyRing
) -> None:
    code, report = run_verify(real_run, kafka_bootstrap, keys, real_run.namespace)
    assert report["faults"] == [] and code == 0
    submission = report["producers"]["submission"]
    assert submission["events"] == len(real_run.log["submission"]) >= 9  # 7 consultations + checkpoints
    assert submission["checkpoints_verified"] >= 2
    assert submission["feed_events"] == submission["events"]


Tamper = Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any] | bytes], int, str]]


def one_changed_byte(log: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | bytes], int, str]:
    records: list[dict[str, Any] | bytes] = list(log)
    raw = canonical_json(log[2])
    records[2] = raw.replace(b"Call 2", b"Call 7", 1)
    assert records[2] != raw
    return records, 3, "tampered"


def a_missing_event(log: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | bytes], int, str]:
    return [*log[:3], *log[4:]], 4, "missing"


def a_reordered_pair(log: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | bytes], int, str]:
    return [*log[:2], log[3], log[2], *log[4:]], 3, "reordered"


def a_duplicate_with_other_content(
    log: list[dict[str, Any]],
) -> tuple[list[dict[str, Any] | bytes], int, str]:
    other = {**log[1], "payload": {**log[1]["payload"], "title": "Replaced title"}}
    return [*log, resealed(other, log[0]["hash"])], 2, "duplicated"


def a_checkpoint_signed_by_another_key(
    log: list[dict[str, Any]],
) -> tuple[list[dict[str, Any] | bytes], int, str]:
    index = next(i for i, envelope in enumerate(log) if envelope["event_type"] == "ChainCheckpoint")
    payload = dict(log[index]["payload"])
    mallory = generate_private_key()
    from aireg_events.canonical import parse_timestamp

    payload["key_id"] = key_id(mallory.public_key())
    payload["signature"] = sign(
        mallory,
        checkpoint_message(
            "submission",
            payload["head_position"],
            payload["head_hash"],
            parse_timestamp(payload["signed_at"]),
        ),
    )
    forged = list(log)
    forged[index] = {**log[index], "payload": payload}
    return list(rechain(forged, index)), index + 1, "forged_checkpoint"


def a_feed_that_disagrees(log: list[dict[str, Any]]) -> tuple[list[dict[str, Any] | bytes], int, str]:
    rewritten = list(log)
    rewritten[1] = {**log[1], "payload": {**log[1]["payload"], "description": "rewritten after the fact"}}
    return list(rechain(rewritten, 1)), 2, "feed_mismatch"


@pytest.mark.parametrize(
    "tamper",
    [
        one_changed_byte,
        a_missing_event,
        a_reordered_pair,
        a_duplicate_with_other_content,
        a_checkpoint_signed_by_another_key,
        a_feed_that_disagrees,
    ],
)
async def test_each_fault_is_named_with_its_producer_and_position(
    real_run: RealRun, kafka_bootstrap: str, keys: KeyRing, namespace: str, tamper: Tamper
) -> None:
    records, position, kind = tamper(real_run.log["submission"])
    await publish_copy(kafka_bootstrap, namespace, records)
    # the analysis log is copied faithfully, so every fault is the submission copy's
    topics = Topics(namespace)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in real_run.log["analysis"]:
            await producer.send_and_wait(topics.analysis, value=canonical_json(envelope), key=b"k")
    finally:
        await producer.stop()
    import asyncio

    code, report = await asyncio.to_thread(run_verify, real_run, kafka_bootstrap, keys, namespace)
    assert ("submission", position, kind) in faults_of(report), report["faults"]
    assert code == 1
    assert all(fault["producer"] == "submission" for fault in report["faults"])


def test_a_missing_feed_token_key_is_a_clear_usage_error(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "aireg_cli.main",
            "audit",
            "verify",
            "--keys",
            str(tmp_path),
            "--bootstrap",
            "127.0.0.1:1",
        ],
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert b"--token" in completed.stderr
