"""Compiled app versions, cached by (app, version).

A published version is immutable, so its compiled form (parsed bundle, compiled
forms) is built once per process and shared by every request. Each request still
reads the app's *current* version number from the database (one indexed lookup), so
several API processes never serve a stale version for longer than a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, bindparam, select

from builder.bundle import Bundle, from_json
from engines.expr.workcal import WorkCalendar
from runtime.errors import not_found
from runtime.store.tables import app_versions, apps

_CURRENT = select(apps.c.current_version).where(apps.c.key == bindparam("key"))
_MEMO = "loom.app_versions"
_MEMO_TXN = "loom.app_versions.txn"


@dataclass
class CompiledApp:
    key: str
    version: int
    bundle: Bundle
    _forms: dict[str, Any] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def form_spec(self, form: str) -> Any:
        spec = self.bundle.of("forms").get(form)
        if spec is None:
            raise not_found("表单", "Form", f"{self.key}/{form}")
        return spec

    def form(self, form: str) -> Any:
        """The compiled form (engines.form), compiled on first use."""
        compiled = self._forms.get(form)
        if compiled is None:
            from runtime.forms.compiling import compile_app_form

            spec = self.form_spec(form)
            with self._lock:
                compiled = self._forms.get(form)
                if compiled is None:
                    compiled = compile_app_form(self.bundle, spec)
                    self._forms[form] = compiled
        return compiled

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A value derived from this immutable version, built once (compiled reports,
        dashboards, catalogs); engines that compile their own definitions keep them here."""
        found = self._memo.get(key)
        if found is None:
            with self._lock:
                found = self._memo.get(key)
                if found is None:
                    found = self._memo[key] = build()
        return found

    @property
    def forms(self) -> Mapping[str, Any]:
        return self.bundle.of("forms")

    @cached_property
    def calendar(self) -> WorkCalendar | None:
        """The app's working calendar (`app.json` "calendar"), or None."""
        spec = self.bundle.app.calendar
        return spec.compile() if spec is not None else None

    @cached_property
    def expr_forms(self) -> dict[str, Any]:
        """Each form's fields as expression types (for aggregates over other forms)."""
        from engines.form.compile import other_form_fields

        return {key: other_form_fields(spec) for key, spec in self.forms.items()}


class AppRegistry:
    def __init__(self, max_entries: int = 64) -> None:
        self._cache: dict[tuple[str, int], CompiledApp] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def current(self, conn: Connection, app: str) -> CompiledApp:
        """The app's published version as of this transaction (looked up once per
        transaction: a batch of writes pays for one lookup)."""
        txn = conn.get_transaction()
        memo: dict[str, int] | None = conn.info.get(_MEMO) if txn is not None else None
        if memo is not None and conn.info.get(_MEMO_TXN) is not txn:
            memo = None
        version = memo.get(app) if memo is not None else None
        if version is None:
            row = conn.execute(_CURRENT, {"key": app}).first()
            if row is None or row.current_version is None:
                raise not_found("应用", "App", app)
            version = int(row.current_version)
            if txn is not None:
                if memo is None:
                    memo = conn.info[_MEMO] = {}
                    conn.info[_MEMO_TXN] = txn
                memo[app] = version
        return self.at(conn, app, version)

    @staticmethod
    def forget(conn: Connection) -> None:
        """Drop this transaction's memo (after a publish in the same transaction)."""
        conn.info.pop(_MEMO, None)
        conn.info.pop(_MEMO_TXN, None)

    def at(self, conn: Connection, app: str, version: int) -> CompiledApp:
        hit = self._cache.get((app, version))
        if hit is not None:
            return hit
        row = conn.execute(select(app_versions.c.bundle).where(
            app_versions.c.app == app, app_versions.c.number == version)).first()
        if row is None:
            raise not_found("应用版本", "App version", f"{app}@{version}")
        compiled = CompiledApp(app, version, from_json(row.bundle))
        with self._lock:
            if len(self._cache) >= self._max:
                self._cache.pop(next(iter(self._cache)))
            self._cache[(app, version)] = compiled
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
