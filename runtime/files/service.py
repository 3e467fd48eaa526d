"""Files: accept an upload, describe and serve a stored file, record references.

A record keeps references `{"id", "name", "size", "content_type"}` (engines.form
checks their shape); this module is where they come from (`store_upload`) and where
a reference to a file that does not exist in the record's app is refused
(`check_references`, run by the write hook in `runtime.files.hooks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, insert, select

from engines.form.catalogue import FILE_TYPES
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import BadRequest, Detail, ValidationFailed, not_found
from runtime.files import sniff
from runtime.files.storage import FileStore
from runtime.store.tables import files

KINDS = tuple(sniff.ALLOWED)


def store_of(ctx: Context) -> FileStore:
    return FileStore(ctx.settings.files_path)


def ref_of(row: Any) -> dict[str, Any]:
    m = row._mapping if hasattr(row, "_mapping") else row
    return {"id": m["id"], "name": m["name"], "size": int(m["size"]),
            "content_type": m["content_type"]}


def store_upload(conn: Connection, ctx: Context, *, app: str, name: str | None,
                 chunks: Iterable[bytes], kind: str, actor: Actor,
                 limit: int | None = None) -> dict[str, Any]:
    """Stream an upload into the store and record it; returns the file reference.

    Raises TooLarge (413) over the limit, BadRequest (400) for a type the field kind
    does not take — decided from the bytes, never from the client's headers.
    """
    if kind not in KINDS:
        raise BadRequest(f"文件类别应为 {', '.join(KINDS)}", f"kind must be one of {KINDS}",
                         code="bad_kind")
    ctx.apps.current(conn, app)
    store = store_of(ctx)
    staged = store.stage(chunks, limit=limit or ctx.settings.upload_limit,
                         head_bytes=sniff.HEAD_BYTES)
    try:
        if staged.size == 0:
            raise BadRequest("文件为空", "The file is empty", code="empty_file")
        ctype = sniff.sniff(staged.head, staged.path, name or "",
                            complete=staged.size <= len(staged.head))
        if ctype is None or not sniff.accepted(kind, ctype):
            what = ctype or "unknown"
            raise BadRequest(f"不接受此类文件（{what}）作为{kind}",
                             f"Files of this type ({what}) are not accepted as {kind}",
                             code="file_type")
    except BaseException:
        store.discard(staged)
        raise
    store.keep(staged)
    return _insert(conn, ctx, app=app, name=sniff.sanitise_name(name, ctype), ctype=ctype,
                   size=staged.size, sha256=staged.sha256, actor=actor)


def store_generated(conn: Connection, ctx: Context, *, app: str, name: str, content: bytes,
                    content_type: str, actor: Actor) -> dict[str, Any]:
    """Keep a file the platform made (an import's error report) like an upload."""
    sha, _ = store_of(ctx).put_bytes(content)
    return _insert(conn, ctx, app=app, name=sniff.sanitise_name(name, content_type),
                   ctype=content_type, size=len(content), sha256=sha, actor=actor)


def _insert(conn: Connection, ctx: Context, *, app: str, name: str, ctype: str, size: int,
            sha256: str, actor: Actor) -> dict[str, Any]:
    row = {"id": uuid.uuid4().hex, "app": app, "name": name, "content_type": ctype,
           "size": size, "sha256": sha256, "created_at": ctx.clock.now(),
           "created_by": actor.username}
    conn.execute(insert(files).values(row))
    return ref_of(row)


def get(conn: Connection, file_id: str) -> Any:
    row = conn.execute(select(files).where(files.c.id == file_id)).first() \
        if len(file_id) <= 32 else None
    if row is None:
        raise not_found("文件", "File", file_id)
    return row


def path_of(ctx: Context, row: Any) -> Path:
    path = store_of(ctx).path_of(row.sha256)
    if not path.is_file():
        raise not_found("文件内容", "File content", row.id)
    return path


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266 with an RFC 5987 `filename*` so Chinese names survive every browser,
    and a plain ASCII `filename` for old clients."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in name) or "file"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def references_in(cform: Any, data: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """Every (field path, reference) in `data` for the form's file fields, subform rows
    included (`lines[2].photo`)."""
    if not data:
        return []
    out: list[tuple[str, dict[str, Any]]] = []
    for plan in cform.plans:
        if plan.type in FILE_TYPES:
            out += [(plan.key, r) for r in _refs(data.get(plan.key))]
        elif plan.rows is not None:
            inner = [r for r in plan.rows.fields if r.type in FILE_TYPES]
            rows = data.get(plan.key)
            for i, row in enumerate(rows if isinstance(rows, list) else []):
                if isinstance(row, Mapping):
                    for r in inner:
                        out += [(f"{plan.key}[{i}].{r.key}", ref)
                                for ref in _refs(row.get(r.key))]
    return out


def _refs(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [r for r in items if isinstance(r, dict) and isinstance(r.get("id"), str)]


def check_references(conn: Connection, *, app: str, cform: Any, new: Mapping[str, Any] | None,
                     old: Mapping[str, Any] | None) -> None:
    """Refuse references to files that do not exist in `app`, or whose size or type
    differ from the stored file's (a client cannot relabel an upload). References the
    record already had are not checked again."""
    before = {r["id"] for _, r in references_in(cform, old)}
    wanted = [(path, r) for path, r in references_in(cform, new) if r["id"] not in before]
    if not wanted:
        return
    ids = sorted({r["id"] for _, r in wanted})
    stored = {row.id: row for row in conn.execute(
        select(files.c.id, files.c.size, files.c.content_type)
        .where(files.c.app == app, files.c.id.in_(ids)))}
    problems = []
    for path, ref in wanted:
        row = stored.get(ref["id"])
        if row is None:
            problems.append(Detail(path, "file_missing", {
                "zh": f"文件不存在：{ref['id']}", "en": f"File not found: {ref['id']}"}))
        elif int(row.size) != ref.get("size") or row.content_type != ref.get("content_type"):
            problems.append(Detail(path, "file_mismatch", {
                "zh": f"文件引用与已存文件不符：{ref['id']}",
                "en": f"The reference does not match the stored file: {ref['id']}"}))
    if problems:
        raise ValidationFailed("提交的数据有误", "The submission has errors", details=problems)
