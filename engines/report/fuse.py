"""Fuse the widgets of a dashboard that read the same form into one scan.

A dashboard's widgets mostly read one form, each grouping and filtering it its own
way; one statement per widget reads (and decodes the JSON of) every record once per
widget. Fused, the records are read once:

1. an inner aggregate (`fused`, a CTE) groups the form by the union of the widgets'
   dimension keys (the *grain*). Conditions shared by every widget go to its WHERE;
   a widget's own condition over fields that are grain keys (`status == "overdue"`
   when another widget groups by status) is applied to the grain in step 2; any
   other own condition makes that widget's aggregates `FILTER (WHERE …)` ones;
2. each widget rolls the grain up to its own dimensions — count and sum as sums,
   min and max as min and max, ratios and formulas over those — with its own
   totals, order and limit (and a `HAVING` keeping only the groups a row passed its
   `FILTER` conditions in);
3. the widgets' rows come back in one `UNION ALL`, each widget in columns of its own,
   numbered by `_w` and ordered by `_ord`.

Only decomposable measures fuse (count, sum, min, max, and an average as its sum over
its count of values, both kept at the grain; a distinct count is not the sum of its
parts; the average only on PostgreSQL, where money is NUMERIC: on SQLite it is REAL,
and an average that falls on half a cent could round the other way), only field
dimensions (an expression may hold bound
values), and not top-N widgets (a `limit` usually means a dimension with many
values). The inner grain is the product of the dimensions' values, which nothing
knows before running: it is capped (`max_rows`), a row `_w = -1` reports its size,
and a caller that sees it exceeded runs the widgets' own statements instead.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Float,
    Integer,
    Select,
    and_,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NullType

from engines.report.fields import ResolvedField
from engines.report.query import (
    LEVEL,
    Aggregate,
    CallPlan,
    Condition,
    ReportQuery,
    aggregate_sql,
    assemble,
    measure_columns,
    ordered,
)

FUSABLE_AGGS = frozenset({"count", "sum", "min", "max", "avg"})
WIDGET, ORDINAL = "_w", "_ord"
GRAIN = -1  # the `_w` of the row that holds the size of the fused grain


def fusable(plan: CallPlan) -> bool:
    """Whether a call can be answered from a fused grain (see the module docstring)."""
    exact = plan.sources.dialect == "postgresql"
    return (plan.report.spec.limit is None
            and all(not g.by_position for g in plan.groupings)
            and all(a.agg in FUSABLE_AGGS and (a.agg != "avg" or exact)
                    for a in plan.aggregates.values()))


@dataclass(frozen=True, slots=True)
class FusedMember:
    index: int  # the caller's number for this call (a widget's position)
    query: ReportQuery  # the call's own statement: what shaping reads, and the fallback
    slots: tuple[tuple[str, str], ...]  # (column of the fused statement, key in its rows)


@dataclass(frozen=True)
class FusedQuery:
    statement: CompoundSelect[Any]
    members: tuple[FusedMember, ...]
    max_rows: int

    def split(self, rows: Sequence[Mapping[str, Any]]) -> dict[int, list[dict[str, Any]]] | None:
        """Each member's rows by its index, or None when the grain outgrew `max_rows`
        (then the members' own statements give the answer)."""
        out: dict[int, list[dict[str, Any]]] = {m.index: [] for m in self.members}
        slots = {m.index: m.slots for m in self.members}
        for row in rows:
            w = row[WIDGET]
            if w == GRAIN:
                if row[ORDINAL] > self.max_rows:
                    return None
                continue
            out[w].append({key: row[col] for col, key in slots[w]})
        return out


def fuse(calls: Sequence[tuple[int, CallPlan, ReportQuery]], *, max_rows: int) -> FusedQuery:
    """One statement answering every call. The plans must share one `Sources` (the
    same form, one FROM clause) and be `fusable`."""
    plans = [p for _, p, _ in calls]
    sources = plans[0].sources
    common = set.intersection(*({c.ident for c in p.conditions} for p in plans))
    where = [*sources.base_where(), *(c.sql for c in plans[0].conditions if c.ident in common)]
    keys: dict[Hashable, ColumnElement[Any]] = {}
    for plan in plans:
        for g in plan.groupings:
            keys.setdefault(*g.grain())
    key_name = {ident: f"k{n}" for n, ident in enumerate(keys)}
    raw = {ident[1]: name for ident, name in key_name.items()  # type: ignore[index]
           if ident[0] == "field" and ident[2] is None}  # type: ignore[index]

    aggs: dict[Hashable, ColumnElement[Any]] = {}
    presence: dict[Hashable, ColumnElement[Any]] = {}
    own: list[tuple[Hashable, ColumnElement[bool] | None, list[Condition]]] = []
    for plan in plans:
        rest = [c for c in plan.conditions if c.ident not in common]
        on_grain = [c for c in rest if c.rebuild is not None and c.fields
                    and all(repr(f) in raw for f in c.fields)]
        on_rows = [c for c in rest if c not in on_grain]
        only = and_(*(c.sql for c in on_rows)) if on_rows else None
        rest_id: Hashable = tuple(repr(c.ident) for c in on_rows)
        own.append((rest_id, only, on_grain))
        for a in plan.aggregates.values():
            for part, agg in _parts(a):
                aggs.setdefault((a.ident, rest_id, part), aggregate_sql(agg, only))
        if only is not None:
            presence.setdefault(rest_id, func.count().filter(only))
    agg_name = {ident: f"a{n}" for n, ident in enumerate(aggs)}
    has_name = {ident: f"p{n}" for n, ident in enumerate(presence)}
    inner = select(*(e.label(key_name[i]) for i, e in keys.items()),
                   *(e.label(agg_name[i]) for i, e in aggs.items()),
                   *(e.label(has_name[i]) for i, e in presence.items()))
    inner = inner.select_from(sources.from_clause()).where(*where)
    inner = inner.group_by(*keys.values()).limit(max_rows + 1)
    grain = inner.cte("fused")

    def grain_column(field: ResolvedField) -> ColumnElement[Any]:
        column: ColumnElement[Any] = grain.c[raw[repr(field)]]
        return column

    rolled: list[_Rolled] = []
    for (index, plan, query), (rest_id, only, on_grain) in zip(calls, own, strict=True):
        columns = {k: tuple(agg_name[(a.ident, rest_id, part)] for part, _ in _parts(a))
                   for k, a in plan.aggregates.items()}
        filters = [c.rebuild(grain_column) for c in on_grain if c.rebuild is not None]
        statement = _rollup(plan, grain, key_name, columns, filters,
                            has_name.get(rest_id) if only is not None else None)
        order = [(LEVEL, False)] if plan.with_levels else []
        rolled.append((index, statement, query, [*order, *plan.order]))
    return _union(rolled, grain, max_rows)


_Rolled = tuple[int, "Select[Any] | CompoundSelect[Any]", ReportQuery, list[tuple[str, bool]]]


def _parts(a: Aggregate) -> tuple[tuple[str, Aggregate], ...]:
    """What the grain keeps of an aggregate: the aggregate itself, or for an average
    the sum and the count of its (non-null) values."""
    if a.agg == "avg":
        return (("sum", replace(a, agg="sum")), ("count", replace(a, agg="count")))
    return (("", a),)


def _rollup(plan: CallPlan, grain: Any, key_name: Mapping[Hashable, str],
            agg_column: Mapping[str, tuple[str, ...]], filters: Sequence[ColumnElement[bool]],
            presence: str | None) -> Select[Any] | CompoundSelect[Any]:
    """A call's statement over the fused grain instead of the records."""
    key_cols = [g.from_grain(grain.c[key_name[g.grain()[0]]]) for g in plan.groupings]
    dim_cols = [g.label(k).label(d.key)
                for g, k, d in zip(plan.groupings, key_cols, plan.dimensions, strict=True)]

    def rolled(key: str) -> ColumnElement[Any]:
        a: Aggregate = plan.aggregates[key]
        part = grain.c[agg_column[key][0]]
        if a.agg == "avg":  # NULL over no values, as AVG; SQLite's AVG is always REAL
            total: ColumnElement[Any] = func.sum(part)
            if plan.sources.dialect == "sqlite":
                total = cast(total, Float)
            return total / func.nullif(func.sum(grain.c[agg_column[key][1]]), 0)
        result: ColumnElement[Any] = (func.min(part) if a.agg == "min" else
                                      func.max(part) if a.agg == "max" else
                                      func.sum(part))  # a count is the sum of counts
        return result

    labelled = measure_columns(plan.report, rolled)

    def grouped(n_dims: int, lvl: int | None) -> Select[Any]:
        cols: list[Any] = list(dim_cols[:n_dims])
        cols += [literal(None, d.type).label(d.key) for d in dim_cols[n_dims:]]
        if lvl is not None:
            cols.append(literal(lvl, Integer).label(LEVEL))
        stmt = select(*cols, *labelled).select_from(grain).where(*filters)
        if not n_dims:
            return stmt  # one row even when nothing matched, as a plain total
        stmt = stmt.group_by(*key_cols[:n_dims])
        if presence is not None:  # a group exists when a row passed the call's filters
            stmt = stmt.having(func.sum(grain.c[presence]) > 0)
        return stmt

    return assemble(grouped, len(dim_cols), list(plan.order), plan.limit,
                     totals=plan.totals, subtotals=plan.subtotals)


def _union(rolled: Sequence[_Rolled], grain: Any, max_rows: int) -> FusedQuery:
    subs = [(index, statement.subquery(f"w{index}"), query, order)
            for index, statement, query, order in rolled]
    slots: list[tuple[int, str, str, Any]] = []  # (member, slot, key, type)
    for index, sub, _, _ in subs:
        for col in sub.c:
            slots.append((index, f"c{len(slots)}", col.key, col.type))
    branches: list[Select[Any]] = []
    members: list[FusedMember] = []
    for index, sub, query, order in subs:
        ordinal = func.row_number().over(order_by=[ordered(sub.c[k], desc) for k, desc in order])
        cols = [sub.c[key].label(slot) if member == index else _null(type_).label(slot)
                for member, slot, key, type_ in slots]
        branches.append(select(literal(index, Integer).label(WIDGET), ordinal.label(ORDINAL),
                               *cols))
        members.append(FusedMember(index, query, tuple(
            (slot, key) for member, slot, key, _ in slots if member == index)))
    branches.append(select(literal(GRAIN, Integer).label(WIDGET), func.count().label(ORDINAL),
                           *(_null(t).label(s) for _, s, _, t in slots))
                    .select_from(grain))
    statement = union_all(*branches)
    statement = statement.order_by(statement.selected_columns[WIDGET],
                                   statement.selected_columns[ORDINAL])
    return FusedQuery(statement, tuple(members), max_rows)


def _null(type_: Any) -> ColumnElement[Any]:
    """A NULL of a slot's type: PostgreSQL resolves a UNION's column types pair by pair,
    so an untyped NULL in the first two branches would become text."""
    if isinstance(type_, NullType):
        return null()
    return cast(null(), type_)
