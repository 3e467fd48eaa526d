"""`apply_effects` directly: each built-in handler, the registry the flow runtime
extends, and effects as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select

from builder.bundle import load
from engines.effects import (
    CallWebhook,
    CreateRecord,
    CreateTask,
    Notify,
    Recipient,
    ScheduleAt,
    SetFields,
    StartFlow,
    UpdateRecords,
)
from engines.rule.effects import FlagRecord, TagRecord
from runtime.apps.service import install
from runtime.auth.models import SYSTEM, Actor
from runtime.auth.service import create_user
from runtime.context import Context
from runtime.effects import (
    EFFECT_HANDLERS,
    EffectScope,
    UnknownEffectError,
    apply_effects,
    outside,
    register_effect,
)
from runtime.effects.serialize import effect_json
from runtime.records import service as rec
from runtime.store.tables import jobs, notifications, records, tasks

LAB = Path(__file__).parents[2] / "fixtures" / "bundles" / "rules_lab"


@pytest.fixture
def lab(ctx: Context) -> Iterator[tuple[Actor, str]]:
    """The lab app WITHOUT rule hooks: only the effects applied here change records."""
    with ctx.engine.begin() as conn:
        install(conn, ctx, load(LAB), actor=SYSTEM)
        olga = create_user(conn, username="olga", password="olga-pass-123",
                           now=ctx.clock.now(), roles=["ops"], department="plant")
        create_user(conn, username="omar", password="omar-pass-123", now=ctx.clock.now(),
                    roles=["ops"])
        item = rec.create(conn, ctx, app="rules_lab", form="item",
                          data={"name": "bolt", "qty": 1, "handler": "omar"}, actor=olga)
    yield olga, str(item["id"])


def _apply(conn: Connection, ctx: Context, effects: list[Any], actor: Actor,
           record_id: str, **kw: Any) -> list[Any]:
    return apply_effects(conn, ctx, effects, app="rules_lab", origin_form="item",
                         origin_record_id=record_id, actor=actor, depth=0, **kw)


def test_record_effects_go_through_the_record_service(ctx: Context, lab: Any) -> None:
    olga, item = lab
    with ctx.engine.begin() as conn:
        out = _apply(conn, ctx, [
            SetFields({"qty": 7}),
            CreateRecord("audit", {"title": "t1", "item": item}),
            CreateRecord("audit", {"title": "t2", "item": item}),
            UpdateRecords("audit", f'item == "{item}" and title == "t2"', {"title": "t3"}),
        ], olga, item)
    assert out[0]["version"] == 2 and len(out[3]["updated"]) == 1
    with ctx.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(records))}
    assert rows[int(item)].data["qty"] == 7
    assert sorted(r.data["title"] for r in rows.values() if r.form == "audit") == ["t1", "t3"]


def test_invalid_set_fields_raises_for_the_caller_to_handle(ctx: Context, lab: Any) -> None:
    olga, item = lab
    with pytest.raises(Exception) as caught, ctx.engine.begin() as conn:
        _apply(conn, ctx, [SetFields({"qty": -1})], olga, item)
    assert getattr(caught.value, "code", "") == "validation_failed"


def test_marks_tasks_and_inbox(ctx: Context, lab: Any) -> None:
    olga, item = lab
    due = datetime(2026, 3, 9, 15, 59, 59, tzinfo=UTC)
    with ctx.engine.begin() as conn:
        _apply(conn, ctx, [
            TagRecord("item", None, ("a", "b")),
            TagRecord("item", None, ("a",), remove=True),
            FlagRecord("item", None, "risk", color="#00ff00", note={"zh": "注", "en": "n"}),
            FlagRecord("item", None, "gone"),
            FlagRecord("item", None, "gone", on=False),
            CreateTask({"zh": "任务", "en": "Task"}, (Recipient("role", "ops"),
                                                     Recipient("user", "ghost"),
                                                     Recipient("field", "handler")),
                       due=due, data={"why": "test"}),
            Notify((Recipient("department", "plant"), Recipient("owner")),
                   {"zh": "你好", "en": "hello"}, channels=("inbox",)),
        ], olga, item, source="rule:x", key="x:1:e")
        # the same message of the same firing again: the inbox shows it once; another
        # message of that firing is a message of its own
        _apply(conn, ctx, [Notify((Recipient("user", "olga"),), {"zh": "你好", "en": "hello"}),
                           Notify((Recipient("user", "olga"),), {"zh": "再见", "en": "bye"})],
               olga, item, key="x:1:e")
    with ctx.engine.connect() as conn:
        marks = conn.execute(select(records.c.marks).where(records.c.id == int(item))
                             ).scalar_one()
        todo = conn.execute(select(tasks).order_by(tasks.c.assignee)).all()
        inbox = conn.execute(select(notifications).order_by(notifications.c.id)).all()
    assert marks["tags"] == ["b"] and set(marks["flags"]) == {"risk"}
    assert marks["flags"]["risk"]["note"] == {"zh": "注", "en": "n"}
    assert [t.assignee for t in todo] == ["olga", "omar"]  # ghost is no user; omar once
    assert all(t.kind == "todo" and t.status == "open" and t.data["source"] == "rule:x"
               for t in todo)
    assert todo[0].due_at.replace(tzinfo=UTC) == due
    assert [(n.username, n.message["en"]) for n in inbox] == [("olga", "hello"),
                                                               ("olga", "bye")]
    assert all(n.dedupe_key.startswith("x:1:e:") for n in inbox)


def test_outside_effects_become_jobs_in_the_transaction(ctx: Context, lab: Any) -> None:
    olga, item = lab
    at = datetime(2026, 3, 5, tzinfo=UTC)
    with ctx.engine.begin() as conn:
        _apply(conn, ctx, [
            Notify((Recipient("role", "ops"),), {"zh": "z", "en": "e"},
                   channels=("inbox", "email", "webhook"), subject={"zh": "s", "en": "s"}),
            CallWebhook("http://127.0.0.1:9/x", {"amount": "1.00"}, secret_ref="crm"),
            ScheduleAt(at, "flow.timer", {"instance": 1}, key="timer:1"),
            ScheduleAt(at, "flow.timer", {"instance": 1}, key="timer:1"),
        ], olga, item, key="k")
    with pytest.raises(RuntimeError), ctx.engine.begin() as conn:  # rolled back: no jobs
        _apply(conn, ctx, [CallWebhook("http://x.test/", {})], olga, item)
        raise RuntimeError
    with ctx.engine.connect() as conn:
        queued = conn.execute(select(jobs).order_by(jobs.c.id)).all()
    assert [(j.kind, j.payload.get("channel")) for j in queued] == [
        ("notify.send", "email"), ("notify.send", "webhook"), ("webhook.call", None),
        ("flow.timer", None)]
    assert queued[0].payload["to"] == [{"kind": "role", "value": "ops"}]
    assert queued[2].payload["secret_ref"] == "crm" and "secret" not in queued[2].payload
    assert queued[3].run_at.replace(tzinfo=UTC) == at


def test_start_flow_is_deferred_until_a_handler_is_registered(
        ctx: Context, lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    olga, item = lab
    # the flow runtime may have registered its handler in an earlier test: start from
    # the built-in placeholder
    monkeypatch.setitem(EFFECT_HANDLERS, StartFlow, outside.start_flow_deferred)
    with ctx.engine.begin() as conn:
        out = _apply(conn, ctx, [StartFlow("escalation")], olga, item)
    assert out[0]["deferred"] and out[0]["flow"] == "escalation"
    seen: list[tuple[StartFlow, EffectScope]] = []
    monkeypatch.setitem(EFFECT_HANDLERS, StartFlow, lambda c, x, e, s: seen.append((e, s)))
    with ctx.engine.begin() as conn:
        _apply(conn, ctx, [StartFlow("escalation")], olga, item, source="rule:r")
    assert seen[0][0].flow == "escalation"
    assert (seen[0][1].origin_record_id, seen[0][1].source, seen[0][1].depth) == (
        item, "rule:r", 0)


def test_unknown_effects_are_refused(ctx: Context, lab: Any,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    olga, item = lab

    class Odd:
        pass

    with pytest.raises(UnknownEffectError), ctx.engine.begin() as conn:
        _apply(conn, ctx, [Odd()], olga, item)
    monkeypatch.delitem(EFFECT_HANDLERS, Odd, raising=False)
    register_effect(Odd)(lambda c, x, e, s: "odd")
    try:
        with ctx.engine.begin() as conn:
            assert _apply(conn, ctx, [Odd()], olga, item) == ["odd"]
    finally:
        EFFECT_HANDLERS.pop(Odd, None)


def test_effect_json_is_plain() -> None:
    doc = effect_json(CreateTask({"zh": "a", "en": "a"}, (Recipient("user", "u"),),
                                 due=datetime(2026, 1, 1, tzinfo=UTC),
                                 data={"n": Decimal("1.50")}))
    assert doc == {"type": "CreateTask", "title": {"zh": "a", "en": "a"},
                   "assignees": [{"kind": "user", "value": "u", "levels": 1}], "record_id": None,
                   "form": None, "due": "2026-01-01T00:00:00+00:00", "data": {"n": "1.50"}}
