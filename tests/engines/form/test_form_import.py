"""The pure half of import: column mapping and rows → processed submissions."""

from __future__ import annotations

import math
from typing import Any

from engines.expr import FixedEnv
from engines.form import CompiledForm, process_rows, row_to_submission, suggest_mapping


def test_mapping_by_key_labels_and_close_labels(ticket: CompiledForm) -> None:
    headers = ["主题", "Why Urgent", "priority", "截止 时间", "客户名", "Amount", "备注"]
    found = {m.column: (m.field, m.how) for m in suggest_mapping(headers, ticket)}
    assert found["主题"] == ("subject", "label_zh")
    assert found["Why Urgent"] == ("reason", "label_en")
    assert found["priority"] == ("priority", "key")
    assert found["截止 时间"] == ("due_at", "label_zh")
    assert found["客户名"] == ("customer", "close")
    assert found["Amount"] == (None, None)  # a formula cannot be imported
    assert found["备注"] == (None, None)


def test_each_field_is_mapped_once(ticket: CompiledForm) -> None:
    found = suggest_mapping(["subject", "Subject", "主题"], ticket)
    assert [m.field for m in found] == ["subject", None, None]


def test_cells_become_submission_values(make_form: Any) -> None:
    form = make_form([
        {"key": "level", "type": "select", "options": [
            {"value": "a", "label": {"zh": "优", "en": "Good"}},
            {"value": "b", "label": {"zh": "良", "en": "Fair"}}]},
        {"key": "tags", "type": "multiselect", "options": [
            {"value": "x", "label": "X"}, {"value": "y", "label": "Why"}]},
        {"key": "mobile", "type": "phone"}, {"key": "n", "type": "number"},
        {"key": "users", "type": "user", "multiple": True}])
    row = {"等级": "良", "标签": "X、why", "手机": 13812345678.0, "数": math.nan,
           "人": "li, wang"}
    mapping = {"等级": "level", "标签": "tags", "手机": "mobile", "数": "n", "人": "users",
               "x": None}
    assert row_to_submission(row, mapping, form) == {
        "level": "b", "tags": ["x", "y"], "mobile": "13812345678", "users": ["li", "wang"]}


def test_process_rows_reports_row_numbers_columns_and_errors(
        ticket: CompiledForm, env: FixedEnv) -> None:
    rows = [{"主题": "ok", "客户": 7, "优先级": "高", "加急原因": "fire"},
            {"主题": "", "客户": 8, "优先级": "urgent"}]
    mapping = {"主题": "subject", "客户": "customer", "优先级": "priority",
               "加急原因": "reason"}
    out = list(process_rows(rows, mapping, ticket, env=env, lang="en"))
    assert [r.number for r in out] == [2, 3]
    assert out[0].ok and out[0].data["priority"] == "high" and out[0].data["customer"] == "7"
    assert not out[1].ok
    assert [(e["field"], e["code"], e["column"]) for e in out[1].errors] == [
        ("subject", "required", "主题"), ("priority", "option", "优先级")]


def test_process_rows_upserts_with_old_data(ticket: CompiledForm, env: FixedEnv) -> None:
    old = {"subject": "before", "customer": "7", "status": "open"}
    out = list(process_rows([{"状态": "已完成"}], {"状态": "status"}, ticket, env=env,
                            old_by_row={2: old}))
    assert out[0].ok and out[0].data["subject"] == "before"
    assert out[0].data["status"] == "done"
