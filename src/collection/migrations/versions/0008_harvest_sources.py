"""harvest sources

Harvesting other OAI-PMH repositories in: the sources (URL, set, target collection, where the
last run stopped), each run's counts and error, and which item each harvested record became
(matched by source and OAI identifier, so a second run creates nothing).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:42:22.672360
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collection.models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("set_spec", sa.String(length=200), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=50), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("created_at", collection.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("granularity", sa.String(length=30), nullable=True),
        sa.Column("repository_name", sa.String(length=500), nullable=False),
        sa.Column("last_datestamp", sa.String(length=40), nullable=True),
        sa.Column("run_from", sa.String(length=40), nullable=True),
        sa.Column("run_datestamp", sa.String(length=40), nullable=True),
        sa.Column("resumption_token", sa.Text(), nullable=True),
        sa.Column("lease_until", collection.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_harvest_sources_collection_id_collections"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_harvest_sources_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_sources")),
    )
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_harvest_sources_collection_id"), ["collection_id"], unique=False
        )

    op.create_table(
        "harvest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", collection.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", collection.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("from_datestamp", sa.String(length=40), nullable=True),
        sa.Column("resumed", sa.Boolean(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("complete_list_size", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_en", sa.Text(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_harvest_runs_source_id_harvest_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_runs")),
    )
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.create_index("ix_harvest_runs_source", ["source_id", "id"], unique=False)

    op.create_table(
        "harvested_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("oai_identifier", sa.String(length=500), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("datestamp", sa.String(length=40), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=True),
        sa.Column(
            "harvested_at", collection.models.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_harvested_records_item_id_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_harvested_records_source_id_harvest_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvested_records")),
        sa.UniqueConstraint(
            "source_id",
            "oai_identifier",
            name=op.f("uq_harvested_records_source_id_oai_identifier"),
        ),
    )
    with op.batch_alter_table("harvested_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_harvested_records_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("harvested_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvested_records_item_id"))

    op.drop_table("harvested_records")
    with op.batch_alter_table("harvest_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_harvest_runs_source")

    op.drop_table("harvest_runs")
    with op.batch_alter_table("harvest_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_harvest_sources_collection_id"))

    op.drop_table("harvest_sources")
