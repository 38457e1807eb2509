"""Options several commands share, and where they default from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

STACK_FILE = Path("var/stack.json")
"""Written by ``aireg up``: the embedded broker's address and the services' URLs."""


def default_bootstrap() -> str:
    if STACK_FILE.exists():
        try:
            return str(json.loads(STACK_FILE.read_text())["bootstrap"])
        except (ValueError, KeyError):
            pass
    return "127.0.0.1:9092"


Bootstrap = Annotated[
    str,
    typer.Option(
        "--bootstrap",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        default_factory=default_bootstrap,
        help="the Kafka bootstrap servers (default: the broker `aireg up` runs, else 127.0.0.1:9092)",
    ),
]
Namespace = Annotated[str, typer.Option(envvar="AIREG_TOPIC_NAMESPACE", help="topic name prefix")]
KeysDir = Annotated[Path, typer.Option("--keys", envvar="AIREG_KEYS_DIR", help="folder of the key pairs")]
