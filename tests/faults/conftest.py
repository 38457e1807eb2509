"""Fixtures of the fault tests: the whole system as real processes on the session's broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aireg_cli.keys import KeyRing
from tests.support.system import System, build_system
from tests.support.tokens import TokenFactory


@pytest.fixture
def system(
    db_backend: str, kafka_bootstrap: str, keys: KeyRing, tokens: TokenFactory, tmp_path: Path
) -> Iterator[System]:
    """The three services on fresh databases of the test's backend (SQLite, then PostgreSQL), started."""
    running = build_system(
        backend=db_backend, bootstrap=kafka_bootstrap, keys=keys, tokens=tokens, folder=tmp_path
    )
    try:
        yield running.start()
    finally:
        running.stop()
