"""Export of a filtered, sorted list as XLSX and CSV: labels as headers in the
request's language, numbers as numbers, dates as dates, formula-like text escaped."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from transfer_kit import BASE, import_file

ROWS = [
    {"name": "甲公司", "region": "east", "credit": "1200.5", "score": 90,
     "since": "2025-01-02", "vip": True, "note": "=cmd|' /C calc'!A0"},
    {"name": "乙公司", "region": "north", "credit": "300", "score": 70, "since": "2024-06-30",
     "vip": False, "note": "+1 (555) 0100"},
    {"name": "丙公司", "region": "east", "credit": "10", "score": 10, "note": "@SUM(A1)"},
]


def _seed(client: Any) -> None:
    for row in ROWS:  # through the API: the text really starts with = + @
        assert client.post(f"{BASE}/records", json=row).status_code == 201


def test_xlsx_export_types_labels_and_escaping(sales: Any) -> None:
    _seed(sales)
    r = sales.get(f"{BASE}/export", params={"format": "xlsx", "sort": "-score"},
                  headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert "filename*=UTF-8''customer.xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.values)
    assert list(rows[0]) == ["ID", "Name", "Region", "Credit", "Score", "Since", "VIP", "Note"]
    first = rows[1]
    assert first[1] == "甲公司" and first[2] == "East"
    assert first[3] == 1200.5 and isinstance(first[4], int)
    assert first[5] == datetime(2025, 1, 2)  # a real date cell
    assert sheet.cell(row=2, column=6).is_date
    assert sheet.cell(row=2, column=4).number_format == "#,##0.00"
    assert first[6] is True
    assert first[7] == "'=cmd|' /C calc'!A0"
    assert rows[2][7] == "'+1 (555) 0100" and rows[3][7] == "'@SUM(A1)"
    assert [row[4] for row in rows[1:]] == [90, 70, 10]


def test_csv_export_with_a_filter_is_streamed(sales: Any) -> None:
    _seed(sales)
    r = sales.get(f"{BASE}/export", params={"format": "csv", "filter": 'region == "east"',
                                            "sort": "score"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["ID", "名称", "地区"]
    assert [row[1] for row in rows[1:]] == ["丙公司", "甲公司"]
    assert rows[2][2] == "华东" and Decimal(rows[2][3]) == Decimal("1200.50")
    assert rows[2][5] == "2025-01-02" and rows[2][7].startswith("'=")


def test_export_round_trips_into_import(sales: Any, ctx: Any) -> None:
    _seed(sales)
    content = sales.get(f"{BASE}/export").content
    body = import_file(sales, content, name="export.xlsx", upsert_key="name").json()
    assert body["status"] == "done", body
    assert body["updated"] == 3 and body["created"] == 0
    from sqlalchemy import select

    from runtime.store.tables import records

    with ctx.engine.connect() as conn:
        datas = conn.execute(select(records.c.data).order_by(records.c.id)).scalars().all()
    assert datas[0]["since"] == date(2025, 1, 2).isoformat()
    assert datas[0]["region"] == "east" and datas[0]["credit"] == "1200.50"


def test_export_refuses_bad_filters_before_streaming(sales: Any) -> None:
    r = sales.get(f"{BASE}/export", params={"format": "csv", "filter": "nope >"})
    assert r.status_code == 422
    assert sales.get(f"{BASE}/export", params={"format": "pdf"}).status_code == 422
    assert sales.get("/api/v1/apps/sales/forms/ghost/export").status_code == 404
