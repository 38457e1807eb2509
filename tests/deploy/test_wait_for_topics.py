"""deploy/wait_for_topics.py, the init container that keeps a pod's service from starting (and creating
the topics itself, unreplicated) before the topics Job made them: against the real broker."""

from __future__ import annotations

import pytest

from aireg_events.kafka_admin import ensure_topics
from aireg_events.topics import Topics
from tests.deploy.deployment import load_script

wait_for_topics = load_script("wait_for_topics")

pytestmark = pytest.mark.kafka


async def test_reports_the_missing_topics_then_passes_once_they_exist(kafka_bootstrap, namespace):
    wanted = Topics(namespace).all()
    assert await wait_for_topics.missing_topics(kafka_bootstrap, wanted) == wanted
    assert not await wait_for_topics.wait_for_topics(kafka_bootstrap, wanted, timeout=0, every=0)

    await ensure_topics(kafka_bootstrap, wanted, partitions=2)

    assert await wait_for_topics.missing_topics(kafka_bootstrap, wanted) == []
    assert await wait_for_topics.wait_for_topics(kafka_bootstrap, wanted, timeout=0, every=0)


async def test_an_unreachable_broker_is_waited_for_not_a_crash():
    assert not await wait_for_topics.wait_for_topics("127.0.0.1:1", ["x"], timeout=0, every=0)


def test_command_exits_3_when_the_topics_are_missing(kafka_bootstrap, namespace, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("AIREG_TOPIC_NAMESPACE", namespace)
    assert wait_for_topics.main(["--timeout", "0"]) == wait_for_topics.MISSING
    assert f"{namespace}aireg.submission.v1" in capsys.readouterr().err
