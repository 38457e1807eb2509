"""The shared log tables, the inbox, and consultations.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_events.log.columns import UtcTimestamp
from aireg_events.log.tables import create_inbox_table, create_log_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_log_tables(op)
    create_inbox_table(op)
    op.create_table(
        "consultation",
        sa.Column("consultation_id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("submission_opens_at", UtcTimestamp(), nullable=False),
        sa.Column("submission_closes_at", UtcTimestamp(), nullable=False),
        sa.Column("analysis_due_at", UtcTimestamp(), nullable=False),
        sa.Column("forwarding_due_at", UtcTimestamp(), nullable=False),
        sa.Column("late_submissions", sa.String(32), nullable=False),
        sa.Column("opened_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consultation")
