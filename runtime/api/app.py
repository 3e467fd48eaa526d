"""The app factory. Nothing happens at import time: `create_app` builds the engine,
context and routers from settings, and its lifespan starts background work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from runtime.api.deps import get_actor
from runtime.api.errors import install_error_handlers
from runtime.api.limits import BodyLimit
from runtime.clock import Clock, SystemClock
from runtime.config import Settings
from runtime.context import Context
from runtime.store.engine import make_engine
from runtime.wiring import wire_engines

API_PREFIX = "/api/v1"


def build_context(settings: Settings, clock: Clock | None = None) -> Context:
    """A context for the server, the worker and CLI commands, with the engines wired."""
    ctx = Context(settings=settings, engine=make_engine(settings.database_url),
                  clock=clock or SystemClock())
    wire_engines(ctx)
    return ctx


def create_app(settings: Settings | None = None, *, ctx: Context | None = None) -> FastAPI:
    settings = settings or (ctx.settings if ctx else Settings.from_env())
    context = ctx or build_context(settings)
    wire_engines(context)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from runtime.jobs.runner import InProcessRunner

        runner = InProcessRunner(context)
        if settings.jobs_in_process:
            runner.start()
        _app.state.runner = runner
        try:
            yield
        finally:
            runner.stop()

    app = FastAPI(title="Loom", version="0.1.0", lifespan=lifespan,
                  description="A no-code application platform: apps are JSON metadata "
                              "interpreted by four engines over one record store.")
    app.state.ctx = context
    install_error_handlers(app)
    _wire_expressions(app, context)
    from runtime.reports.provider import AppReports

    app.state.report_provider = AppReports(context)
    app.add_middleware(BodyLimit, limit=settings.body_limit,
                       upload_limit=settings.upload_limit)
    _mount(app)
    return app


def _wire_expressions(app: FastAPI, ctx: Context) -> None:
    from runtime.expr import api as expr_api
    from runtime.expr.wiring import expr_env, scope_resolver

    resolver = scope_resolver(ctx)
    app.dependency_overrides[expr_api.get_scope_resolver] = lambda: resolver
    app.dependency_overrides[expr_api.get_expr_env] = lambda: expr_env(ctx)


def _mount(app: FastAPI) -> None:
    from runtime.api.health import router as health
    from runtime.apps.api import router as apps
    from runtime.apps.impact import router as publish_impact
    from runtime.auth.api import router as auth
    from runtime.auth.users_api import router as users
    from runtime.expr.api import router as expr
    from runtime.files.api import router as files
    from runtime.flows.api import router as flows
    from runtime.notifications.api import router as notifications
    from runtime.records.api import router as records
    from runtime.reports.api import router as reports
    from runtime.rules.api import router as rules
    from runtime.tasks.api import router as tasks
    from runtime.transfer.api import router as transfer

    public = APIRouter(prefix=API_PREFIX)
    public.include_router(health)
    public.include_router(auth)
    app.include_router(public)
    private = APIRouter(prefix=API_PREFIX, dependencies=[Depends(get_actor)])
    for router in (apps, records, expr, rules, notifications, files, transfer,
                   publish_impact, flows, tasks, reports, users):
        private.include_router(router)
    app.include_router(private)
