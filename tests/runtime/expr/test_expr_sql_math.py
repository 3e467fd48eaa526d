"""LN, LOG, EXP, SQRT and the time between two instants (HOURS/MINUTES(end, start))
give the Python back end's values in SQL, on SQLite and PostgreSQL — blanks and
out-of-domain inputs (LN(0), LN(-1), a base of 1) included, which are blank in both."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select

from engines.expr import Field, FixedEnv, Scope, T, compile_expr, fields_to_native, to_json
from runtime.expr.sql_context import RecordsSqlContext
from runtime.store.tables import records

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIELDS = {"amount": Field(T.MONEY), "score": Field(T.NUMBER), "level": Field(T.INTEGER),
          "due_at": Field(T.DATETIME), "due_date": Field(T.DATE)}
SCOPE = Scope(FIELDS)
ROWS: list[dict[str, Any]] = [
    {"amount": Decimal("100.50"), "score": 2.5, "level": 3,
     "due_at": NOW + timedelta(hours=5, minutes=30), "due_date": date(2026, 3, 1)},
    {"amount": Decimal("0"), "score": 0.0, "level": 0, "due_at": NOW - timedelta(days=2),
     "due_date": date(2026, 3, 10)},
    {"amount": Decimal("-4"), "score": -1.0, "level": -2, "due_at": None, "due_date": None},
    {"amount": None, "score": None, "level": 1, "due_at": NOW + timedelta(seconds=90),
     "due_date": date(2026, 3, 2)},
    {"amount": Decimal("1"), "score": 1000.0, "level": 10,
     "due_at": NOW + timedelta(days=400), "due_date": date(2025, 1, 1)},
]


@pytest.fixture(scope="module")
def stored(expr_engine: Engine) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with expr_engine.begin() as conn:
        conn.execute(delete(records))
        for i, values in enumerate(ROWS):
            created = NOW - timedelta(hours=i * 7 + 1)
            data = {k: to_json(v, FIELDS[k].type) for k, v in values.items() if v is not None}
            rid = conn.execute(insert(records).values(
                app="m", form="t", form_version=1, data=data, version=1, owner="u",
                department="d", created_at=created, created_by="u", updated_at=created,
                updated_by="u").returning(records.c.id)).scalar_one()
            out[str(rid)] = {**fields_to_native(data, FIELDS), "id": str(rid),
                             "created_at": created}
    return out


CASES = [
    "LN(score)", "LN(amount)", "LN(level)", "LN(1 + level)", "LN(0)", "LN(-1)",
    "LOG(score)", "LOG(amount, 2)", "LOG(score, level)", "LOG(100, level)",
    "EXP(level)", "EXP(score)", "EXP(amount)", "SQRT(score)", "SQRT(level)",
    "LN(1 + MAX(level, 0)) / LN(61)",
    "HOURS(due_at, NOW())", "MINUTES(due_at, NOW())", "HOURS(NOW(), created_at)",
    "HOURS(due_at, created_at)", "HOURS(due_at, due_date)", "MINUTES(due_date, due_at)",
    "HOURS(due_at, NOW()) > 5",
]


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("source", CASES)
def test_sql_value_matches_python(expr_engine: Engine, stored: dict[str, dict[str, Any]],
                                  source: str) -> None:
    compiled = compile_expr(source, SCOPE)
    env = FixedEnv(at=NOW)
    ctx = RecordsSqlContext(dialect=expr_engine.dialect.name, app="m", form="t", now=NOW)
    query = select(records.c.id, compiled.to_sql(ctx).label("v")).where(ctx.live())
    with expr_engine.connect() as conn:
        got = {str(r.id): r.v for r in conn.execute(query)}
    assert set(got) == set(stored)
    for rid, values in stored.items():
        want = compiled.evaluate(values, env)
        if isinstance(want, bool):
            assert bool(got[rid]) is want, (source, values)
        else:
            assert _close(got[rid], want), (source, values, got[rid], want)


def test_out_of_domain_is_blank_not_an_error() -> None:
    env = FixedEnv(at=NOW)
    for source in ("LN(0)", "LN(-1)", "LOG(5, 1)", "LOG(-5)", "SQRT(-4)", "EXP(1000)"):
        assert compile_expr(source, SCOPE).evaluate({}, env) is None, source


def test_hours_between_is_a_number_with_its_fraction() -> None:
    compiled = compile_expr("HOURS(due_at, NOW())", SCOPE)
    assert compiled.type is T.NUMBER
    value = compiled.evaluate({"due_at": NOW + timedelta(minutes=90)}, FixedEnv(at=NOW))
    assert value == 1.5


def test_sqlite_without_math_functions_gets_them_from_python() -> None:
    import sqlite3

    from runtime.store.engine import add_math_functions

    conn = sqlite3.connect(":memory:")
    add_math_functions(conn)  # replaces the built-in ones when the build has them
    row = conn.execute("select ln(2), log(1000), log(2, 8), exp(1), sqrt(16), ln(0), "
                       "ln(-1), log(1, 5), sqrt(-1), ln(null)").fetchone()
    assert row[:5] == pytest.approx((math.log(2), 3.0, 3.0, math.e, 4.0))
    assert row[5:] == (None, None, None, None, None)
