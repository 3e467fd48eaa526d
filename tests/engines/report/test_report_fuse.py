"""Statement shapes that make a million-record dashboard fast on PostgreSQL: a bucket
grouped by its key and formatted per group, the records read through a statistics
fence, and the widgets over one form fused into one scan — pure, statements only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from engines.report.compile import CompiledReport, compile_report
from engines.report.dashboard import compile_dashboard
from engines.report.expressions import default_backend
from engines.report.fields import FieldInfo
from engines.report.fuse import fusable
from engines.report.query import build_query, plan_query
from engines.report.spec import DashboardSpec, ReportSpec
from engines.report.sqlbuild import Dialect
from tests.engines.report.conftest import TABLE

CATALOG = {
    "ticket": {"subject": FieldInfo("text"), "customer": FieldInfo("relation", "customer"),
               "amount": FieldInfo("money"), "score": FieldInfo("number"),
               "status": FieldInfo("select"), "due_on": FieldInfo("date"),
               "urgent": FieldInfo("boolean")},
    "customer": {"region": FieldInfo("text")},
}
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def report(**doc: Any) -> CompiledReport:
    base = {"key": doc.get("key", "r"), "name": "R", "source": "ticket",
            "measures": [{"key": "n", "agg": "count"}]}
    return compile_report(ReportSpec.model_validate({**base, **doc}), CATALOG,
                          backend=default_backend())


def sql(statement: Any, dialect: Any) -> str:
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


MONTHLY = {"key": "monthly", "dimensions": [
    {"key": "month", "field": "created_at", "bucket": "month"}, {"key": "status",
                                                                 "field": "status"}]}


def test_a_postgresql_bucket_groups_by_its_key_and_formats_each_group() -> None:
    q = build_query(report(**MONTHLY), app="a", dialect="postgresql", table=TABLE,
                    params={}, now=NOW)
    text = sql(q.statement, postgresql.dialect())
    group_by = text.split("GROUP BY", 1)[1]
    assert group_by.lstrip().startswith("date_trunc(")  # the key, not to_char per row
    assert "to_char(date_trunc(" in text.split("FROM", 1)[0]
    assert ", 2" in group_by  # a plain field: by position
    # read through the fence: a UNION ALL with a branch that is never true
    assert "UNION ALL" in text and "WHERE false" in text


def test_sqlite_groups_by_position() -> None:
    q = build_query(report(**MONTHLY), app="a", dialect="sqlite", table=TABLE, params={},
                    now=NOW)
    text = sql(q.statement, sqlite.dialect())
    assert re.search(r"GROUP BY 1, 2\b", text) and "UNION ALL" not in text


def test_which_calls_can_be_fused() -> None:
    def can(dialect: Dialect = "postgresql", **doc: Any) -> bool:
        return fusable(plan_query(report(**doc), app="a", dialect=dialect, table=TABLE,
                                  params={}, now=NOW))
    assert can(**MONTHLY)
    assert can(measures=[{"key": "a", "agg": "sum", "field": "amount"},
                         {"key": "b", "agg": "max", "field": "score"},
                         {"key": "r", "agg": "ratio", "numerator": "a", "denominator": "b"}])
    assert not can(measures=[{"key": "d", "agg": "distinct_count", "field": "owner"}])
    assert can(measures=[{"key": "v", "agg": "avg", "field": "amount"}])  # sum / count
    # money is REAL on SQLite: a rolled-up average could round the other way
    assert not can("sqlite", measures=[{"key": "v", "agg": "avg", "field": "amount"}])
    assert not can(dimensions=[{"key": "big", "expr": "amount > 100"}])
    assert not can(dimensions=[{"key": "s", "field": "subject"}], limit=5)


def test_five_widgets_read_the_records_once() -> None:
    docs = [
        MONTHLY,
        {"key": "open", "filters": ["status == 'open'"], "dimensions": [
            {"key": "month", "field": "created_at", "bucket": "month"}]},
        {"key": "urgent", "filters": ["urgent == True"], "dimensions": [
            {"key": "week", "field": "due_on", "bucket": "week"}]},
        {"key": "regions", "dimensions": [{"key": "region", "field": "customer.region"}]},
        {"key": "all"},
        {"key": "owners", "measures": [{"key": "d", "agg": "distinct_count",
                                        "field": "owner"}]},
    ]
    reports = {d["key"]: report(**d) for d in docs}
    board = compile_dashboard(DashboardSpec.model_validate(
        {"key": "b", "name": "B", "widgets": [{"report": d["key"]} for d in docs]}), reports)
    plan = board.plan(app="a", dialect="postgresql", table=TABLE, now=NOW,
                      fuse_max_rows=100)
    [fused] = plan.fused
    assert [m.index for m in fused.members] == [0, 1, 2, 3, 4]
    text = sql(fused.statement, postgresql.dialect())
    grain, rollups = text.split("\n SELECT", 1)
    # the fence's two branches (one scan) and the customers joined
    assert grain.count("FROM records") == 3 and grain.count("FROM records AS r_customer") == 1
    assert "FROM records" not in rollups  # every widget rolls up the grain
    # one join for all, to the customers' fields projected (read once per customer)
    assert re.search(r"LEFT OUTER JOIN \(SELECT r_customer.id AS __id, .*OFFSET 0\) AS "
                     r"j_customer ON j_customer.__id = ", grain, re.S)
    assert "j_customer.region" in grain and "j_customer.data" not in grain
    # `status == 'open'` filters the grain (status is one of its keys); `urgent` is not
    # a key, so that widget's aggregates are FILTERed while the records are read
    assert "FILTER (WHERE" in grain and "urgent" in grain.split("FILTER (WHERE", 1)[1]
    assert "'open'" not in grain and "fused.k1 = 'open'" in rollups


def test_postgresql_levels_come_from_one_scan() -> None:
    doc = {**MONTHLY, "totals": True, "subtotals": True,
           "measures": [{"key": "n", "agg": "count"},
                        {"key": "d", "agg": "distinct_count", "field": "owner"}]}
    q = build_query(report(**doc), app="a", dialect="postgresql", table=TABLE, params={},
                    now=NOW, row_limit=100)
    text = sql(q.statement, postgresql.dialect())
    assert text.count("FROM records") == 2  # the fence's two branches, read once
    assert "GROUPING SETS((date_trunc(" in text and ", ())" in text
    assert "WHERE levels._level = 0" in text and "LIMIT 101" in text  # the detail only
    lite = sql(build_query(report(**doc), app="a", dialect="sqlite", table=TABLE, params={},
                           now=NOW).statement, sqlite.dialect())
    assert "GROUPING" not in lite and lite.count("FROM records") == 3  # one per level


def test_a_relation_no_field_reads_is_not_joined() -> None:
    doc = {"dimensions": [{"key": "status", "field": "status"}],
           "drill": ["customer.region", "status"], "joins": [{"relation": "customer"}]}
    for dialect, compiler in (("postgresql", postgresql.dialect()), ("sqlite", sqlite.dialect())):
        plain = build_query(report(**doc), app="a", dialect=dialect, table=TABLE, params={},
                            now=NOW)
        assert "JOIN" not in sql(plain.statement, compiler)
        drilled = build_query(report(**doc), app="a", dialect=dialect, table=TABLE,
                              params={}, now=NOW, drill=["华东"])
        assert "LEFT OUTER JOIN" in sql(drilled.statement, compiler)  # the drill reads it


def test_planning_again_reuses_projections_and_compiled_expressions() -> None:
    """Planning is per call: the related form's projection (a hundred columns on a real
    form) and each compiled filter are built once and shared, not rebuilt per call."""
    r = report(key="joined", joins=[{"relation": "customer"}], filters=["status != 'x'"],
               dimensions=[{"key": "region", "field": "customer.region"}])
    first = plan_query(r, app="a", dialect="postgresql", table=TABLE, params={}, now=NOW)
    second = plan_query(r, app="a", dialect="postgresql", table=TABLE, params={}, now=NOW)
    assert first.sources.joins["customer"] is second.sources.joins["customer"]
    memo = r.backend._memo  # type: ignore[attr-defined]
    assert [key[0] for key in memo].count("status != 'x'") == 1
    other_app = plan_query(r, app="b", dialect="postgresql", table=TABLE, params={}, now=NOW)
    assert other_app.sources.joins["customer"] is not first.sources.joins["customer"]
