"""Seed records shipped in a bundle's data/ folder, written through the normal record
lifecycle (validated, numbered, with history) on an app's first install."""

from __future__ import annotations

from sqlalchemy import Connection

from builder.bundle import Bundle
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.records.service import create


def load_seed_data(conn: Connection, ctx: Context, bundle: Bundle, *, actor: Actor) -> int:
    count = 0
    for form, rows in bundle.data.items():
        for row in rows:
            create(conn, ctx, app=bundle.key, form=form, data=dict(row), actor=actor,
                   lang="en")
            count += 1
    return count
