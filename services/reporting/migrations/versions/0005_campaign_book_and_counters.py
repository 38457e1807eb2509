"""Campaigns folded from analysis's decisions (``placement``, ``campaign``: merges by union-find) and the
statistics as counters kept per event (``counter``), instead of replaying triage links
(``triage_link``, ``triage_node`` dropped) and scanning proposals per request. A proposal's row no longer
holds its campaign (a merge would have to rewrite every member's): it is in ``placement`` and ``campaign``.

The new tables start empty: a database that already holds events gets them with
``aireg rebuild reporting``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_events.log.columns import UtcTimestamp

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("triage_node")
    op.drop_table("triage_link")
    with op.batch_alter_table("proposal") as batch:
        batch.drop_column("campaign_id")
        batch.drop_column("campaign_representative")
    op.create_table(
        "placement",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=True),
        sa.Column("placed_at", sa.BigInteger(), nullable=False),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("duplicate_at", sa.BigInteger(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("received_at", UtcTimestamp(), nullable=True),
    )
    op.create_index("ix_placement_campaign", "placement", ["consultation_id", "campaign_id", "received_at"])
    op.create_table(
        "campaign",
        sa.Column("consultation_id", sa.String(36), primary_key=True),
        sa.Column("campaign_id", sa.String(100), primary_key=True),
        sa.Column("parent", sa.String(100), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("representative", sa.String(36), nullable=True),
        sa.Column("representative_received_at", UtcTimestamp(), nullable=True),
    )
    op.create_index("ix_campaign_parent", "campaign", ["consultation_id", "parent"])
    op.create_table(
        "counter",
        sa.Column("consultation_id", sa.String(36), primary_key=True),
        sa.Column("dimension", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counter")
    op.drop_table("campaign")
    op.drop_table("placement")
    with op.batch_alter_table("proposal") as batch:
        batch.add_column(sa.Column("campaign_id", sa.String(100), nullable=True))
        batch.add_column(sa.Column("campaign_representative", sa.String(36), nullable=True))
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
    op.create_table(
        "triage_node",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("node_kind", sa.String(16), primary_key=True),
        sa.Column("node_id", sa.String(100), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_triage_node_node", "triage_node", ["consultation_id", "node_kind", "node_id"])
