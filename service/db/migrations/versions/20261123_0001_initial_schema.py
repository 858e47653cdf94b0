"""Initial schema: tenants, API keys, uploads, jobs, diagnoses, labels, model versions.

Written by autogenerate, then reviewed: timestamps are plain `DateTime(timezone=True)` here
(the UTC handling is Python-side, in `service.db.models.UTCDateTime`), and enums are strings.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:03:07.464320
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("artifact_key", sa.String(length=300), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "candidate", "active", "retired", name="modelstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promoted_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_model_versions")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum("reader", "submitter", "admin", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)

    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "log",
                "vmcore",
                "archive",
                "unknown",
                name="uploadkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("format", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_uploads_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("tenant_id", "sha256", name=op.f("uq_uploads_tenant_id_sha256")),
    )
    op.create_index(op.f("ix_uploads_created_at"), "uploads", ["created_at"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("upload_id", sa.String(length=40), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "extracting",
                "diagnosing",
                "done",
                "failed",
                name="jobstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage_message", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("instance_id", sa.String(length=255), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
            name=op.f("fk_jobs_upload_id_uploads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_jobs_tenant_id_idempotency_key")
        ),
    )
    op.create_index(op.f("ix_jobs_host"), "jobs", ["host"], unique=False)
    op.create_index("ix_jobs_state_lease", "jobs", ["state", "lease_expires_at"], unique=False)
    op.create_index("ix_jobs_tenant_created", "jobs", ["tenant_id", "created_at"], unique=False)
    op.create_index(op.f("ix_jobs_upload_id"), "jobs", ["upload_id"], unique=False)

    op.create_table(
        "diagnoses",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("root_cause_id", sa.String(length=200), nullable=True),
        sa.Column("root_cause_title", sa.String(length=500), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("signature", sa.String(length=500), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("model_version", sa.String(length=100), nullable=True),
        sa.Column("kb_version", sa.String(length=100), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_blob_key", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_diagnoses_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_diagnoses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnoses")),
        sa.UniqueConstraint("job_id", name=op.f("uq_diagnoses_job_id")),
    )
    op.create_index(
        "ix_diagnoses_tenant_category", "diagnoses", ["tenant_id", "category"], unique=False
    )
    op.create_index(
        "ix_diagnoses_tenant_created", "diagnoses", ["tenant_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_diagnoses_tenant_root_cause", "diagnoses", ["tenant_id", "root_cause_id"], unique=False
    )
    op.create_index(
        "ix_diagnoses_tenant_signature", "diagnoses", ["tenant_id", "signature"], unique=False
    )

    op.create_table(
        "labels",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("diagnosis_id", sa.String(length=40), nullable=True),
        sa.Column(
            "verdict",
            sa.Enum("confirm", "correct", "import", name="verdict", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("root_cause_id", sa.String(length=200), nullable=True),
        sa.Column("new_cause", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column(
            "source",
            sa.Enum("feedback", "import", name="labelsource", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("signature", sa.String(length=500), nullable=True),
        sa.Column("log_blob_key", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["diagnosis_id"],
            ["diagnoses.id"],
            name=op.f("fk_labels_diagnosis_id_diagnoses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_labels_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    op.create_index(op.f("ix_labels_diagnosis_id"), "labels", ["diagnosis_id"], unique=False)
    op.create_index(op.f("ix_labels_tenant_id"), "labels", ["tenant_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_labels_tenant_id"), table_name="labels")
    op.drop_index(op.f("ix_labels_diagnosis_id"), table_name="labels")

    op.drop_table("labels")
    op.drop_index("ix_diagnoses_tenant_signature", table_name="diagnoses")
    op.drop_index("ix_diagnoses_tenant_root_cause", table_name="diagnoses")
    op.drop_index("ix_diagnoses_tenant_created", table_name="diagnoses")
    op.drop_index("ix_diagnoses_tenant_category", table_name="diagnoses")

    op.drop_table("diagnoses")
    op.drop_index(op.f("ix_jobs_upload_id"), table_name="jobs")
    op.drop_index("ix_jobs_tenant_created", table_name="jobs")
    op.drop_index("ix_jobs_state_lease", table_name="jobs")
    op.drop_index(op.f("ix_jobs_host"), table_name="jobs")

    op.drop_table("jobs")
    op.drop_index(op.f("ix_uploads_created_at"), table_name="uploads")

    op.drop_table("uploads")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_table("tenants")
    op.drop_table("model_versions")
