"""Listing records: a filter expression, a sort, and keyset (cursor) pagination, all
pushed down to SQL.

The filter is the expression language compiled against the form (bad filters are a
422 naming the position); its SQL comes from the same checked tree as the Python back
end, with every value bound as a parameter. The cursor holds the last row's sort values
(as the database returned them) and id, so each page is an index range scan, never an
OFFSET that grows with the page number.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from engines.expr import ExprError, T, compile_expr
from engines.expr.workcal import WorkCalendar
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import BadRequest, Detail, ValidationFailed
from runtime.expr.sql_context import RecordsSqlContext
from runtime.forms.env import user_info
from runtime.records.service import record_json
from runtime.store.tables import records

MAX_SORT_KEYS = 5


def _expr_error(exc: ExprError, param: str) -> ValidationFailed:
    where = f"{param}:{exc.line}:{exc.column}" if exc.line else param
    return ValidationFailed(f"{param} 表达式有误：{exc.message['zh']}",
                            f"Bad {param} expression: {exc.message['en']}",
                            code="bad_expression",
                            details=[Detail(where, exc.code, dict(exc.message))])


def _sql_ctx(conn: Connection, ctx: Context, app: str, form: str, forms: Any,
             actor: Actor | None, calendar: WorkCalendar | None = None) -> RecordsSqlContext:
    return RecordsSqlContext(dialect=conn.dialect.name, app=app, form=form, forms=forms,
                             now=ctx.clock.now(), tz=ctx.tz, user=user_info(actor),
                             calendar=calendar)


def _sort_keys(sort: str | None, scope: Any) -> list[tuple[str, bool, T]]:
    """'-amount,name' → [(amount, descending, type), (name, ascending, type)]."""
    if not sort:
        return []
    keys = []
    for raw in sort.split(",")[:MAX_SORT_KEYS + 1]:
        name = raw.strip()
        desc = name.startswith("-")
        name = name.lstrip("-+").strip()
        f = scope.field_of(name) if name else None
        if f is None or f.type in (T.SUBFORM, T.LIST, T.RECORD):
            raise BadRequest(f"不能按 {name or raw!r} 排序", f"Cannot sort by {name or raw!r}",
                             code="bad_sort")
        keys.append((name, desc, f.type))
    if len(keys) > MAX_SORT_KEYS:
        raise BadRequest(f"最多按 {MAX_SORT_KEYS} 个字段排序",
                         f"Sort by at most {MAX_SORT_KEYS} fields", code="bad_sort")
    return keys


def build_list_query(conn: Connection, ctx: Context, *, app: str, form: str,
                     filter_expr: str | None, sort: str | None, limit: int,
                     cursor: str | None, actor: Actor | None = None) -> Select[Any]:
    capp = ctx.apps.current(conn, app)
    cform = capp.form(form)
    sctx = _sql_ctx(conn, ctx, app, form, capp.expr_forms, actor, capp.calendar)
    stmt = select(records).where(sctx.live())
    if filter_expr and filter_expr.strip():
        try:
            compiled = compile_expr(filter_expr, cform.scope, expect=T.BOOLEAN)
            stmt = stmt.where(compiled.to_sql(sctx))
        except ExprError as exc:
            raise _expr_error(exc, "filter") from None
    keys = _sort_keys(sort, cform.scope)
    cols = [records.c.id if name == "id" else sctx.field(name, t) for name, _, t in keys]
    for i, col in enumerate(cols):
        stmt = stmt.add_columns(col.label(f"_sort{i}"))
    order = []
    for (_, desc, _), col in zip(keys, cols, strict=True):
        order.append((col.desc() if desc else col.asc()).nulls_last())
    order.append(records.c.id.asc())
    stmt = stmt.order_by(*order)
    if cursor:
        values, last_id = _decode_cursor(cursor, sort or "")
        if len(values) != len(cols):
            raise _bad_cursor()
        stmt = stmt.where(_after(cols, [d for _, d, _ in keys], values, last_id))
    return stmt.limit(limit + 1)


def _after(cols: list[ColumnElement[Any]], desc: list[bool], values: list[Any],
           last_id: int) -> ColumnElement[bool]:
    """Rows strictly after (values, last_id) in ORDER BY cols (NULLS LAST), id."""
    condition: ColumnElement[bool] = records.c.id > last_id
    for col, d, v in reversed(list(zip(cols, desc, values, strict=True))):
        if v is None:
            # only NULLs come after a NULL, ordered by what follows
            condition = and_(col.is_(None), condition)
        else:
            beyond = col < v if d else col > v
            condition = or_(beyond, col.is_(None), and_(col == v, condition))
    return condition


def list_records(conn: Connection, ctx: Context, *, app: str, form: str,
                 filter_expr: str | None, sort: str | None, limit: int, cursor: str | None,
                 actor: Actor | None, lang: str = "zh") -> dict[str, Any]:
    stmt = build_list_query(conn, ctx, app=app, form=form, filter_expr=filter_expr,
                            sort=sort, limit=limit, cursor=cursor, actor=actor)
    rows = conn.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]._mapping
        n = sum(1 for k in last if str(k).startswith("_sort"))
        next_cursor = _encode_cursor([last[f"_sort{i}"] for i in range(n)], int(last["id"]),
                                     sort or "")
    return {"items": [record_json(r) for r in rows], "next_cursor": next_cursor}


# ------------------------------------------------------------------ cursors

def _tag(v: Any) -> list[Any]:
    if v is None:
        return ["n", None]
    if isinstance(v, bool):
        return ["b", v]
    if isinstance(v, Decimal):
        return ["d", str(v)]
    if isinstance(v, datetime):
        return ["t", v.isoformat()]
    if isinstance(v, date):
        return ["a", v.isoformat()]
    if isinstance(v, int | float | str):
        return ["v", v]
    return ["v", str(v)]


def _untag(pair: Any) -> Any:
    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
        raise _bad_cursor()
    kind, v = pair
    try:
        if kind == "n":
            return None
        if kind == "d":
            return Decimal(v)
        if kind == "t":
            return datetime.fromisoformat(v)
        if kind == "a":
            return date.fromisoformat(v)
        if kind in ("b", "v") and isinstance(v, bool | int | float | str):
            return v
    except (ValueError, TypeError, ArithmeticError):
        pass
    raise _bad_cursor()


def _sort_sig(sort: str) -> str:
    return hashlib.sha256(sort.encode()).hexdigest()[:8]


def _encode_cursor(values: list[Any], last_id: int, sort: str) -> str:
    doc = {"v": [_tag(v) for v in values], "i": last_id, "s": _sort_sig(sort)}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str, sort: str) -> tuple[list[Any], int]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise _bad_cursor() from None
    if not isinstance(doc, dict) or doc.get("s") != _sort_sig(sort) \
            or not isinstance(doc.get("i"), int) or not isinstance(doc.get("v"), list):
        raise _bad_cursor()
    return [_untag(p) for p in doc["v"]], int(doc["i"])


def _bad_cursor() -> BadRequest:
    return BadRequest("分页游标无效（或与排序不符）", "Invalid cursor (or not for this sort)",
                      code="bad_cursor")


__all__ = ["build_list_query", "list_records"]
