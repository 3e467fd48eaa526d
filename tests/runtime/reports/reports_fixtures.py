"""The seeded data set of the report tests and the pandas computation the report
results are compared with (fixtures are in conftest.py).

Each PostgreSQL run creates its own database (`loom_test_report_<random>`) with
`metadata.create_all` and drops it at the end; when PostgreSQL is unreachable the
PostgreSQL cases fail under CI=true and skip otherwise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from engines.report.fields import FieldInfo

APP = "desk"
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)
TZ = "Asia/Shanghai"

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
    },
    "customer": {"name": FieldInfo("text"), "region": FieldInfo("text"),
                 "team": FieldInfo("text")},
}


@dataclass
class Dataset:
    customers: list[dict[str, Any]]
    tickets: list[dict[str, Any]]


def _row(rid: int, form: str, data: dict[str, Any], created: datetime, *,
         app: str = APP, deleted: bool = False, owner: str = "u1") -> dict[str, Any]:
    return {"id": rid, "app": app, "form": form, "form_version": 1, "data": data,
            "version": 1, "owner": owner, "department": "d1", "created_at": created,
            "created_by": owner, "updated_at": created, "updated_by": owner,
            "deleted_at": created + timedelta(days=1) if deleted else None,
            "history_hash": ""}


def make_dataset(seed: int = 7, tickets: int = 600) -> Dataset:
    rnd = random.Random(seed)
    base = datetime(2025, 11, 1, tzinfo=UTC)
    regions = ["华东", "华北", "华南", None]
    customers = [
        _row(i, "customer", {"name": f"c{i}", "region": regions[i % 4],
                             "team": "ab"[i % 2]}, base, deleted=(i == 7))
        for i in range(1, 9)]
    rows = []
    for n in range(tickets):
        rid = 100 + n
        created = base + timedelta(minutes=rnd.randrange(0, 60 * 24 * 135))
        if n % 50 == 0:  # just before midnight in Shanghai: the bucket moves a day on
            created = created.replace(hour=15, minute=59)
        data: dict[str, Any] = {
            "subject": f"t{n}",
            "customer": rnd.choice(["1", "2", "3", "4", "5", "6", "7", "8", ""]),
            "status": rnd.choice(["open", "done", "cancelled", "open", ""]),
            "qty": rnd.randint(0, 9),
            "score": round(rnd.random() * 10, 3),
            "due_on": (date(2026, 1, 1) + timedelta(days=rnd.randrange(0, 120))).isoformat(),
            "urgent": rnd.random() < 0.3,
        }
        if rnd.random() < 0.9:
            data["amount"] = f"{rnd.randint(0, 99999)}.{rnd.randint(0, 99):02d}"
        if rnd.random() < 0.85:
            due = NOW + timedelta(hours=rnd.randint(-24 * 60, 24 * 30))
            data["due_at"] = due.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(_row(rid, "ticket", data, created, deleted=(n % 37 == 0),
                         owner=rnd.choice(["u1", "u2", "u3"])))
    # Noise that must never be counted: another app, another form.
    rows.append(_row(10_000, "ticket", {"status": "open", "amount": "5.00"}, base, app="other"))
    rows.append(_row(10_001, "note", {"status": "open"}, base))
    return Dataset(customers, rows)


def frame(data: Dataset) -> pd.DataFrame:
    """Live tickets of the app joined with their live customers, as pandas sees them:
    the reference the reports are checked against."""
    cust = {c["id"]: c["data"] for c in data.customers if c["deleted_at"] is None}
    out = []
    for r in data.tickets:
        if r["app"] != APP or r["form"] != "ticket" or r["deleted_at"] is not None:
            continue
        d = r["data"]
        ref = d.get("customer") or ""
        c = cust.get(int(ref), {}) if ref else {}
        out.append({
            "created_at": pd.Timestamp(r["created_at"]),
            "owner": r["owner"],
            "status": d.get("status"),
            "amount": Decimal(d["amount"]) if "amount" in d else None,
            "qty": d.get("qty"),
            "score": d.get("score"),
            "due_on": d.get("due_on"),
            "due_at": pd.Timestamp(d["due_at"]) if "due_at" in d else None,
            "urgent": d.get("urgent"),
            "region": c.get("region"),
            "team": c.get("team"),
        })
    df = pd.DataFrame(out)
    df["local"] = df["created_at"].dt.tz_convert(TZ)
    return df


def canon(rows: list[dict[str, Any]], keys: list[str]) -> list[tuple[Any, ...]]:
    """Rows as sortable tuples (None sorts last), for order-free comparison."""
    def k(v: Any) -> tuple[int, Any]:
        return (1, "") if v is None else (0, v)
    return sorted((tuple(r[x] for x in keys) for r in rows),
                  key=lambda t: tuple(k(v) for v in t))
