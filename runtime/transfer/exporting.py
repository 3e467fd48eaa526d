"""Exporting a filtered list of a form's records as XLSX or CSV.

The list is the same query as `GET …/records` (filter expression and sort pushed down
to SQL), read with a server-side cursor in chunks, so a large export never holds the
table in memory: CSV is streamed to the client as it is produced; XLSX is written by
openpyxl's write-only mode (rows go to a temporary file) and then streamed.

Cells: labels in the request's language as headers; numbers and money as numbers
(money exact, as a Decimal); dates and date-times as Excel dates (date-times in the
deployment's time zone, since Excel has none); options as their labels; several
values joined by ", " (which import splits again); text starting with `= + - @` (or
a tab or carriage return) prefixed with `'` so no spreadsheet runs it as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from engines.common import Lang, text_of
from engines.form.catalogue import CHOICE_TYPES, FILE_TYPES
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.records.query import build_list_query

MAX_EXPORT_ROWS = 1_000_000
CHUNK_ROWS = 1000
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_SYSTEM = {"id", "created_at", "created_by", "updated_at", "updated_by", "owner"}
_NUMBER_FORMAT = {"money": "#,##0.00", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss",
                  "time": "hh:mm:ss", "percent": "0.00"}


def escape(text: str) -> str:
    return "'" + text if text.startswith(_DANGEROUS) else text


class Columns:
    """The export's columns for one form and language, and each cell's value."""

    def __init__(self, cform: Any, lang: str, tz: ZoneInfo) -> None:
        self.lang: Lang = "en" if lang == "en" else "zh"
        self.tz = tz
        self.plans = [p for p in cform.plans if p.rows is None and (
            p.stores or p.type in ("created_by", "created_at", "updated_by", "updated_at"))]
        self.options = {p.key: {o.value: text_of(o.label, self.lang)
                                for o in getattr(p.spec, "options", [])} for p in self.plans
                        if p.type in CHOICE_TYPES}

    @property
    def headers(self) -> list[str]:
        return ["ID", *(p.label[self.lang] or p.key for p in self.plans)]

    def values(self, row: Mapping[str, Any]) -> list[Any]:
        data = row["data"] or {}
        out: list[Any] = [int(row["id"])]
        for p in self.plans:
            raw = row[p.type] if p.type in _SYSTEM and not p.stores else data.get(p.key)
            out.append(self._cell(p, raw))
        return out

    def _cell(self, plan: Any, value: Any) -> Any:
        if value is None or value in ([], ""):
            return None
        t = plan.type
        if t in CHOICE_TYPES:
            labels = self.options.get(plan.key, {})
            items = value if isinstance(value, list) else [value]
            return escape(", ".join(str(labels.get(v, v)) for v in items))
        if t == "money":
            try:
                return Decimal(str(value))
            except InvalidOperation:
                return escape(str(value))
        if isinstance(value, bool | int | float) and t != "text":
            return value
        if t == "date" and isinstance(value, str):
            return _parse(date.fromisoformat, value)
        if t in ("datetime", "created_at", "updated_at"):
            return self._local(value)
        if t == "time" and isinstance(value, str):
            return _parse(time.fromisoformat, value)
        if t in FILE_TYPES:
            return escape(", ".join(str(f.get("name", "")) for f in value
                                    if isinstance(f, dict)))
        if t == "address" and isinstance(value, dict):
            return escape("".join(str(value.get(k) or "") for k in
                                  ("province", "city", "district", "detail")))
        if t == "location" and isinstance(value, dict):
            return f"{value.get('lat')},{value.get('lng')}"
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            return escape(", ".join(str(v) for v in value))
        if isinstance(value, dict | list):
            return escape(json.dumps(value, ensure_ascii=False))
        return escape(str(value))

    def _local(self, value: Any) -> Any:
        if isinstance(value, datetime):
            at = value
        else:
            try:
                at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                return escape(str(value))
        if at.tzinfo is not None:
            at = at.astimezone(self.tz).replace(tzinfo=None)
        return at

    def format_of(self, index: int) -> str | None:
        if index == 0:
            return None
        t = self.plans[index - 1].type
        if t in ("created_at", "updated_at"):
            t = "datetime"
        return _NUMBER_FORMAT.get(t)


def _parse(fn: Any, value: str) -> Any:
    try:
        return fn(value)
    except ValueError:
        return escape(value)


def _rows(conn: Connection, ctx: Context, *, app: str, form: str, filter_expr: str | None,
          sort: str | None, actor: Actor | None) -> Iterator[Mapping[str, Any]]:
    stmt = build_list_query(conn, ctx, app=app, form=form, filter_expr=filter_expr,
                            sort=sort, limit=MAX_EXPORT_ROWS - 1, cursor=None, actor=actor)
    result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(stmt)
    for row in result:
        yield dict(row._mapping)


def prepare(conn: Connection, ctx: Context, *, app: str, form: str, lang: str,
            filter_expr: str | None, sort: str | None, actor: Actor | None) -> Columns:
    """Check the form, filter and sort before a response starts (errors stay 4xx)."""
    cform = ctx.apps.current(conn, app).form(form)
    build_list_query(conn, ctx, app=app, form=form, filter_expr=filter_expr, sort=sort,
                     limit=1, cursor=None, actor=actor)
    return Columns(cform, lang, ctx.tz)


def csv_chunks(ctx: Context, columns: Columns, *, app: str, form: str,
               filter_expr: str | None, sort: str | None,
               actor: Actor | None) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (Excel then reads Chinese correctly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns.headers)
    with ctx.engine.connect() as conn:
        for i, row in enumerate(_rows(conn, ctx, app=app, form=form, filter_expr=filter_expr,
                                      sort=sort, actor=actor)):
            writer.writerow(["" if v is None else _csv_text(v) for v in columns.values(row)])
            if i % CHUNK_ROWS == CHUNK_ROWS - 1:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def write_xlsx(ctx: Context, columns: Columns, *, app: str, form: str,
               filter_expr: str | None, sort: str | None, actor: Actor | None,
               title: str) -> Path:
    """Write the export to a temporary file and return its path (the caller removes it)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet("".join(c for c in title if c not in "[]:*?/\\")[:31] or "data")
    bold = Font(bold=True)
    header = []
    for text in columns.headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [columns.format_of(i) for i in range(len(columns.headers))]
    with ctx.engine.connect() as conn:
        for row in _rows(conn, ctx, app=app, form=form, filter_expr=filter_expr, sort=sort,
                         actor=actor):
            cells: list[Any] = []
            for value, fmt in zip(columns.values(row), formats, strict=True):
                if fmt is None or value is None or isinstance(value, str):
                    cells.append(value)
                    continue
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = fmt
                cells.append(cell)
            sheet.append(cells)
    fd, name = tempfile.mkstemp(prefix="loom-export-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    book.save(path)
    return path
