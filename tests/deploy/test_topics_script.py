"""deploy/kafka/create-topics.sh, the topics one-shot of compose and Kubernetes. No Apache Kafka runs on
these machines, so the script runs here against stand-ins for the three Kafka tools it calls, which
answer like a cluster of N brokers and write down what they were asked: the test reads which topics
the script asks for, with which partitions, copies and retention, and when it refuses."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from aireg_events.topics import Topics
from tests.deploy.deployment import DEPLOY

SCRIPT = DEPLOY / "kafka/create-topics.sh"


@pytest.fixture
def kafka_home(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "kafka-broker-api-versions.sh").write_text(
        "#!/usr/bin/env bash\n"
        'for id in $(seq 1 "$STAND_IN_BROKERS"); do echo "kafka-$id:9092 (id: $id rack: null) -> ("; '
        'echo "  Produce(0): 0 to 11 [usable: 11],"; done\n'
    )
    for name in ("kafka-topics.sh", "kafka-configs.sh"):
        (bin_dir / name).write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "{calls}"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return tmp_path


def run(
    kafka_home: Path, brokers: int, **settings: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    environment = {
        "PATH": os.environ["PATH"],
        "KAFKA_HOME": str(kafka_home),
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "STAND_IN_BROKERS": str(brokers),
        **settings,
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=30
    )
    calls_file = kafka_home / "calls"
    calls = [shlex.split(line) for line in calls_file.read_text().splitlines()] if calls_file.exists() else []
    return result, calls


def option(call: list[str], name: str) -> list[str]:
    return [call[index + 1] for index, word in enumerate(call) if word == name]


def created(calls: list[list[str]]) -> dict[str, list[str]]:
    return {
        option(call, "--topic")[0]: call
        for call in calls
        if call[0] == "kafka-topics.sh" and "--create" in call
    }


def test_creates_the_contracts_four_topics_never_expiring_with_the_partitions_asked_for(kafka_home):
    result, calls = run(kafka_home, brokers=1, AIREG_TOPIC_PARTITIONS="6")
    assert result.returncode == 0, result.stderr
    topics = created(calls)
    assert sorted(topics) == sorted(Topics().all())
    for call in topics.values():
        assert option(call, "--bootstrap-server") == ["kafka:9092"]
        assert option(call, "--partitions") == ["6"]
        assert option(call, "--replication-factor") == ["1"]
        assert option(call, "--config") == [
            "retention.ms=-1",
            "min.insync.replicas=1",
            "max.message.bytes=1114112",
        ]
        assert "--if-not-exists" in call
    # Topics that existed already (a service made them) get the retention again.
    altered = [option(call, "--entity-name")[0] for call in calls if call[0] == "kafka-configs.sh"]
    assert sorted(altered) == sorted(Topics().all())
    assert all(
        option(call, "--add-config") == ["retention.ms=-1,min.insync.replicas=1,max.message.bytes=1114112"]
        for call in calls
        if call[0] == "kafka-configs.sh"
    )


def test_on_three_brokers_every_partition_gets_three_copies_and_writes_wait_for_two(kafka_home):
    result, calls = run(
        kafka_home,
        brokers=3,
        AIREG_TOPIC_REPLICATION_FACTOR="3",
        AIREG_TOPIC_MIN_INSYNC_REPLICAS="2",
        AIREG_TOPIC_NAMESPACE="staging.",
    )
    assert result.returncode == 0, result.stderr
    topics = created(calls)
    assert sorted(topics) == sorted(Topics("staging.").all())
    for call in topics.values():
        assert option(call, "--replication-factor") == ["3"]
        assert option(call, "--config") == [
            "retention.ms=-1",
            "min.insync.replicas=2",
            "max.message.bytes=1114112",
        ]
    describe = [call for call in calls if "--describe" in call]
    assert option(describe[0], "--topic") == [r"^staging[.]aireg[.](submission|analysis)[.]v1([.]dlq)?$"]


def test_refuses_more_copies_than_the_cluster_has_brokers_and_creates_nothing(kafka_home):
    result, calls = run(
        kafka_home, brokers=1, AIREG_TOPIC_REPLICATION_FACTOR="3", AIREG_TOPIC_MIN_INSYNC_REPLICAS="2"
    )
    assert result.returncode == 1
    assert "replication factor 3 needs 3 brokers, kafka:9092 has 1" in result.stderr
    assert created(calls) == {}


def test_refuses_an_acks_all_quorum_larger_than_the_copies(kafka_home):
    result, calls = run(
        kafka_home, brokers=3, AIREG_TOPIC_REPLICATION_FACTOR="1", AIREG_TOPIC_MIN_INSYNC_REPLICAS="2"
    )
    assert result.returncode == 2
    assert "min.insync.replicas 2 exceeds the replication factor 1" in result.stderr
    assert calls == []
