"""Build the one SQL statement of a report call.

One SELECT over `records` (aliased `src`) with a LEFT JOIN per relation, the
report's filters, the viewer's parameters, the drill path's clicked values and the
dashboard's global and linkage filters in WHERE, the dimensions in GROUP BY and
the measures (aggregates, `FILTER (WHERE …)`, ratios and formulas) in the select
list. Totals and subtotals are the same SELECT grouped by fewer dimensions,
`UNION ALL`-ed into the same statement with a `_level` column (0 detail, 1
subtotal, 2 total): exact for every measure (a distinct count or a ratio of a total
is not the sum of its rows), on both dialects (SQLite has no ROLLUP). On PostgreSQL
the levels come from one scan instead (`GROUPING SETS`, see `_grouping_sets`).

A call is first *planned* (`plan_query`: what is grouped — each dimension's per-row
key and its label —, aggregated and filtered, each condition with an identity), then
made a statement (`statement_of`). The plan is what lets a dashboard fuse the calls
of several widgets over one form into one scan (`engines.report.fuse`). Where the
statement reads from, and the filters from outside the report, are in
`engines.report.sources`.

Every value from the viewer is a bound parameter; building a statement touches no
database.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    Table,
    and_,
    case,
    distinct,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from engines.report.compile import CompiledDimension, CompiledMeasure, CompiledReport
from engines.report.fields import ResolvedField
from engines.report.projection import narrow_or_records
from engines.report.sources import (
    FieldColumn,
    FieldFilter,
    QueryError,
    Sources,
    field_filter,
    field_rebuild,
    param_columns,
)
from engines.report.sqlbuild import (
    Dialect,
    FineKey,
    Label,
    bucket_parts,
    fine_bucket,
    same,
)

LEVEL = "_level"


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


@dataclass(frozen=True, slots=True)
class Condition:
    """A WHERE condition of a call. `ident`: what makes it the same condition in
    another widget's call. `fields` and `rebuild`: the record fields it reads and the
    same condition over other columns holding them (a fused grain), when it can be."""

    ident: Hashable
    sql: ColumnElement[bool]
    fields: tuple[ResolvedField, ...] = ()
    rebuild: Callable[[FieldColumn], ColumnElement[bool]] | None = None


@dataclass(frozen=True, slots=True)
class Grouping:
    """A dimension's SQL: the per-row key grouped by and the label shown from it."""

    key: ColumnElement[Any]
    label: Label
    by_position: bool  # an expression that may hold bound values: GROUP BY its position
    ident: Hashable  # equal idents group by the same values
    fine: FineKey | None = None  # what a fused grain may group by instead of `key`

    def grain(self) -> tuple[Hashable, ColumnElement[Any]]:
        """The ident and the per-row expression a fused grain groups this by."""
        if self.fine is None:
            return self.ident, self.key
        return self.fine.ident, self.fine.key

    def from_grain(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """This grouping's key computed from its grain column."""
        return column if self.fine is None else self.fine.coarsen(column)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A measure aggregated over rows (formula measures are computed from these)."""

    agg: str
    value: ColumnElement[Any] | None
    where: ColumnElement[bool] | None
    ident: Hashable  # equal idents aggregate the same values the same way


@dataclass(frozen=True)
class CallPlan:
    """One call of a report, before it becomes a statement: what is grouped, aggregated
    and filtered. `build_query` makes the plain statement from it; a dashboard can fuse
    the plans of several widgets into one scan (`engines.report.fuse`)."""

    report: CompiledReport
    sources: Sources
    dimensions: tuple[CompiledDimension, ...]
    groupings: tuple[Grouping, ...]
    aggregates: Mapping[str, Aggregate]
    conditions: tuple[Condition, ...]  # besides app, form and not deleted
    order: tuple[tuple[str, bool], ...]
    limit: int | None
    totals: bool
    subtotals: bool
    refused_over: int | None  # more detail rows than this are refused (the row limit)
    drill_level: int
    drill_values: tuple[Any, ...]
    can_drill: bool
    skipped_filters: tuple[str, ...]

    @property
    def with_levels(self) -> bool:
        return self.totals or self.subtotals


def build_query(report: CompiledReport, *, app: str, dialect: Dialect, table: Table,
                params: Mapping[str, Any], now: datetime,
                drill: Sequence[Any] = (), filters: Sequence[FieldFilter] = (),
                row_limit: int | None = None, totals: bool | None = None,
                subtotals: bool | None = None) -> ReportQuery:
    """The statement for one call. `params` are resolved values (`resolve_params`)."""
    plan = plan_query(report, app=app, dialect=dialect, table=table, params=params, now=now,
                      drill=drill, filters=filters, row_limit=row_limit, totals=totals,
                      subtotals=subtotals)
    return query_of(plan, statement_of(plan))


def query_of(plan: CallPlan, statement: Select[Any] | CompoundSelect[Any]) -> ReportQuery:
    return ReportQuery(statement, plan.dimensions, plan.report.measures, plan.with_levels,
                       plan.refused_over, plan.drill_level, plan.drill_values,
                       plan.can_drill, plan.skipped_filters)


def plan_query(report: CompiledReport, *, app: str, dialect: Dialect, table: Table,
               params: Mapping[str, Any], now: datetime,
               drill: Sequence[Any] = (), filters: Sequence[FieldFilter] = (),
               row_limit: int | None = None, totals: bool | None = None,
               subtotals: bool | None = None, sources: Sources | None = None) -> CallPlan:
    """What one call groups, aggregates and filters. `sources` shares one FROM clause
    between the plans of several reports over the same form (fusion)."""
    if sources is None:  # through the report's projection, else from the records
        call: dict[str, Any] = dict(
            app=app, dialect=dialect, table=table, params=params, now=now, drill=drill,
            filters=filters, row_limit=row_limit, totals=totals, subtotals=subtotals)
        return narrow_or_records(lambda narrow: plan_query(
            report, **call, sources=Sources(report, app, table, dialect, narrow=narrow)))
    spec = report.spec
    for relation in report.relations:
        sources.ensure_join(relation)
    dims, level, can_drill, drill_filters = _drill(report, drill)
    names = param_columns(report, params, dialect)
    values = tuple(sorted((k, repr(v)) for k, v in params.items()))

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

    def expr_condition(source: str) -> Condition:
        read = report.backend.names(source, report.fields, report.param_kinds) - set(names)
        fields = tuple(f for f in (report.resolve(n) for n in sorted(read)) if f is not None)

        def rebuild(field_column: FieldColumn) -> ColumnElement[bool]:
            def col(name: str) -> ColumnElement[Any]:
                found = report.resolve(name)
                return names[name] if name in names or found is None else field_column(found)
            result: ColumnElement[bool] = report.backend.to_sql(
                source, fields=report.fields, names=report.param_kinds, column=col,
                dialect=dialect, tz=report.tz.key, now=now)
            return result
        usable = len(fields) == len(read)
        return Condition(("filter", source, values), expr_sql(source), fields,
                         rebuild if usable else None)

    conditions = [expr_condition(f) for f in spec.filters]
    conditions += [expr_condition(p.filter) for p in spec.params
                   if p.filter is not None and params.get(p.key) is not None]
    skipped: list[str] = []
    for f in (*drill_filters, *filters):
        condition = field_filter(report, sources, f, dialect)
        if condition is None:
            skipped.append(f.field)
            continue
        field = report.resolve(f.field)
        conditions.append(Condition(
            ("field", repr(f), repr(field)), condition, (field,) if field else (),
            field_rebuild(report, sources, f, dialect)
            if field is not None and f.bucket is None and field.kind not in (
                "datetime", "timestamp") else None))

    groupings = tuple(_grouping(report, sources, d, dialect, expr_sql, values) for d in dims)
    aggregates = _aggregates(report, sources, expr_sql, values)
    limit = spec.limit
    if row_limit is not None and (limit is None or limit > row_limit):
        limit = row_limit + 1
    return CallPlan(
        report, sources, dims, groupings, aggregates, tuple(conditions),
        tuple(_order(report, dims)), limit,
        bool(spec.totals if totals is None else totals),
        bool(spec.subtotals if subtotals is None else subtotals),
        row_limit if limit is not None and limit != spec.limit else None,
        level, tuple(drill), can_drill, tuple(skipped))


def aggregate_sql(a: Aggregate, only: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """The SQL aggregate; `only` restricts the rows it reads (a fused widget's filters)."""
    if a.agg == "count":
        col: Any = func.count(a.value) if a.value is not None else func.count()
    elif a.agg == "distinct_count":
        col = func.count(distinct(a.value)) if a.value is not None else func.count()
    else:
        col = getattr(func, a.agg)(a.value)
    where = [w for w in (a.where, only) if w is not None]
    if where:
        col = col.filter(and_(*where))
    result: ColumnElement[Any] = col
    return result


def measure_columns(report: CompiledReport,
                    aggregated: Callable[[str], ColumnElement[Any]]) -> list[ColumnElement[Any]]:
    """Every measure labelled by its key, in the report's order: `aggregated(key)` for a
    plain measure, and formulas (ratios) computed over those in SQL."""
    out: dict[str, ColumnElement[Any]] = {
        m.key: aggregated(m.key) for m in report.measures if not m.formula}
    pending = [m for m in report.measures if m.formula]
    while pending:
        m = pending.pop(0)
        if m.formula is None:
            continue
        if all(n in out for n in m.formula.names):
            out[m.key] = m.formula.to_sql(out.__getitem__)
        else:
            pending.append(m)
    return [out[m.key].label(m.key) for m in report.measures]


def statement_of(plan: CallPlan) -> Select[Any] | CompoundSelect[Any]:
    """The plain statement of a call: one SELECT over the records (and its levels)."""
    sources = plan.sources
    dim_cols = [g.label(g.key).label(d.key) for g, d in zip(plan.groupings, plan.dimensions,
                                                             strict=True)]
    labelled = measure_columns(plan.report, lambda k: aggregate_sql(plan.aggregates[k]))
    where = [*sources.base_where(), *(c.sql for c in plan.conditions)]

    def grouped(n_dims: int, lvl: int | None) -> Select[Any]:
        cols: list[Any] = list(dim_cols[:n_dims])
        cols += [literal(None, d.type).label(d.key) for d in dim_cols[n_dims:]]
        if lvl is not None:
            cols.append(literal(lvl, Integer).label(LEVEL))
        stmt = select(*cols, *labelled).select_from(sources.from_clause()).where(*where)
        # By position: an expression dimension may hold bound values, and PostgreSQL
        # would not see `f($1)` in SELECT and `f($2)` in GROUP BY as the same; SQLite
        # computes a grouped expression once for the column it names. A PostgreSQL
        # bucket by its key, so its label is formatted once per group.
        keys: list[Any] = [g.key if g.label is not same else literal_column(str(i + 1))
                           for i, g in enumerate(plan.groupings[:n_dims])]
        return stmt.group_by(*keys) if n_dims else stmt

    if (sources.dialect == "postgresql" and plan.with_levels and dim_cols
            and not any(g.by_position for g in plan.groupings)):
        return _grouping_sets(plan, dim_cols, labelled, where)
    return assemble(grouped, len(dim_cols), list(plan.order), plan.limit,
                     totals=plan.totals, subtotals=plan.subtotals)


def _grouping_sets(plan: CallPlan, dim_cols: Sequence[ColumnElement[Any]],
                   labelled: Sequence[ColumnElement[Any]],
                   where: Sequence[ColumnElement[bool]]) -> CompoundSelect[Any]:
    """Detail, subtotal and total levels from one scan of the records: PostgreSQL
    groups the rows once per grouping set (`GROUPING SETS ((d1, d2), (d1), ())`), into
    a CTE that the detail level (ordered and limited) and the other levels read.
    Why: as a UNION ALL of one SELECT per level, every level read the records again —
    the receivables aging with its total read 486,000 invoices twice. Each level is
    still computed from the records, so a distinct count or a ratio of a total stays
    exact. Expression dimensions grouped by position are left to the UNION ALL."""
    keys = [g.key for g in plan.groupings]
    n = len(keys)
    sets = [tuple_(*keys)]
    if plan.subtotals and n > 1:
        sets.append(tuple_(keys[0]))
    sets.append(tuple_())
    bits = func.grouping(*keys)  # bit i set: dimension i is rolled up in this row
    level = case((bits == 0, 0), (bits == (1 << n) - 1, 2), else_=1)
    grouped = (select(*dim_cols, level.label(LEVEL), *labelled)
               .select_from(plan.sources.from_clause()).where(*where)
               .group_by(func.grouping_sets(*sets)))
    levels = grouped.cte("levels")
    names = [str(c.key) for c in grouped.selected_columns]
    detail = select(*(levels.c[k] for k in names)).where(levels.c[LEVEL] == 0)
    detail = detail.order_by(*[ordered(levels.c[k], desc) for k, desc in plan.order])
    if plan.limit is not None:
        detail = detail.limit(plan.limit)
    rest = select(*(levels.c[k] for k in names)).where(levels.c[LEVEL] > 0)
    compound = union_all(select(*detail.subquery("detail").c), rest)
    keys_order = [(LEVEL, False), *plan.order]
    return compound.order_by(*[ordered(compound.selected_columns[k], desc)
                               for k, desc in keys_order])


def assemble(grouped: Callable[[int, int | None], Select[Any]], n_dims: int,
              order: list[tuple[str, bool]], limit: int | None, *, totals: bool,
              subtotals: bool) -> Select[Any] | CompoundSelect[Any]:
    """The detail SELECT, or detail + subtotal + total levels in one UNION ALL."""
    with_levels = totals or subtotals
    detail = grouped(n_dims, 0 if with_levels else None)
    detail = detail.order_by(*[ordered(detail.selected_columns[k], desc) for k, desc in order])
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
    return compound.order_by(*[ordered(compound.selected_columns[k], desc) for k, desc in keys])


def ordered(col: ColumnElement[Any], desc: bool) -> ColumnElement[Any]:
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


def _grouping(report: CompiledReport, sources: Sources, dim: CompiledDimension,
              dialect: Dialect, expr_sql: Any, values: Hashable) -> Grouping:
    if dim.field is None:
        value: ColumnElement[Any] = expr_sql(str(dim.spec.expr))
        return Grouping(value, same, True, ("expr", dim.spec.expr, values))
    column = sources.field(dim.field)
    ident = ("field", repr(dim.field), dim.spec.bucket)
    if dim.spec.bucket:
        key, label = bucket_parts(column, dim.field, dim.spec.bucket, dialect, report.tz)
        return Grouping(key, label, False, ident,
                        fine_bucket(column, dim.field, dim.spec.bucket, dialect))
    return Grouping(column, same, False, ident)


def _aggregates(report: CompiledReport, sources: Sources, expr_sql: Any,
                values: Hashable) -> dict[str, Aggregate]:
    out: dict[str, Aggregate] = {}
    for m in report.measures:
        if m.formula:
            continue
        value = sources.field(m.field) if m.field else None
        where = expr_sql(m.spec.where) if m.spec.where is not None else None
        out[m.key] = Aggregate(str(m.spec.agg), value, where, (
            m.spec.agg, repr(m.field), m.spec.where, values if where is not None else None))
    return out


__all__ = [  # FieldFilter and QueryError live in `sources`; callers import them from here
    "LEVEL", "Aggregate", "CallPlan", "Condition", "FieldFilter", "Grouping", "QueryError",
    "ReportQuery", "Sources", "aggregate_sql", "assemble", "build_query", "measure_columns",
    "ordered", "plan_query", "query_of", "statement_of",
]
