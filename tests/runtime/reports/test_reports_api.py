"""The HTTP routes on a bare FastAPI app: data, export (XLSX and CSV) and dashboards,
with the error shape for bad input (never a 500)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from reports_fixtures import APP, NOW
from sqlalchemy import Connection, Engine
from test_reports_dashboard import dashboard, reports
from test_reports_service import MONTHLY, compiled

from engines.report.compile import CompiledReport
from engines.report.dashboard import CompiledDashboard
from runtime.api.errors import install_error_handlers
from runtime.clock import FixedClock
from runtime.config import Settings
from runtime.context import Context
from runtime.errors import not_found
from runtime.reports.api import router
from runtime.reports.cache import ReportCache


class Provider:
    def __init__(self) -> None:
        self.reports = {**reports(), "monthly": compiled(**{**MONTHLY, "key": "monthly"})}
        self.boards = {"overview": dashboard()}

    def report(self, conn: Connection, app: str, key: str) -> tuple[CompiledReport, int]:
        if app != APP or key not in self.reports:
            raise not_found("报表", "Report", key)
        return self.reports[key], 1

    def dashboard(self, conn: Connection, app: str, key: str) -> tuple[CompiledDashboard, int]:
        if app != APP or key not in self.boards:
            raise not_found("仪表盘", "Dashboard", key)
        return self.boards[key], 1


@pytest.fixture
def client(report_db: Engine) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.ctx = Context(settings=Settings(database_url=str(report_db.url)),
                            engine=report_db, clock=FixedClock(NOW))
    app.state.report_provider = Provider()
    app.state.report_cache = ReportCache()
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def _q(**parts: Any) -> dict[str, str]:
    return {k: json.dumps(v, ensure_ascii=False) for k, v in parts.items()}


def test_report_data(client: TestClient) -> None:
    r = client.get(f"/apps/{APP}/reports/monthly/data", params=_q(drill=["华东"]),
                   headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["key"] for c in body["columns"]] == ["month", "region", "tickets", "amount",
                                                    "late", "late_rate"]
    assert body["drill"]["level"] == 1
    assert isinstance(body["total"]["amount"], str)  # money as a decimal string
    assert body["chart"]["type"] == "bar" and body["chart"]["categories"]
    pie = client.get(f"/apps/{APP}/reports/by_region/data", params={"chart": "funnel"}).json()
    assert pie["chart"]["type"] == "funnel"


@pytest.mark.parametrize(("url", "params", "status", "code"), [
    ("/apps/desk/reports/nope/data", {}, 404, "not_found"),
    ("/apps/other/reports/monthly/data", {}, 404, "not_found"),
    ("/apps/desk/reports/monthly/data", {"params": "{"}, 422, "bad_query"),
    ("/apps/desk/reports/monthly/data", {"params": "[]"}, 422, "bad_query"),
    ("/apps/desk/reports/monthly/data", _q(params={"x": 1}), 422, "unknown_param"),
    ("/apps/desk/reports/monthly/data", _q(drill=["a", "b"]), 422, "drill_too_deep"),
    ("/apps/desk/reports/monthly/data", _q(filters=[{"field": 1}]), 422, "bad_query"),
    ("/apps/desk/reports/monthly/data", _q(filters=[{"field": "qty", "value": "x"}]), 422,
     "bad_filter_value"),
    ("/apps/desk/reports/monthly/export", {"format": "pdf"}, 422, "bad_request"),
    ("/apps/desk/dashboards/nope", {}, 404, "not_found"),
    ("/apps/desk/dashboards/overview", _q(filters={"zzz": 1}), 422, "unknown_filter"),
    ("/apps/desk/dashboards/overview", _q(link={"widget": "x"}), 422, "bad_query"),
    ("/apps/desk/dashboards/overview", _q(link={"widget": "zz", "key": "k", "value": 1}), 422,
     "unknown_widget"),
    ("/apps/desk/dashboards/overview", _q(drill={"months": "x"}), 422, "bad_query"),
])
def test_bad_input_gets_an_error_shape(client: TestClient, url: str, params: dict[str, str],
                                       status: int, code: str) -> None:
    r = client.get(url, params=params)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["message"]


def test_export_xlsx_is_formatted(client: TestClient) -> None:
    r = client.get(f"/apps/{APP}/reports/monthly/export", params={"format": "xlsx"},
                   headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="monthly.xlsx"'
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header == ["month", "region", "tickets", "amount", "late", "late_rate"]
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    data = client.get(f"/apps/{APP}/reports/monthly/data").json()
    assert sheet.max_row == 1 + len(data["rows"]) + len(data["subtotals"]) + 1
    first = sheet[2]
    assert isinstance(first[2].value, int) and first[3].number_format == "#,##0.00"
    assert first[5].number_format == "0.00%"
    last = sheet[sheet.max_row]
    assert last[0].value == "Total" and last[0].font.bold
    assert last[2].value == data["total"]["tickets"]
    assert last[3].value == pytest.approx(float(data["total"]["amount"]))


def test_export_csv(client: TestClient) -> None:
    r = client.get(f"/apps/{APP}/reports/monthly/export", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    data = client.get(f"/apps/{APP}/reports/monthly/data").json()
    assert rows[0] == ["month", "region", "tickets", "amount", "late", "late_rate"]
    assert rows[-1][0] == "合计"
    assert rows[-1][3] == data["total"]["amount"]


def test_dashboard_route(client: TestClient) -> None:
    r = client.get(f"/apps/{APP}/dashboards/overview",
                   params=_q(filters={"region": "华东"}, drill={"regions": ["华东"]},
                             link={"widget": "months", "key": "month", "value": "2026-01"}))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "总览"
    widgets = {w["id"]: w for w in body["widgets"]}
    assert widgets["regions"]["layout"] == {"x": 0, "y": 0, "w": 6, "h": 4}
    assert widgets["regions"]["data"]["drill"]["level"] == 1
    assert widgets["kpi"]["data"]["chart"]["type"] == "kpi"


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    data = paths["/apps/{app}/reports/{report}/data"]["get"]
    assert {"200", "404", "422", "503"} <= set(data["responses"])
    export = paths["/apps/{app}/reports/{report}/export"]["get"]["responses"]["200"]
    assert "text/csv" in export["content"]
    assert "/apps/{app}/dashboards/{key}" in paths
