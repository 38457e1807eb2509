"""The consultation's time zone (IANA name) and language, which documents, the dashboard and the deadline
view speak in; consultations announced before have UTC and English, as their events parse.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultation") as table:
        table.add_column(sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"))
        table.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("consultation") as table:
        table.drop_column("language")
        table.drop_column("time_zone")
