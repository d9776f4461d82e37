"""oai tombstones

Deleted records for OAI-PMH (deletedRecord "persistent"): a row per item that harvesters may
have seen and that is gone (deleted, withdrawn, unpublished, made staff-only). Items that went
before this migration left no trace and get none. An index on items (status, updated_at, id)
lets the OAI lists page through published items in datestamp order from a keyset.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collection.models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oai_tombstones",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("datestamp", collection.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("collection_slug", sa.String(length=120), nullable=True),
        sa.Column("type_slug", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_oai_tombstones")),
    )
    with op.batch_alter_table("oai_tombstones", schema=None) as batch_op:
        batch_op.create_index("ix_oai_tombstones_datestamp", ["datestamp", "item_id"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_items_status_updated_at", ["status", "updated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_status_updated_at")
    with op.batch_alter_table("oai_tombstones", schema=None) as batch_op:
        batch_op.drop_index("ix_oai_tombstones_datestamp")
    op.drop_table("oai_tombstones")
