"""Alembic environment of the submission service (``DATABASE_URL`` for the alembic command line)."""

from aireg_events.log.migrations import run_alembic_env
from aireg_events.log.tables import LOG_METADATA
from aireg_submission.personal_data import key_metadata
from aireg_submission.store import metadata

run_alembic_env([metadata, key_metadata, LOG_METADATA])
