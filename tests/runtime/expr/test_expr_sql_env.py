"""SqlEnv: aggregates for one record run in SQL and agree with the in-memory Env."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert

from engines.expr import Field, FixedEnv, Scope, T, compile_expr
from runtime.expr.env import SqlEnv
from runtime.store.tables import records

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
COMPLAINT = {"customer": Field(T.TEXT), "score": Field(T.NUMBER)}
SCOPE = Scope({"code": Field(T.TEXT)}, forms={"complaint": COMPLAINT})


def _complaints() -> list[dict[str, Any]]:
    return [{"customer": c, "score": s, "created_at": NOW - timedelta(days=d)}
            for c, s, d in (("7", 2, 1), ("7", 4, 3), ("7", 1, 10), ("8", 5, 1))]


def test_aggregates_in_sql_match_memory(expr_engine: Engine) -> None:
    rows = _complaints()
    with expr_engine.begin() as conn:
        conn.execute(delete(records))
        for r in rows:
            conn.execute(insert(records).values(
                app="crm", form="complaint", form_version=1,
                data={"customer": r["customer"], "score": r["score"]}, version=1,
                created_at=r["created_at"], created_by="u", updated_at=r["created_at"],
                updated_by="u"))
        sql_env = SqlEnv(conn, app="crm", now=NOW, forms={"complaint": COMPLAINT})
        memory = FixedEnv(at=NOW, records={"complaint": rows})
        for source in [
            'COUNT("complaint", customer == record.code and created_at >= NOW() - DAYS(7))',
            'SUM("complaint", score, customer == record.code)',
            'MAX("complaint", score, customer == record.code)',
            'AVG("complaint", score, customer == record.code)',
            'COUNT("complaint", customer == record.code) >= 3',
        ]:
            compiled = compile_expr(source, SCOPE)
            for code in ("7", "8", "9"):
                want = compiled.evaluate({"code": code}, memory)
                got = compiled.evaluate({"code": code}, sql_env)
                if isinstance(want, float) or isinstance(got, float):
                    assert abs(float(got) - float(want)) < 1e-9, (source, code)
                elif want is None:
                    assert got is None, (source, code)
                else:
                    assert got == want, (source, code, got, want)
        conn.execute(delete(records))
