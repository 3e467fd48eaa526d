"""Expression indexes for fields a form marks `indexed` (and relation fields).

Created when an app is published. Each index leads with (app, form) and then the very
expression the SQL back end of the expression language produces for that field, so
list filters, report queries and scheduled rules can use it on both databases.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Index
from sqlalchemy.schema import CreateIndex

from builder.bundle import Bundle
from runtime.store.tables import records


def index_name(app: str, form: str, field: str) -> str:
    digest = hashlib.sha1(f"{app}.{form}.{field}".encode(), usedforsecurity=False).hexdigest()
    return f"ix_rec_{digest[:16]}"


def ensure_indexes(conn: Connection, bundle: Bundle) -> list[str]:
    from runtime.apps.registry import CompiledApp
    from runtime.expr.sql_context import RecordsSqlContext

    capp = CompiledApp(bundle.key, 0, bundle)
    created = []
    for form_key in bundle.of("forms"):
        cform = capp.form(form_key)
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app=bundle.key, form=form_key)
        for key in cform.indexed_fields:
            field = cform.scope.field_of(key)
            if field is None:
                continue
            name = index_name(bundle.key, form_key, key)
            expr = sctx.field(key, field.type)
            ix = Index(name, records.c.app, records.c.form, expr)
            # Index() attaches itself to the shared `records` Table; detach it, or a
            # later metadata.create_all would replay one dialect's expression on another.
            records.indexes.discard(ix)
            conn.execute(CreateIndex(ix, if_not_exists=True))
            created.append(name)
    return created
