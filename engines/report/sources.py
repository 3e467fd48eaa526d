"""Where a report statement reads from, and the filters that come from outside it.

`Sources` is the FROM clause of one statement — the records as `src` (through a
statistics fence on PostgreSQL) and one LEFT JOIN per relation (on PostgreSQL to the
related form's fields projected in a subquery, see `Sources.projected`) — and the SQL
value of any field. `FieldFilter`s are a dashboard's global filters, drill clicks and linkage
clicks; `field_filter` turns one into a condition over `Sources`, or over any other
columns holding the same fields (a fused grain). Every viewer value is bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Table,
    and_,
    bindparam,
    false,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from engines.common import both
from engines.report.compile import CompiledReport
from engines.report.fields import SYSTEM_FIELDS, FieldInfo, ResolvedField, kind_of
from engines.report.projection import ProjectionMiss
from engines.report.sqlbuild import (
    Dialect,
    bucket,
    coerce_for,
    field_column,
    relation_target_id,
    sql_type_for,
)


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


def statistics_fence(table: Table) -> FromClause:
    """The records as `src`, through a UNION ALL with an empty branch that PostgreSQL
    plans away.

    Why: PostgreSQL has no statistics for a JSON field or a date bucket, so it takes
    the number of groups of `GROUP BY data ->> 'region'` from the statistics of the
    `data` column itself — one group per record. At a million records that estimate
    rules out hashing the groups in parallel workers, and the plan sorts every record
    instead (an external sort on disk: 3-5x slower). Read through a UNION ALL, the
    grouped values have no column statistics at all, and the planner falls back to its
    default of 200 values per key: hash aggregation, in parallel. Filters still reach
    the table's indexes (the branch is flattened into a plain scan), and a grouping
    that really has many values still works: the hash table spills to disk."""
    return union_all(select(table), select(table).where(false())).subquery("src")


JOIN_ID = "__id"  # the related record's id in a projected join


class Sources:
    """The aliased tables of one statement and the SQL value of any name."""

    def __init__(self, report: CompiledReport, app: str, table: Table,
                 dialect: Dialect, *, narrow: bool = True) -> None:
        self.report, self.app, self.dialect = report, app, dialect
        self.table = table
        # joins read from the report's projection where it has one for the related form
        # (PostgreSQL; `engines.report.projection`)
        self.narrow = narrow and dialect == "postgresql" and report.projection is not None
        self.narrowed: set[str] = set()  # relations joined through the projection
        self.src: FromClause = (statistics_fence(table) if dialect == "postgresql"
                                else table.alias("src"))
        self.joins: dict[str, FromClause] = {}
        self.used: set[str] = set()  # relations a field was read through
        for relation in report.relations:
            self.ensure_join(relation)

    def target(self, relation: str) -> str:
        return str(self.report.catalog[self.report.source][relation].target)

    def ensure_join(self, relation: str) -> FromClause:
        if relation not in self.joins:
            self.joins[relation] = (self.projected(relation) if self.dialect == "postgresql"
                                    else self.table.alias(f"j_{relation}"))
        return self.joins[relation]

    def projected(self, relation: str) -> FromClause:
        """The related form's live records as (id, every field's SQL value), behind
        `OFFSET 0` so PostgreSQL does not pull the subquery up into the statement.

        Why: joined as a plain alias, the hash of the related records holds each
        record's whole JSON document, and a field of it (`customer.region`) is
        extracted again for every source row that joins it: grouping 486,000 invoices
        by their customer's region read a 1.2 KB customer document 486,000 times.
        Projected, each related record's fields are read once, below the join, and
        the hash holds only them. Columns the statement does not use are dropped by
        the planner (unused subquery outputs), so projecting every field costs
        nothing there; building it does (a hundred columns: a quarter of a second
        to plan the trust dashboard's 16 joins), so it is built once per app, form,
        relation and fields, and shared (`_projection`). SQLite keeps the plain join:
        it reads the related record by its primary key for each row anyway.

        With the report's projection holding the related form (`narrow`), the subquery
        reads its narrow copies instead, and offers only the fields they keep: reading
        another raises `ProjectionMiss` (`engines.report.projection`)."""
        target = self.target(relation)
        catalog = self.report.catalog.get(target, {})
        projection = self.report.projection
        kept = projection.fields.get(target) if self.narrow and projection else None
        if projection is not None and kept is not None:
            self.narrowed.add(relation)
            fields = tuple(sorted((k, v) for k, v in catalog.items() if k in kept))
            return _projection(projection.table, self.app, target, relation, fields,
                               self.dialect)
        fields = tuple(sorted(catalog.items()))
        return _projection(self.table, self.app, target, relation, fields, self.dialect)

    def field(self, field: ResolvedField) -> ColumnElement[Any]:
        if field.relation is None:
            return field_column(self.src, field, self.dialect)
        table = self.ensure_join(field.relation)
        self.used.add(field.relation)
        if self.dialect == "postgresql":
            if field.relation in self.narrowed and field.key not in table.c:
                raise ProjectionMiss(f"{field.relation}.{field.key}")
            column: ColumnElement[Any] = table.c[field.key]
            return column
        return field_column(table, field, self.dialect)

    def from_clause(self) -> FromClause:
        """The source records LEFT JOINed to the related records a field was read from
        (so far: build it last). A relation no field reads is left out: joined on the
        related record's primary key, it can neither add nor remove a row, and
        PostgreSQL cannot see that through a projected join."""
        clause: FromClause = self.src
        for relation, alias in self.joins.items():
            if relation not in self.used:
                continue
            rel_id = relation_target_id(self.src, relation, self.dialect)
            if self.dialect == "postgresql":
                clause = clause.outerjoin(alias, alias.c[JOIN_ID] == rel_id)
                continue
            clause = clause.outerjoin(alias, and_(
                alias.c.id == rel_id, alias.c.app == self.app,
                alias.c.form == self.target(relation), alias.c.deleted_at.is_(None)))
        return clause

    def base_where(self) -> list[ColumnElement[bool]]:
        return [self.src.c.app == bindparam("app", self.app),
                self.src.c.form == bindparam("form", self.report.source),
                self.src.c.deleted_at.is_(None)]


@lru_cache(maxsize=256)
def _projection(table: Table, app: str, target: str, relation: str,
                fields: tuple[tuple[str, FieldInfo], ...], dialect: Dialect) -> FromClause:
    inner = table.alias(f"r_{relation}")
    catalog = {target: dict(fields)}
    columns: list[ColumnElement[Any]] = [inner.c.id.label(JOIN_ID)]
    for key in dict.fromkeys([*SYSTEM_FIELDS, *catalog[target]]):
        kind = kind_of(catalog, target, key)
        if kind is not None:
            columns.append(field_column(inner, ResolvedField(None, target, key, kind),
                                        dialect).label(key))
    return (select(*columns)
            .where(inner.c.app == app, inner.c.form == target, inner.c.deleted_at.is_(None))
            .offset(0).subquery(f"j_{relation}"))


FieldColumn = Callable[[ResolvedField], ColumnElement[Any]]


def param_columns(report: CompiledReport, params: Mapping[str, Any],
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
        # unique: two widgets fused into one statement may set the same parameter
        out[p.key] = bindparam(f"param_{p.key}", value, type_=type_, unique=True)
    return out


def field_rebuild(report: CompiledReport, sources: Sources, f: FieldFilter,
                   dialect: Dialect) -> Callable[[FieldColumn], ColumnElement[bool]]:
    def rebuild(field_column: FieldColumn) -> ColumnElement[bool]:
        condition = field_filter(report, sources, f, dialect, field_column)
        return true() if condition is None else condition  # None only for unknown fields
    return rebuild


def field_filter(report: CompiledReport, sources: Sources, f: FieldFilter,
                  dialect: Dialect, field_column: FieldColumn | None = None,
                  ) -> ColumnElement[bool] | None:
    field = report.resolve(f.field)
    if field is None or (f.form is not None and field.form != f.form):
        return None
    col = (field_column or sources.field)(field)
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
