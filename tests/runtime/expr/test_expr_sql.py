"""The SQL back end gives the Python back end's answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from engines.expr import (
    ExprError,
    Field,
    FixedEnv,
    Scope,
    T,
    compile_expr,
    fields_to_native,
    to_json,
)
from runtime.expr.sql_context import RecordsSqlContext
from runtime.store.tables import records

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIELDS = {"amount": Field(T.MONEY), "score": Field(T.NUMBER), "level": Field(T.INTEGER),
          "status": Field(T.TEXT), "flag": Field(T.BOOLEAN), "due_date": Field(T.DATE),
          "due_at": Field(T.DATETIME), "customer": Field(T.TEXT),
          "tags": Field(T.LIST, item=T.TEXT)}
FORMS = {"complaint": {"customer": Field(T.TEXT), "score": Field(T.NUMBER)}}
SCOPE = Scope(FIELDS, forms={"ticket": FIELDS, **FORMS}, names={"since": T.DATE})
ENV = FixedEnv(at=NOW)


def _row(rng: random.Random) -> dict[str, Any]:
    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.15 else value
    return {
        "amount": maybe(Decimal(rng.randint(-8, 8000)) / 4),
        "score": maybe(rng.randint(-6, 20) / 2),
        "level": maybe(rng.randint(-3, 5)),
        "status": maybe(rng.choice(["open", "done", "", "new"])),
        "flag": maybe(rng.random() < 0.5),
        "due_date": maybe(date(2026, 3, 2) + timedelta(days=rng.randint(-60, 30))),
        "due_at": maybe(NOW + timedelta(hours=rng.randint(-500, 500))),
        "customer": maybe(rng.choice(["1", "2", "3"])),
        "tags": maybe(rng.sample(["vip", "new", "east"], rng.randint(0, 2))),
    }


@pytest.fixture(scope="module")
def dataset(expr_engine: Engine) -> list[dict[str, Any]]:
    """60 tickets and 20 complaints, stored as the record store stores them."""
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    with expr_engine.begin() as conn:
        conn.execute(delete(records))
        for i in range(80):
            form = "ticket" if i < 60 else "complaint"
            values = _row(rng)
            created = NOW - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 23))
            data = {k: to_json(v, FIELDS[k].type) for k, v in values.items() if v is not None}
            rid = conn.execute(insert(records).values(
                app="crm", form=form, form_version=1, data=data, version=1, owner="u1",
                department="d1", created_at=created, created_by="u1", updated_at=created,
                updated_by="u1", deleted_at=NOW if i % 13 == 5 else None,
            ).returning(records.c.id)).scalar_one()
            native = fields_to_native(data, FIELDS)
            rows.append({**native, "id": str(rid), "created_at": created.replace(microsecond=0),
                         "owner": "u1", "department": "d1", "version": 1, "_form": form,
                         "_deleted": i % 13 == 5})
    return rows


def _python(source: str, rows: list[dict[str, Any]], params: dict[str, Any]) -> set[str]:
    compiled = compile_expr(source, SCOPE, T.BOOLEAN)
    complaints = [r for r in rows if r["_form"] == "complaint" and not r["_deleted"]]
    env = FixedEnv(at=NOW, records={"complaint": complaints})
    return {r["id"] for r in rows if r["_form"] == "ticket" and not r["_deleted"]
            and compiled.evaluate({**r, **params}, env) is True}


def _sql(engine: Engine, source: str, params: dict[str, Any]) -> set[str]:
    compiled = compile_expr(source, SCOPE, T.BOOLEAN)
    ctx = RecordsSqlContext(dialect=engine.dialect.name, app="crm", form="ticket",
                            forms=SCOPE.forms, now=NOW, params=params)
    query = select(records.c.id).where(ctx.live(), compiled.to_sql(ctx))
    with engine.connect() as conn:
        return {str(i) for i in conn.execute(query).scalars()}


CASES = [
    'amount > 1000 and status == "open" and level >= 2',
    'status != "done"',
    'status == ""',
    "ISBLANK(status)",
    "amount == 0",
    "score < 1",
    "not (score < 1)",
    "flag",
    "not flag",
    "flag == False",
    "due_date < TODAY()",
    "due_date >= TODAY() - DAYS(7)",
    "DAYS(TODAY(), due_date) >= 30",
    "due_at < NOW()",
    "due_at == None",
    "created_at >= NOW() - DAYS(7)",
    "amount + score > 500",
    "amount * 2 - level >= 1000",
    "score / level > 1",
    "MOD(level, 3) == 1",
    'IF(flag, amount, score) > 100',
    'status in ["open", "new"]',
    'CONTAINS(status, "e")',
    'CONTAINS(tags, "vip")',
    '"new" in tags and not ("east" in tags)',
    '"east" not in tags',
    'STARTSWITH(status, "n") or ENDSWITH(status, "e")',
    "LEN(status) == 4",
    'UPPER(status) == "OPEN"',
    "YEAR(due_date) == 2026 and MONTH(due_date) == 2",
    "DAY(due_at) == 2",
    "WEEKDAY(due_date) == 2",
    "ROUND(score / 3, 1) == 1.5",
    "ABS(level) >= 2",
    "COALESCE(level, 9) == 9",
    "MAX(level, score) > 3",
    "due_date >= since",
    "due_at >= since",
    "due_at < due_date",
    "created_at >= DATE(2026, 2, 25)",
    "id == \"3\" or version == 1 and owner == \"u1\"",
    'COUNT("complaint", customer == record.customer) >= 3',
    'COUNT("complaint", customer == record.customer and created_at >= NOW() - DAYS(7)) >= 1',
    'SUM("complaint", score, customer == record.customer) > 10',
    'MAX("complaint", score, customer == record.customer) >= 8',
    'AVG("complaint", score, customer == record.customer) >= 4',
    'SWITCH(status, "open", 1, "done", 2, 0) == 1',
    "IFS(level > 3, True, level > 1, flag, True, False)",
]


@pytest.mark.parametrize("source", CASES)
def test_sql_matches_python(expr_engine: Engine, dataset: list[dict[str, Any]],
                            source: str) -> None:
    params = {"since": date(2026, 2, 20)}
    want = _python(source, dataset, params)
    assert _sql(expr_engine, source, params) == want


def test_no_sql_translation_is_refused_clearly(expr_engine: Engine) -> None:
    compiled = compile_expr("old.status != status", SCOPE)
    ctx = RecordsSqlContext(dialect=expr_engine.dialect.name, app="crm", form="ticket")
    with pytest.raises(ExprError) as info:
        compiled.to_sql(ctx)
    assert info.value.code == "no_sql"


# ----------------------------------------------------------------- property test

_num_field = st.sampled_from(["amount", "score", "level"])
_num_const = st.sampled_from(["0", "1", "-2", "2.5", "100", "1000.25"])
_number = st.one_of(
    _num_field, _num_const,
    st.builds(lambda a, op, b: f"({a} {op} {b})", _num_field, st.sampled_from(["+", "-", "*"]),
              st.one_of(_num_field, _num_const)))
_compare = st.builds(lambda a, op, b: f"{a} {op} {b}", _number,
                     st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _number)
_text_cmp = st.builds(lambda op, v: f'status {op} "{v}"', st.sampled_from(["==", "!="]),
                      st.sampled_from(["open", "done", "", "x"]))
_date_cmp = st.builds(lambda op, d: f"due_date {op} TODAY() - DAYS({d})",
                      st.sampled_from(["==", "!=", "<", ">="]), st.integers(-10, 40))
_atom = st.one_of(_compare, _text_cmp, _date_cmp,
                  st.sampled_from(["flag", "ISBLANK(status)", "ISBLANK(amount)",
                                   "due_at < NOW()", "level in [1, 2]"]))
_condition = st.recursive(
    _atom,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} and {b})", inner, inner),
        st.builds(lambda a, b: f"({a} or {b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda c, a, b: f"IF({c}, {a}, {b})", inner, inner, inner)),
    max_leaves=6)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=_condition)
def test_property_sql_equals_python(expr_engine: Engine, dataset: list[dict[str, Any]],
                                    source: str) -> None:
    assert _sql(expr_engine, source, {}) == _python(source, dataset, {}), source


def test_working_time_folded_into_sql_counts_by_the_apps_calendar(
        expr_engine: Engine, dataset: list[dict[str, Any]]) -> None:
    """`due_at <= ADDWORKHOURS(NOW(), 200)` has no SQL form of its own: the constant is
    computed once — by the app's calendar, as the Python back end computes it."""
    from datetime import time

    from engines.expr.workcal import WorkCalendar

    office = WorkCalendar(hours=((time(9), time(12)), (time(13, 30), time(18))))
    source = "due_at <= ADDWORKHOURS(NOW(), 200)"
    compiled = compile_expr(source, SCOPE, T.BOOLEAN)
    tickets = [r for r in dataset if r["_form"] == "ticket" and not r["_deleted"]]
    for calendar in (office, None):
        env = FixedEnv(at=NOW, calendar=calendar)
        expected = {r["id"] for r in tickets if compiled.evaluate(r, env) is True}
        ctx = RecordsSqlContext(dialect=expr_engine.dialect.name, app="crm", form="ticket",
                                forms=SCOPE.forms, now=NOW, calendar=calendar)
        with expr_engine.connect() as conn:
            got = {str(i) for i in conn.execute(
                select(records.c.id).where(ctx.live(), compiled.to_sql(ctx))).scalars()}
        assert got == expected
    assert _sql(expr_engine, source, {}) != {
        r["id"] for r in tickets if compiled.evaluate(r, FixedEnv(at=NOW, calendar=office))}
