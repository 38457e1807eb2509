"""Measures: what a lead drafts from the proposals, the proposals linked as evidence, and the risks of
adopting or rejecting a proposal on its assessment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from aireg_events.log.columns import UtcTimestamp

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "measure",
        sa.Column("measure_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("drafted_at", UtcTimestamp(), nullable=False),
        sa.Column("drafted_by", sa.String(200), nullable=False),
        sa.Column("decided_at", UtcTimestamp(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decision_rationale", AutoString(), nullable=True),
        sa.Column("package_id", sa.String(36), nullable=True),
        sa.Column("package_position", sa.Integer(), nullable=True),
        sa.Column("forwarded_at", UtcTimestamp(), nullable=True),
    )
    op.create_index(
        "ix_measure_consultation", "measure", ["consultation_id", "status", "drafted_at", "measure_id"]
    )
    op.create_table(
        "measure_evidence",
        sa.Column("measure_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("stance", sa.String(16), nullable=False),
        sa.Column("note", AutoString(), nullable=False),
        sa.Column("campaign_id", sa.String(36), nullable=True),
        sa.Column("linked_at", UtcTimestamp(), nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_measure_evidence_proposal", "measure_evidence", ["proposal_id"])
    with op.batch_alter_table("assessment") as table:
        table.add_column(sa.Column("risks_of_adoption", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("risks_of_rejection", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("assessment") as table:
        table.drop_column("risks_of_rejection")
        table.drop_column("risks_of_adoption")
    op.drop_index("ix_measure_evidence_proposal", "measure_evidence")
    op.drop_table("measure_evidence")
    op.drop_index("ix_measure_consultation", "measure")
    op.drop_table("measure")
