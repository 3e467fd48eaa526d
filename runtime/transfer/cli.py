"""Importing from the command line: one call, its own transaction, a progress bar.

    from runtime.transfer.cli import import_file, progress_bar
    result = import_file(ctx, app="crm", form="customer", path=Path("c.xlsx"),
                         options=ImportOptions(mode="skip_bad_rows"), actor=SYSTEM,
                         progress=progress_bar(sys.stderr))

(`loom import` in runtime/cli is the lead's to wire; this is what it calls.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from runtime.auth.models import Actor
from runtime.context import Context
from runtime.transfer.importing import (
    ImportOptions,
    ImportResult,
    Progress,
    run_import,
    store_report,
)

BAR_WIDTH = 30


def progress_bar(stream: TextIO) -> Progress:
    """A one-line text bar (`[#####-----] 5,000/10,000`) redrawn in place."""

    def draw(done: int, total: int | None) -> None:
        if total:
            filled = min(BAR_WIDTH, BAR_WIDTH * done // max(total, 1))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            stream.write(f"\r[{bar}] {done:,}/{total:,}")
        else:
            stream.write(f"\r{done:,} rows")
        if total is not None and done >= total:
            stream.write("\n")
        stream.flush()

    return draw


def import_file(ctx: Context, *, app: str, form: str, path: Path, options: ImportOptions,
                actor: Actor, progress: Progress | None = None) -> ImportResult:
    """Import `path` in one transaction and keep the error report as a file."""
    with ctx.engine.begin() as conn:
        result = run_import(conn, ctx, app=app, form=form, path=path, name=path.name,
                            options=options, actor=actor, progress=progress)
        store_report(conn, ctx, app=app, form=form, result=result, actor=actor)
    return result
