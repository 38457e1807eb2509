"""How triage groups proposals: one compact row per triage or release, replayed per consultation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "triage_link",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("log_position", sa.BigInteger(), nullable=False),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=True),
        sa.Column("merged_campaigns", sa.Text(), nullable=False),
        sa.Column("grouped_with", sa.Text(), nullable=False),
        sa.Column("exact_duplicate_of", sa.String(36), nullable=True),
        sa.Column("exact_duplicates", sa.Text(), nullable=False),
    )
    op.create_index("ix_triage_link_consultation", "triage_link", ["consultation_id", "log_position"])


def downgrade() -> None:
    op.drop_table("triage_link")
