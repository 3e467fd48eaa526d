"""PostgreSQL keeps a record's JSON inline and uncompressed up to a full page.

Why: by default PostgreSQL compresses (pglz) any row past ~2 KB, and a report reading
one field of such a record decompresses the whole document. A credit-CRM customer is
~2 KB of JSON; aggregating six customer fields over 100,000 customers took 1.16 s
compressed and 0.13 s inline, and the trust dashboard at 100,000 customers went from
3.7 s to 2.5 s (bench/crm.py --scale 100000 --dashboard-only). `toast_tuple_target =
8160` (the maximum) leaves rows inline up to a page; rows larger than that are still
toasted, with lz4 where the server has it (several times faster to read than pglz).
Existing rows keep their storage until they are next written. SQLite: nothing to do.

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _has_lz4(bind: sa.engine.Connection) -> bool:
    found = bind.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar()
    return bool(found)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE records SET (toast_tuple_target = 8160)")
    if _has_lz4(bind):
        op.execute("ALTER TABLE records ALTER COLUMN data SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE records RESET (toast_tuple_target)")
    op.execute("ALTER TABLE records ALTER COLUMN data SET COMPRESSION DEFAULT")
