"""Reports run in the database give the same results on SQLite, on PostgreSQL and in
pandas over the same rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from reports_fixtures import APP, CATALOG, NOW, Dataset, canon, frame
from sqlalchemy import DateTime, Engine, select, values
from sqlalchemy import column as sa_column

from engines.report.compile import CompiledReport, compile_report
from engines.report.expressions import default_backend
from engines.report.query import FieldFilter
from engines.report.spec import ReportSpec
from engines.report.sqlbuild import pg_local_time
from runtime.errors import ValidationFailed
from runtime.reports.limits import Limits, TooManyRowsError
from runtime.reports.service import result_json, run_report


def compiled(**doc: Any) -> CompiledReport:
    base: dict[str, Any] = {"key": "r", "name": {"zh": "报表", "en": "Report"},
                            "source": "ticket"}
    return compile_report(ReportSpec.model_validate({**base, **doc}), CATALOG,
                          backend=default_backend())


MONTHLY = {
    "joins": [{"relation": "customer"}],
    "filters": ["status != 'cancelled'"],
    "dimensions": [{"key": "month", "field": "created_at", "bucket": "month"},
                   {"key": "region", "field": "customer.region"}],
    "measures": [
        {"key": "tickets", "agg": "count"},
        {"key": "amount", "agg": "sum", "field": "amount", "format": "money"},
        {"key": "late", "agg": "count", "where": "status != 'done' and due_at < NOW()"},
        {"key": "late_rate", "expr": "late / tickets", "format": "percent"},
    ],
    "chart": {"type": "bar", "x": "month", "series": "region", "y": ["tickets"]},
    "drill": ["customer.region", "customer.team"],
    "totals": True, "subtotals": True,
}


def _money_sum(values: pd.Series) -> Decimal | None:
    present = [v for v in values if v is not None and not pd.isna(v)]
    return sum(present, Decimal(0)) if present else None


def _expected_monthly(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = df[df["status"] != "cancelled"].copy()
    df["month"] = df["local"].dt.strftime("%Y-%m")
    df["is_late"] = (df["status"] != "done") & df["due_at"].notna() & (
        df["due_at"] < pd.Timestamp(NOW))
    if not keys:
        df["_all"] = 1
        keys = ["_all"]
    grouped = df.groupby(keys, dropna=False).agg(
        tickets=("status", "size"), amount=("amount", _money_sum), late=("is_late", "sum"))
    grouped = grouped.reset_index()
    grouped["late_rate"] = [round(a / b, 10) for a, b in zip(grouped["late"], grouped["tickets"],
                                                             strict=True)]
    return grouped


def _records(df: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    out = []
    for row in df.to_dict("records"):
        item = {k: (None if pd.isna(row[k]) else row[k]) for k in keys}
        item.update(tickets=int(row["tickets"]), late=int(row["late"]),
                    amount=None if row["amount"] is None else row["amount"].quantize(
                        Decimal("0.01")), late_rate=row["late_rate"])
        out.append(item)
    return out


def test_month_by_region_equals_pandas(report_db: Engine, dataset: Dataset) -> None:
    report = compiled(**MONTHLY)
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW)
    df = frame(dataset)
    keys = ["month", "region", "tickets", "amount", "late", "late_rate"]
    expected = _records(_expected_monthly(df, ["month", "region"]), ["month", "region"])
    assert canon(result.rows, keys) == canon(expected, keys)
    subtotals = _records(_expected_monthly(df, ["month"]), ["month"])
    assert canon(result.subtotals, ["month", "tickets", "amount", "late", "late_rate"]) == \
        canon(subtotals, ["month", "tickets", "amount", "late", "late_rate"])
    total = _records(_expected_monthly(df, []), [])[0]
    assert result.total is not None
    assert {k: result.total[k] for k in total} == total
    # sorted by the dimensions, blanks last, on both databases
    months = [r["month"] for r in result.rows]
    assert months == sorted(months)
    assert result.chart["categories"] == sorted(set(months))
    assert result_json(result)["total"]["amount"] == str(total["amount"])


@pytest.mark.parametrize(("bucket", "fmt"), [
    ("day", "%Y-%m-%d"), ("month", "%Y-%m"), ("year", "%Y"), ("week", None), ("quarter", None),
])
@pytest.mark.parametrize("field", ["created_at", "due_on", "due_at"])
def test_date_buckets_equal_pandas(report_db: Engine, dataset: Dataset, bucket: str,
                                   fmt: str | None, field: str) -> None:
    report = compiled(dimensions=[{"key": "b", "field": field, "bucket": bucket}],
                      measures=[{"key": "n", "agg": "count"}])
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW)
    df = frame(dataset)
    if field == "created_at":
        values = df["local"]
    elif field == "due_at":
        values = df["due_at"].dt.tz_convert("Asia/Shanghai")
    else:
        values = pd.to_datetime(df["due_on"])
    if bucket == "week":
        labels = (values - pd.to_timedelta(values.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    elif bucket == "quarter":
        labels = values.dt.year.astype("Int64").astype(str) + "-Q" + \
            values.dt.quarter.astype("Int64").astype(str)
    else:
        labels = values.dt.strftime(fmt)
    labels = labels.where(values.notna(), None)
    counts = labels.value_counts(dropna=False)
    expected = [{"b": None if pd.isna(k) else k, "n": int(v)} for k, v in counts.items()]
    assert canon(result.rows, ["b", "n"]) == canon(expected, ["b", "n"])


def test_measure_kinds_equal_pandas(report_db: Engine, dataset: Dataset) -> None:
    report = compiled(
        dimensions=[{"key": "owner", "field": "owner"}],
        measures=[
            {"key": "n", "agg": "count"},
            {"key": "with_amount", "agg": "count", "field": "amount"},
            {"key": "statuses", "agg": "distinct_count", "field": "status"},
            {"key": "qty_sum", "agg": "sum", "field": "qty"},
            {"key": "score_avg", "agg": "avg", "field": "score"},
            {"key": "amount_min", "agg": "min", "field": "amount"},
            {"key": "amount_max", "agg": "max", "field": "amount"},
            {"key": "first_due", "agg": "min", "field": "due_on"},
            {"key": "urgent_n", "agg": "count", "where": "urgent"},
            {"key": "share", "agg": "ratio", "numerator": "urgent_n", "denominator": "n"},
        ])
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW)
    df = frame(dataset)
    got = {r["owner"]: r for r in result.rows}
    assert set(got) == set(df["owner"])
    for owner, part in df.groupby("owner"):
        row = got[owner]
        amounts = [a for a in part["amount"] if a is not None]
        assert row["n"] == len(part)
        assert row["with_amount"] == len(amounts)
        assert row["statuses"] == part["status"].nunique()
        assert row["qty_sum"] == part["qty"].sum()
        assert row["score_avg"] == pytest.approx(part["score"].mean(), rel=1e-9)
        assert row["amount_min"] == min(amounts)
        assert row["amount_max"] == max(amounts)
        assert row["first_due"] == part["due_on"].min()
        assert row["urgent_n"] == int(part["urgent"].sum())
        assert row["share"] == pytest.approx(part["urgent"].sum() / len(part), rel=1e-9)


def test_parameters_filter_and_are_bound(report_db: Engine, dataset: Dataset) -> None:
    report = compiled(
        params=[{"key": "since", "type": "date", "filter": "due_on >= since"},
                {"key": "who", "type": "text", "filter": "owner == who"}],
        measures=[{"key": "n", "agg": "count"}])
    df = frame(dataset)
    with report_db.connect() as conn:
        everything = run_report(conn, report, app=APP, version=1, now=NOW)
        some = run_report(conn, report, app=APP, version=1, now=NOW,
                          params={"since": "2026-03-01", "who": "u2' OR '1'='1"})
        real = run_report(conn, report, app=APP, version=1, now=NOW,
                          params={"since": "2026-03-01", "who": "u2"})
        with pytest.raises(ValidationFailed) as info:
            run_report(conn, report, app=APP, version=1, now=NOW, params={"nope": 1})
        assert info.value.code == "unknown_param"
        with pytest.raises(ValidationFailed) as info:
            run_report(conn, report, app=APP, version=1, now=NOW, params={"since": "soon"})
        assert info.value.code == "bad_param"
    assert everything.rows[0]["n"] == len(df)
    assert some.rows[0]["n"] == 0
    assert real.rows[0]["n"] == len(df[(df["due_on"] >= "2026-03-01") & (df["owner"] == "u2")])


def test_drill_down_filters_and_moves_to_the_next_level(report_db: Engine,
                                                        dataset: Dataset) -> None:
    report = compiled(**{**MONTHLY, "totals": False, "subtotals": False})
    df = frame(dataset)
    df = df[df["status"] != "cancelled"]
    with report_db.connect() as conn:
        top = run_report(conn, report, app=APP, version=1, now=NOW)
        east = run_report(conn, report, app=APP, version=1, now=NOW, drill=["华东"])
        with pytest.raises(ValidationFailed) as info:
            run_report(conn, report, app=APP, version=1, now=NOW, drill=["华东", "a"])
        assert info.value.code == "drill_too_deep"
    assert top.drill == {"path": ["customer.region", "customer.team"], "level": 0,
                         "values": [], "can_drill": True, "field": "customer.region"}
    assert east.drill is not None and east.drill["level"] == 1
    assert not east.drill["can_drill"]
    part = df[df["region"] == "华东"].copy()
    part["month"] = part["local"].dt.strftime("%Y-%m")
    expected = part.groupby(["month", "team"]).size()
    got = {(r["month"], r["region"]): r["tickets"] for r in east.rows}
    assert got == {k: int(v) for k, v in expected.items()}


def test_outside_filters_apply_and_unknown_fields_are_skipped(report_db: Engine,
                                                              dataset: Dataset) -> None:
    report = compiled(joins=[{"relation": "customer"}], measures=[{"key": "n", "agg": "count"}])
    df = frame(dataset)
    filters = [FieldFilter("customer.region", ["华东", "华南"], op="in"),
               FieldFilter("due_on", ("2026-02-01", "2026-02-28"), op="range"),
               FieldFilter("created_at", "2026-01", bucket="month"),
               FieldFilter("product.name", "x")]
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW, filters=filters)
        with pytest.raises(ValidationFailed) as info:
            run_report(conn, report, app=APP, version=1, now=NOW,
                       filters=[FieldFilter("qty", "many")])
        assert info.value.code == "bad_filter_value"
    expected = df[df["region"].isin(["华东", "华南"]) & (df["due_on"] >= "2026-02-01")
                  & (df["due_on"] <= "2026-02-28")
                  & (df["local"].dt.strftime("%Y-%m") == "2026-01")]
    assert result.rows[0]["n"] == len(expected)
    assert result.skipped_filters == ["product.name"]


def test_row_limit_stops_with_a_clear_error(report_db: Engine) -> None:
    report = compiled(dimensions=[{"key": "s", "field": "subject"}],
                      measures=[{"key": "n", "agg": "count"}])
    limited = compiled(dimensions=[{"key": "s", "field": "subject"}],
                       measures=[{"key": "n", "agg": "count"}],
                       sort=[{"key": "n", "desc": True}, {"key": "s"}], limit=5)
    with report_db.connect() as conn:
        with pytest.raises(TooManyRowsError) as info:
            run_report(conn, report, app=APP, version=1, now=NOW, limits=Limits(row_limit=50))
        assert "50" in info.value.message["en"] and "50" in info.value.message["zh"]
        top = run_report(conn, limited, app=APP, version=1, now=NOW,
                         limits=Limits(row_limit=50))
    assert len(top.rows) == 5


def test_kpi_compares_the_last_period_with_the_one_before(report_db: Engine,
                                                          dataset: Dataset) -> None:
    report = compiled(dimensions=[{"key": "month", "field": "created_at", "bucket": "month"}],
                      measures=[{"key": "n", "agg": "count"}],
                      chart={"type": "kpi", "x": "month", "y": ["n"]})
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW)
    counts = frame(dataset)["local"].dt.strftime("%Y-%m").value_counts().sort_index()
    chart = result.chart
    assert (chart["period"], chart["value"]) == (counts.index[-1], counts.iloc[-1])
    assert (chart["previous_period"], chart["previous"]) == (counts.index[-2], counts.iloc[-2])
    assert chart["change"] == counts.iloc[-1] - counts.iloc[-2]
    assert chart["change_ratio"] == pytest.approx(
        (counts.iloc[-1] - counts.iloc[-2]) / counts.iloc[-2])


def test_a_day_filters_instants_by_the_local_day(report_db: Engine, dataset: Dataset) -> None:
    report = compiled(measures=[{"key": "n", "agg": "count"}])
    df = frame(dataset)
    day = df["local"].dt.strftime("%Y-%m-%d").value_counts().index[0]
    with report_db.connect() as conn:
        one = run_report(conn, report, app=APP, version=1, now=NOW,
                         filters=[FieldFilter("created_at", day)])
        days = run_report(conn, report, app=APP, version=1, now=NOW,
                          filters=[FieldFilter("due_at", ("2026-03-01", "2026-03-10"),
                                               op="range")])
    assert one.rows[0]["n"] == int((df["local"].dt.strftime("%Y-%m-%d") == day).sum())
    due_local = df["due_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d")
    assert days.rows[0]["n"] == int(((due_local >= "2026-03-01") &
                                     (due_local <= "2026-03-10")).sum())


def test_a_date_parameter_against_an_instant_uses_the_local_day(report_db: Engine,
                                                                dataset: Dataset) -> None:
    """FORMATS.md's `created_at >= since` with a date `since`."""
    report = compiled(params=[{"key": "since", "type": "date", "filter": "created_at >= since"}],
                      measures=[{"key": "n", "agg": "count"}])
    with report_db.connect() as conn:
        result = run_report(conn, report, app=APP, version=1, now=NOW,
                            params={"since": "2026-02-01"})
    df = frame(dataset)
    assert result.rows[0]["n"] == int((df["local"].dt.strftime("%Y-%m-%d") >= "2026-02-01").sum())


LOCAL_TIME_INSTANTS = [datetime(1988, 7, 1, 15, 30, tzinfo=UTC),  # China's summer time
                       datetime(1991, 9, 14, 16, 59, 59, tzinfo=UTC),  # its last second
                       datetime(1991, 9, 14, 17, 0, 0, tzinfo=UTC),
                       datetime(1991, 9, 14, 17, 0, 2, tzinfo=UTC),
                       datetime(1943, 3, 1, 12, tzinfo=UTC), datetime(2026, 6, 30, 16, 30,
                                                                      tzinfo=UTC),
                       datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # Berlin's spring change
                       datetime(2099, 12, 31, 23, 59, tzinfo=UTC),
                       datetime(2150, 7, 1, tzinfo=UTC)]


@pytest.mark.parametrize("report_db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata", "Europe/Berlin", "UTC"])
def test_local_time_of_a_timestamp_is_the_zones_at_every_instant(report_db: Engine,
                                                                 zone: str) -> None:
    """PostgreSQL's local time of a timestamp column, shortcut to a fixed offset where
    the zone has one (`sqlbuild.pg_local_time`), is Python's zone database's."""
    tz = ZoneInfo(zone)
    instants = values(sa_column("t", DateTime(timezone=True)), name="instants").data(
        [(t,) for t in LOCAL_TIME_INSTANTS])
    query = select(instants.c.t, pg_local_time(instants.c.t, tz))
    with report_db.connect() as conn:
        got = {t.astimezone(UTC): local for t, local in conn.execute(query)}
    assert got == {t: t.astimezone(tz).replace(tzinfo=None) for t in LOCAL_TIME_INSTANTS}
