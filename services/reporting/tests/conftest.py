"""The reporting tests' fixtures: a real submission and reporting process on the test's broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aireg_cli.keys import KeyRing
from tests.support.services import ServiceProcess, services_running


@pytest.fixture
def stack(
    kafka_bootstrap: str, keys: KeyRing, namespace: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    with services_running(
        ("submission", "reporting"),
        database_url=lambda name: f"sqlite+aiosqlite:///{tmp_path / name}.db",
        bootstrap=kafka_bootstrap,
        keys=keys,
        namespace=namespace,
        log_dir=tmp_path,
    ) as running:
        yield running
