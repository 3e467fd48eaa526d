"""Files over HTTP: `POST /apps/{app}/files` (multipart) and `GET /files/{id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.files import service
from runtime.files.sniff import IMAGES
from runtime.files.storage import read_chunks

router = APIRouter(tags=["files"])


class FileRef(BaseModel):
    id: str
    name: str
    size: int
    content_type: str


@router.post("/apps/{app}/files", status_code=status.HTTP_201_CREATED, response_model=FileRef,
             responses=errors(400, 404, 413))
def upload_file(app: str, ctx: CtxDep, actor: ActorDep,
                file: Annotated[UploadFile, File(description="the file")],
                kind: Annotated[str, Form(description="attachment | image | signature")]
                = "attachment") -> dict[str, Any]:
    """Store a file; put the returned reference in a record's attachment, image or
    signature field. The type is sniffed from the bytes; the name is sanitised."""
    with unit_of_work(ctx) as conn:
        return service.store_upload(conn, ctx, app=app, name=file.filename,
                                    chunks=read_chunks(file.file), kind=kind, actor=actor)


@router.get("/files/{file_id}", responses={
    **errors(404), 200: {"content": {"application/octet-stream": {}},
                         "description": "The file's bytes"}})
def download_file(file_id: str, ctx: CtxDep, _actor: ActorDep) -> FileResponse:
    with unit_of_work(ctx) as conn:
        row = service.get(conn, file_id)
    path = service.path_of(ctx, row)
    return FileResponse(path, media_type=row.content_type, headers={
        "Content-Disposition": service.content_disposition(
            row.name, inline=row.content_type in IMAGES),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400, immutable"})
