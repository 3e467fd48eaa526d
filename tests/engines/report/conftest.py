"""Fixtures for the report engine: a small catalog (tickets → customers) and the
FORMATS.md report as a dict to vary per test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table

from engines.report.fields import FieldInfo

# The shape of the records table, declared here: engine tests never import runtime.
TABLE = Table(
    "records", MetaData(),
    Column("id", BigInteger, primary_key=True), Column("app", String), Column("form", String),
    Column("data", JSON), Column("owner", String), Column("department", String),
    Column("created_by", String), Column("updated_by", String), Column("version", Integer),
    *(Column(c, DateTime(timezone=True)) for c in ("created_at", "updated_at", "deleted_at")))

CATALOG = {
    "ticket": {
        "subject": FieldInfo("text"),
        "customer": FieldInfo("relation", "customer"),
        "amount": FieldInfo("money"),
        "qty": FieldInfo("integer"),
        "score": FieldInfo("number"),
        "status": FieldInfo("select"),
        "due_at": FieldInfo("datetime"),
        "due_on": FieldInfo("date"),
        "urgent": FieldInfo("boolean"),
        "tags": FieldInfo("multiselect"),
    },
    "customer": {
        "name": FieldInfo("text"),
        "region": FieldInfo("text"),
        "team": FieldInfo("text"),
    },
}

REPORT: dict[str, Any] = {
    "schema_version": 1,
    "key": "tickets_by_month",
    "name": {"zh": "月度工单", "en": "Tickets by month"},
    "source": "ticket",
    "joins": [{"relation": "customer"}],
    "filters": ["status != 'cancelled'"],
    "params": [{"key": "since", "type": "date", "default_expr": "TODAY() - DAYS(365)",
                "filter": "due_on >= since"}],
    "dimensions": [{"key": "month", "field": "created_at", "bucket": "month"},
                   {"key": "region", "field": "customer.region"}],
    "measures": [
        {"key": "tickets", "agg": "count"},
        {"key": "amount", "agg": "sum", "field": "amount"},
        {"key": "late", "agg": "count", "where": "status != 'done' and due_at < NOW()"},
        {"key": "late_rate", "expr": "late / tickets", "format": "percent"},
    ],
    "sort": [{"key": "month"}],
    "chart": {"type": "bar", "x": "month", "series": "region", "y": ["tickets"]},
    "drill": ["customer.region", "customer.team"],
}


@pytest.fixture
def catalog() -> dict[str, dict[str, FieldInfo]]:
    return CATALOG


@pytest.fixture
def report_doc() -> dict[str, Any]:
    return copy.deepcopy(REPORT)
