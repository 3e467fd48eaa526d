"""Immutable date casts on PostgreSQL, so date and datetime fields can be indexed.

`text::date` and `text::timestamptz` are only STABLE (they depend on DateStyle and
TimeZone), and PostgreSQL refuses them in index expressions. Loom stores dates as
`YYYY-MM-DD` and instants as `YYYY-MM-DDTHH:MM:SSZ`, which parse the same under every
setting, so these wrappers are truly immutable for Loom's data. No-op on SQLite, where
dates are compared as ISO text.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE OR REPLACE FUNCTION loom_date(text) RETURNS date "
               "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT $1::date $$")
    op.execute("CREATE OR REPLACE FUNCTION loom_instant(text) RETURNS timestamptz "
               "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT $1::timestamptz $$")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS loom_instant(text)")
    op.execute("DROP FUNCTION IF EXISTS loom_date(text)")
