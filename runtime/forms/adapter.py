"""What the record service asks of a compiled form, in one place: process a
submission (raising the API's validation error), and the store's duties — unique
fields, auto-numbers, labels, the document served to the UI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engines.common import text_of
from engines.form.autonumber import format_autonumber, period_key
from engines.form.compiled import CompiledForm
from runtime.apps.registry import CompiledApp
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import Detail, ValidationFailed
from runtime.forms.env import env_for
from runtime.forms.sources import StoreRecords


def process(conn: Connection, ctx: Context, capp: CompiledApp, cform: CompiledForm,
            data: dict[str, Any], *, old: dict[str, Any] | None, actor: Actor,
            lang: str, system: dict[str, Any] | None = None,
            trusted: bool = False) -> dict[str, Any]:
    """Normalise, compute and validate; the stored data, or every error at once.
    `system` holds the record's system values (id, owner, created_at, …) for
    expressions that read them; `trusted` marks a rule's or flow's write, which
    read-only fields do not bind."""
    env = env_for(conn, ctx, capp, actor)
    result = cform.process(data, env=env, old=old, lang="en" if lang == "en" else "zh",
                           source=StoreRecords(conn, env), system=system, trusted=trusted)
    if not result.ok:
        details = [Detail(i.field, i.code, dict(i.message)) for i in result.issues]
        raise ValidationFailed("提交的数据有误", "The submission has errors", details=details)
    return result.data


def unique_fields(cform: CompiledForm) -> tuple[str, ...]:
    return cform.unique_fields


def autonumber_fields(cform: CompiledForm) -> Iterator[tuple[str, str, str]]:
    for spec in cform.autonumber_fields:
        yield spec.key, spec.pattern, spec.reset


def period(reset: str, local: datetime) -> str:
    return period_key(reset, local.date())  # type: ignore[arg-type]


def format_number(pattern: str, n: int, local: datetime) -> str:
    return format_autonumber(pattern, n, local.date())


def field_label(cform: CompiledForm, key: str, lang: str) -> str:
    plan = cform.by_key.get(key)
    return text_of(plan.spec.label, "en" if lang == "en" else "zh") if plan else key


def describe(capp: CompiledApp, cform: CompiledForm, lang: str) -> dict[str, Any]:
    return {"app": capp.key, "version": capp.version, **cform.document()}
