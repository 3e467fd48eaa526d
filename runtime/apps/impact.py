"""What publishing the draft would do to existing records, counted in SQL.

`engines.form.changes.diff_forms` lists each change between the published form and
its draft; a breaking one (a removed field, a narrowed type or range, a new required
field, a removed option, …) carries an expression over the *published* form that
selects the records it touches. Here each such expression is compiled against the
published form and pushed into SQL over `records` (all live records of the form,
whatever version wrote them) to count them and take a sample of ids. A form removed
from the draft touches all its records.

Publishing a draft with any touched record needs an explicit choice. Only `keep` is
offered for now: the records keep the form version they were written with and stay
readable as they are; they are validated against the new version only when next
edited. (Clearing values or transforming them are later choices.)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection, cast, func, literal, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from builder.bundle import Bundle, from_json
from engines.expr import ExprError, T, compile_expr
from engines.form.changes import diff_forms
from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.apps.registry import CompiledApp
from runtime.errors import BadRequest, Conflict, Detail
from runtime.expr.sql_context import RecordsSqlContext
from runtime.store.tables import app_versions, apps, records

MIGRATIONS = ("keep",)
SAMPLE = 5


def _published(conn: Connection, app: str) -> CompiledApp | None:
    row = conn.execute(select(apps.c.current_version).where(apps.c.key == app)).first()
    if row is None or row.current_version is None:
        return None
    doc = conn.execute(select(app_versions.c.bundle).where(
        app_versions.c.app == app, app_versions.c.number == row.current_version)).scalar()
    return CompiledApp(app, int(row.current_version), from_json(doc)) if doc else None


def _touched(conn: Connection, sctx: RecordsSqlContext,
             where: ColumnElement[bool]) -> tuple[int, list[str]]:
    cond = sctx.live() & where
    count = int(conn.execute(select(func.count()).select_from(records).where(cond))
                .scalar_one())
    if not count:
        return 0, []
    ids = conn.execute(select(records.c.id).where(cond).order_by(records.c.id)
                       .limit(SAMPLE)).scalars()
    return count, [str(i) for i in ids]


_HAS = re.compile(r"^not ISBLANK\(([A-Za-z_][A-Za-z0-9_]*)\)$")


def _has_value(dialect: str, key: str) -> ColumnElement[bool]:
    """The stored JSON has a non-blank value at `key` (not null, "", [] or {}).

    Read from the JSON itself rather than through the field's typed SQL cast, which
    may read a missing boolean as false: a removed field touches exactly the records
    that hold a value for it.
    """
    data = records.c.data
    if dialect == "postgresql":
        raw = data[key]
        blanks = [cast(literal(v), JSONB) for v in ("null", '""', "[]", "{}")]
        return raw.isnot(None) & raw.notin_(blanks)
    path = f"$.{key}"
    kind = func.json_type(data, path)
    return kind.isnot(None) & (kind != "null") & (
        func.coalesce(func.json_extract(data, path), "").notin_(["", "[]", "{}"])
        | kind.in_(["integer", "real", "true", "false"]))


def analyse(conn: Connection, app: str, draft: Bundle, *, now: datetime) -> list[dict[str, Any]]:
    """Every breaking change of the draft with the records it touches (possibly 0)."""
    published = _published(conn, app)
    if published is None:
        return []
    new_forms = draft.of("forms")
    out: list[dict[str, Any]] = []
    for key, old_spec in published.forms.items():
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app=app, form=key,
                                 forms=published.expr_forms, now=now)
        new_spec = new_forms.get(key)
        if new_spec is None:
            count, sample = _touched(conn, sctx, true())
            out.append({"form": key, "field": None, "kind": "form_removed",
                        "message": {"zh": f"删除了表单 {key}", "en": f"Form {key} removed"},
                        "affected": count, "sample": sample, "exact": True})
            continue
        scope = published.form(key).scope
        for change in diff_forms(old_spec, new_spec):  # type: ignore[arg-type]
            if not change.breaking:
                continue
            where: ColumnElement[bool] = true()
            exact = change.affects is None
            has = _HAS.match(change.affects or "")
            if has is not None:
                where, exact = _has_value(conn.dialect.name, has.group(1)), True
            elif change.affects is not None:
                try:
                    where = compile_expr(change.affects, scope, expect=T.BOOLEAN).to_sql(sctx)
                    exact = True
                except ExprError:
                    exact = False  # counted as every record: an upper bound
            count, sample = _touched(conn, sctx, where)
            out.append({"form": key, "field": change.field, "kind": change.kind,
                        "message": dict(change.message), "affected": count,
                        "sample": sample, "exact": exact})
    return out


def require_choice(conn: Connection, app: str, draft: Bundle, *, now: datetime,
                   migration: str | None) -> list[dict[str, Any]]:
    """Refuse (409 `needs_migration_choice`) a publish that touches existing records
    unless the caller chose what happens to them; returns the impacts."""
    if migration is not None and migration not in MIGRATIONS:
        raise BadRequest("migration 目前只能是 keep（记录保留原版本）",
                         "migration can only be keep for now (records keep their version)",
                         code="bad_migration")
    impacts = [i for i in analyse(conn, app, draft, now=now) if i["affected"]]
    if impacts and migration is None:
        details = [Detail(f"{i['form']}.{i['field']}" if i["field"] else i["form"], i["kind"], {
            "zh": f"{i['message']['zh']}：影响 {i['affected']} 条记录"
                  f"（如 {', '.join(i['sample'])}）",
            "en": f"{i['message']['en']}: {i['affected']} records affected "
                  f"(e.g. {', '.join(i['sample'])})"}) for i in impacts]
        raise Conflict("发布会影响已有记录，请选择处理方式（migration: keep）",
                       "Publishing affects existing records; choose what happens to them "
                       "(migration: keep)", code="needs_migration_choice", details=details)
    return impacts


router = APIRouter(tags=["apps"])


@router.get("/apps/{app}/publish/impact", responses=errors(404))
def publish_impact(app: str, ctx: CtxDep, _actor: ActorDep) -> dict[str, Any]:
    """The breaking changes of the draft and the existing records each touches."""
    from runtime.apps.service import draft_bundle

    with unit_of_work(ctx) as conn:
        draft = draft_bundle(conn, app)
        impacts = analyse(conn, app, draft, now=ctx.clock.now())
    return {"app": app, "impacts": impacts,
            "needs_choice": any(i["affected"] for i in impacts),
            "choices": list(MIGRATIONS)}
