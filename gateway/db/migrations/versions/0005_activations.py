"""activations: forwarding to the TSO balancing market, its candidates, offer activations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forwarding",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=8), nullable=False),
        sa.Column("needs_json", sa.Text(), nullable=False),
        sa.Column("check_job_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.Column("checks_json", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('checking','checked','sending','settled','failed')",
            name="ck_forwarding_state",
        ),
        sa.ForeignKeyConstraint(["session_id"], ["market_session.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id"),
        sa.UniqueConstraint("check_job_id"),
    )
    op.create_table(
        "forwarding_candidate",
        sa.Column("forwarding_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("p_mw", sa.Float(), nullable=False),
        sa.Column("tso_price_eur_per_mwh", sa.Float(), nullable=False),
        sa.Column("dso_check", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.CheckConstraint("direction IN ('up','down')", name="ck_candidate_direction"),
        sa.CheckConstraint(
            "dso_check IN ('pending','passed','refused')", name="ck_candidate_dso_check"
        ),
        sa.ForeignKeyConstraint(["forwarding_id"], ["forwarding.id"]),
        sa.ForeignKeyConstraint(["offer_id"], ["flex_order.id"]),
        sa.PrimaryKeyConstraint("forwarding_id", "offer_id", "period_index"),
    )
    op.create_table(
        "offer_activation",
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("submitter_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("market", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("p_mw", sa.Float(), nullable=False),
        sa.Column("activated_mw", sa.Float(), nullable=True),
        sa.Column("price_eur_per_mwh", sa.Float(), nullable=True),
        sa.Column("amount_eur", sa.Float(), nullable=True),
        sa.Column("forwarding_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('reserved_local','forwarded','activated_local','activated_tso','released')",
            name="ck_activation_state",
        ),
        sa.CheckConstraint("direction IN ('up','down')", name="ck_activation_direction"),
        sa.CheckConstraint("market IN ('local','tso')", name="ck_activation_market"),
        sa.ForeignKeyConstraint(["offer_id"], ["flex_order.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["market_session.id"]),
        sa.ForeignKeyConstraint(["submitter_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("offer_id", "period_index"),
    )
    with op.batch_alter_table("offer_activation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offer_activation_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_offer_activation_submitter_id"), ["submitter_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("offer_activation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_activation_submitter_id"))
        batch_op.drop_index(batch_op.f("ix_offer_activation_session_id"))
    op.drop_table("offer_activation")
    op.drop_table("forwarding_candidate")
    op.drop_table("forwarding")
