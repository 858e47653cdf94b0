"""Training runs: batch trainings of candidate models started by an admin or a schedule.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "training_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="trainingstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("active_slot", sa.Integer(), nullable=True),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_message", sa.String(length=500), nullable=True),
        sa.Column("label_watermark", sa.String(length=40), nullable=True),
        sa.Column("version", sa.String(length=100), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
        sa.UniqueConstraint("active_slot", name=op.f("uq_training_runs_active_slot")),
    )
    op.create_index(
        op.f("ix_training_runs_created_at"), "training_runs", ["created_at"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_training_runs_created_at"), table_name="training_runs")
    op.drop_table("training_runs")
