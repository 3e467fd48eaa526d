"""The template bundle as definitions: it validates with every engine's checks, its
reports and dashboard compile, and its score formulas compute what the README says."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from crm_report_catalog import compile_dashboards, compile_reports
from crm_support import BUNDLE

from builder.bundle import Bundle
from builder.check import check_bundle
from engines.expr import FixedEnv
from engines.form.compile import compile_form

FORMS = ["article", "commitment", "contact", "contract", "customer", "interaction", "invoice",
         "lead", "opportunity", "order", "payment", "quote", "survey", "ticket"]
ROLES = ["sales_rep", "sales_director", "customer_service", "finance", "general_manager",
         "admin"]


def test_bundle_validates_with_every_engine(crm_bundle: Bundle) -> None:
    assert [p.render("en") for p in check_bundle(crm_bundle)] == []
    assert sorted(crm_bundle.of("forms")) == FORMS
    assert len(crm_bundle.of("flows")) == 7 and len(crm_bundle.of("rules")) >= 12


def test_roles_are_declared_with_scopes_on_every_form(crm_bundle: Bundle) -> None:
    declared = {r.key for r in crm_bundle.app.roles}
    assert set(ROLES) <= declared
    for key, form in crm_bundle.of("forms").items():
        perms: dict[str, Any] = form.permissions  # type: ignore[attr-defined]
        assert set(perms) <= declared, key
        assert perms["admin"].rows == "all", key
    customer = crm_bundle.of("forms")["customer"].permissions  # type: ignore[attr-defined]
    assert customer["sales_rep"].rows == "own"
    assert "credit_limit" in customer["customer_service"].hidden


def test_reports_and_trust_dashboard_compile(crm_bundle: Bundle) -> None:
    reports = compile_reports(crm_bundle)
    assert {"sales_funnel", "receivables_aging", "dso", "credit_grades", "ticket_sla",
            "trust_satisfaction", "trust_commitments", "contract_fulfilment",
            "repurchase", "resolution_time"} <= set(reports)
    dashboard = compile_dashboards(crm_bundle)["trust"]
    assert len(dashboard.widgets) >= 12
    for w in ("csat", "nps", "kept", "fulfilment", "resolution", "sla", "repurchase",
              "referral"):
        assert dashboard.widget(w).chart.type == "kpi"


def test_readme_documents_every_definition() -> None:
    readme = (BUNDLE / "README.md").read_text(encoding="utf-8")
    for kind in ("forms", "flows", "rules", "reports"):
        for f in (BUNDLE / kind).glob("*.json"):
            assert f"`{f.stem}`" in readme, f"{kind}/{f.name} is not in the README"


def _process(bundle: Bundle, form: str, data: dict[str, Any]) -> dict[str, Any]:
    forms = dict(bundle.of("forms"))
    compiled = compile_form(forms[form], forms=forms)  # type: ignore[arg-type]
    # trusted: the score facts are read-only for people and written by score_recompute
    result = compiled.process(data, env=FixedEnv(), old=None, lang="en", trusted=True)
    assert result.ok, result.issues
    return dict(result.data)


@pytest.mark.parametrize(("paid", "paydex"), [
    ("2026-01-01", 80), ("2025-12-02", 100), ("2026-01-31", 50), ("2026-05-01", 20),
    ("2026-01-16", 70), ("2026-03-02", 40)])
def test_invoice_paydex_follows_the_dnb_table(crm_bundle: Bundle, paid: str,
                                              paydex: float) -> None:
    data = _process(crm_bundle, "invoice", {
        "customer": "1", "amount": "1000.00", "issue_date": "2025-12-01",
        "due_date": "2026-01-01", "paid_amount": "1000.00", "paid_date": paid,
        "as_of": "2026-06-01"})
    assert data["status"] == "paid"
    assert float(data["paydex"]) == pytest.approx(paydex, abs=0.01)


def test_open_invoice_ages_into_buckets(crm_bundle: Bundle) -> None:
    data = _process(crm_bundle, "invoice", {
        "customer": "1", "amount": "500.00", "issue_date": "2026-01-01",
        "due_date": "2026-02-01", "paid_amount": "100.00", "as_of": "2026-04-15"})
    assert data["status"] == "partial" and Decimal(data["outstanding"]) == Decimal("400")
    assert data["days_overdue"] == 73 and data["aging_bucket"] == "d61_90"


def test_customer_score_grade_and_three_largest_losses(crm_bundle: Bundle) -> None:
    data = _process(crm_bundle, "customer", {
        "name": "测试", "credit_code": "91310000MA1FL8XQ37", "region": "east",
        "credit_limit": "100000", "f_util": 0.4, "payment_terms": "net30", "since": "2021-01-01",
        "score_as_of": "2026-01-01", "f_invoices": 10, "f_paydex": 50, "f_dbt": 30,
        "f_due_12m": 10, "f_ontime_12m": 5, "f_ar": "40000", "f_overdue_ar": "20000",
        "f_ar_90": "0", "f_sales_365": "200000", "f_commit_due": 4, "f_commit_kept": 2,
        "f_commit_late": 1, "f_complaints_90d": 0, "f_orders_90d": 2, "f_orders_12m": 6})
    # P1 = 50 → 15 pts (loss 15); P2 = 50 % → 5 pts (loss 5); tenure 60 m → full.
    assert float(data["pts_p1"]) == pytest.approx(15)
    assert float(data["pts_p2"]) == pytest.approx(5)
    assert float(data["pts_t"]) == pytest.approx(10)
    score = float(data["credit_score"])
    assert score == pytest.approx(sum(float(data[k]) for k in (
        "pts_p1", "pts_p2", "pts_e", "pts_c", "pts_q", "pts_t", "pts_r")), abs=0.2)
    assert data["credit_grade"] == ("B" if score >= 70 else "C")
    assert data["reason_1"].startswith("R01")  # the largest loss is payment timeliness
    assert data["reason_2"] and data["reason_3"] and "R06" not in data["reason_1"]


def test_a_90_day_overdue_receivable_caps_the_grade_at_d(crm_bundle: Bundle) -> None:
    data = _process(crm_bundle, "customer", {
        "name": "测试", "credit_code": "91310000MA1FL8XQ37", "region": "east",
        "since": "2020-01-01", "score_as_of": "2026-01-01", "f_invoices": 20, "f_paydex": 95,
        "f_due_12m": 10, "f_ontime_12m": 10, "f_ar": "1000", "f_overdue_ar": "100",
        "f_ar_90": "100", "f_sales_365": "900000", "f_commit_due": 5, "f_commit_kept": 5,
        "f_orders_90d": 3, "f_orders_12m": 12})
    assert float(data["credit_score"]) >= 85
    assert data["credit_grade"] == "D"
