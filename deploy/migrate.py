"""The migration step that runs before a service starts, in its own container (compose) or Job (Kubernetes).

    python deploy/migrate.py SERVICE            # upgrade DATABASE_URL to the service's latest schema
    python deploy/migrate.py SERVICE --check    # exit 0 if it is there already, 3 if not
    python deploy/migrate.py SERVICE --wait 600 # wait (at most 600 s) until someone else brought it there

The service itself then starts with ``AIREG_RUN_MIGRATIONS=false``. Upgrades take a PostgreSQL advisory
lock, so two runs at once apply each revision once. ``--wait`` changes nothing: it is what a pod runs
before the service, so that a new version never serves on an old schema.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from aireg_events.log.database import open_database
from aireg_events.log.migrations import alembic_config, upgrade_to_head

SERVICES = ("submission", "analysis", "reporting")
BEHIND = 3
"""Exit status of ``--check`` (and of ``--wait`` on time-out) when the schema is not at the head."""


def migrations_dir(service: str) -> Path:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}: one of {', '.join(SERVICES)}")
    app = importlib.import_module(f"aireg_{service}.app")
    return Path(app.MIGRATIONS)


async def upgrade(service: str, database_url: str) -> None:
    database = open_database(database_url, pool_size=1)
    try:
        await upgrade_to_head(database, migrations_dir(service))
    finally:
        await database.dispose()


async def pending_heads(service: str, database_url: str) -> set[str]:
    """The head revisions of the service's migrations that the database has not reached (empty: at head)."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir(service)))
    heads = set(script.get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    database = open_database(database_url, pool_size=1)
    try:
        async with database.reader.connect() as connection:
            reached = await connection.run_sync(current)
    finally:
        await database.dispose()
    return heads - reached


async def wait_for_head(service: str, database_url: str, timeout: float, every: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pending = await pending_heads(service, database_url)
        except (OSError, DBAPIError) as error:  # not reachable yet, or not created yet
            pending = {f"(no answer from the database: {str(error).splitlines()[0]})"}
        if not pending:
            return True
        if time.monotonic() >= deadline:
            print(
                f"{service}: not migrated after {timeout:.0f}s: {', '.join(sorted(pending))}", file=sys.stderr
            )
            return False
        print(f"{service}: waiting for the migration to {', '.join(sorted(pending))}", flush=True)
        await asyncio.sleep(every)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Migrate a service's database (DATABASE_URL) to its schema.")
    parser.add_argument("service", choices=SERVICES)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only tell whether the schema is at the head")
    mode.add_argument("--wait", type=float, metavar="SECONDS", help="wait until the schema is at the head")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("set DATABASE_URL (postgresql+asyncpg://... or sqlite+aiosqlite:///...)", file=sys.stderr)
        return 2
    if args.check:
        pending = asyncio.run(pending_heads(args.service, database_url))
        print(
            f"{args.service}: " + (f"behind, missing {', '.join(sorted(pending))}" if pending else "at head")
        )
        return BEHIND if pending else 0
    if args.wait is not None:
        return 0 if asyncio.run(wait_for_head(args.service, database_url, args.wait)) else BEHIND
    asyncio.run(upgrade(args.service, database_url))
    print(f"{args.service}: migrated to head", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
