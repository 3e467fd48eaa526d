"""Round-robin cursors for the rules' `assign` action: one counter per (app, rule,
pool), advanced atomically with `INSERT … ON CONFLICT … RETURNING`.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_cursors",
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("pool", sa.String(length=128), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app", "rule", "pool", name=op.f("pk_rule_cursors")),
    )


def downgrade() -> None:
    op.drop_table("rule_cursors")
