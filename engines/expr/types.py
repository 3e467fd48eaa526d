"""Value types, scopes, errors and the stored-JSON ↔ Python value conversion.

Kept apart from the checker so that form, report and rule engines can describe their
fields (`Field`, `Scope`) without pulling in the compiler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any


class T(StrEnum):
    """The value types of the language (and of form fields, as far as expressions see)."""

    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    DURATION = "duration"
    LIST = "list"
    RECORD = "record"
    SUBFORM = "subform"
    ANY = "any"
    NULL = "null"


NUMERIC = frozenset({T.NUMBER, T.MONEY, T.INTEGER})


def an(t: T) -> str:
    """The type's name with its English article, for messages ("an integer")."""
    return ("an " if t.value[0] in "aeiou" else "a ") + t.value


@dataclass(frozen=True)
class Field:
    """A field as an expression sees it.

    `fields` describes the columns of a SUBFORM (or the fields of a RECORD);
    `item` is the element type of a LIST (a multiselect is `Field(T.LIST, item=T.TEXT)`).
    """

    type: T
    fields: Mapping[str, Field] | None = None
    item: T = T.ANY

    def __hash__(self) -> int:
        cols = tuple(sorted(self.fields.items())) if self.fields else ()
        return hash((self.type, cols, self.item))


SYSTEM_FIELDS: Mapping[str, Field] = {
    "id": Field(T.TEXT),
    "created_at": Field(T.DATETIME),
    "created_by": Field(T.TEXT),
    "updated_at": Field(T.DATETIME),
    "updated_by": Field(T.TEXT),
    "owner": Field(T.TEXT),
    "department": Field(T.TEXT),
    "version": Field(T.INTEGER),
}
"""Every record has these (FORMATS.md); a form field of the same key wins."""


def _freeze(m: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(m.items()))


@dataclass(frozen=True, eq=False)
class Scope:
    """What an expression may name: the form's fields, extra names, and other forms.

    `names` are extra variables (report parameters such as `since`); `forms` are the
    fields of other forms, for aggregates such as `COUNT("complaint", …)`.
    Hashable by content, so compiled expressions can be cached per (source, scope).
    """

    fields: Mapping[str, Field]
    forms: Mapping[str, Mapping[str, Field]] = field(default_factory=dict)
    names: Mapping[str, T] = field(default_factory=dict)

    def __post_init__(self) -> None:
        forms = tuple(sorted((k, _freeze(v)) for k, v in self.forms.items()))
        key = (_freeze(self.fields), forms, _freeze(self.names))
        object.__setattr__(self, "_cached_key", key)
        object.__setattr__(self, "_cached_hash", hash(key))

    def _key(self) -> tuple[Any, ...]:
        return self._cached_key  # type: ignore[attr-defined,no-any-return]

    def __hash__(self) -> int:
        return self._cached_hash  # type: ignore[attr-defined,no-any-return]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scope) and self._key() == other._key()

    def field_of(self, name: str) -> Field | None:
        """The field `name` of the record in scope (form fields, then system fields)."""
        found = self.fields.get(name)
        return found if found is not None else SYSTEM_FIELDS.get(name)


@dataclass(frozen=True)
class UserInfo:
    """The current user, as `USER()` and `user.x` see them."""

    username: str
    department: str | None = None
    roles: tuple[str, ...] = ()


class ExprError(Exception):
    """A refused or failed expression: where, why, in both languages.

    `line` is 1-based and `column` 1-based (0 when the position is unknown).
    """

    def __init__(self, code: str, zh: str, en: str, *, source: str = "",
                 line: int = 0, column: int = 0) -> None:
        super().__init__(f"{code}: {en} (line {line}, column {column})")
        self.code = code
        self.message = {"zh": zh, "en": en}
        self.source = source
        self.line = line
        self.column = column

    def at(self, source: str, line: int, column: int) -> ExprError:
        """The same error placed in `source` (if it has no place yet)."""
        if not self.source:
            self.source = source
        if not self.line:
            self.line, self.column = line, column
        return self

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        msg: Any = self.message if lang is None else (
            self.message.get(lang) or self.message["en"])
        return {"code": self.code, "message": msg, "expression": self.source,
                "line": self.line, "column": self.column}


# ---------------------------------------------------------------- value conversion

def _bad(value: Any, t: T) -> ExprError:
    return ExprError("bad_value", f"值 {value!r} 不是有效的 {t.value}",
                     f"value {value!r} is not a valid {t.value}")


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 instant; naive ones are taken as UTC. Always returned in UTC."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_datetime(dt: datetime) -> str:
    """The stored form of an instant: `YYYY-MM-DDTHH:MM:SSZ` in UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_native(value: Any, t: T) -> Any:
    """Stored JSON → the Python value the evaluator works with (None stays None)."""
    if value is None:
        return None
    try:
        if t is T.MONEY:
            if isinstance(value, bool):
                raise _bad(value, t)
            return Decimal(str(value))
        if t is T.INTEGER:
            return value if isinstance(value, int) and not isinstance(value, bool) \
                else int(Decimal(str(value)))
        if t is T.NUMBER:
            if isinstance(value, bool):
                raise _bad(value, t)
            return value if isinstance(value, int | float) else float(value)
        if t is T.DATE:
            return value if isinstance(value, date) and not isinstance(value, datetime) \
                else date.fromisoformat(str(value)[:10])
        if t is T.DATETIME:
            return value.astimezone(UTC) if isinstance(value, datetime) \
                else parse_datetime(str(value))
        if t is T.TIME:
            return value if isinstance(value, time) else time.fromisoformat(str(value))
        if t is T.DURATION:
            return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
        if t is T.BOOLEAN:
            if isinstance(value, bool):
                return value
            raise _bad(value, t)
        if t is T.TEXT:
            return value if isinstance(value, str) else str(value)
    except (ValueError, TypeError, ArithmeticError) as exc:  # incl. Infinity → int
        raise _bad(value, t) from exc
    return value


def to_json(value: Any, t: T) -> Any:
    """A Python value → its stored JSON form (money as a decimal string, ISO dates)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f") if t in (T.MONEY, T.ANY, T.TEXT) else (
            int(value) if t is T.INTEGER else float(value))
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if t is T.MONEY and isinstance(value, int | float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, list):
        return [to_json(v, T.ANY) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v, T.ANY) for k, v in value.items()}
    return value


def fields_to_native(values: Mapping[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    """A stored record's data → native values, per field type (subform rows too)."""
    out: dict[str, Any] = dict(values)
    for key, f in fields.items():
        if key not in values:
            continue
        raw = values[key]
        if f.type is T.SUBFORM and isinstance(raw, list) and f.fields:
            out[key] = [fields_to_native(row, f.fields) for row in raw if isinstance(row, dict)]
        elif f.type is T.LIST and isinstance(raw, list):
            out[key] = [to_native(v, f.item) for v in raw]
        elif f.type not in (T.SUBFORM, T.LIST, T.RECORD, T.ANY):
            out[key] = to_native(raw, f.type)
    return out
