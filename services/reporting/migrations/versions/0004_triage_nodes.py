"""The proposals and campaigns each triage or release names, so an event regroups only the proposals
connected to its own; filled from the triage links already received.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    nodes = op.create_table(
        "triage_node",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("node_kind", sa.String(16), primary_key=True),
        sa.Column("node_id", sa.String(100), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_triage_node_node", "triage_node", ["consultation_id", "node_kind", "node_id"])
    links = op.get_bind().execute(
        sa.text(
            "SELECT event_id, consultation_id, proposal_id, campaign_id, merged_campaigns, grouped_with, "
            "exact_duplicates FROM triage_link"
        )
    )
    rows: list[dict[str, str]] = []
    for event_id, consultation_id, proposal_id, campaign_id, merged, grouped, duplicates in links:
        # The same nodes as aireg_reporting.domain.TriageLink.nodes (a migration does not import the app).
        named = {("proposal", proposal_id)}
        named.update(("proposal", other) for other in [*json.loads(grouped), *json.loads(duplicates)])
        named.update(
            ("campaign", campaign) for campaign in [campaign_id, *json.loads(merged)] if campaign is not None
        )
        rows.extend(
            {"event_id": event_id, "node_kind": kind, "node_id": node_id, "consultation_id": consultation_id}
            for kind, node_id in sorted(named)
        )
    for start in range(0, len(rows), 1000):
        op.bulk_insert(nodes, rows[start : start + 1000])


def downgrade() -> None:
    op.drop_table("triage_node")
