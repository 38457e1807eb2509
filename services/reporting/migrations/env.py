"""Alembic environment of the reporting service (``DATABASE_URL`` for the alembic command line)."""

from aireg_events.log.migrations import run_alembic_env
from aireg_reporting.tables import metadata

run_alembic_env(metadata)
