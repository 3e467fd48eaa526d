"""The key of a report's covering index on SQLite: its group keys first, then every
value any call of the report reads, each the very expression the statement computes —
pure, statements only (tests/runtime/store checks SQLite uses it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from engines.report.compile import CompiledReport, compile_report
from engines.report.expressions import default_backend
from engines.report.indexing import MAX_KEY_COLUMNS, covering_key
from engines.report.query import build_query
from engines.report.spec import ReportSpec
from tests.engines.report.conftest import CATALOG, REPORT, TABLE

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def compiled(doc: dict[str, Any]) -> CompiledReport:
    return compile_report(ReportSpec.model_validate(doc), CATALOG, backend=default_backend())


def texts(report: CompiledReport) -> list[str]:
    return [str(c.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
            for c in covering_key(report, app="a", table=TABLE, now=NOW)]


def test_the_group_keys_lead_and_every_read_value_follows_once() -> None:
    key = texts(compiled(REPORT))
    # month bucket of created_at, then the customer's region: a related form's field,
    # so the index holds the relation id the join reads instead
    assert key[0].startswith("strftime('%Y-%m', records.created_at")
    customer_id = "CAST(nullif(json_extract(records.data, '$.customer'), '') AS BIGINT)"
    assert key[1] == customer_id
    rest = " ".join(key[2:])
    for field in ("amount", "status", "due_at", "due_on"):  # measure, filters, param filter
        assert f"'$.{field}'" in rest, (field, key)
    assert len(key) == len(set(key))  # the relation id, read by dimension and drill, once


def test_each_expression_is_one_the_statement_computes() -> None:
    """The index only serves the query if SQLite finds the same expressions in it."""
    report = compiled(REPORT)
    statement = build_query(report, app="a", dialect="sqlite", table=TABLE,
                            params={"since": date(2026, 1, 1)}, now=NOW).statement
    text = str(statement.compile(dialect=sqlite.dialect(),
                                 compile_kwargs={"literal_binds": True}))
    for expression in texts(report):
        assert expression.replace("records.", "src.") in text, expression


def test_a_bare_count_needs_no_index_and_a_wide_report_is_cut_after_the_group_keys(
        ) -> None:
    assert texts(compiled({"key": "n", "name": "N", "source": "ticket",
                           "measures": [{"key": "n", "agg": "count"}]})) == []
    wide = {"key": "w", "name": "W", "source": "ticket",
            "dimensions": [{"key": "status", "field": "status"}],
            "measures": [{"key": f"m{i}", "agg": "count", "where": f"qty > {i} and score > {i}"}
                         for i in range(3)]
            + [{"key": "s", "agg": "sum", "field": "amount"}]}
    key = texts(compiled(wide))
    assert key[0] == "json_extract(records.data, '$.status')"
    assert len(key) <= MAX_KEY_COLUMNS
