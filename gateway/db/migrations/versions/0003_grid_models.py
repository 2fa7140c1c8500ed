"""grid models: versioned CGMES imports per zone and pending large uploads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grid_model",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("zone_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("upload_sha256", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("files_json", sa.Text(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("model_json", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_grid_model_version"),
        sa.ForeignKeyConstraint(["uploaded_by"], ["participant.id"]),
        sa.ForeignKeyConstraint(["zone_id"], ["grid_zone.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("zone_id", "version", name="uq_grid_model_zone_version"),
    )
    op.create_table(
        "grid_model_upload",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("zone_id", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["participant.id"]),
        sa.ForeignKeyConstraint(["zone_id"], ["grid_zone.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("grid_model_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_model_upload_zone_id"), ["zone_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grid_model_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_model_upload_zone_id"))
    op.drop_table("grid_model_upload")
    op.drop_table("grid_model")
