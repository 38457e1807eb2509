"""``aireg up`` as a user runs it, on the embedded Tansu and with ``AIREG_BROKER=kafka`` on Apache Kafka:
the three services answer /health within 30 seconds (90 with Apache Kafka), a demo consultation is
open and its tokens work, a service that dies is restarted (and that is said), and SIGTERM stops
everything it started, leaving no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aireg_cli.stack import KafkaUnavailable, fetch_kafka, free_port, kafka_java
from tests.support.brokers import kafka_unavailable

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("broker_kind", ["tansu", "kafka"])
def test_aireg_up_serves_all_three_restarts_a_dead_service_and_stops_cleanly(
    tmp_path: Path, broker_kind: str
) -> None:
    if broker_kind == "kafka":
        try:
            kafka_java()
            fetch_kafka()
        except KafkaUnavailable as reason:
            kafka_unavailable(str(reason))
    ports = [free_port() for _ in range(3)]
    output = (tmp_path / "up.log").open("wb")
    env = {key: value for key, value in os.environ.items() if key != "KAFKA_BOOTSTRAP_SERVERS"}
    env["AIREG_BROKER"] = broker_kind
    started = time.monotonic()
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aireg_cli.main",
            "up",
            "--var",
            str(tmp_path / "var"),
            "--ports",
            ",".join(map(str, ports)),
        ],
        stdout=output,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        healthy: set[str] = set()
        # Apache Kafka's JVM takes its own seconds to start (and fetches the jars where they are missing).
        limit = 30 if broker_kind == "tansu" else 90
        while len(healthy) < 3 and time.monotonic() - started < limit:
            for url in urls:
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        healthy.add(url)
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        assert healthy == set(urls), (tmp_path / "up.log").read_text()
        tokens_file = tmp_path / "var" / "demo-tokens.json"
        deadline = time.monotonic() + 30
        while not tokens_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        tokens = json.loads(tokens_file.read_text())
        consultations = httpx.get(
            f"{urls[0]}/v1/consultations", headers={"Authorization": f"Bearer {tokens['demo-portal']}"}
        ).json()["items"]
        assert len(consultations) == 1 and consultations[0]["code"].startswith("demo-")
        assert "aireg is up" in (tmp_path / "up.log").read_text()

        processes = children_of(launcher.pid)
        analysis = next(
            pid for pid in processes if b"aireg_analysis" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        os.kill(analysis, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{urls[1]}/health", timeout=1).status_code == 200 and not alive(analysis):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert "analysis exited with code -9; restarting it" in (tmp_path / "up.log").read_text()
        assert httpx.get(f"{urls[1]}/health", timeout=2).status_code == 200

        before_stop = children_of(launcher.pid)
        assert len(before_stop) >= 4  # broker + three services
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [pid for pid in before_stop if alive(pid)] == []
        assert "stopped." in (tmp_path / "up.log").read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
        output.close()
