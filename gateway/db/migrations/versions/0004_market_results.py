"""market results: session clearing settings, results, order outcomes, bundled zone networks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("grid_zone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundled_network", sa.String(length=32), nullable=True))
    with op.batch_alter_table("market_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_rule", sa.String(length=16), nullable=False, server_default="nodal")
        )
        batch_op.add_column(
            sa.Column("clearing_method", sa.String(length=8), nullable=False, server_default="auto")
        )
        batch_op.add_column(sa.Column("upstream_price_eur_per_mwh", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("clearing_job_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_market_session_clearing_job_id"), ["clearing_job_id"], unique=False
        )
    op.create_table(
        "market_result",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["market_session.id"]),
        sa.PrimaryKeyConstraint("session_id"),
        sa.UniqueConstraint("job_id"),
    )
    op.create_table(
        "order_outcome",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('accepted','rejected')", name="ck_order_outcome"),
        sa.ForeignKeyConstraint(["order_id"], ["flex_order.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["market_session.id"]),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("order_outcome", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_outcome_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_outcome_session_id"))
    op.drop_table("order_outcome")
    op.drop_table("market_result")
    with op.batch_alter_table("market_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_session_clearing_job_id"))
        batch_op.drop_column("clearing_job_id")
        batch_op.drop_column("upstream_price_eur_per_mwh")
        batch_op.drop_column("clearing_method")
        batch_op.drop_column("payment_rule")
    with op.batch_alter_table("grid_zone", schema=None) as batch_op:
        batch_op.drop_column("bundled_network")
