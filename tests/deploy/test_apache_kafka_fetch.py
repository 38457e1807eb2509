"""The Apache Kafka that the tests and ``aireg up`` run, as a new machine gets it: fetched from Maven
Central with the machine's Maven into an empty cache folder, kept there for the next run, and a clear
reason where Maven is missing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aireg_cli.stack import KAFKA_VERSION, KafkaUnavailable, fetch_kafka, kafka_home
from tests.support.brokers import kafka_unavailable


def test_an_empty_cache_gets_the_pinned_broker_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("mvn") is None:
        kafka_unavailable("no Maven (mvn) to fetch Apache Kafka with")
    monkeypatch.setenv("AIREG_KAFKA_CACHE", str(tmp_path / "cache"))
    said: list[str] = []
    jars = fetch_kafka(say=said.append)
    assert jars == kafka_home() / "jars" == tmp_path / "cache" / f"kafka-{KAFKA_VERSION}" / "jars"
    names = {path.name for path in jars.iterdir()}
    assert {f"kafka_2.13-{KAFKA_VERSION}.jar", f"kafka-tools-{KAFKA_VERSION}.jar"} <= names
    assert f"kafka-clients-{KAFKA_VERSION}.jar" in names
    assert said == [f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {kafka_home()}"]
    assert fetch_kafka(say=said.append) == jars
    assert len(said) == 1, "the second call finds the jars and fetches nothing"


def test_without_maven_the_reason_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIREG_KAFKA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(KafkaUnavailable, match=r"no Maven \(mvn\) to fetch it"):
        fetch_kafka()
