"""Importing a spreadsheet into a form: mapping, preview, dry run, upsert, modes.

Every row goes through the record lifecycle (`runtime.records.service.create_many` /
`update_record`): the same processing, uniqueness, numbering, history, rules and file
checks as the API. Rows are written in batches, each in a savepoint:

- a batch that passes is one multi-row insert (the fast path);
- a batch with invalid rows is split: the bad rows are reported with every error
  (`create_many` names the row of each error) and the rest written again;
- a batch refused for another reason (a duplicate unique value) is retried row by row
  to find the row.

The whole import runs in one outer savepoint, rolled back for a dry run and, in
`all_or_nothing` mode, when any row failed, so a failed import changes nothing. In
`skip_bad_rows` mode the good rows stay and the bad ones go to the error report.
Upsert: with `upsert_key`, a row whose key value matches a live record updates it
(`update_record`, blank cells keep the stored value); other rows are created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, select

from engines.form.importing import cell_value, importable, row_to_submission, suggest_mapping
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import BadRequest, Detail, LoomError, ValidationFailed
from runtime.expr.sql_context import RecordsSqlContext
from runtime.records import service as records_service
from runtime.store.tables import records
from runtime.transfer.reading import Limits, detect_format, open_sheet
from runtime.transfer.report import ErrorReport, reason_of

Mode = Literal["all_or_nothing", "skip_bad_rows"]
MODES = ("all_or_nothing", "skip_bad_rows")
Progress = Callable[[int, int | None], None]
_ROW_PREFIX = re.compile(r"^\[(\d+)\](?:\.(.*))?$")


@dataclass(frozen=True)
class ImportOptions:
    mapping: Mapping[str, str | None] | None = None
    mode: Mode = "all_or_nothing"
    upsert_key: str | None = None
    dry_run: bool = False
    lang: str = "zh"
    batch_size: int = 500
    max_errors_listed: int = 1000


@dataclass
class ImportResult:
    status: str = "done"  # done | failed | dry_run
    total: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    mapping: dict[str, str | None] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_report: dict[str, Any] | None = None
    report: ErrorReport | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "total": self.total, "created": self.created,
                "updated": self.updated, "failed": self.failed, "mapping": self.mapping,
                "errors": self.errors, "error_report": self.error_report}


def resolve_mapping(headers: list[str], cform: Any,
                    given: Mapping[str, str | None] | None) -> dict[str, str | None]:
    """The mapping to use: the given one checked (every column known, every field
    importable, no field twice), or the suggested one."""
    if given is None:
        return {m.column: m.field for m in suggest_mapping(headers, cform)}
    allowed = {p.key for p in importable(cform)}
    problems = []
    seen: set[str] = set()
    for column, key in given.items():
        if column not in headers:
            problems.append(Detail(f"mapping.{column}", "unknown_column", {
                "zh": f"文件中没有列「{column}」", "en": f"The file has no column '{column}'"}))
        if key is None:
            continue
        if key not in allowed:
            problems.append(Detail(f"mapping.{column}", "unknown_field", {
                "zh": f"字段 {key} 不存在或不能导入",
                "en": f"Field {key} does not exist or cannot be imported"}))
        elif key in seen:
            problems.append(Detail(f"mapping.{column}", "field_twice", {
                "zh": f"字段 {key} 被映射了两次", "en": f"Field {key} is mapped twice"}))
        seen.add(key)
    if problems:
        raise ValidationFailed("列映射有误", "The column mapping has errors",
                               code="bad_mapping", details=problems)
    return {column: given.get(column) for column in headers}


def preview(ctx: Context, conn: Connection, *, app: str, form: str, path: Path,
            name: str | None, limits: Limits, lang: str = "zh",
            rows: int = 10) -> dict[str, Any]:
    """Headers, the suggested mapping (with how each column matched) and first rows."""
    cform = ctx.apps.current(conn, app).form(form)
    sheet = open_sheet(path, detect_format(path, name), limits)
    try:
        first = []
        for number, cells in sheet.rows:
            first.append({"row": number, "cells": {k: _jsonable(v) for k, v in cells.items()}})
            if len(first) >= rows:
                break
    finally:
        sheet.close()
    suggested = suggest_mapping(sheet.headers, cform)
    lang_key = "en" if lang == "en" else "zh"
    fields = [{"key": p.key, "label": p.label[lang_key], "required": bool(p.spec.required)}
              for p in importable(cform)]
    return {"headers": sheet.headers, "declared_rows": sheet.declared_rows,
            "mapping": {m.column: m.field for m in suggested},
            "matches": [{"column": m.column, "field": m.field, "how": m.how, "score": m.score}
                        for m in suggested],
            "fields": fields, "rows": first}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class _Run:
    """One import's state while its rows stream through."""

    def __init__(self, conn: Connection, ctx: Context, *, app: str, form: str, actor: Actor,
                 options: ImportOptions, headers: list[str],
                 mapping: dict[str, str | None]) -> None:
        self.conn, self.ctx, self.app, self.form = conn, ctx, app, form
        self.actor, self.options = actor, options
        self.capp = ctx.apps.current(conn, app)
        self.cform = self.capp.form(form)
        self.mapping = mapping
        self.column_of = {key: column for column, key in mapping.items() if key}
        self.result = ImportResult(mapping=mapping)
        self.headers = headers
        self.report: ErrorReport | None = None  # made on the first failed row
        self.lang = "en" if options.lang == "en" else "zh"
        self.key_plan = self._key_plan(options.upsert_key)

    def _key_plan(self, key: str | None) -> Any:
        if key is None:
            return None
        plan = self.cform.by_key.get(key)
        if plan is None or key not in self.column_of:
            raise BadRequest(f"更新依据字段 {key} 不存在或没有映射到列",
                             f"The upsert key {key} is not a field mapped to a column",
                             code="bad_upsert_key")
        return plan

    # ------------------------------------------------------------ errors
    def fail(self, number: int, cells: Mapping[str, Any], details: Iterable[Detail]) -> None:
        errors = []
        for d in details:
            top = (d.field or "").split("[")[0].split(".")[0]
            errors.append({"row": number, "field": d.field, "column": self.column_of.get(top),
                           "code": d.code,
                           "message": d.message.get(self.lang) or d.message.get("en", "")})
        if not errors:
            errors.append({"row": number, "field": None, "column": None, "code": "failed",
                           "message": "failed"})
        self.result.failed += 1
        room = self.options.max_errors_listed - len(self.result.errors)
        if room > 0:
            self.result.errors.extend(errors[:room])
        if self.report is None:
            self.report = ErrorReport(self.headers, self.options.lang)
        self.report.add(number, cells, reason_of(errors))

    # ------------------------------------------------------------ writing
    def batch(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        subs = [(n, cells, row_to_submission(cells, self.mapping, self.cform))
                for n, cells in rows]
        if self.key_plan is not None:
            existing = self._existing([s for _, _, s in subs])
            creates = []
            for n, cells, sub in subs:
                rid = existing.get(self._key_text(sub.get(self.key_plan.key)))
                if rid is None:
                    creates.append((n, cells, sub))
                else:
                    self._update(n, cells, sub, rid)
            subs = creates
        if subs:
            self._create(subs)

    def _key_text(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def _existing(self, subs: list[dict[str, Any]]) -> dict[str | None, int]:
        key = self.key_plan.key
        values = {self._key_text(cell_value(self.key_plan, s.get(key))) for s in subs}
        values.discard(None)
        if not values:
            return {}
        field_type = self.cform.scope.field_of(key)
        sctx = RecordsSqlContext(dialect=self.conn.dialect.name, app=self.app, form=self.form,
                                 forms=self.capp.expr_forms, tz=self.ctx.tz)
        col = sctx.field(key, field_type.type)
        rows = self.conn.execute(select(records.c.id, col.label("k")).where(
            sctx.live(), col.in_(sorted(str(v) for v in values)))).all()
        return {self._key_text(r.k): int(r.id) for r in rows}

    def _update(self, number: int, cells: dict[str, Any], sub: dict[str, Any],
                rid: int) -> None:
        try:
            with self.conn.begin_nested():
                records_service.update_record(self.conn, self.ctx, app=self.app,
                                              form=self.form, record_id=rid, patch=sub,
                                              actor=self.actor, lang=self.lang)
        except LoomError as err:
            self.fail(number, cells, err.details or [Detail(None, err.code, err.message)])
            return
        self.result.updated += 1

    def _create(self, subs: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
        try:
            with self.conn.begin_nested():
                records_service.create_many(self.conn, self.ctx, app=self.app, form=self.form,
                                            rows=[s for _, _, s in subs], actor=self.actor,
                                            lang=self.lang)
        except ValidationFailed as err:
            by_row = self._split(err, len(subs))
            if by_row is None:
                self._one_by_one(subs)
                return
            good = [s for i, s in enumerate(subs) if i not in by_row]
            for i, details in sorted(by_row.items()):
                self.fail(subs[i][0], subs[i][1], details)
            if good:
                self._create(good)
            return
        except LoomError:  # e.g. a duplicate unique value: find the row
            self._one_by_one(subs)
            return
        self.result.created += len(subs)

    @staticmethod
    def _split(err: ValidationFailed, size: int) -> dict[int, list[Detail]] | None:
        """The errors of `create_many` by row index, None when they cannot be placed."""
        if size == 1:
            return {0: list(err.details)}
        out: dict[int, list[Detail]] = {}
        for d in err.details:
            m = _ROW_PREFIX.match(d.field or "")
            if m is None or int(m.group(1)) >= size:
                return None
            out.setdefault(int(m.group(1)), []).append(Detail(m.group(2), d.code, d.message))
        return out or None

    def _one_by_one(self, subs: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
        for n, cells, sub in subs:
            try:
                with self.conn.begin_nested():
                    records_service.create(self.conn, self.ctx, app=self.app, form=self.form,
                                           data=sub, actor=self.actor, lang=self.lang)
            except LoomError as err:
                self.fail(n, cells, err.details or [Detail(None, err.code, err.message)])
                continue
            self.result.created += 1


def run_import(conn: Connection, ctx: Context, *, app: str, form: str, path: Path,
               name: str | None, options: ImportOptions, actor: Actor,
               limits: Limits | None = None, progress: Progress | None = None) -> ImportResult:
    """Import the file at `path` (named `name`, for its extension) into `form`.

    Runs in the caller's transaction and never commits; a dry run or a failed
    all-or-nothing import leaves the database as it found it. The error report (when
    rows failed) is in `result.report`; the caller stores it (`store_report`).
    """
    if options.mode not in MODES:
        raise BadRequest(f"mode 应为 {' 或 '.join(MODES)}", f"mode must be one of {MODES}",
                         code="bad_mode")
    limits = limits or Limits()
    sheet = open_sheet(path, detect_format(path, name), limits)
    try:
        cform = ctx.apps.current(conn, app).form(form)
        mapping = resolve_mapping(sheet.headers, cform, options.mapping)
        if not any(mapping.values()):
            raise BadRequest("没有任何列对应到表单字段", "No column maps to a field of the form",
                             code="bad_mapping")
        run = _Run(conn, ctx, app=app, form=form, actor=actor, options=options,
                   headers=sheet.headers, mapping=mapping)
        outer = conn.begin_nested()
        try:
            pending: list[tuple[int, dict[str, Any]]] = []
            for number, cells in sheet.rows:
                pending.append((number, cells))
                run.result.total += 1
                if len(pending) >= options.batch_size:
                    run.batch(pending)
                    pending = []
                    if progress:
                        progress(run.result.total, sheet.declared_rows)
            if pending:
                run.batch(pending)
            if progress:
                progress(run.result.total, run.result.total)
        except BaseException:
            outer.rollback()
            if run.report is not None:
                run.report.discard()
            raise
        result = run.result
        if options.dry_run:
            result.status = "dry_run"
            outer.rollback()
        elif result.failed and options.mode == "all_or_nothing":
            result.status = "failed"
            result.created = result.updated = 0
            outer.rollback()
        else:
            outer.commit()
        result.report = run.report
        return result
    finally:
        sheet.close()


def store_report(conn: Connection, ctx: Context, *, app: str, form: str,
                 result: ImportResult, actor: Actor) -> None:
    """Keep the error report as a file (downloadable at `GET /files/{id}`)."""
    if result.report is None:
        return
    from runtime.files.service import store_generated
    from runtime.files.sniff import XLSX

    result.error_report = store_generated(
        conn, ctx, app=app, name=f"{form}-import-errors.xlsx",
        content=result.report.to_bytes(), content_type=XLSX, actor=actor)
