"""``aireg up``: the whole system on the embedded defaults, on one machine.

The broker is the embedded Tansu (memory-only), or with ``AIREG_BROKER=kafka`` Apache Kafka run on the
machine's Java (one KRaft node, its data kept under ``var/kafka/``), or, with ``KAFKA_BOOTSTRAP_SERVERS``
set, a broker of your own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from aireg_cli.demo_call import seed_demo_call
from aireg_cli.keys import KeyRing, ensure_keys
from aireg_cli.stack import (
    DEFAULT_PORTS,
    KAFKA_VERSION,
    SERVICES,
    KafkaCluster,
    ServiceSpec,
    Supervisor,
    free_port,
    port_is_free,
    service_env,
    start_broker,
    start_kafka,
    stop_process,
)
from aireg_cli.wording import say, words
from aireg_events.canonical import parse_timestamp
from aireg_events.signing import load_private_key
from aireg_http.auth import TokenRole, issue_token
from aireg_http.messages import catalogue

BROKERS = ("tansu", "kafka")
"""What ``AIREG_BROKER`` may name: the embedded Tansu (the default) or Apache Kafka."""

DEMO_IDENTITIES: list[tuple[str, TokenRole, str | None]] = [
    ("demo-portal", "portal", None),
    ("ministry-reviewer", "reviewer", "ministry"),
    ("centre-reviewer", "reviewer", "analytical_center"),
    ("lead", "lead", "ministry"),
    ("admin", "admin", "ministry"),
    ("auditor", "auditor", None),
    ("dashboard", "dashboard", None),
]


class _Stop(Exception):
    pass


def demo_tokens(keys: KeyRing) -> dict[str, str]:
    private = load_private_key(keys.token_private)
    return {
        name: issue_token(private, role=role, name=name, organization=organization)
        for name, role, organization in DEMO_IDENTITIES
    }


def wait_healthy(urls: dict[str, str], timeout: float, say_progress: bool, console: Console) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    with httpx.Client(timeout=2.0) as client:
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                try:
                    if client.get(f"{url}/health").status_code == 200:
                        del pending[name]
                        if say_progress:
                            console.print(f"  [green]✓[/] {say('service_up', name=name, url=url)}")
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
    if pending:
        raise TimeoutError(f"not healthy after {timeout:.0f}s: {', '.join(pending)}")


DEMO_TIME_ZONE = "Europe/Moscow"
DEMO_LANGUAGE = "ru"
DEADLINES = ("submission_closes_at", "analysis_due_at", "forwarding_due_at")


def open_demo_consultation(submission_url: str, admin_token: str, now: datetime) -> dict[str, object]:
    """A call like the ministry's: run from Moscow, in Russian, its deadlines given as dates (the end of
    that day in Moscow), its window open now."""
    code = f"demo-{now:%Y%m%d-%H%M%S}"
    today = now.astimezone(ZoneInfo(DEMO_TIME_ZONE)).date()
    russian = catalogue(DEMO_LANGUAGE)
    body = {
        "code": code,
        "title": russian.text("cli.demo_title"),
        "description": russian.text("cli.demo_description"),
        "submission_opens_at": (now - timedelta(minutes=1)).isoformat(),
        "submission_closes_at": (today + timedelta(days=30)).isoformat(),
        "analysis_due_at": (today + timedelta(days=60)).isoformat(),
        "forwarding_due_at": (today + timedelta(days=75)).isoformat(),
        "late_submissions": "reject",
        "time_zone": DEMO_TIME_ZONE,
        "language": DEMO_LANGUAGE,
    }
    response = httpx.post(
        f"{submission_url}/v1/consultations",
        json=body,
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result


def seed_in_background(
    urls: dict[str, str], tokens: dict[str, str], consultation_id: str, console: Console
) -> None:
    """Seed the demo call beside the supervisor's loop: the stack stays up (and restarts a dead service)
    while it fills, and a failure is said, not fatal."""

    def seed() -> None:
        console.print(say("demo_call_seeding"))
        try:
            seed_demo_call(urls, tokens, consultation_id, say=lambda text: console.print(f"  {text}"))
        except (httpx.HTTPError, TimeoutError, KeyError) as error:
            console.print(f"[yellow]![/] {say('demo_call_failed', error=error)}")

    threading.Thread(target=seed, name="demo-call", daemon=True).start()


def run_up(var_dir: Path, ports: dict[str, int], console: Console, *, demo_call: bool = True) -> int:
    """Start everything; with ``demo_call`` (the default) the demo consultation is seeded with a
    realistic call (:mod:`aireg_cli.demo_call`) through the services' HTTP API."""
    var_dir = var_dir.resolve()
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    keys = ensure_keys(var_dir / "keys")
    broker: subprocess.Popen[bytes] | None = None
    kafka: KafkaCluster | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    broker_kind = os.environ.get("AIREG_BROKER", "tansu")
    if broker_kind not in BROKERS:
        console.print(
            f"[red]aireg up failed:[/] AIREG_BROKER={broker_kind!r}: use one of {', '.join(BROKERS)}"
        )
        return 2
    started = time.monotonic()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise _Stop

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    supervisor: Supervisor | None = None
    try:
        if not bootstrap and broker_kind == "kafka":
            port = 9092 if port_is_free(9092) else free_port()
            console.print(say("kafka_start", version=KAFKA_VERSION, folder=var_dir / "kafka", port=port))
            kafka = start_kafka(var_dir / "kafka", port=port, say=console.print)
            bootstrap = kafka.bootstrap
        elif not bootstrap:
            port = 9092 if port_is_free(9092) else free_port()
            console.print(say("broker_start", port=port))
            broker = start_broker(port, var_dir / "logs" / "broker.log")
            bootstrap = f"127.0.0.1:{port}"
        else:
            console.print(say("broker_using", bootstrap=bootstrap))
        specs = [
            ServiceSpec(
                name,
                ports[name],
                service_env(
                    name,
                    port=ports[name],
                    database_url=f"sqlite+aiosqlite:///{var_dir / (name + '.db')}",
                    bootstrap=bootstrap,
                    keys=keys,
                ),
                var_dir / "logs" / f"{name}.log",
            )
            for name in SERVICES
        ]
        supervisor = Supervisor(specs, say=lambda text: console.print(f"[yellow]![/] {text}"))
        supervisor.start_all()
        urls = {name: f"http://127.0.0.1:{ports[name]}" for name in SERVICES}
        (var_dir / "stack.json").write_text(json.dumps({"bootstrap": bootstrap, "urls": urls}, indent=2))
        wait_healthy(urls, 60, True, console)
        tokens = demo_tokens(keys)
        consultation = open_demo_consultation(urls["submission"], tokens["admin"], datetime.now(UTC))
        (var_dir / "demo-tokens.json").write_text(json.dumps(tokens, indent=2))
        console.print("\n" + say("is_up", seconds=f"{time.monotonic() - started:.1f}"))
        for name, url in urls.items():
            console.print(say("service_line", name=name, url=url))
        console.print(say("dashboard_line", url=urls["reporting"], token=tokens["dashboard"]), soft_wrap=True)
        console.print(
            "\n" + say("demo_consultation", code=consultation["code"], id=consultation["consultation_id"])
        )
        for deadline in DEADLINES:
            moment = words().moment(
                parse_timestamp(str(consultation[deadline])), str(consultation["time_zone"])
            )
            console.print(say("demo_deadlines", label=words().label(deadline), moment=moment))
        console.print(say("demo_tokens", path=var_dir / "demo-tokens.json"))
        for name, token in tokens.items():
            console.print(f"  {name:<18} {token}", soft_wrap=True)
        console.print(say("broker_line", bootstrap=bootstrap))
        console.print("\n" + say("logs_line", path=var_dir / "logs"))
        if demo_call:
            seed_in_background(urls, tokens, str(consultation["consultation_id"]), console)
        while True:
            time.sleep(0.5)
            supervisor.check()
    except _Stop:
        console.print("\n" + say("stopping"))
        return 0
    except Exception as error:
        console.print(say("up_failed", error=error))
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop_all()
        if broker is not None:
            stop_process(broker)
        if kafka is not None:
            kafka.stop()
        console.print(say("stopped"))


def parse_ports(text: str | None) -> dict[str, int]:
    if not text:
        return dict(DEFAULT_PORTS)
    values = [int(part) for part in text.split(",")]
    if len(values) != len(SERVICES):
        raise ValueError("give three ports: submission,analysis,reporting")
    return dict(zip(SERVICES, values, strict=True))
