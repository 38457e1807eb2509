"""A PostgreSQL server of a test's own (initdb in a temporary folder, a free port, trust auth), so that a
test can restart or stop it without touching the machine's shared server, on which other tests run."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from aireg_cli.stack import free_port


def server_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` of the newest PostgreSQL installed (Debian's layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(path.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


@dataclass
class PrivatePostgres:
    """One server: ``start()``, ``restart()``, ``stop()``; ``create(name)`` makes a database on it."""

    binaries: Path
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="aireg-pg-")))
    created: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *arguments: str, timeout: float = 60.0) -> None:
        command = [str(self.binaries / arguments[0]), *arguments[1:]]
        if os.geteuid() == 0:  # the server refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *options: str) -> None:
        settings = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"),
            "-o", settings, *options,
        )  # fmt: skip

    def restart(self) -> None:
        """Stop (fast: every connection is cut, open transactions roll back) and start again."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.folder, ignore_errors=True)

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def create(self, name: str) -> str:
        database = f"aireg_{name}_{uuid.uuid4().hex[:8]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{database}"'))
        self.created.append(database)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def drop_all(self) -> None:
        """Nothing to drop: the whole server goes with ``stop()``."""
        self.created.clear()
