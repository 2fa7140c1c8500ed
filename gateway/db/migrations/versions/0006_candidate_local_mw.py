"""forwarding candidates: the local dispatch a TSO activation replaces

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forwarding_candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_mw", sa.Float(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("forwarding_candidate", schema=None) as batch_op:
        batch_op.drop_column("local_mw")
