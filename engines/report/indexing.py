"""What the database needs to serve a report well: on SQLite the key of its covering
index (what it reads, in the order that lets SQLite group without sorting); on
PostgreSQL the values its filters compare, to keep statistics on (`filter_columns`).

Why: SQLite keeps each record as JSON text and parses it again for every
`json_extract`, so a report over a million records spent nearly all its time parsing
(one field: 1.7 s; the month × region report with three measures: 2.5 s). An index
holds each expression's value already extracted, and SQLite reads a value from an
index that holds the very expression the query computes instead of computing it. So
an index whose key is the report's group keys, then every other value the report
reads (measure fields, filter and drill fields, the relation ids it joins on), serves
the report from the index alone, in group order: 0.12-0.3 s for that report (see
bench/reports.py). PostgreSQL gains nothing from it (an index-only scan there needs the
`data` column itself in the index), so only SQLite gets one.

The expressions are those `plan_query` builds — the same functions build both — so the
index matches by construction; a call the index does not cover (a parameter that is an
expression's operand, a field of a related form) still runs, from the table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, Text
from sqlalchemy.sql.elements import ColumnElement

from engines.report.compile import CompiledReport
from engines.report.fields import TIME_KINDS, ResolvedField
from engines.report.query import Sources, plan_query
from engines.report.sqlbuild import Dialect, field_column, inline, relation_target_id

MAX_KEY_COLUMNS = 24
"""A report reading more values than this gets an index on the first ones (group keys
first): the index still serves its grouping, the rest comes from the table."""


class _Recording(Sources):
    """`Sources` over the table itself (an index or a statistics object names no alias)
    that remembers every value it hands out."""

    def __init__(self, report: CompiledReport, app: str, table: Table,
                 dialect: Dialect = "sqlite") -> None:
        super().__init__(report, app, table, dialect)
        self.src = table
        self.read: list[ColumnElement[Any]] = []

    def field(self, field: ResolvedField) -> ColumnElement[Any]:
        if field.relation is None:
            column = field_column(self.src, field, self.dialect)
            self.read.append(column)
            return column
        self.read.append(relation_target_id(self.src, field.relation, self.dialect))
        return super().field(field)


def _unique(columns: list[ColumnElement[Any]]) -> list[ColumnElement[Any]]:
    seen: set[str] = set()
    out: list[ColumnElement[Any]] = []
    for column in columns:
        text = str(column.compile(compile_kwargs={"literal_binds": True}))
        if text not in seen:
            seen.add(text)
            out.append(column)
    return out


def filter_columns(report: CompiledReport, *, app: str, table: Table, dialect: Dialect,
                   now: Any) -> list[ColumnElement[Any]]:
    """The source form's values the report's filters compare — its own filters and its
    parameters' — as the statement computes them over `table`.

    Why: PostgreSQL keeps no statistics for a field inside the JSON document, so it
    guessed that 11 of the credit CRM's 5.9 M records pass `party == "ours"` and
    three statuses (213,000 do), hashed those 213,000 wide rows as if they were few,
    and sorted them to group them. With statistics on these values (`runtime.store.
    statistics`) it estimated 109,000 and hashed the 100,000 customers instead."""
    sources = _Recording(report, app, table, dialect)
    plan = plan_query(report, app=app, dialect=dialect, table=table, params={}, now=now,
                      sources=sources)
    fields = [f for c in plan.conditions for f in c.fields if f.relation is None]
    for p in report.spec.params:
        if p.filter is not None:
            for name in sorted(report.backend.names(p.filter, report.fields,
                                                    report.param_kinds)):
                found = report.resolve(name)
                if found is not None and found.relation is None and not found.system:
                    fields.append(found)
    # a date or an instant compares after a cast PostgreSQL does not allow in statistics
    # (it depends on the session's time zone and date style): left out
    return _unique([_compared(table, f, dialect) for f in fields
                    if not f.system and f.kind not in TIME_KINDS])


def _compared(table: Table, field: ResolvedField, dialect: Dialect) -> ColumnElement[Any]:
    """A field's value as a comparison sees it once PostgreSQL has simplified it: a
    text field's `CAST(data ->> 'k' AS VARCHAR) = 'x'` compares `data ->> 'k'` (the cast
    to varchar and back to text fall away), and statistics on the cast expression
    would never be matched to it."""
    column = field_column(table, field, dialect)
    if dialect == "postgresql" and field.kind not in ("number", "integer", "money",
                                                      "boolean"):
        return table.c.data.op("->>", return_type=Text())(inline(field.key))
    return column


def covering_key(report: CompiledReport, *, app: str, table: Table,
                 now: Any) -> list[ColumnElement[Any]]:
    """The expressions of the report's covering index on SQLite, over `table`: the
    first drill level's group keys in order, then every other value any call of the
    report reads. Empty when it reads no value (a bare count)."""
    sources = _Recording(report, app, table)
    plan = plan_query(report, app=app, dialect="sqlite", table=table, params={}, now=now,
                      sources=sources)
    for p in report.spec.params:  # a parameter's filter reads fields only when it is set
        if p.filter is not None:
            for name in sorted(report.backend.names(p.filter, report.fields,
                                                    report.param_kinds)):
                found = report.resolve(name)
                if found is not None:
                    sources.field(found)
    for field in report.drill:
        sources.field(field)
    keys: list[ColumnElement[Any]] = []
    for dim, grouping in zip(plan.dimensions, plan.groupings, strict=True):
        if dim.field is None:
            continue
        if dim.field.relation is None:
            keys.append(grouping.key)
        else:  # a related form's field: the id it is joined by
            keys.append(relation_target_id(table, dim.field.relation, "sqlite"))
    return _unique([*keys, *sources.read])[:MAX_KEY_COLUMNS]
