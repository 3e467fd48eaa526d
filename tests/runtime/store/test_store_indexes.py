"""Expression indexes: partial per form, used by queries that bind app and form as
parameters, and kept in step with the app's definition on every publish (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Select, bindparam, func, select, text

from builder.bundle import load
from engines.expr import T
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.expr.sql_context import RecordsSqlContext
from runtime.records.query import build_list_query
from runtime.store.indexes import (
    app_prefix,
    ensure_indexes,
    existing_indexes,
    legacy_index_name,
    wanted_indexes,
)
from runtime.store.tables import records

BUNDLE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(BUNDLE), actor=SYSTEM)
    return ctx


def _definitions(conn: Connection) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                 "WHERE tablename = 'records'")).all()
    else:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'records' AND sql IS NOT NULL")).all()
    return {name: sql for name, sql in rows}


def _plan(conn: Connection, stmt: Select[Any]) -> str:
    """The database's plan for `stmt` with its parameters bound, not inlined — as the
    store runs it. On PostgreSQL sequential scans are priced out and the generic
    (app, form, id) index is hidden in a savepoint rolled back after, so on a small
    table the plan shows whether the partial index *can* serve the query (otherwise
    the two cost the same and either may be chosen)."""
    compiled = stmt.compile(dialect=conn.dialect)
    if conn.dialect.name == "postgresql":
        savepoint = conn.begin_nested()
        try:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("DROP INDEX ix_records_app_form_id"))
            rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).all()
        finally:
            savepoint.rollback()
    else:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
    return "\n".join(" ".join(str(c) for c in r) for r in rows)


def test_each_index_is_partial_to_its_form(app_ctx: Context) -> None:
    with app_ctx.engine.begin() as conn:
        wanted, _legacy = wanted_indexes(conn, load(BUNDLE))
        defs = _definitions(conn)
    # customer: name (unique), region (indexed); invoice: customer (relation), due_date
    assert len(wanted) == 4
    for name in wanted:
        assert name.startswith(app_prefix("crm_lite"))
        sql = defs[name]
        assert "WHERE" in sql.upper() and "crm_lite" in sql, sql
        where = sql.split("WHERE", 1)[1]  # one form's rows only
        assert ("'customer'" in where) != ("'invoice'" in where), sql


def test_queries_with_bound_app_and_form_use_the_partial_index(app_ctx: Context) -> None:
    ctx = app_ctx
    with ctx.engine.begin() as conn:
        region_ix = next(n for n, d in _definitions(conn).items()
                         if n.startswith(app_prefix("crm_lite")) and "region" in d)
        listing = build_list_query(conn, ctx, app="crm_lite", form="customer",
                                   filter_expr='region == "north"', sort=None, limit=50,
                                   cursor=None)
        assert region_ix in _plan(conn, listing)
    with ctx.engine.begin() as conn:
        # an aggregate over another form, as a lookup or a check runs it for one record
        customer_ix = next(n for n, d in _definitions(conn).items()
                           if n.startswith(app_prefix("crm_lite")) and "customer" in
                           d.split("WHERE")[0] and "'invoice'" in d)
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app="crm_lite", form="invoice")
        stmt = select(func.count()).where(
            records.c.app == bindparam("a"), records.c.form == bindparam("f"),
            sctx.field("customer", T.TEXT) == bindparam("c"))
        stmt = stmt.params(a="crm_lite", f="invoice", c="1")
        assert customer_ix in _plan(conn, stmt)


def test_publishing_drops_stale_and_first_scheme_indexes(app_ctx: Context,
                                                         tmp_path: Path) -> None:
    ctx = app_ctx
    changed = tmp_path / "crm_lite"
    shutil.copytree(BUNDLE, changed)
    spec_path = changed / "forms" / "customer.json"
    spec = json.loads(spec_path.read_text())
    for f in spec["fields"]:
        if f["key"] == "region":
            f.pop("indexed")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False))
    legacy = legacy_index_name("crm_lite", "invoice", "due_date")
    foreign = app_prefix("another_app") + "0123456789abcdef"
    with ctx.engine.begin() as conn:
        before = existing_indexes(conn)
        region_ix = next(n for n, d in _definitions(conn).items()
                         if n.startswith(app_prefix("crm_lite")) and "region" in d)
        conn.execute(text(f'CREATE INDEX "{legacy}" ON records (app, form)'))
        conn.execute(text(f'CREATE INDEX "{foreign}" ON records (form, app)'))
        names = ensure_indexes(conn, load(changed))
        after = existing_indexes(conn)
    assert len(names) == 3 and set(names) <= after
    assert before - after == {region_ix}  # no longer indexed: dropped
    assert legacy not in after  # the first scheme's whole-table index is gone
    assert foreign in after  # another app's indexes are not this publish's business
    with ctx.engine.begin() as conn:
        conn.execute(text(f'DROP INDEX "{foreign}"'))
