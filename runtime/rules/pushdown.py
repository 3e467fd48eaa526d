"""A timed rule's aggregates, computed for every candidate by the candidate query itself.

A nightly rule such as "set 22 score facts, each a COUNT/SUM/AVG over the customer's
invoices, tickets, …" evaluated record by record costs one SQL statement per aggregate
per record (built, compiled and run: ~180 ms a customer). Instead, each aggregate the
rule's expressions contain becomes one more column of the candidate query, in one of
two shapes:

- grouped, when the aggregate is over the records related to the candidate
  (`customer == record.id and <anything not about record>`), the common case: the
  aggregates over one form through one relation field share ONE grouped subquery,
  `SELECT customer, COUNT(*) FILTER (WHERE …), SUM(amount) FILTER (WHERE …), …
  FROM records WHERE <live rows of the form> AND customer IN (<candidate ids>)
  GROUP BY customer`, left-joined to the candidates. One pass over the related rows
  instead of one index probe per aggregate per candidate: on PostgreSQL the planner
  cannot estimate a correlated probe (it does not know the id) and picks a date
  range's index over the relation's for some of them, 10 ms a probe;
- correlated otherwise: the very scalar subquery the per-record path runs
  (`RecordsSqlContext.aggregate`), correlated with the candidate row instead of bound
  to one record, so it still uses the relation field's expression index.

Only the aggregates move to SQL; everything around them (arithmetic, IF, the stored
JSON) is still evaluated by the rule engine in Python through the ordinary `Env`
interface: `PrecomputedEnv.aggregate` answers from the row's precomputed values, so
the result is exactly the per-record one. An aggregate without an SQL form (or a
record the query did not cover) falls back to the per-record query.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, String, and_, cast, func, select, text
from sqlalchemy.sql.elements import ColumnElement

from engines.expr import Compiled, ExprError, T
from engines.expr import nodes as n
from engines.expr.sqlgen import SqlGen
from engines.rule.compiled import CompiledRule
from runtime.expr.env import SqlEnv
from runtime.expr.sql_context import RecordsSqlContext

log = logging.getLogger("loom.rules")

AggKey = tuple[str, str, str, str | None]
"""(function, form, condition source, value source): how `Env.aggregate` is asked."""


def agg_key(func: str, form: str, condition: Compiled, value: Compiled | None) -> AggKey:
    return func, form, condition.source, value.source if value is not None else None


def _node_key(node: n.Agg) -> AggKey:
    # as PyGen binds the parts: the condition's source ("True" when there is none)
    return (node.func, node.form, node.condition_source or "True",
            node.value_source if node.value is not None else None)


def rule_aggregates(rule: CompiledRule, *, with_condition: bool) -> dict[AggKey, n.Agg]:
    """The distinct aggregates the rule evaluates per record in Python (its actions'
    values, once_per, and the condition when it is not already in the SQL)."""
    exprs: list[Compiled | None] = [rule.once_per, *rule.exprs.values()]
    if with_condition:
        exprs.append(rule.condition)
    found: dict[AggKey, n.Agg] = {}
    for expr in exprs:
        if expr is None:
            continue
        for node in n.walk(expr.node):  # an aggregate inside another runs in its SQL
            if isinstance(node, n.Agg):
                found.setdefault(_node_key(node), node)
    return found


@dataclass(frozen=True)
class Pushed:
    """Where each pushed aggregate comes from: a labelled column of the candidate query
    (correlated), or a column of one of the grouped queries (by relation value)."""

    labels: Mapping[AggKey, str]
    grouped: tuple[tuple[Select[Any], Mapping[AggKey, str]], ...] = ()

    def values_of(self, row: Any) -> dict[AggKey, Any]:
        m = row._mapping
        return {key: m[label] for key, label in self.labels.items()}

    def by_relation(self, conn: Connection) -> dict[str, dict[AggKey, Any]]:
        """Run the grouped queries: candidate id -> its grouped aggregates (a candidate
        with no related record at all is absent: every aggregate None)."""
        out: dict[str, dict[AggKey, Any]] = {}
        for query, columns in self.grouped:
            for row in conn.execute(query):
                m = row._mapping
                found = out.setdefault(str(m["k"]), {})
                for key, column in columns.items():
                    found[key] = m[column]
        return out

    @property
    def keys(self) -> frozenset[AggKey]:
        return frozenset(self.labels).union(*(cols for _, cols in self.grouped))


def add_aggregates(stmt: Select[Any], rule: CompiledRule, sctx: RecordsSqlContext, *,
                   with_condition: bool) -> tuple[Select[Any], Pushed]:
    """`stmt` with one labelled column per aggregate of the rule that has an SQL form:
    grouped by relation where it can be, correlated otherwise."""
    labels: dict[AggKey, str] = {}
    columns: list[ColumnElement[Any]] = []
    by_relation: dict[tuple[str, str], list[tuple[AggKey, n.Agg, n.Node | None]]] = {}
    for key, node in rule_aggregates(rule, with_condition=with_condition).items():
        split = _related(node)
        if split is not None:
            by_relation.setdefault((node.form, split[0]), []).append((key, node, split[1]))
            continue
        try:
            column = _measure(node, sctx)
        except ExprError:
            log.info("rule %s: aggregate %s(%s) evaluated per record (no SQL form)",
                     rule.key, node.func, node.form)
            continue
        labels[key] = label = f"_agg{len(labels)}"
        columns.append(column.label(label))
    grouped: list[tuple[Select[Any], Mapping[AggKey, str]]] = []
    for (form, field), items in by_relation.items():
        try:
            grouped.append(_grouped(stmt, sctx, form, field, items))
        except ExprError:
            log.info("rule %s: aggregates over %s.%s correlated (no grouped form)",
                     rule.key, form, field)
            for key, node, _ in items:
                try:
                    column = _measure(node, sctx)
                except ExprError:
                    continue
                labels[key] = label = f"_agg{len(labels)}"
                columns.append(column.label(label))
    return (stmt.add_columns(*columns) if columns else stmt), Pushed(labels, tuple(grouped))


def _conjuncts(node: n.Node) -> list[n.Node]:
    if isinstance(node, n.BoolOp) and node.op == "and":
        return [part for item in node.items for part in _conjuncts(item)]
    return [node]


def _is_outer_id(node: n.Node) -> bool:
    return isinstance(node, n.Var) and node.kind == "outer" and node.key == "id"


def _is_inner_field(node: n.Node) -> bool:
    return isinstance(node, n.Var) and node.kind == "field" and node.type is T.TEXT


def _reads_outer(node: n.Node) -> bool:
    return any(isinstance(sub, n.Agg) or (isinstance(sub, n.Var) and sub.kind == "outer")
               for sub in n.walk(node))


def _related(node: n.Agg) -> tuple[str, n.Node | None] | None:
    """(relation field, the rest of the condition) when the aggregate is over the
    records whose `field == record.id` and nothing else reads the candidate; else None."""
    if node.condition is None:
        return None
    field: str | None = None
    rest: list[n.Node] = []
    for part in _conjuncts(node.condition):
        if isinstance(part, n.Cmp) and part.op == "==" and field is None:
            pair = (part.left, part.right)
            if _is_inner_field(pair[0]) and _is_outer_id(pair[1]):
                field = pair[0].key  # type: ignore[attr-defined]
                continue
            if _is_inner_field(pair[1]) and _is_outer_id(pair[0]):
                field = pair[1].key  # type: ignore[attr-defined]
                continue
        if _reads_outer(part):
            return None
        rest.append(part)
    if field is None or (node.value is not None and _reads_outer(node.value)):
        return None
    if not rest:
        return field, None
    first = rest[0]
    return field, (first if len(rest) == 1 else n.BoolOp(
        type=T.BOOLEAN, nullable=False, pos=first.pos, op="and", items=tuple(rest)))


def _outer_id(sctx: RecordsSqlContext) -> ColumnElement[Any]:
    """The candidate's id as the text a relation field holds (as the correlated
    subqueries compare it)."""
    inner = RecordsSqlContext(dialect=sctx.dialect, app=sctx.app, form=sctx.form,
                              outer_ctx=sctx, table=sctx.table)
    return inner.outer("id", T.TEXT)


def _grouped(stmt: Select[Any], sctx: RecordsSqlContext, form: str, field: str,
             items: list[tuple[AggKey, n.Agg, n.Node | None]],
             ) -> tuple[Select[Any], dict[AggKey, str]]:
    """One query: the aggregates of `items` per value of `form.field`, over the related
    records of the candidates only. Run on its own rather than joined to the candidate
    query: PostgreSQL misestimates such joins by orders of magnitude (it cannot know
    there is one group per candidate) and spills them to disk."""
    from sqlalchemy.sql.expression import Select as SelectType

    alias = sctx.table.alias(f"grp_{form}_{field}")
    inner = RecordsSqlContext(dialect=sctx.dialect, app=sctx.app, form=form,
                              forms=sctx.forms, now=sctx.now(), tz=sctx.tz, user=sctx.user,
                              holidays=sctx.holidays, params=sctx.params, table=alias,
                              calendar=sctx.calendar)
    gen = SqlGen(inner)
    key = inner.field(field, T.TEXT)
    measures: dict[AggKey, str] = {}
    cols: list[ColumnElement[Any]] = [key.label("k")]
    for i, (agg_key_, node, rest) in enumerate(items):
        cond = gen.cond(rest)[0] if rest is not None else None
        if node.func == "COUNT" or node.value is None:
            measure: Any = func.count()
        else:
            measure = _AGG[node.func](gen.value(node.value).el)
        if cond is not None:
            measure = measure.filter(cond)
        name = f"m{i}"
        measures[agg_key_] = name
        cols.append(measure.label(name))
    # the candidates' ids: the candidate query itself (its WHERE, and its LIMIT for a
    # dry run), as text like the relation field holds them
    ids = stmt.with_only_columns(cast(sctx.table.c.id, String) if sctx.dialect == "postgresql"
                                 else _outer_id(sctx)).correlate(None)
    assert isinstance(ids, SelectType)  # noqa: S101 - for the type checker
    grouped = select(*cols).where(and_(inner.live(), key.in_(ids))).group_by(key)
    return grouped, measures


_AGG: dict[str, Any] = {"SUM": func.sum, "AVG": func.avg, "MIN": func.min, "MAX": func.max}


def _measure(node: n.Agg, sctx: RecordsSqlContext) -> ColumnElement[Any]:
    """The very subquery `SqlEnv.aggregate` runs, correlated with the candidate row."""
    cond = node.condition

    def condition(inner: Any) -> ColumnElement[Any]:
        assert cond is not None  # noqa: S101 - only passed when there is one
        return SqlGen(inner).cond(cond)[0]

    value_node = node.value

    def value(inner: Any) -> ColumnElement[Any]:
        assert value_node is not None  # noqa: S101 - only passed when there is one
        return SqlGen(inner).value(value_node).el

    return sctx.aggregate(node.func, node.form, condition if cond is not None else None,
                          value if value_node is not None else None)


class PrecomputedEnv(SqlEnv):
    """An `SqlEnv` that answers aggregates from values computed for the record in scope
    (by its id) and asks the database only for what was not precomputed."""

    def __init__(self, base: SqlEnv, known: Mapping[str, Mapping[AggKey, Any]]) -> None:
        super().__init__(base.conn, app=base.app, now=base.now(), forms=base.forms,
                         tz=base.tz, user=base.user, holidays=base.holidays,
                         calendar=base.calendar)
        self.known = known

    def aggregate(self, func: str, form: str, condition: Compiled,
                  value: Compiled | None, record: Mapping[str, Any]) -> Any:
        row = self.known.get(str(record.get("id", "")))
        if row is not None:
            key = agg_key(func, form, condition, value)
            if key in row:
                result = row[key]
                if result is None and func in ("COUNT", "SUM"):
                    return 0  # as SqlEnv: an empty COUNT/SUM is 0
                return result
        return super().aggregate(func, form, condition, value, record)


def refresh_sqlite_stats(conn: Connection) -> bool:
    """On SQLite, ANALYZE the records table when it has no statistics or has more than
    doubled since they were taken; True when it did.

    Without statistics SQLite's planner guesses, and for a correlated aggregate such
    as `COUNT("invoice", customer == record.id and due_date >= …)` it picks the date
    range's index (half the invoices) over the relation's (a handful): 4x slower on
    the demo data. PostgreSQL's autovacuum keeps its statistics itself.
    """
    if conn.dialect.name != "sqlite":
        return False
    has_stats = conn.execute(text(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")).first()
    counted = 0
    if has_stats is not None:
        stat = conn.execute(text(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'records' LIMIT 1")).scalar()
        counted = int(str(stat).split()[0]) if stat else 0
    rows = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM records")).scalar_one())
    if rows < 1000 or (counted and rows <= 2 * counted):
        return False  # small tables plan well enough; fresh statistics are kept
    conn.execute(text("ANALYZE records"))
    return True
