"""The write hook that keeps file references honest.

Registered on `ctx.hooks.after_write` (`install_file_hooks(ctx)`); it runs inside the
write's transaction after the record service stored the record, so raising
ValidationFailed rolls the write back and the caller gets a 422 naming the field.
"""

from __future__ import annotations

from sqlalchemy import Connection

from runtime.context import Context
from runtime.files.service import check_references
from runtime.hooks import WriteEvent


def check_file_references(conn: Connection, ctx: Context, event: WriteEvent) -> None:
    if event.action == "deleted" or event.new is None:
        return
    cform = ctx.apps.current(conn, event.app).form(event.form)
    check_references(conn, app=event.app, cform=cform, new=event.new, old=event.old)


def install_file_hooks(ctx: Context) -> None:
    """Idempotent: installing twice registers the hook once."""
    if check_file_references not in ctx.hooks.after_write:
        ctx.hooks.after_write.insert(0, check_file_references)
