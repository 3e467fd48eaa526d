"""Long imports as jobs, with progress the UI can poll.

An import job is a row in `jobs` (kind `import.run`) whose `dedupe_key` is
`import:<id>`: the id the API hands out, so `GET /imports/{id}` finds the job without
a table of its own. The payload holds what to import; when the job ends its result
(counts, first errors, the error report's file) is written into the payload in the
import's own transaction, so a committed import always has its result.

Progress while it runs: kept in this process (the in-process runner and the API share
it), and on PostgreSQL also written to the job's payload through a second connection
every few thousand rows, so an API process other than the worker's sees it. (On
SQLite the import's transaction holds the single write lock, so progress is only
visible in process there.)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from runtime.auth.models import Actor
from runtime.auth.service import get_user
from runtime.context import Context
from runtime.errors import LoomError, not_found
from runtime.files import service as files
from runtime.jobs.service import enqueue, handler
from runtime.store.tables import jobs
from runtime.transfer.importing import ImportOptions, ImportResult, run_import, store_report

IMPORT_KIND = "import.run"
_PERSIST_EVERY = 2.0  # seconds between progress writes on PostgreSQL
_PROGRESS: dict[str, dict[str, Any]] = {}
_LOCK = threading.Lock()


def _wired(ctx: Context) -> Context:
    """Imported rows go through the same hooks as any write (idempotent)."""
    from runtime.wiring import wire_engines

    wire_engines(ctx)
    return ctx


def options_json(options: ImportOptions) -> dict[str, Any]:
    return {"mapping": dict(options.mapping) if options.mapping is not None else None,
            "mode": options.mode, "upsert_key": options.upsert_key,
            "dry_run": options.dry_run, "lang": options.lang}


def enqueue_import(conn: Connection, ctx: Context, *, app: str, form: str,
                   file_ref: Mapping[str, Any], name: str | None, options: ImportOptions,
                   actor: Actor) -> str:
    """Queue an import of a stored file; returns the import id."""
    import_id = uuid.uuid4().hex
    enqueue(conn, kind=IMPORT_KIND, now=ctx.clock.now(), dedupe_key=f"import:{import_id}",
            max_attempts=1, payload={
                "import_id": import_id, "app": app, "form": form, "file_id": file_ref["id"],
                "name": name, "options": options_json(options), "actor": actor.username,
                "progress": {"done": 0, "total": None}, "result": None})
    return import_id


class _Tracker:
    def __init__(self, engine: Engine, import_id: str) -> None:
        self.engine = engine
        self.import_id = import_id
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        progress = {"done": done, "total": total}
        with _LOCK:
            _PROGRESS[self.import_id] = progress
        if self.engine.dialect.name == "postgresql" and \
                time.monotonic() - self.last > _PERSIST_EVERY:
            self.last = time.monotonic()
            with self.engine.begin() as conn:
                _set_payload(conn, self.import_id, progress=progress)


def _job(conn: Connection, import_id: str) -> Any:
    row = conn.execute(select(jobs).where(jobs.c.dedupe_key == f"import:{import_id}",
                                          jobs.c.kind == IMPORT_KIND)).first()
    if row is None:
        raise not_found("导入", "Import", import_id)
    return row


def _set_payload(conn: Connection, import_id: str, **changes: Any) -> None:
    row = _job(conn, import_id)
    conn.execute(update(jobs).where(jobs.c.id == row.id).values(
        payload={**row.payload, **changes}))


def run_import_job(ctx: Context, payload: Mapping[str, Any]) -> ImportResult:
    import_id = str(payload["import_id"])
    opts = payload["options"]
    options = ImportOptions(mapping=opts.get("mapping"), mode=opts["mode"],
                            upsert_key=opts.get("upsert_key"), dry_run=bool(opts["dry_run"]),
                            lang=opts.get("lang", "zh"))
    tracker = _Tracker(ctx.engine, import_id)
    try:
        with ctx.engine.begin() as conn:
            actor = get_user(conn, str(payload["actor"]))
            path = files.path_of(ctx, files.get(conn, str(payload["file_id"])))
            result = run_import(conn, ctx, app=payload["app"], form=payload["form"],
                                path=Path(path), name=payload.get("name"), options=options,
                                actor=actor, progress=tracker)
            store_report(conn, ctx, app=payload["app"], form=payload["form"], result=result,
                         actor=actor)
            _set_payload(conn, import_id, result=result.as_json(),
                         progress={"done": result.total, "total": result.total})
    except LoomError as err:  # a refused file: a result, not a retry
        with ctx.engine.begin() as conn:
            _set_payload(conn, import_id, result={
                "status": "refused", "error": err.render(options.lang)["error"]})
        result = ImportResult(status="refused")
    finally:
        with _LOCK:
            _PROGRESS.pop(import_id, None)
    return result


@handler(IMPORT_KIND)
def import_job(ctx: Context, payload: Mapping[str, Any], now: datetime) -> None:
    run_import_job(_wired(ctx), payload)


def import_status(conn: Connection, import_id: str) -> dict[str, Any]:
    """What `GET /imports/{id}` answers: status, progress and, when done, the result."""
    row = _job(conn, import_id)
    payload = row.payload
    result = payload.get("result")
    with _LOCK:
        live = _PROGRESS.get(import_id)
    progress = live or payload.get("progress") or {"done": 0, "total": None}
    if result is not None:
        status = str(result.get("status"))
    else:
        status = {"queued": "queued", "running": "running", "failed": "error"}.get(
            row.status, str(row.status))
    return {"id": import_id, "app": payload["app"], "form": payload["form"],
            "status": status, "progress": progress, "result": result,
            "error": row.last_error if status == "error" else None,
            "created_at": row.created_at, "finished_at": row.finished_at}
