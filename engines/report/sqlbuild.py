"""SQLAlchemy Core pieces for reading record fields and bucketing dates.

Fields live in the JSON document `records.data` (money as decimal strings, dates
"YYYY-MM-DD", datetimes "YYYY-MM-DDTHH:MM:SSZ"); system fields are real columns.
Date buckets are computed in the deployment's time zone on both dialects:
PostgreSQL converts with `AT TIME ZONE` (a fixed offset where the zone has kept one,
`pg_local_time`); SQLite has no zone database, so the zone's
UTC offset is applied as a `'+N minutes'` modifier (exact for zones without daylight
saving, such as the default Asia/Shanghai; for zones with DST the standard offset
is used — documented limitation of the embedded database).

Bucket labels are the same strings on both dialects: day `2026-01-31`, week the
Monday that starts the ISO week `2026-01-26`, month `2026-01`, quarter `2026-Q1`,
year `2026`.

A bucket comes in two parts (`bucket_parts`): the *key* computed for every row and
grouped by, and the *label* computed from the key once per group. On PostgreSQL the
key is `date_trunc(unit, local time)` and the label `to_char(key, format)`: formatting
a date as text costs about as much per row as the whole table scan, so a million-row
report formats a few hundred group keys instead of a million dates. On SQLite the
key is the label (strftime is the cheap path there).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    Interval,
    Numeric,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from engines.report.fields import ResolvedField

Dialect = Literal["sqlite", "postgresql"]
MONEY_SQL = Numeric(38, 10)

_PG_FORMAT = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY",
              "quarter": 'YYYY-"Q"Q'}
_SQLITE_FORMAT = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


def inline(value: str) -> ColumnElement[Any]:
    """A constant of the definition (a JSON key, a format) written into the SQL text
    rather than bound: PostgreSQL then sees the same expression in SELECT and GROUP
    BY, and can match expression indexes such as `(data ->> 'region')`. Only
    definition constants go through here, never a viewer's value."""
    return literal(value, String, literal_execute=True)


def json_path(key: str) -> str:
    """SQLite's JSON path of a top-level key (keys are ASCII identifiers), written as
    the expression back end and the field indexes write it."""
    return f"$.{key}"


def field_column(table: FromClause | Table, field: ResolvedField,
                 dialect: Dialect) -> ColumnElement[Any]:
    """The SQL value of a field, typed by its kind (numbers compare as numbers).

    The key is written into the SQL text (`data ->> 'region'`,
    `json_extract(data, '$.region')`), so an expression index on exactly that
    expression serves the query."""
    if field.system:
        if field.key == "id":
            return cast(table.c.id, String)
        column: ColumnElement[Any] = table.c[field.key]
        return column
    if dialect == "sqlite":
        return _sqlite_field(table, field)
    doc = table.c.data[inline(field.key)]
    kind = field.kind
    if kind == "number":
        return doc.as_float()  # type: ignore[no-any-return]
    if kind == "integer":
        return doc.as_integer()  # type: ignore[no-any-return]
    if kind == "money":  # exact; no precision modifier (it costs a rounding per row)
        return cast(doc.as_string(), Numeric())
    if kind == "boolean":
        return doc.as_boolean()  # type: ignore[no-any-return]
    return doc.as_string()  # type: ignore[no-any-return]


def _sqlite_field(table: FromClause | Table, field: ResolvedField) -> ColumnElement[Any]:
    raw = func.json_extract(table.c.data, inline(json_path(field.key)))
    kind = field.kind
    if kind in ("number", "money"):  # money is REAL on SQLite (rounded when shown)
        return cast(raw, Float)
    if kind == "integer":
        return cast(raw, Integer)
    if kind == "boolean":
        return type_coerce(raw, Boolean)
    return type_coerce(raw, String)


def relation_target_id(table: FromClause | Table, relation: str,
                       dialect: Dialect) -> ColumnElement[Any]:
    """A relation field's value (the related record's id as a string) as an integer,
    to join on the related record's primary key; blank is NULL."""
    text = field_column(table, ResolvedField(None, "", relation, "relation"), dialect)
    return cast(func.nullif(text, ""), BigInteger)


def utc_offset_minutes(tz: ZoneInfo) -> int:
    """The zone's standard offset (January 1st of a fixed year, no clock is read)."""
    offset = datetime(2025, 1, 1, tzinfo=tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


Label = Callable[[ColumnElement[Any]], ColumnElement[Any]]


def same(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """The label of a key that is its own label."""
    return value


def bucket(expr: ColumnElement[Any], field: ResolvedField, bucket_name: str,
           dialect: Dialect, tz: ZoneInfo) -> ColumnElement[Any]:
    """The bucket label of a date, datetime or timestamp value."""
    key, label = bucket_parts(expr, field, bucket_name, dialect, tz)
    return label(key)


def bucket_parts(expr: ColumnElement[Any], field: ResolvedField, bucket_name: str,
                 dialect: Dialect, tz: ZoneInfo) -> tuple[ColumnElement[Any], Label]:
    """The per-row key a bucket groups by and how to turn a key into its label."""
    if dialect == "postgresql":
        return _pg_bucket_key(expr, field, bucket_name, tz), _pg_label(bucket_name)
    return _sqlite_bucket(expr, field, bucket_name, tz), same


@dataclass(frozen=True, slots=True)
class FineKey:
    """A finer per-row key than a bucket's, cheaper to compute, that a fused grain
    (`engines.report.fuse`) groups by; each widget then turns its few grain rows'
    values into the bucket's key (`coarsen`)."""

    ident: Hashable  # equal idents group by the same values
    key: ColumnElement[Any]
    coarsen: Label


_MONTH_TEXT = ("month", "quarter", "year")


def fine_bucket(expr: ColumnElement[Any], field: ResolvedField, bucket_name: str,
                dialect: Dialect) -> FineKey | None:
    """The fine key of a bucket, where one is cheaper: on PostgreSQL a date field's
    month, quarter or year is grouped by the month's text (`left(d, 7)`, "2026-01" of
    the stored "2026-01-31"), and the key made from that per grain row. Parsing every
    record's date (`to_date`, then `date_trunc`) cost 0.61 s of CPU over a million
    records; cutting its text 0.19 s. A month grain is at most three times the rows of
    a quarter one."""
    if dialect != "postgresql" or field.kind != "date" or bucket_name not in _MONTH_TEXT:
        return None

    def coarsen(month: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.date_trunc(inline(bucket_name),
                               cast(func.to_date(month, inline("YYYY-MM")), DateTime()))
    seven = literal(7, Integer, literal_execute=True)  # the same text in SELECT and GROUP BY
    return FineKey(("field", repr(field), "YYYY-MM"), func.left(expr, seven), coarsen)


def _pg_bucket_key(expr: ColumnElement[Any], field: ResolvedField, bucket_name: str,
                   tz: ZoneInfo) -> ColumnElement[Any]:
    """The local time truncated to the bucket (a timestamp without time zone)."""
    if field.kind == "date":
        local: ColumnElement[Any] = cast(func.to_date(expr, inline("YYYY-MM-DD")), DateTime())
    elif field.kind == "timestamp":
        local = pg_local_time(expr, tz)
    else:
        local = func.timezone(inline(tz.key), cast(expr, DateTime(timezone=True)))
    return func.date_trunc(inline(bucket_name), local)


def pg_local_time(instant: ColumnElement[Any], tz: ZoneInfo) -> ColumnElement[Any]:
    """A timestamp column's local time in the zone.

    `timezone('Asia/Shanghai', t)` looks the instant up in the zone's history for
    every row: over a million records it cost 0.24 s more than adding a fixed offset
    (`timezone(interval, t)`, 0.03 s) — most of what a month bucket costs. Where the
    zone's offset has not changed since some instant (`steady_offset`; Asia/Shanghai
    since 1991), instants from then on take the fixed offset and only older ones (and
    those past the end of the zone data checked) the lookup. A column is read twice
    here; a JSON datetime would be parsed twice, so it keeps the lookup."""
    steady = steady_offset(tz)
    named = func.timezone(inline(tz.key), instant)
    if steady is None:
        return named
    since, until, offset = steady
    fixed = func.timezone(cast(inline(f"{int(offset.total_seconds())} seconds"), Interval()),
                          instant)
    bounds = (cast(inline(since.isoformat()), DateTime(timezone=True)),
              cast(inline(until.isoformat()), DateTime(timezone=True)))
    return case((instant.between(*bounds), fixed), else_=named)


_STEADY_FROM, _STEADY_UNTIL = datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
_STEADY_LATEST = datetime(2037, 1, 1, tzinfo=UTC)  # later changes come from a zone's rules


@lru_cache(maxsize=64)
def steady_offset(tz: ZoneInfo) -> tuple[datetime, datetime, timedelta] | None:
    """(since, until, offset): the zone's UTC offset is `offset` for every instant in
    [since, until]; None for a zone whose offset still changes (daylight saving).

    Read from the zone data (no clock): offsets a week apart from 1900 to 2100, then
    the last change found to the second by halving. A zone that changed after 2037
    follows a rule (DST) and gets None."""
    week = timedelta(days=7)
    at = _STEADY_UNTIL
    offset = at.astimezone(tz).utcoffset()
    if offset is None:
        return None
    while at > _STEADY_FROM and (at - week).astimezone(tz).utcoffset() == offset:
        at -= week
    if at <= _STEADY_FROM:
        return _STEADY_FROM, _STEADY_UNTIL, offset
    low, high = at - week, at  # the offset differs at low and is `offset` at high
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == offset:
            high = mid
        else:
            low = mid
    since = high.replace(microsecond=0) + timedelta(seconds=1 if high.microsecond else 0)
    if since >= _STEADY_LATEST:
        return None
    return since, _STEADY_UNTIL, offset


def _pg_label(bucket_name: str) -> Label:
    fmt = "YYYY-MM-DD" if bucket_name == "week" else _PG_FORMAT[bucket_name]

    def label(key: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.to_char(key, inline(fmt))
    return label


def _sqlite_bucket(expr: ColumnElement[Any], field: ResolvedField, bucket_name: str,
                   tz: ZoneInfo) -> ColumnElement[Any]:
    modifiers: list[Any] = []
    if field.kind != "date":
        modifiers.append(inline(f"{utc_offset_minutes(tz):+d} minutes"))
    if bucket_name == "week":
        return func.date(expr, *modifiers, inline("weekday 0"), inline("-6 days"))
    if bucket_name == "quarter":
        year = func.strftime(inline("%Y"), expr, *modifiers)
        month = cast(func.strftime(inline("%m"), expr, *modifiers), Integer)
        # the 2 and the 3 written into the text too: bound, they made the key an
        # expression no index could hold (a report's covering index, its GROUP BY)
        two, three = (literal(n, Integer, literal_execute=True) for n in (2, 3))
        return year + inline("-Q") + cast((month + two) // three, String)
    return func.strftime(inline(_SQLITE_FORMAT[bucket_name]), expr, *modifiers)


def coerce_for(field: ResolvedField, value: Any) -> Any:
    """A viewer's value (often a string from a query string) in the field's SQL type,
    so `amount == "100"` compares numbers. Raises ValueError when it cannot be."""
    if value is None:
        return None
    kind = field.kind
    if kind in ("number", "money"):
        return float(value)
    if kind in ("integer",):
        return int(value)
    if kind == "boolean":
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)
    return str(value)


def sql_type_for(field: ResolvedField) -> Any:
    return {"number": Float, "integer": Integer, "money": MONEY_SQL}.get(field.kind, String)
