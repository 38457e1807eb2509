"""The read models: every received event, its subjects, proposals, reviews, packages, portals,
checkpoints, and the live stream's epoch; the consultations' remaining fields.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_events.log.columns import UtcTimestamp

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultation") as batch:
        batch.add_column(sa.Column("submission_opens_at", UtcTimestamp(), nullable=True))
        batch.add_column(sa.Column("late_submissions", sa.String(32), nullable=True))
        batch.add_column(sa.Column("opened_at", UtcTimestamp(), nullable=True))
        batch.add_column(sa.Column("event_id", sa.String(36), nullable=True))

    op.create_table(
        "received_event",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("producer", sa.String(100), nullable=False),
        sa.Column("log_position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UtcTimestamp(), nullable=False),
        sa.Column("consultation_id", sa.String(36), nullable=True),
        sa.Column("received_at", UtcTimestamp(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_received_event_seq", "received_event", ["seq"], unique=True)
    op.create_index("ix_received_event_consultation", "received_event", ["consultation_id", "occurred_at"])
    op.create_index("ix_received_event_producer_position", "received_event", ["producer", "log_position"])

    op.create_table(
        "event_subject",
        sa.Column("subject_kind", sa.String(16), primary_key=True),
        sa.Column("subject_id", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
    )

    op.create_table(
        "proposal",
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("registration_number", sa.String(64), nullable=False),
        sa.Column("portal", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("submitter_name", sa.String(300), nullable=False),
        sa.Column("submitter_kind", sa.String(32), nullable=False),
        sa.Column("submitter_registration_number", sa.String(64), nullable=True),
        sa.Column("directions", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("positions", sa.Text(), nullable=False),
        sa.Column("instrument", sa.String(32), nullable=False),
        sa.Column("approach", sa.String(32), nullable=False),
        sa.Column("cost_of_error", sa.String(32), nullable=False),
        sa.Column("application_areas", sa.Text(), nullable=False),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("received_at", UtcTimestamp(), nullable=False),
        sa.Column("submitted_at", UtcTimestamp(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("amended_at", UtcTimestamp(), nullable=True),
        sa.Column("withdrawn_at", UtcTimestamp(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.Column("triaged_at", UtcTimestamp(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.Column("missing", sa.Text(), nullable=False),
        sa.Column("exact_duplicate_of", sa.String(36), nullable=True),
        sa.Column("campaign_id", sa.String(100), nullable=True),
        sa.Column("campaign_representative", sa.String(36), nullable=True),
        sa.Column("is_analysis_work", sa.Boolean(), nullable=False),
        sa.Column("reviewers_assigned", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("assessment_rationale", sa.Text(), nullable=True),
        sa.Column("assessed_at", UtcTimestamp(), nullable=True),
        sa.Column("assessment_late", sa.Boolean(), nullable=False),
        sa.Column("package_id", sa.String(36), nullable=True),
        sa.Column("forwarded_at", UtcTimestamp(), nullable=True),
        sa.Column("forwarding_late", sa.Boolean(), nullable=False),
        sa.Column("last_event_at", UtcTimestamp(), nullable=False),
        sa.Column("event_ids", sa.Text(), nullable=False),
    )
    op.create_index("ix_proposal_consultation_status", "proposal", ["consultation_id", "status"])

    op.create_table(
        "review",
        sa.Column("review_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("organization", sa.String(32), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("legal_soundness", sa.Integer(), nullable=False),
        sa.Column("feasibility", sa.Integer(), nullable=False),
        sa.Column("risk_reduction", sa.Integer(), nullable=False),
        sa.Column("innovation_impact", sa.Integer(), nullable=False),
        sa.Column("recommendation", sa.String(32), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("submitted_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_review_proposal", "review", ["proposal_id"])

    op.create_table(
        "package",
        sa.Column("package_id", sa.String(36), primary_key=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UtcTimestamp(), nullable=False),
        sa.Column("submitted_at", UtcTimestamp(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("proposal_count", sa.Integer(), nullable=False),
        sa.Column("event_ids", sa.Text(), nullable=False),
    )
    op.create_table(
        "package_item",
        sa.Column("package_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
    )
    op.create_table(
        "portal",
        sa.Column("portal", sa.String(200), primary_key=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", UtcTimestamp(), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "checkpoint",
        sa.Column("producer", sa.String(100), primary_key=True),
        sa.Column("head_position", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", UtcTimestamp(), nullable=False),
        sa.Column("key_id", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    meta = op.create_table(
        "stream_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "epoch", "value": uuid.uuid4().hex[:8]}])


def downgrade() -> None:
    for table in (
        "stream_meta",
        "checkpoint",
        "portal",
        "package_item",
        "package",
        "review",
        "proposal",
        "event_subject",
        "received_event",
    ):
        op.drop_table(table)
    with op.batch_alter_table("consultation") as batch:
        for column in ("event_id", "opened_at", "late_submissions", "submission_opens_at"):
            batch.drop_column(column)
