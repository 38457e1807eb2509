"""Alembic environment of the analysis service (``DATABASE_URL`` for the alembic command line)."""

from aireg_analysis.tables import metadata
from aireg_events.log.migrations import run_alembic_env
from aireg_events.log.tables import LOG_METADATA

run_alembic_env([metadata, LOG_METADATA])
