"""Build the one SQL statement of a report call.

One SELECT over `records` (aliased `src`) with a LEFT JOIN per relation, the
report's filters, the viewer's parameters, the drill path's clicked values and the
dashboard's global and linkage filters in WHERE, the dimensions in GROUP BY and
the measures (aggregates, `FILTER (WHERE …)`, ratios and formulas) in the select
list. Totals and subtotals are the same SELECT grouped by fewer dimensions,
`UNION ALL`-ed into the same statement with a `_level` column (0 detail, 1
subtotal, 2 total): exact for every measure (a distinct count or a ratio of a total
is not the sum of its rows), on both dialects (SQLite has no ROLLUP).

Every value from the viewer is a bound parameter; building a statement touches no
database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    CompoundSelect,
    Date,
    DateTime,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    distinct,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from engines.common import both
from engines.report.compile import CompiledDimension, CompiledMeasure, CompiledReport
from engines.report.fields import ResolvedField
from engines.report.sqlbuild import (
    Dialect,
    bucket,
    coerce_for,
    field_column,
    relation_target_id,
    sql_type_for,
)

LEVEL = "_level"


class QueryError(ValueError):
    """A call the report cannot answer: a bad parameter, filter value or drill."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code = code
        self.message = both(zh, en)


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """A filter from outside the report: a dashboard's global filter, a drill or a
    linkage click. `op` is `eq` (value), `in` (a list) or `range` ((from, to),
    inclusive, either None); `bucket` compares a date's bucket label. `form`, when
    set, is the form the field must belong to once resolved (a linkage click on
    `created_at` of tickets must not filter another form's `created_at`)."""

    field: str
    value: Any
    op: Literal["eq", "in", "range"] = "eq"
    bucket: str | None = None
    form: str | None = None


@dataclass(frozen=True)
class ReportQuery:
    statement: Select[Any] | CompoundSelect[Any]
    dimensions: tuple[CompiledDimension, ...]
    measures: tuple[CompiledMeasure, ...]
    with_levels: bool
    row_limit: int | None  # a result with more detail rows than this is refused
    drill_level: int
    drill_values: tuple[Any, ...]
    can_drill: bool
    skipped_filters: tuple[str, ...]  # outside filters this report cannot apply


class _Sources:
    """The aliased tables of one statement and the SQL value of any name."""

    def __init__(self, report: CompiledReport, app: str, table: Table,
                 dialect: Dialect) -> None:
        self.report, self.app, self.dialect = report, app, dialect
        self.table = table
        self.src: FromClause = table.alias("src")
        self.joins: dict[str, FromClause] = {r: table.alias(f"j_{r}") for r in report.relations}

    def ensure_join(self, relation: str) -> FromClause:
        if relation not in self.joins:
            self.joins[relation] = self.table.alias(f"j_{relation}")
        return self.joins[relation]

    def field(self, field: ResolvedField) -> ColumnElement[Any]:
        table = self.src if field.relation is None else self.ensure_join(field.relation)
        return field_column(table, field, self.dialect)

    def from_clause(self) -> FromClause:
        clause: FromClause = self.src
        catalog = self.report.catalog
        for relation, alias in self.joins.items():
            target = catalog[self.report.source][relation].target
            rel_id = relation_target_id(self.src, relation, self.dialect)
            clause = clause.outerjoin(alias, and_(
                alias.c.id == rel_id, alias.c.app == self.app, alias.c.form == target,
                alias.c.deleted_at.is_(None)))
        return clause

    def base_where(self) -> list[ColumnElement[bool]]:
        return [self.src.c.app == bindparam("app", self.app),
                self.src.c.form == bindparam("form", self.report.source),
                self.src.c.deleted_at.is_(None)]


def build_query(report: CompiledReport, *, app: str, dialect: Dialect, table: Table,
                params: Mapping[str, Any], now: datetime,
                drill: Sequence[Any] = (), filters: Sequence[FieldFilter] = (),
                row_limit: int | None = None, totals: bool | None = None,
                subtotals: bool | None = None) -> ReportQuery:
    """The statement for one call. `params` are resolved values (`resolve_params`)."""
    spec = report.spec
    sources = _Sources(report, app, table, dialect)
    dims, level, can_drill, drill_filters = _drill(report, drill)
    names = _param_columns(report, params, dialect)

    def column(name: str) -> ColumnElement[Any]:
        if name in names:
            return names[name]
        found = report.resolve(name)
        if found is None:
            raise QueryError("unknown_name", f"未知名称：{name}", f"unknown name: {name}")
        return sources.field(found)

    def expr_sql(source: str) -> ColumnElement[Any]:
        return report.backend.to_sql(source, fields=report.fields, names=report.param_kinds,
                                     column=column, dialect=dialect, tz=report.tz.key, now=now)

    where = sources.base_where()
    where += [expr_sql(f) for f in spec.filters]
    where += [expr_sql(p.filter) for p in spec.params
              if p.filter is not None and params.get(p.key) is not None]
    skipped: list[str] = []
    for f in (*drill_filters, *filters):
        condition = _field_filter(report, sources, f, dialect)
        if condition is None:
            skipped.append(f.field)
        else:
            where.append(condition)

    dim_cols = [_dimension_sql(report, sources, d, dialect, expr_sql).label(d.key) for d in dims]
    measure_cols = _measure_sql(report, sources, expr_sql)
    labelled = [measure_cols[m.key].label(m.key) for m in report.measures]
    want_totals = bool(spec.totals if totals is None else totals)
    want_subtotals = bool(spec.subtotals if subtotals is None else subtotals)
    limit = spec.limit
    if row_limit is not None and (limit is None or limit > row_limit):
        limit = row_limit + 1

    def grouped(n_dims: int, lvl: int | None) -> Select[Any]:
        cols: list[Any] = list(dim_cols[:n_dims])
        cols += [literal(None, d.type).label(d.key) for d in dim_cols[n_dims:]]
        if lvl is not None:
            cols.append(literal(lvl, Integer).label(LEVEL))
        stmt = select(*cols, *labelled).select_from(sources.from_clause()).where(*where)
        # By position: an expression dimension may hold bound values, and PostgreSQL
        # would not see `f($1)` in SELECT and `f($2)` in GROUP BY as the same.
        positions: list[Any] = [literal_column(str(i + 1)) for i in range(n_dims)]
        return stmt.group_by(*positions) if n_dims else stmt

    statement = _assemble(grouped, len(dim_cols), _order(report, dims), limit,
                          totals=want_totals, subtotals=want_subtotals)
    return ReportQuery(statement, dims, report.measures, want_totals or want_subtotals,
                       row_limit if limit is not None and limit != spec.limit else None,
                       level, tuple(drill), can_drill, tuple(skipped))


def _assemble(grouped: Callable[[int, int | None], Select[Any]], n_dims: int,
              order: list[tuple[str, bool]], limit: int | None, *, totals: bool,
              subtotals: bool) -> Select[Any] | CompoundSelect[Any]:
    """The detail SELECT, or detail + subtotal + total levels in one UNION ALL."""
    with_levels = totals or subtotals
    detail = grouped(n_dims, 0 if with_levels else None)
    detail = detail.order_by(*[_ordered(detail.selected_columns[k], desc) for k, desc in order])
    if limit is not None:
        detail = detail.limit(limit)
    if not with_levels:
        return detail
    parts: list[Select[Any]] = [select(*detail.subquery("detail").c)]
    if subtotals and n_dims > 1:
        parts.append(grouped(1, 1))
    if totals or subtotals:
        parts.append(grouped(0, 2))
    compound = union_all(*parts)
    keys = [(LEVEL, False), *order]
    return compound.order_by(*[_ordered(compound.selected_columns[k], desc) for k, desc in keys])


def _ordered(col: ColumnElement[Any], desc: bool) -> ColumnElement[Any]:
    return (col.desc() if desc else col.asc()).nulls_last()


def _order(report: CompiledReport, dims: Sequence[CompiledDimension]) -> list[tuple[str, bool]]:
    if report.spec.sort:
        return [(s.key, s.desc) for s in report.spec.sort]
    return [(d.key, False) for d in dims]


def _drill(report: CompiledReport, drill: Sequence[Any]) -> tuple[
        tuple[CompiledDimension, ...], int, bool, list[FieldFilter]]:
    dims = report.dimensions
    path = report.spec.drill
    if not path:
        if drill:
            raise QueryError("no_drill_path", "该报表没有下钻路径",
                             "this report has no drill path")
        return dims, 0, False, []
    level = len(drill)
    if level >= len(path):
        raise QueryError("drill_too_deep", "已到下钻路径的最后一级",
                         "the drill path has no further level")
    filters = [FieldFilter(path[i], v) for i, v in enumerate(drill)]
    at = next((i for i, d in enumerate(dims) if d.spec.field == path[0]), 0)
    if level and dims:
        field = report.drill[level]
        drilled = replace(dims[at], spec=dims[at].spec.model_copy(
            update={"field": path[level], "bucket": None}), field=field, kind=field.kind)
        dims = (*dims[:at], drilled, *dims[at + 1:])
    return dims, level, level + 1 < len(path), filters


def _param_columns(report: CompiledReport, params: Mapping[str, Any],
                   dialect: Dialect) -> dict[str, ColumnElement[Any]]:
    """Parameters bound in the expression language's SQL representation: dates and
    instants typed on PostgreSQL, ISO text on SQLite."""
    out: dict[str, ColumnElement[Any]] = {}
    for p in report.spec.params:
        value = params.get(p.key)
        kind = report.param_kinds[p.key]
        type_: Any = sql_type_for(ResolvedField(None, "", "", kind))
        if kind == "boolean":
            type_ = Boolean
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
            if dialect == "postgresql":
                type_ = DateTime(timezone=True)
            else:
                value = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(value, date):
            if dialect == "postgresql":
                type_ = Date
            else:
                value = value.isoformat()
        out[p.key] = bindparam(f"param_{p.key}", value, type_=type_)
    return out


def _dimension_sql(report: CompiledReport, sources: _Sources, dim: CompiledDimension,
                   dialect: Dialect, expr_sql: Any) -> ColumnElement[Any]:
    if dim.field is None:
        result: ColumnElement[Any] = expr_sql(str(dim.spec.expr))
        return result
    value = sources.field(dim.field)
    if dim.spec.bucket:
        return bucket(value, dim.field, dim.spec.bucket, dialect, report.tz)
    return value


def _measure_sql(report: CompiledReport, sources: _Sources,
                 expr_sql: Any) -> dict[str, ColumnElement[Any]]:
    out: dict[str, ColumnElement[Any]] = {}
    formulas = [m for m in report.measures if m.formula]
    for m in report.measures:
        if m.formula:
            continue
        value = sources.field(m.field) if m.field else None
        agg = m.spec.agg
        if agg == "count":
            col: Any = func.count(value) if value is not None else func.count()
        elif agg == "distinct_count":
            col = func.count(distinct(value)) if value is not None else func.count()
        else:
            col = getattr(func, str(agg))(value)
        if m.spec.where is not None:
            col = col.filter(expr_sql(m.spec.where))
        out[m.key] = col
    pending = list(formulas)
    while pending:
        m = pending.pop(0)
        if m.formula is None:
            continue
        if all(n in out for n in m.formula.names):
            out[m.key] = m.formula.to_sql(out.__getitem__)
        else:
            pending.append(m)
    return out


def _field_filter(report: CompiledReport, sources: _Sources, f: FieldFilter,
                  dialect: Dialect) -> ColumnElement[bool] | None:
    field = report.resolve(f.field)
    if field is None or (f.form is not None and field.form != f.form):
        return None
    col = sources.field(field)
    bucket_name = f.bucket
    if field.kind in ("datetime", "timestamp"):  # viewers pick days, not instants
        bucket_name = bucket_name or "day"
    if bucket_name:
        col = bucket(col, field, bucket_name, dialect, report.tz)
        field = ResolvedField(field.relation, field.form, field.key, "text")
    try:
        if f.op == "in":
            values = [coerce_for(field, v) for v in (f.value or [])]
            condition: ColumnElement[bool] = col.in_(values)
            return condition
        if f.op == "range":
            lo, hi = (f.value or (None, None))
            parts = []
            if lo is not None:
                parts.append(col >= coerce_for(field, lo))
            if hi is not None:
                parts.append(col <= coerce_for(field, hi))
            condition = and_(*parts) if parts else true()
        elif f.value is None:
            condition = col.is_(null())
        else:
            condition = col == coerce_for(field, f.value)
        return condition
    except (TypeError, ValueError) as exc:
        raise QueryError("bad_filter_value", f"筛选值无效：{f.field} = {f.value!r}",
                         f"bad filter value: {f.field} = {f.value!r}") from exc
