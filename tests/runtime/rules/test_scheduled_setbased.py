"""Timed rules at scale, on SQLite and PostgreSQL: the aggregates of a rule's actions
come with the candidate query (and give exactly what the per-record path gives), the
correlated subqueries use the relation field's index, and firings are applied in
batches where a failing firing loses neither the others nor its claim semantics."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from builder.bundle import load
from runtime.apps.service import install
from runtime.auth.models import SYSTEM
from runtime.context import Context
from runtime.expr.env import SqlEnv
from runtime.expr.sql_context import RecordsSqlContext
from runtime.records import service as rec
from runtime.rules import scheduled
from runtime.rules.compiled import app_rules
from runtime.rules.pushdown import add_aggregates
from runtime.store.tables import records, rule_claims, rule_runs, rule_schedules

APP = "facts_lab"
FACTS = {
    "n_inv": 'COUNT("invoice", customer == record.id)',
    "total": 'SUM("invoice", amount, customer == record.id)',
    "avg_amt": 'AVG("invoice", amount, customer == record.id and status != "void")',
    "last_due": 'MAX("invoice", due_date, customer == record.id)',
    "overdue": 'SUM("invoice", amount, customer == record.id and due_date < TODAY()'
               ' and status == "open")',
    # an aggregate used twice and arithmetic around it, evaluated in Python
    "share": 'IF(credit_limit > 0, SUM("invoice", amount, customer == record.id)'
             ' / credit_limit, 0)',
    "score": 'COUNT("invoice", customer == record.id) * 10',
    # reads the candidate beyond its id: a correlated subquery, not the grouped one
    "small": 'SUM("invoice", amount, customer == record.id and amount < record.credit_limit)',
}


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _label(text_: str) -> dict[str, str]:
    return {"zh": text_, "en": text_}


def _bundle(root: Path) -> Path:
    _write(root / "app.json", {
        "schema_version": 1, "key": APP, "name": _label("facts"), "version": "1.0.0",
        "menu": [{"form": "customer"}, {"form": "invoice"}]})
    _write(root / "forms" / "customer.json", {
        "schema_version": 1, "key": "customer", "name": _label("customer"), "fields": [
            {"key": "name", "type": "text", "label": _label("name"), "required": True},
            {"key": "credit_limit", "type": "money", "label": _label("limit")},
            # read-only for people; a rule's write is trusted and sets it
            {"key": "n_inv", "type": "integer", "label": _label("n"), "read_only": True},
            {"key": "total", "type": "money", "label": _label("total")},
            {"key": "avg_amt", "type": "number", "label": _label("avg")},
            {"key": "last_due", "type": "date", "label": _label("last due")},
            {"key": "overdue", "type": "money", "label": _label("overdue")},
            {"key": "share", "type": "number", "label": _label("share")},
            {"key": "small", "type": "money", "label": _label("small")},
            # more than 3 invoices makes the score break this bound: that firing fails
            {"key": "score", "type": "integer", "label": _label("score"), "max": 30},
        ]})
    _write(root / "forms" / "invoice.json", {
        "schema_version": 1, "key": "invoice", "name": _label("invoice"), "fields": [
            {"key": "customer", "type": "relation", "form": "customer",
             "label": _label("customer"), "required": True, "indexed": True},
            {"key": "amount", "type": "money", "label": _label("amount")},
            {"key": "due_date", "type": "date", "label": _label("due"), "indexed": True},
            {"key": "status", "type": "select", "label": _label("status"), "indexed": True,
             "default": "open", "options": [{"value": v, "label": _label(v)}
                                            for v in ("open", "paid", "void")]},
        ]})
    _write(root / "rules" / "facts.json", {
        "schema_version": 1, "key": "facts", "name": _label("nightly facts"),
        "form": "customer", "trigger": {"kind": "schedule", "cron": "0 2 * * *"},
        "when": 'name != "skip"', "once_per": "TODAY()",
        "actions": [{"kind": "set_fields", "values": FACTS}]})
    return root


# customer name -> its invoices (amount, due date, status); "gone" is deleted after
INVOICES: dict[str, list[tuple[str | None, str, str]]] = {
    "ann": [("100.00", "2026-01-10", "open"), ("50.50", "2026-05-01", "paid"),
            ("20.00", "2026-02-01", "void")],
    "bob": [],
    "cid": [(None, "2026-02-20", "open"), ("10.00", "2026-02-25", "open")],
    "dee": [("1.00", "2026-01-01", "paid")] * 4,  # score 40 > 30: this firing fails
    "eve": [("7.25", "2026-12-31", "open")],
    "skip": [("1.00", "2026-01-01", "open")],
}


@pytest.fixture
def lab(ctx: Context, tmp_path: Path) -> dict[str, str]:
    with ctx.engine.begin() as conn:
        install(conn, ctx, load(_bundle(tmp_path / "bundle")), actor=SYSTEM)
        ids: dict[str, str] = {}
        for name, invoices in INVOICES.items():
            cid = rec.create(conn, ctx, app=APP, form="customer", actor=SYSTEM,
                             data={"name": name, "credit_limit": "200.00"})["id"]
            ids[name] = str(cid)
            for amount, due, status in invoices:
                rec.create(conn, ctx, app=APP, form="invoice", actor=SYSTEM,
                           data={"customer": cid, "amount": amount, "due_date": due,
                                 "status": status})
        gone = rec.create(conn, ctx, app=APP, form="invoice", actor=SYSTEM,
                          data={"customer": ids["bob"], "amount": "999.00",
                                "due_date": "2026-01-01"})
        rec.delete_record(conn, ctx, app=APP, form="invoice", record_id=gone["id"],
                          actor=SYSTEM)
    return ids


def _customers(ctx: Context) -> dict[str, dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.data).where(
            records.c.app == APP, records.c.form == "customer")).scalars().all()
    return {d["name"]: d for d in rows}


def _reset(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(delete(rule_claims))
        conn.execute(delete(rule_schedules))
        conn.execute(delete(rule_runs))


def test_pushed_aggregates_equal_the_per_record_values(
        ctx: Context, lab: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_per_record_query(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("an aggregate was computed per record")

    with monkeypatch.context() as m:  # every aggregate must come with the candidates
        m.setattr(SqlEnv, "aggregate", no_per_record_query)
        counts = scheduled.run_timed_rule(ctx, app=APP, rule_key="facts",
                                          at=ctx.clock.now(), batch=2)
    assert counts == {"ok": 4, "error": 1}  # "skip" is not a candidate; "dee" fails
    pushed = _customers(ctx)
    ann, bob, cid = pushed["ann"], pushed["bob"], pushed["cid"]
    assert (ann["n_inv"], ann["total"], ann["last_due"], ann["overdue"]) == \
        (3, "170.50", "2026-05-01", "100.00")
    assert Decimal(str(ann["avg_amt"])) == Decimal("75.25")
    assert Decimal(str(ann["share"])) == Decimal("0.8525") and ann["small"] == "170.50"
    assert (bob["n_inv"], bob["total"], bob["overdue"], bob.get("last_due")) == \
        (0, "0.00", "0.00", None)  # the deleted invoice is not counted
    assert bob.get("avg_amt") is None and bob["score"] == 0
    assert (cid["n_inv"], cid["total"], cid["overdue"]) == (2, "10.00", "10.00")
    assert "n_inv" not in pushed["dee"] and "n_inv" not in pushed["skip"]

    # The same tick through the per-record path (no aggregate pushed) writes the same.
    _reset(ctx)
    monkeypatch.setattr(scheduled, "add_aggregates", _push_nothing)
    counts = scheduled.run_timed_rule(ctx, app=APP, rule_key="facts", at=ctx.clock.now())
    assert counts == {"ok": 4, "error": 1}
    assert _customers(ctx) == pushed


def _push_nothing(stmt: Any, *_a: Any, **_k: Any) -> Any:
    from runtime.rules.pushdown import Pushed

    return stmt, Pushed({})


def test_pushed_aggregates_are_grouped_by_relation_and_use_its_index(
        ctx: Context, lab: dict[str, str]) -> None:
    with ctx.engine.connect() as conn:
        capp = ctx.apps.current(conn, APP)
        rule = app_rules(capp).rules["facts"]
        stmt, _ = scheduled.candidate_query(conn, ctx, rule, app=APP, forms=capp.expr_forms,
                                            now=ctx.clock.now(), since=None)
        sctx = RecordsSqlContext(dialect=conn.dialect.name, app=APP, form="customer",
                                 forms=capp.expr_forms, now=ctx.clock.now(), tz=ctx.tz)
        stmt, pushed = add_aggregates(stmt, rule, sctx, with_condition=False)
        assert len(pushed.keys) == 6  # eight values, two aggregates used twice
        # five share one grouped query; "small" reads record.credit_limit: correlated
        assert len(pushed.labels) == 1 and len(pushed.grouped) == 1
        query, measures = pushed.grouped[0]
        assert len(measures) == 5
        grouped = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        assert grouped.count("GROUP BY") == 1 and grouped.count("FILTER (WHERE") == 2
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        assert "GROUP BY" not in sql and len(re.findall(r"\(SELECT sum\(", sql)) == 1
        # `customer == record.id` compares the raw, indexable expression
        assert not re.search(r"coalesce\(\(?(json_extract\()?agg\w+\.data(, | ->> )"
                             r"'(\$\.)?customer'", sql), sql
        if conn.dialect.name == "sqlite":
            plan = "\n".join(r[3] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
        conn.rollback()
    if ctx.engine.dialect.name == "sqlite":
        # the correlated one probes the relation field's index: `customer == record.id`
        assert re.search(r"SEARCH agg_invoice\w* USING INDEX ix_rec_\w+ \(<expr>=\?\)", plan), plan
    else:  # (too few rows here for PostgreSQL to prefer an index: see bench/crm.py)
        assert "SubPlan" in plan and "Aggregate" in plan, plan


def test_a_failing_firing_keeps_the_others_of_its_batch(ctx: Context,
                                                        lab: dict[str, str]) -> None:
    counts = scheduled.run_timed_rule(ctx, app=APP, rule_key="facts", at=ctx.clock.now(),
                                      batch=3)
    assert counts == {"ok": 4, "error": 1}
    with ctx.engine.connect() as conn:
        runs = {str(r.record_id): r.outcome for r in conn.execute(select(rule_runs))}
        claimed = set(conn.execute(select(rule_claims.c.subject)).scalars())
        since = conn.execute(select(rule_schedules.c.since)).scalar()
    assert runs[lab["dee"]] == "error"
    assert sorted(runs) == sorted(v for k, v in lab.items() if k != "skip")
    assert claimed == set(runs)  # a failing firing is claimed too: it ran, and failed
    assert since is not None
    assert "n_inv" not in _customers(ctx)["dee"]
    # the same tick again does nothing new
    _clear_since(ctx)
    assert scheduled.run_timed_rule(ctx, app=APP, rule_key="facts",
                                    at=ctx.clock.now()) == {"skipped": 5}


def _clear_since(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(delete(rule_schedules))


def test_an_escaping_error_rolls_back_only_its_firing_and_is_retried(
        ctx: Context, lab: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = scheduled.apply_firing
    culprit = lab["cid"]

    def crashing(conn: Any, ctx_: Context, firing: Any, **kw: Any) -> str:
        outcome = real(conn, ctx_, firing, **kw)
        if firing.record_id == culprit:
            raise RuntimeError("connection lost")  # after its writes: they roll back
        return outcome

    monkeypatch.setattr(scheduled, "apply_firing", crashing)
    with pytest.raises(RuntimeError):
        scheduled.run_timed_rule(ctx, app=APP, rule_key="facts", at=ctx.clock.now(),
                                 batch=10)
    after = _customers(ctx)
    assert "n_inv" not in after["cid"]  # rolled back, claim included
    assert after["ann"]["n_inv"] == 3 and after["eve"]["n_inv"] == 1  # the rest applied
    with ctx.engine.connect() as conn:
        assert conn.execute(select(rule_schedules)).first() is None  # `since` stayed
        claimed = set(conn.execute(select(rule_claims.c.subject)).scalars())
    assert culprit not in claimed and len(claimed) == 4
    monkeypatch.setattr(scheduled, "apply_firing", real)
    counts = scheduled.run_timed_rule(ctx, app=APP, rule_key="facts", at=ctx.clock.now())
    assert counts == {"ok": 1, "skipped": 4}  # the re-run does only what was lost
    assert _customers(ctx)["cid"]["n_inv"] == 2


def test_dry_run_shows_the_pushed_values_and_writes_nothing(
        ctx: Context, lab: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.rules.preview import preview_rule

    def no_per_record_query(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("an aggregate was computed per record")

    monkeypatch.setattr(SqlEnv, "aggregate", no_per_record_query)
    with ctx.engine.connect() as conn:
        report = preview_rule(conn, ctx, app=APP, rule="facts", actor=SYSTEM, limit=2)
    assert [i["record_id"] for i in report["items"]] == [lab["ann"], lab["bob"]]
    ann = report["items"][0]["effects"][0]["values"]
    assert ann["n_inv"] == 3  # money as the effect carries it, before the form rounds it
    assert Decimal(ann["total"]) == Decimal(ann["small"]) == Decimal("170.50")
    assert "n_inv" not in _customers(ctx)["ann"]
