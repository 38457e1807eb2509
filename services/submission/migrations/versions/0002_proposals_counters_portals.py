"""Proposals, the registration counter of each consultation, and suspended portals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_events.log.columns import UtcTimestamp

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_counter",
        sa.Column("consultation_id", sa.String(36), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.UniqueConstraint("year", "series", name="uq_registration_counter_year_series"),
    )
    op.create_table(
        "proposal",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False, index=True),
        sa.Column("registration_number", sa.String(32), nullable=False, unique=True),
        sa.Column("portal", sa.String(200), nullable=False, index=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", UtcTimestamp(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_event_id", sa.String(36), nullable=False),
        sa.Column("submitted_log_position", sa.BigInteger(), nullable=False),
        sa.Column("submitted_event_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_changed_at", UtcTimestamp(), nullable=False),
        sa.Column("amended_at", UtcTimestamp(), nullable=True),
        sa.Column("withdrawn_at", UtcTimestamp(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("last_event_id", sa.String(36), nullable=False),
        sa.UniqueConstraint("portal", "idempotency_key", name="uq_proposal_portal_idempotency_key"),
    )
    op.create_table(
        "portal",
        sa.Column("portal", sa.String(200), primary_key=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portal")
    op.drop_table("proposal")
    op.drop_table("registration_counter")
