"""Measures: the coverage counters' measure rows, and how many measures each proposal is evidence for.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_reporting.tables import CanonicalJson

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "measure",
        sa.Column("measure_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("directions", CanonicalJson(), nullable=False),
        sa.Column("questions", CanonicalJson(), nullable=False),
    )
    with op.batch_alter_table("proposal") as table:
        table.add_column(sa.Column("measure_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("proposal") as table:
        table.drop_column("measure_count")
    op.drop_table("measure")
