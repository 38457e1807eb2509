"""Proposals as analysis sees them, the LSH index (signatures and band keys), campaigns, assignments,
reviews, assessments and packages for the government.

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
        "proposal",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("portal", sa.String(200), nullable=False),
        sa.Column("received_at", UtcTimestamp(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("submitter_name", sa.String(300), nullable=False),
        sa.Column("submitter_kind", sa.String(32), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("triaged_version", sa.Integer(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("exact_duplicate_of", sa.String(36), nullable=True),
        sa.Column("campaign_id", sa.String(36), nullable=True),
        sa.Column("released_from_campaign", sa.Boolean(), nullable=False),
        sa.Column("assessed_version", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("package_id", sa.String(36), nullable=True),
        sa.Column("forwarded_at", UtcTimestamp(), nullable=True),
        sa.Column("triage_event_id", sa.String(36), nullable=True),
    )
    op.create_index(
        "ix_proposal_queue", "proposal", ["consultation_id", "status", "received_at", "proposal_id"]
    )
    op.create_index("ix_proposal_fingerprint", "proposal", ["consultation_id", "text_sha256"])
    op.create_index("ix_proposal_received", "proposal", ["received_at", "proposal_id"])
    op.create_index("ix_proposal_campaign", "proposal", ["campaign_id", "received_at", "proposal_id"])
    op.create_table(
        "proposal_direction",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("direction", sa.String(64), primary_key=True),
    )
    op.create_index("ix_proposal_direction_direction", "proposal_direction", ["direction", "proposal_id"])
    op.create_table(
        "proposal_signature",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("method_key", sa.String(200), nullable=False),
        sa.Column("hashvalues", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "lsh_band",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("band", sa.Integer(), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_lsh_band_lookup", "lsh_band", ["consultation_id", "bucket", "band"])
    op.create_table(
        "proposal_similarity",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("similar_id", sa.String(36), primary_key=True),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
    )
    op.create_index("ix_proposal_similarity_similar", "proposal_similarity", ["similar_id"])
    op.create_table(
        "campaign",
        sa.Column("campaign_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("representative_id", sa.String(36), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("opened_at", UtcTimestamp(), nullable=False),
        sa.Column("method", sa.JSON(), nullable=False),
    )
    op.create_index("ix_campaign_consultation_id", "campaign", ["consultation_id"])
    op.create_table(
        "assignment",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("reviewer", sa.String(200), primary_key=True),
        sa.Column("organization", sa.String(32), nullable=False),
        sa.Column("assigned_at", UtcTimestamp(), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "review",
        sa.Column("review_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("organization", sa.String(32), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("legal_soundness", sa.Integer(), nullable=False),
        sa.Column("feasibility", sa.Integer(), nullable=False),
        sa.Column("risk_reduction", sa.Integer(), nullable=False),
        sa.Column("innovation_impact", sa.Integer(), nullable=False),
        sa.Column("recommendation", sa.String(32), nullable=False),
        sa.Column("rationale", sa.String(), nullable=False),
        sa.Column("submitted_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_review_proposal_id", "review", ["proposal_id"])
    op.create_table(
        "assessment",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("rationale", sa.String(), nullable=False),
        sa.Column("review_ids", sa.JSON(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("assessed_by", sa.String(200), nullable=False),
        sa.Column("assessed_at", UtcTimestamp(), nullable=False),
    )
    op.create_index("ix_assessment_proposal_id", "assessment", ["proposal_id"])
    op.create_table(
        "package",
        sa.Column("package_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UtcTimestamp(), nullable=False),
        sa.Column("submitted_at", UtcTimestamp(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_package_consultation_id", "package", ["consultation_id"])
    op.create_table(
        "package_item",
        sa.Column("package_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "package_item",
        "package",
        "assessment",
        "review",
        "assignment",
        "campaign",
        "proposal_similarity",
        "lsh_band",
        "proposal_signature",
        "proposal_direction",
        "proposal",
    ):
        op.drop_table(table)
