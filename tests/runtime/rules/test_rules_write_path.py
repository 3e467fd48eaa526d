"""What event rules cost a write, on SQLite and PostgreSQL: rules that do not match
touch the database not at all, the record's system columns come with the write (no
read-back), a tag on the written record is one UPDATE, and the run log is written
behind — one insert at commit — yet commits and rolls back exactly with the write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, event, select, update

from builder.bundle import Bundle, parse_files
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.effects.records import remember_marks
from runtime.records import service
from runtime.rules import install_rule_hooks
from runtime.rules.runs import list_runs
from runtime.store.tables import records, rule_runs

FORM = {
    "schema_version": 1, "key": "ticket", "name": {"zh": "工单", "en": "Ticket"},
    "fields": [
        {"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
        {"key": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}},
        {"key": "level", "type": "integer", "label": {"zh": "级别", "en": "Level"}},
    ],
}


def _rule(key: str, trigger: dict[str, Any], when: str | None,
          actions: list[dict[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema_version": 1, "key": key, "name": {"zh": key, "en": key},
                           "form": "ticket", "trigger": trigger, "actions": actions}
    if when:
        doc["when"] = when
    return doc


RULES = [
    _rule("tag_big", {"kind": "created"}, "amount > 100", [{"kind": "tag", "tags": ["big"]}]),
    _rule("flag_big", {"kind": "created"}, "amount > 100",
          [{"kind": "flag", "flag": "check", "color": "#ff0000"}]),
    _rule("negative", {"kind": "created"}, "amount < 0", [{"kind": "tag", "tags": ["neg"]}]),
    _rule("level_up", {"kind": "field_changed", "field": "level"}, "level > 5",
          [{"kind": "set_fields", "values": {"note": "'high'"}}]),
    _rule("owner_note", {"kind": "field_changed", "field": "note"}, "owner == 'system'",
          [{"kind": "tag", "tags": ["noted"]}]),
]


def _bundle(key: str, rules: list[dict[str, Any]]) -> Bundle:
    """The test app `key`: the ticket form and `rules`, parsed in memory."""
    files: dict[str, Any] = {
        "app.json": {"schema_version": 1, "key": key, "name": {"zh": key, "en": key},
                     "version": "1.0.0", "menu": [{"form": "ticket"}]},
        "forms/ticket.json": FORM}
    files.update({f"rules/{r['key']}.json": r for r in rules})
    return parse_files(files)


@pytest.fixture
def apps(ctx: Context) -> Context:
    install_rule_hooks(ctx)
    with ctx.engine.begin() as conn:
        for key, rules in (("plain", []), ("ruled", RULES)):
            apps_service.install(conn, ctx, _bundle(key, rules), actor=SYSTEM)
    return ctx


@contextmanager
def _statements(conn: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def _create(conn: Connection, ctx: Context, app: str, **data: Any) -> dict[str, Any]:
    return service.create(conn, ctx, app=app, form="ticket", actor=SYSTEM,
                          data={"title": "t", **data})


def _marks(ctx: Context, record_id: str) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(records.c.marks).where(
            records.c.id == int(record_id))).scalar_one()


def _runs(ctx: Context) -> list[tuple[str, str, str]]:
    with ctx.engine.connect() as conn:
        return [(r.rule, str(r.record_id), r.outcome) for r in conn.execute(
            select(rule_runs).order_by(rule_runs.c.id))]


def test_rules_that_do_not_match_cost_no_statement(apps: Context) -> None:
    ctx = apps
    with ctx.engine.begin() as conn:
        plain = _create(conn, ctx, "plain", amount="5.00")
        ruled = _create(conn, ctx, "ruled", amount="5.00")
        counts = []
        for app, rec in (("plain", plain), ("ruled", ruled)):
            with _statements(conn) as seen:
                service.update_record(conn, ctx, app=app, form="ticket",
                                      record_id=rec["id"], patch={"title": "u"},
                                      actor=SYSTEM)
                _create(conn, ctx, app, amount="7.00")  # created rules whose `when` fails
            counts.append(len(seen))
    assert counts[0] == counts[1]
    assert _runs(ctx) == []


def test_a_matching_tag_is_one_update_and_the_run_log_one_insert_at_commit(
        apps: Context) -> None:
    ctx = apps
    with ctx.engine.begin() as conn:
        _create(conn, ctx, "plain", amount="500.00")
        with _statements(conn) as plain:
            _create(conn, ctx, "plain", amount="500.00")
        _create(conn, ctx, "ruled", amount="500.00")
        with _statements(conn) as ruled:
            rec = _create(conn, ctx, "ruled", amount="500.00")
        extra = [s for s in ruled if s not in plain]
        # tag_big and flag_big each one UPDATE of marks; no read of the record, no log yet
        assert len(ruled) - len(plain) == 2
        assert all(s.startswith("UPDATE records SET marks") for s in extra)
    with ctx.engine.begin() as conn, _statements(conn) as seen:
        _create(conn, ctx, "ruled", amount="600.00")
        _create(conn, ctx, "ruled", amount="700.00")
        conn.commit()
    logs = [s for s in seen if "rule_runs" in s]
    assert len(logs) == 1 and logs[0].startswith("INSERT INTO rule_runs")
    marks = _marks(ctx, rec["id"])
    assert marks["tags"] == ["big"] and marks["flags"]["check"]["color"] == "#ff0000"
    assert [r for r in _runs(ctx) if r[1] == rec["id"]] == [
        ("flag_big", rec["id"], "ok"), ("tag_big", rec["id"], "ok")]
    assert len(_runs(ctx)) == 8


def test_run_log_rows_commit_and_roll_back_with_the_write(apps: Context) -> None:
    ctx = apps
    with ctx.engine.connect() as conn:
        with conn.begin():
            kept = _create(conn, ctx, "ruled", amount="500.00")
            # read in the same transaction: list_runs flushes what is waiting
            assert [r["rule"] for r in list_runs(conn, app="ruled", record_id=kept["id"])] \
                == ["tag_big", "flag_big"]
            later = _create(conn, ctx, "ruled", amount="500.00")
        txn = conn.begin()
        dropped = _create(conn, ctx, "ruled", amount="500.00")
        txn.rollback()
        with conn.begin():
            outer = _create(conn, ctx, "ruled", amount="500.00")
            savepoint = conn.begin_nested()
            inner = _create(conn, ctx, "ruled", amount="500.00")
            savepoint.rollback()
            with conn.begin_nested():
                released = _create(conn, ctx, "ruled", amount="500.00")
    logged = {r[1] for r in _runs(ctx)}
    assert logged == {kept["id"], later["id"], outer["id"], released["id"]}
    # two rows for each record that stayed; none for the rolled-back two (SQLite may
    # hand their ids out again, so count rather than compare ids)
    assert len(_runs(ctx)) == 8
    assert dropped["id"] and inner["id"]


def test_rules_read_system_fields_from_the_write_not_the_row(apps: Context) -> None:
    ctx = apps
    with ctx.engine.begin() as conn:
        rec = _create(conn, ctx, "ruled", amount="1.00")
        with _statements(conn) as seen:
            service.update_record(conn, ctx, app="ruled", form="ticket",
                                  record_id=rec["id"], patch={"level": 9}, actor=SYSTEM)
    # level_up sets note (a nested write), owner_note reads `owner` and tags
    assert _marks(ctx, rec["id"])["tags"] == ["noted"]
    reads = [s for s in seen if s.startswith("SELECT records.id, records.owner")]
    assert reads == []
    assert [r[0] for r in _runs(ctx)] == ["owner_note", "level_up"]


def test_a_stale_marks_hint_falls_back_to_reading_the_row(apps: Context) -> None:
    ctx = apps
    with ctx.engine.begin() as conn:
        rec = _create(conn, ctx, "ruled", amount="5.00")
        # someone else marked the record; the hint still says "no marks"
        conn.execute(update(records).where(records.c.id == int(rec["id"])).values(
            marks={"tags": ["vip"], "flags": {}}))
        remember_marks(conn, "ruled", "ticket", rec["id"], None)
        service.update_record(conn, ctx, app="ruled", form="ticket", record_id=rec["id"],
                              patch={"note": "x"}, actor=SYSTEM)
    assert _marks(ctx, rec["id"])["tags"] == ["vip", "noted"]
