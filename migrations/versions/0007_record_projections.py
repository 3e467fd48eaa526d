"""Narrow copies of the records reports join to (engines.report.projection).

Why: on PostgreSQL a report grouping by a related record's field hashed every related
record's whole document; the trust dashboard at 100,000 customers read ~37,000 pages
of customers in each of three statements. The copies hold only the fields reports
read through relations. Filled when an app version is published and kept in step by
every write (runtime.store.projections); SQLite gets the table and leaves it empty.
`projection_builds` says which app version each app's copies were built for: a
database upgraded here has none built, and its reports read the records until the app
is published again or the platform starts (runtime.bootstrap builds them).

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sqlite.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "record_projections",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_projections")),
    )
    op.create_index("ix_record_projections_app_form", "record_projections", ["app", "form"])
    if op.get_bind().dialect.name == "postgresql":
        # room on each page for a copy's next version: an update (every write of the
        # record) then stays on its page without touching the indexes (a HOT update)
        op.execute("ALTER TABLE record_projections SET (fillfactor = 80)")
    op.create_table(
        "projection_builds",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app", name=op.f("pk_projection_builds")),
    )


def downgrade() -> None:
    op.drop_table("projection_builds")
    op.drop_index("ix_record_projections_app_form", table_name="record_projections")
    op.drop_table("record_projections")
