"""Expression indexes for fields a form marks `indexed` (and relation fields).

Created when an app is published. Each index leads with (app, form) and then the very
expression the SQL back end of the expression language produces for that field, so
list filters, report queries and scheduled rules can use it on both databases.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Index

from builder.bundle import Bundle
from runtime.store.tables import records

INDEXED_TYPES = {"relation", "user", "department"}


def index_name(app: str, form: str, field: str) -> str:
    digest = hashlib.sha1(f"{app}.{form}.{field}".encode(), usedforsecurity=False).hexdigest()
    return f"ix_rec_{digest[:16]}"


def ensure_indexes(conn: Connection, bundle: Bundle) -> list[str]:
    from runtime.expr.columns import field_column

    created = []
    for form_key, form in bundle.of("forms").items():
        for f in getattr(form, "fields", []):
            if not (getattr(f, "indexed", False) or getattr(f, "unique", False)
                    or f.type in INDEXED_TYPES):
                continue
            name = index_name(bundle.key, form_key, f.key)
            expr = field_column(records, f.key, f.type)
            Index(name, records.c.app, records.c.form, expr).create(conn, checkfirst=True)
            created.append(name)
    return created
