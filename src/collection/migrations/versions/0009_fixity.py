"""fixity

The last fixity check of each stored original (per storage key: originals are content-addressed
and shared by every file row with the same bytes): when, ok / mismatch / missing, the SHA-256
found, and since when it has been failing. Empty at first: the worker checks every original
within COLLECTION_FIXITY_DAYS of its ingest, the oldest first.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import collection.models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fixity_checks",
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("checked_at", collection.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "ok",
                "mismatch",
                "missing",
                name="fixity_outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("expected_sha256", sa.String(length=64), nullable=False),
        sa.Column("found_sha256", sa.String(length=64), nullable=True),
        sa.Column("found_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "failing_since", collection.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("storage_key", name=op.f("pk_fixity_checks")),
    )
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.create_index("ix_fixity_checks_outcome", ["outcome", "checked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_fixity_checks_outcome")
    op.drop_table("fixity_checks")
