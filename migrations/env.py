"""Alembic environment: runs the platform's migrations on the configured database.

The connection is passed in by `runtime.store.migrate` (config.attributes
["connection"]) or built from LOOM_DATABASE_URL when alembic is run by hand.
"""

from __future__ import annotations

import os

from alembic import context

from runtime.store.engine import make_engine
from runtime.store.tables import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(os.environ.get("LOOM_DATABASE_URL", "sqlite:///var/loom.db"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        conn.commit()


run()
