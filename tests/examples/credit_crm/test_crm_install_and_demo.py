"""The template through the platform on SQLite and PostgreSQL: it installs through the
API, and its demo-data generator writes every form through the record lifecycle."""

from __future__ import annotations

from collections import Counter
from typing import Any

from crm_support import BUNDLE, FORMS
from sqlalchemy import func, select

from runtime.context import Context
from runtime.demo import generate_demo_data
from runtime.store.tables import record_history, records, users

EVERY_FORM = {"article", "commitment", "contact", "contract", "customer", "interaction",
              "invoice", "lead", "opportunity", "order", "payment", "quote", "survey",
              "ticket"}


def _counts(ctx: Context) -> Counter[str]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.form, func.count()).where(
            records.c.app == "credit_crm").group_by(records.c.form)).all()
    return Counter({form: n for form, n in rows})


def test_installs_through_the_api_and_serves_its_forms(crm_client: Any) -> None:
    r = crm_client.get("/api/v1/apps/credit_crm")
    assert r.status_code == 200, r.text
    r = crm_client.get(f"{FORMS}/customer", headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert "credit_score" in r.text and "reason_1" in r.text


def test_demo_data_lands_in_every_form(crm_client: Any, ctx: Context) -> None:
    seen: list[tuple[int, int]] = []
    result = generate_demo_data(ctx, BUNDLE, customers=4, seed=11, echo=lambda _m: None,
                                progress=lambda done, total: seen.append((done, total)),
                                run_tick=False)
    counts = _counts(ctx)
    assert counts["customer"] == 4
    assert set(counts) == EVERY_FORM
    assert counts["article"] == 12
    per_customer = (sum(counts.values()) - counts["article"]) / 4
    assert 35 <= per_customer <= 110, counts
    assert result.records == sum(counts.values())
    assert seen[-1] == (4, 4) and len(seen) == 4
    with ctx.engine.connect() as conn:
        # every record went through the lifecycle: one history entry per write
        history = conn.execute(select(func.count()).select_from(record_history)).scalar()
        assert history == result.records + result.updates
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() >= 20
        created = conn.execute(select(func.min(records.c.created_at),
                                      func.max(records.c.created_at))).one()
    # the history spans about two years before the clock
    assert (created[1] - created[0]).days > 300


def test_after_the_history_the_nightly_score_runs(crm_client: Any, ctx: Context) -> None:
    result = generate_demo_data(ctx, BUNDLE, customers=3, seed=2, echo=lambda _m: None)
    assert result.tick is not None, "no scheduled rules are registered"
    with ctx.engine.connect() as conn:
        customers = list(conn.execute(select(records.c.data).where(
            records.c.form == "customer")).scalars())
    assert len(customers) == 3
    for data in customers:
        assert data["score_as_of"] == ctx.clock.now().date().isoformat() or \
            data["score_as_of"]
        assert 0 <= float(data["credit_score"]) <= 100
        assert data["credit_grade"] in {"A", "B", "C", "D", "E"}
        assert data["reason_1"].startswith("R0")


def test_demo_data_is_reproducible(crm_client: Any, ctx: Context) -> None:
    generate_demo_data(ctx, BUNDLE, customers=2, seed=5, echo=lambda _m: None)
    with ctx.engine.connect() as conn:
        names = sorted(conn.execute(select(records.c.data).where(
            records.c.form == "customer")).scalars(), key=lambda d: d["code"])
    assert [d["name"] for d in names]
    from random import Random

    from runtime.demo import load_generator

    module = load_generator(BUNDLE)
    # the credit codes carry a valid GB 32100 check character
    from engines.form.checks import canonical_uscc

    for d in names:
        assert canonical_uscc(d["credit_code"]) == d["credit_code"]
    code = module.uscc(Random(1), "110000")
    assert code == module.uscc(Random(1), "110000") and canonical_uscc(code) == code
