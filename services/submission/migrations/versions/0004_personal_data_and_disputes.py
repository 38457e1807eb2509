"""Personal data: the data subject keys and the digest secret (outside the state tables), which proposals
use which key, erasures, attribution disputes. Proposal rows of v1 events lose their plain personal data
as the v1 → v2 upcaster does (it reads as erased), so the table holds sealed values only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aireg_events.catalogue.submission import erase_plain_submitter_v1
from aireg_events.log.columns import UtcTimestamp

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_subject_key",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("subject_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcTimestamp(), nullable=False),
    )
    op.create_table(
        "digest_secret",
        sa.Column("secret_id", sa.Integer(), primary_key=True),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "sealed_value_use",
        sa.Column("key_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), primary_key=True),
    )
    op.create_table(
        "personal_data_erasure",
        sa.Column("erasure_id", sa.String(36), primary_key=True),
        sa.Column("subject_digest", sa.String(64), nullable=False, index=True),
        sa.Column("proposals", sa.JSON(), nullable=False),
        sa.Column("erased_at", UtcTimestamp(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "attribution_dispute",
        sa.Column("dispute_id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", sa.String(36), nullable=False, index=True),
        sa.Column("consultation_id", sa.String(36), nullable=False),
        sa.Column("complainant", sa.JSON(), nullable=False),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("opened_at", UtcTimestamp(), nullable=False),
        sa.Column("resolved_at", UtcTimestamp(), nullable=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("resolution_event_id", sa.String(36), nullable=True),
    )
    proposal = sa.table("proposal", sa.column("proposal_id", sa.String()), sa.column("content", sa.JSON()))
    connection = op.get_bind()
    for proposal_id, content in connection.execute(sa.select(proposal.c.proposal_id, proposal.c.content)):
        stored = json.loads(content) if isinstance(content, str) else content
        if isinstance(stored.get("submitter", {}).get("contact_email"), str):
            upcast = erase_plain_submitter_v1({"content": stored})["content"]
            connection.execute(
                proposal.update().where(proposal.c.proposal_id == proposal_id).values(content=upcast)
            )


def downgrade() -> None:
    op.drop_table("attribution_dispute")
    op.drop_table("personal_data_erasure")
    op.drop_table("sealed_value_use")
    op.drop_table("digest_secret")
    op.drop_table("data_subject_key")
