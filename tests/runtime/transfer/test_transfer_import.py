"""Importing XLSX and CSV through the API on SQLite and PostgreSQL: preview and
suggested mapping, all-or-nothing and skip-bad-rows, dry run, upsert, the per-row
error report (fixed and imported again), and every row through the record lifecycle."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select
from transfer_kit import BASE, HEADERS, import_file, xlsx

from runtime.store.tables import record_history, records

GOOD = [
    ["华南电子", "华东", 1200.5, 90, datetime(2025, 1, 2), True, "老客户"],
    ["北方机械", "north", "300", 70, "2024-06-30", False, None],
]


def _records(ctx: Any) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(records.c.data).where(records.c.deleted_at.is_(None))
                            .order_by(records.c.id)).scalars().all()
    return [dict(r) for r in rows]


def test_preview_suggests_a_mapping_and_shows_first_rows(sales: Any) -> None:
    content = xlsx(GOOD, headers=["Name", "地区", "Credit limit", "score", "开始日期",
                                  "重要", "Unrelated"])
    r = import_file(sales, content, preview=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["headers"][0] == "Name"
    assert body["mapping"]["Name"] == "name" and body["mapping"]["地区"] == "region"
    assert body["mapping"]["score"] == "score" and body["mapping"]["Unrelated"] is None
    assert body["rows"][0] == {"row": 2, "cells": {
        "Name": "华南电子", "地区": "华东", "Credit limit": 1200.5, "score": 90,
        "开始日期": "2025-01-02T00:00:00", "重要": True, "Unrelated": "老客户"}}
    assert {f["key"] for f in body["fields"]} >= {"name", "region", "credit"}
    # importing the previewed file by its id, with an explicit mapping
    mapping = {**body["mapping"], "Credit limit": "credit", "Unrelated": "note"}
    r = sales.post(f"{BASE}/import", data={"file_id": body["file_id"],
                                           "mapping": json.dumps(mapping)})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2


def test_import_all_rows_through_the_record_lifecycle(sales: Any, ctx: Any) -> None:
    r = import_file(sales, xlsx(GOOD))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done" and body["created"] == 2 and body["failed"] == 0
    assert body["error_report"] is None
    first, second = _records(ctx)
    assert first["region"] == "east" and first["credit"] == "1200.50"
    assert first["since"] == "2025-01-02" and first["vip"] is True and first["score"] == 90
    assert second["region"] == "north" and second["since"] == "2024-06-30"
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(record_history)
                            .where(record_history.c.action == "create")).scalar_one() == 2


def test_all_or_nothing_writes_nothing_and_reports_every_error(sales: Any, ctx: Any) -> None:
    bad = [*GOOD, ["", "西部", -5, 101, "not a date", None, None],
           ["正常公司", "华东", 1, 1, None, None, None]]
    r = import_file(sales, xlsx(bad))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "failed" and body["created"] == 0 and body["failed"] == 1
    assert body["total"] == 4
    errors = body["errors"]
    assert {e["row"] for e in errors} == {4}
    assert {e["column"] for e in errors} >= {"名称", "地区", "信用额度", "评分", "开始日期"}
    assert _records(ctx) == []
    report = sales.get(f"/api/v1/files/{body['error_report']['id']}")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None
    rows = list(sheet.values)
    assert list(rows[0]) == [*HEADERS, "错误原因", "原行号"]
    assert rows[1][1] == "西部" and rows[1][-1] == 4 and "评分" in rows[1][-2]
    assert len(rows) == 2


def test_skip_bad_rows_keeps_the_good_ones_and_the_fixed_report_imports(
        sales: Any, ctx: Any) -> None:
    bad = [GOOD[0], ["坏行", "华东", 1, 500, None, None, None], GOOD[1]]
    r = import_file(sales, xlsx(bad), mode="skip_bad_rows")
    body = r.json()
    assert body["status"] == "done" and body["created"] == 2 and body["failed"] == 1
    assert [e["row"] for e in body["errors"]] == [3]
    assert body["errors"][0]["column"] == "评分" and body["errors"][0]["field"] == "score"
    assert [d["name"] for d in _records(ctx)] == ["华南电子", "北方机械"]
    content = sales.get(f"/api/v1/files/{body['error_report']['id']}").content
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    assert sheet is not None
    sheet["D2"] = 50  # fix the score
    fixed = io.BytesIO()
    book.save(fixed)
    again = import_file(sales, fixed.getvalue(), name="fixed.xlsx").json()
    assert again["created"] == 1 and again["failed"] == 0, again
    assert again["mapping"]["错误原因"] is None
    assert [d["name"] for d in _records(ctx)][-1] == "坏行"


def test_dry_run_changes_nothing(sales: Any, ctx: Any) -> None:
    body = import_file(sales, xlsx(GOOD), dry_run=True).json()
    assert body["status"] == "dry_run" and body["created"] == 2
    assert _records(ctx) == []
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(record_history)).scalar_one() == 0


def test_upsert_by_key_updates_existing_records(sales: Any, ctx: Any) -> None:
    assert import_file(sales, xlsx(GOOD)).json()["created"] == 2
    rows = [["华南电子", "华北", None, 55, None, None, "更新"], ["新客户", "华东", 10, 1, None,
                                                            None, None]]
    body = import_file(sales, xlsx(rows), upsert_key="name").json()
    assert body["status"] == "done", body
    assert body["updated"] == 1 and body["created"] == 1
    by_name = {d["name"]: d for d in _records(ctx)}
    assert by_name["华南电子"]["region"] == "north" and by_name["华南电子"]["score"] == 55
    assert by_name["华南电子"]["credit"] == "1200.50"  # a blank cell keeps the value
    assert by_name["华南电子"]["note"] == "更新" and "新客户" in by_name
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(record_history)
                            .where(record_history.c.action == "update")).scalar_one() == 1
    r = import_file(sales, xlsx(rows), upsert_key="ghost")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_upsert_key"


def test_a_duplicate_unique_value_fails_only_its_row(sales: Any, ctx: Any) -> None:
    rows = [GOOD[0], GOOD[1], ["华南电子", "华东", 1, 1, None, None, None]]
    body = import_file(sales, xlsx(rows), mode="skip_bad_rows").json()
    assert body["created"] == 2 and body["failed"] == 1
    assert body["errors"][0]["row"] == 4 and body["errors"][0]["code"] == "duplicate_value"
    assert len(_records(ctx)) == 2


def test_csv_in_utf8_and_gb18030(sales: Any, ctx: Any) -> None:
    text = "名称,地区,评分\n甲公司,华东,1\n乙公司,North,2\n"
    body = import_file(sales, ("\ufeff" + text).encode(), name="a.csv").json()
    assert body["created"] == 2, body
    body = import_file(sales, text.replace("公司", "厂").encode("gb18030"), name="b.csv").json()
    assert body["created"] == 2, body
    assert {d["name"] for d in _records(ctx)} == {"甲公司", "乙公司", "甲厂", "乙厂"}


def test_bad_mapping_and_bad_options(sales: Any) -> None:
    r = import_file(sales, xlsx(GOOD), mapping=json.dumps({"名称": "nope", "ghost": "name"}))
    assert r.status_code == 422
    assert {d["code"] for d in r.json()["error"]["details"]} == {"unknown_field",
                                                                 "unknown_column"}
    r = import_file(sales, xlsx(GOOD), mapping="[1, 2]")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_mapping"
    assert import_file(sales, xlsx(GOOD), mode="sometimes").status_code == 422
    r = sales.post(f"{BASE}/import", data={"dry_run": "true"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_file"
    r = import_file(sales, xlsx(GOOD, headers=["x", "y"]))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_mapping"


def test_english_errors_follow_accept_language(sales: Any) -> None:
    r = sales.post(f"{BASE}/import", files={"file": ("c.xlsx", xlsx([["", None, None, 500,
                                                                        None, None, None]]))},
                   headers={"Accept-Language": "en"})
    body = r.json()
    assert body["status"] == "failed"
    assert any("100" in e["message"] for e in body["errors"])
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in e["message"])
               for e in body["errors"])
