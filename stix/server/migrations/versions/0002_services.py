"""Services (stix serve): services, their replicas and the controller's decisions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_services"
down_revision = "0001_jobs"


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("target_version", sa.Integer, nullable=False),
        sa.Column("update_mode", sa.String(16)),
        sa.Column("secrets", sa.JSON, nullable=False),
        sa.Column("lb_port", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("desired", sa.Integer, nullable=False),
        sa.Column("decision", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("down_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "replicas",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.Integer,
                  sa.ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("cluster", sa.String(200), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("spot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("host", sa.String(300)),
        sa.Column("port", sa.Integer),
        sa.Column("probe_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ready_at", sa.Float),
        sa.Column("ended_at", sa.Float),
    )
    op.create_index("replicas_by_service", "replicas", ["service_id", "number"], unique=True)
    op.create_table(
        "service_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.Integer,
                  sa.ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("service_events_by_service", "service_events", ["service_id", "id"])


def downgrade() -> None:
    op.drop_table("service_events")
    op.drop_table("replicas")
    op.drop_table("services")
