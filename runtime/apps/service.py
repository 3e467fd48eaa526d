"""Installing, publishing and exporting apps; reading and saving draft definitions.

Drafts are what the designer edits; publishing checks the whole draft bundle
(builder.check) and freezes it as a new immutable version. Installing a bundle is
"replace the drafts with the bundle, then publish", so the CLI, the API and the
designer share one path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, insert, select, update

from builder.bundle import Bundle, parse_definition, parse_files
from builder.check import check_bundle
from builder.kinds import KINDS
from builder.problems import BundleInvalid, Problem
from engines.expr.env import DEFAULT_TZ
from runtime.apps.registry import AppRegistry, CompiledApp
from runtime.auth.models import Actor
from runtime.context import Context
from runtime.errors import Detail, ValidationFailed, not_found
from runtime.reports.provider import build_projection
from runtime.store.indexes import ensure_indexes
from runtime.store.statistics import ensure_statistics
from runtime.store.tables import app_versions, apps, drafts

APP_KIND = "app"


def invalid(problems: Iterable[Problem]) -> ValidationFailed:
    """A bundle's problems as the API's validation error (file:path as the field)."""
    details = [Detail(f"{p.file}:{p.path}" if p.path else p.file, p.code, p.message)
               for p in problems]
    return ValidationFailed("应用定义有错误", "The app definition has errors",
                            code="invalid_definition", details=details)


def install(conn: Connection, ctx: Context, bundle: Bundle, *, actor: Actor) -> int:
    """Install or upgrade an app from a bundle; returns the new version number. On the
    first install, the bundle's seed records are written through the record service."""
    now = ctx.clock.now()
    problems = check_bundle(bundle)
    if problems:
        raise invalid(problems)
    exists = conn.execute(select(apps.c.key).where(apps.c.key == bundle.key)).first()
    if exists is None:
        conn.execute(insert(apps).values(key=bundle.key, name=bundle.raw_app["name"],
                                         current_version=None, installed_at=now,
                                         updated_at=now))
    conn.execute(delete(drafts).where(drafts.c.app == bundle.key))
    rows = [{"app": bundle.key, "kind": APP_KIND, "key": bundle.key,
             "definition": bundle.raw_app, "updated_at": now, "updated_by": actor.username}]
    for kind in KINDS:
        for key, raw in bundle.raw.get(kind, {}).items():
            rows.append({"app": bundle.key, "kind": kind, "key": key, "definition": raw,
                         "updated_at": now, "updated_by": actor.username})
    if bundle.data:
        rows.append({"app": bundle.key, "kind": "data", "key": "data",
                     "definition": dict(bundle.data), "updated_at": now,
                     "updated_by": actor.username})
    conn.execute(insert(drafts), rows)
    version = publish(conn, bundle.key, actor=actor, now=now, checked=bundle, tz=ctx.tz)
    if exists is None and bundle.data:
        from runtime.records.seed import load_seed_data

        load_seed_data(conn, ctx, bundle, actor=actor)
    return version


def draft_bundle(conn: Connection, app: str) -> Bundle:
    rows = conn.execute(select(drafts).where(drafts.c.app == app)).all()
    if not rows:
        raise not_found("应用", "App", app)
    files: dict[str, Any] = {}
    for r in rows:
        if r.kind == APP_KIND:
            files["app.json"] = r.definition
        elif r.kind == "data":
            for form, data in r.definition.items():
                files[f"data/{form}.json"] = data
        else:
            files[f"{r.kind}/{r.key}.json"] = r.definition
    try:
        return parse_files(files)
    except BundleInvalid as e:
        raise invalid(e.problems) from None


def publish(conn: Connection, app: str, *, actor: Actor, now: datetime,
            checked: Bundle | None = None, migration: str | None = None,
            tz: ZoneInfo = DEFAULT_TZ) -> int:
    """Publish the draft (or an installed bundle, `checked`). A draft that would touch
    existing records needs `migration` (see runtime.apps.impact); installing a bundle
    keeps the records on their version."""
    bundle = checked or draft_bundle(conn, app)
    if checked is None:
        problems = check_bundle(bundle)
        if problems:
            raise invalid(problems)
        from runtime.apps.impact import require_choice

        require_choice(conn, app, bundle, now=now, migration=migration)
    number = (conn.execute(select(func.max(app_versions.c.number))
                           .where(app_versions.c.app == app)).scalar() or 0) + 1
    conn.execute(insert(app_versions).values(
        app=app, number=number, semver=bundle.app.version, bundle=bundle.to_json(),
        published_at=now, published_by=actor.username))
    conn.execute(update(apps).where(apps.c.key == app).values(
        current_version=number, name=bundle.raw_app["name"], updated_at=now))
    AppRegistry.forget(conn)
    prepare_database(conn, CompiledApp(bundle.key, number, bundle), tz, now)
    return number


def prepare_database(conn: Connection, capp: CompiledApp, tz: ZoneInfo,
                     now: datetime) -> None:
    """What a published version needs in the database for the records already there:
    expression indexes, statistics objects, the reports' projections."""
    ensure_indexes(conn, capp.bundle, tz, capp)
    ensure_statistics(conn, capp, tz)
    build_projection(conn, capp, tz, now)


def list_apps(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(apps, app_versions.c.semver)
        .join(app_versions, (app_versions.c.app == apps.c.key)
              & (app_versions.c.number == apps.c.current_version), isouter=True)
        .order_by(apps.c.key)).all()
    return [{"key": r.key, "name": r.name, "version": r.current_version, "semver": r.semver,
             "installed_at": r.installed_at, "updated_at": r.updated_at} for r in rows]


def get_app(conn: Connection, app: str) -> dict[str, Any]:
    row = conn.execute(select(apps).where(apps.c.key == app)).first()
    if row is None:
        raise not_found("应用", "App", app)
    versions = conn.execute(
        select(app_versions.c.number, app_versions.c.semver, app_versions.c.published_at,
               app_versions.c.published_by)
        .where(app_versions.c.app == app).order_by(app_versions.c.number.desc())).all()
    current = conn.execute(select(app_versions.c.bundle).where(
        app_versions.c.app == app, app_versions.c.number == row.current_version)).scalar()
    doc = current or {}
    return {
        "key": row.key, "name": row.name, "version": row.current_version,
        "description": (doc.get("app") or {}).get("description"),
        "roles": (doc.get("app") or {}).get("roles", []),
        "menu": (doc.get("app") or {}).get("menu", []),
        "definitions": {kind: sorted((doc.get(kind) or {}).keys()) for kind in KINDS},
        "versions": [{"number": v.number, "semver": v.semver, "published_at": v.published_at,
                      "published_by": v.published_by} for v in versions],
    }


def get_draft(conn: Connection, app: str, kind: str, key: str) -> dict[str, Any]:
    _check_kind(kind)
    row = conn.execute(select(drafts.c.definition).where(
        drafts.c.app == app, drafts.c.kind == _draft_kind(kind), drafts.c.key == key)).first()
    if row is None:
        raise not_found("定义", "Definition", f"{app}/{kind}/{key}")
    result: dict[str, Any] = row.definition
    return result


def put_draft(conn: Connection, app: str, kind: str, key: str, definition: Any, *,
              actor: Actor, now: datetime) -> dict[str, Any]:
    """Save a draft definition after checking it alone and within the draft bundle."""
    _check_kind(kind)
    if conn.execute(select(apps.c.key).where(apps.c.key == app)).first() is None:
        raise not_found("应用", "App", app)
    rel = "app.json" if kind == APP_KIND else f"{kind}/{key}.json"
    try:
        spec = parse_definition(kind, rel, definition)
    except BundleInvalid as e:
        raise invalid(e.problems) from None
    if getattr(spec, "key", None) != key:
        raise invalid([Problem(rel, "key", "key_mismatch", {
            "zh": f"定义的 key 必须是 {key}", "en": f"The definition's key must be {key}"})])
    bundle = draft_bundle(conn, app)
    files = bundle.files()
    files[rel] = definition
    try:
        candidate = parse_files(files)
    except BundleInvalid as e:
        raise invalid(e.problems) from None
    problems = check_bundle(candidate)
    if problems:
        raise invalid(problems)
    dkind = _draft_kind(kind)
    stmt = update(drafts).where(drafts.c.app == app, drafts.c.kind == dkind,
                                drafts.c.key == key)
    changed = conn.execute(stmt.values(definition=definition, updated_at=now,
                                       updated_by=actor.username)).rowcount
    if not changed:
        conn.execute(insert(drafts).values(app=app, kind=dkind, key=key, definition=definition,
                                           updated_at=now, updated_by=actor.username))
    return {"app": app, "kind": kind, "key": key, "definition": definition}


def _draft_kind(kind: str) -> str:
    return APP_KIND if kind == APP_KIND else kind


def _check_kind(kind: str) -> None:
    if kind != APP_KIND and kind not in KINDS:
        raise not_found("定义类别", "Definition kind", kind)
