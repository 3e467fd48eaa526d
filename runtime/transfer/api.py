"""Import and export over HTTP.

- `POST /apps/{app}/forms/{form}/import` (multipart): `file` (or `file_id` of a file
  uploaded before, e.g. by a preview), `preview`, `mapping` (JSON object column →
  field key or null), `mode` (all_or_nothing | skip_bad_rows), `upsert_key`,
  `dry_run`, `background`. A preview answers the headers, the suggested mapping and
  the first rows. A small file (≤ 1 MiB) is imported in the request (200 with the
  result); a larger one, or `background=true`, becomes a job (202 with its id).
- `GET /imports/{id}`: a job's status, progress and result.
- `GET /apps/{app}/forms/{form}/export?format=xlsx|csv&filter=…&sort=…`.

The preview is a flag on the import URL, not a URL of its own, so it shares the
upload size limit that `runtime.api.limits` gives paths ending in `/import`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from runtime.api.deps import ActorDep, CtxDep, LangDep, unit_of_work
from runtime.api.schemas import errors
from runtime.errors import BadRequest, not_found
from runtime.files import service as files
from runtime.files.sniff import XLSX
from runtime.files.storage import read_chunks
from runtime.transfer import exporting
from runtime.transfer.importing import ImportOptions, preview, run_import, store_report
from runtime.transfer.jobs import enqueue_import, import_status
from runtime.transfer.reading import Limits

router = APIRouter(tags=["import-export"])
BASE = "/apps/{app}/forms/{form}"
INLINE_BYTES = 1024 * 1024


def _mapping(raw: str | None) -> dict[str, str | None] | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()):
        raise BadRequest("mapping 应是 JSON 对象：列名 → 字段 key 或 null",
                         "mapping must be a JSON object: column → field key or null",
                         code="bad_mapping")
    return value


@router.post(BASE + "/import", responses={**errors(400, 404, 413), 202: {
    "description": "Queued as a job; poll GET /imports/{id}"}})
def import_records(
    app: str, form: str, ctx: CtxDep, actor: ActorDep, lang: LangDep,
    file: Annotated[UploadFile | None, File(description="an .xlsx or .csv file")] = None,
    file_id: Annotated[str | None, Form(max_length=32)] = None,
    preview_only: Annotated[bool, Form(alias="preview")] = False,
    mapping: Annotated[str | None, Form(max_length=100_000)] = None,
    mode: Annotated[Literal["all_or_nothing", "skip_bad_rows"], Form()] = "all_or_nothing",
    upsert_key: Annotated[str | None, Form(max_length=64)] = None,
    dry_run: Annotated[bool, Form()] = False,
    background: Annotated[bool | None, Form()] = None,
) -> Any:
    options = ImportOptions(mapping=_mapping(mapping), mode=mode, upsert_key=upsert_key or None,
                            dry_run=dry_run, lang=lang)
    with unit_of_work(ctx) as conn:
        ctx.apps.current(conn, app).form(form)
        if file is not None:
            ref = files.store_upload(conn, ctx, app=app, name=file.filename,
                                     chunks=read_chunks(file.file), kind="spreadsheet",
                                     actor=actor)
            name = file.filename
        elif file_id:
            row = files.get(conn, file_id)
            if row.app != app:
                raise not_found("文件", "File", file_id)
            ref, name = files.ref_of(row), row.name
        else:
            raise BadRequest("请上传文件（file）或给出 file_id", "Send a file or a file_id",
                             code="no_file")
        path = files.path_of(ctx, files.get(conn, ref["id"]))
        if preview_only:
            return {**preview(ctx, conn, app=app, form=form, path=Path(path), name=name,
                              limits=Limits(), lang=lang), "file_id": ref["id"]}
        run_later = background if background is not None else ref["size"] > INLINE_BYTES
        if run_later:
            import_id = enqueue_import(conn, ctx, app=app, form=form, file_ref=ref, name=name,
                                       options=options, actor=actor)
            return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content={
                "id": import_id, "status": "queued", "url": f"/api/v1/imports/{import_id}"})
        result = run_import(conn, ctx, app=app, form=form, path=Path(path), name=name,
                            options=options, actor=actor)
        store_report(conn, ctx, app=app, form=form, result=result, actor=actor)
        return result.as_json()


@router.get("/imports/{import_id}", responses=errors(404))
def get_import(import_id: str, ctx: CtxDep, _actor: ActorDep) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return import_status(conn, import_id)


@router.get(BASE + "/export", responses={**errors(400, 404), 200: {"content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
    "text/csv": {}}, "description": "The records"}})
def export_records(
    app: str, form: str, ctx: CtxDep, actor: ActorDep, lang: LangDep,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
    filter: Annotated[str | None, Query(max_length=4000)] = None,
    sort: Annotated[str | None, Query(max_length=500)] = None,
) -> Any:
    with unit_of_work(ctx) as conn:
        columns = exporting.prepare(conn, ctx, app=app, form=form, lang=lang,
                                    filter_expr=filter, sort=sort, actor=actor)
    name = f"{form}.{format}"
    disposition = files.content_disposition(name, inline=False)
    if format == "csv":
        return StreamingResponse(
            exporting.csv_chunks(ctx, columns, app=app, form=form, filter_expr=filter,
                                 sort=sort, actor=actor),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition})
    path = exporting.write_xlsx(ctx, columns, app=app, form=form, filter_expr=filter,
                                sort=sort, actor=actor, title=form)
    return FileResponse(path, media_type=XLSX,
                        headers={"Content-Disposition": disposition},
                        background=BackgroundTask(path.unlink, missing_ok=True))
