"""The run log (`rule_runs`) and the once-per claims (`rule_claims`).

A claim is one insert on the primary key (app, rule, subject, episode) with "on
conflict do nothing": on PostgreSQL a second transaction inserting the same key waits
for the first and then gets nothing, so two schedulers never both fire.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engines.rule.compiled import Claim
from runtime.ids import as_id
from runtime.store.tables import rule_claims, rule_runs

MAX_LIST = 500
_INSERT_RUN = insert(rule_runs)  # built once: the run log is written on every firing


def claim(conn: Connection, *, app: str, claim: Claim, now: datetime) -> bool:
    """Take the claim; False when someone (this or another process) already has it."""
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = build(rule_claims).values(app=app, rule=claim.rule, subject=claim.subject[:64],
                                     episode=claim.episode[:128], claimed_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["app", "rule", "subject", "episode"])
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return conn.execute(stmt.returning(rule_claims.c.rule)).first() is not None


def claimed_keys(conn: Connection, *, app: str, rule: str,
                 subjects: Sequence[str]) -> set[str]:
    """The claim keys already taken for these subjects (and "*"), for dry runs."""
    wanted = [*subjects, "*"]
    rows = conn.execute(select(rule_claims.c.subject, rule_claims.c.episode).where(
        rule_claims.c.app == app, rule_claims.c.rule == rule,
        rule_claims.c.subject.in_(wanted))).all()
    return {Claim(rule, r.subject, r.episode).key for r in rows}


def log_run(conn: Connection, *, app: str, rule: str, form: str | None,
            record_id: str | None, trigger: str, effects: list[dict[str, Any]],
            outcome: str, error: dict[str, Any] | None, duration_ms: int,
            at: datetime) -> None:
    conn.execute(_INSERT_RUN, {
        "app": app, "rule": rule, "form": form,
        "record_id": as_id(record_id),
        "trigger": trigger[:32], "effects": effects, "outcome": outcome,
        "error": json.dumps(error, ensure_ascii=False, default=str) if error else None,
        "duration_ms": duration_ms, "at": at})


def _run_json(row: Any) -> dict[str, Any]:
    error: Any = None
    if row.error:
        try:
            error = json.loads(row.error)
        except ValueError:
            error = {"message": {"en": row.error, "zh": row.error}}
    at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at
    return {"id": str(row.id), "rule": row.rule, "form": row.form,
            "record_id": None if row.record_id is None else str(row.record_id),
            "trigger": row.trigger, "effects": row.effects, "outcome": row.outcome,
            "error": error, "duration_ms": row.duration_ms, "at": at}


def list_runs(conn: Connection, *, app: str, rule: str | None = None,
              form: str | None = None, record_id: str | None = None,
              outcome: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Runs newest first, for one rule or one record (or both)."""
    stmt = select(rule_runs).where(rule_runs.c.app == app)
    if rule is not None:
        stmt = stmt.where(rule_runs.c.rule == rule)
    if form is not None:
        stmt = stmt.where(rule_runs.c.form == form)
    if record_id is not None:
        rid = as_id(record_id) or -1
        stmt = stmt.where(rule_runs.c.record_id == rid)
    if outcome is not None:
        stmt = stmt.where(rule_runs.c.outcome == outcome)
    stmt = stmt.order_by(rule_runs.c.id.desc()).limit(max(1, min(limit, MAX_LIST)))
    return [_run_json(r) for r in conn.execute(stmt)]
