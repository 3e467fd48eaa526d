"""`loom`, the command line: serve, migrate, worker, apps, users, schemas, scheduler.

Every command takes the same configuration as the server (environment, overridden by
options) and runs its work in one transaction through the same services as the API.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runtime.config import Settings

if TYPE_CHECKING:
    from runtime.context import Context
    from runtime.errors import LoomError

app = typer.Typer(help="Loom: a no-code application platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
apps_cli = typer.Typer(help="Install, export, validate and compare app bundles.",
                       no_args_is_help=True)
users_cli = typer.Typer(help="Manage users.", no_args_is_help=True)
scheduler_cli = typer.Typer(help="Run what is due.", no_args_is_help=True)
app.add_typer(apps_cli, name="app")
app.add_typer(users_cli, name="user")
app.add_typer(scheduler_cli, name="scheduler")

DbOpt = Annotated[str | None, typer.Option("--database-url", envvar="LOOM_DATABASE_URL",
                                           help="default sqlite:///var/loom.db")]


def _settings(database_url: str | None = None) -> Settings:
    s = Settings.from_env()
    return replace(s, database_url=database_url) if database_url else s


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


@app.command()
def migrate(database_url: DbOpt = None) -> None:
    """Create or upgrade the platform's tables."""
    from runtime.store.engine import make_engine
    from runtime.store.migrate import upgrade

    settings = _settings(database_url)
    upgrade(make_engine(settings.database_url))
    typer.echo(f"migrated {settings.dialect} database")


@app.command()
def serve(
    database_url: DbOpt = None,
    host: Annotated[str | None, typer.Option(envvar="LOOM_HOST")] = None,
    port: Annotated[int | None, typer.Option(envvar="LOOM_PORT")] = None,
    template: Annotated[Path | None, typer.Option(
        help="install this bundle on first start (when no app is installed)")] = None,
    demo_data: Annotated[int, typer.Option(
        "--demo-data", help="with --template: generate demo data for N customers on first "
        "install", min=0)] = 0,
) -> None:
    """Migrate, create the first admin, and serve the API (and the UI when built)."""
    import uvicorn

    from runtime.api.app import build_context, create_app
    from runtime.bootstrap import bootstrap

    settings = _settings(database_url)
    settings = replace(settings, host=host or settings.host, port=port or settings.port)
    ctx = build_context(settings)
    bootstrap(ctx, template=template, echo=typer.echo, demo_data=demo_data,
              progress=_progress_bar if demo_data else None)
    typer.echo(f"Loom serving http://{settings.host}:{settings.port} "
               f"({settings.dialect})")
    uvicorn.run(create_app(settings, ctx=ctx), host=settings.host, port=settings.port,
                log_level="info")


@app.command()
def worker(database_url: DbOpt = None,
           once: Annotated[bool, typer.Option(help="run what is due, then exit")] = False
           ) -> None:
    """Run background jobs (for deployments with several API processes)."""
    import time

    from runtime.api.app import build_context
    from runtime.jobs.service import run_due

    ctx = build_context(_settings(database_url))
    while True:
        counts = run_due(ctx, now=ctx.clock.now(), worker="cli")
        if once:
            typer.echo(json.dumps(counts))
            return
        time.sleep(1)


@apps_cli.command("install")
def app_install(
    path: Path,
    database_url: DbOpt = None,
    if_absent: Annotated[bool, typer.Option(help="do nothing when the app exists")] = False,
    demo_data: Annotated[int, typer.Option(
        "--demo-data", help="then generate demo data for N customers (bundle folders "
        "with demo/generate.py)", min=0)] = 0,
    seed: Annotated[int, typer.Option(help="demo-data random seed")] = 1,
) -> None:
    """Install or upgrade an app from a bundle folder or zip."""
    from runtime.api.app import build_context
    from runtime.bootstrap import install_bundle
    from runtime.errors import LoomError

    ctx = build_context(_settings(database_url))
    try:
        version = install_bundle(ctx, path, if_absent=if_absent, echo=typer.echo)
        if demo_data and version is not None:
            _run_demo(ctx, path, customers=demo_data, seed=seed)
    except LoomError as e:
        _echo_error(e)
        raise typer.Exit(code=1) from None


@app.command("demo-data")
def demo_data_command(
    path: Path,
    customers: Annotated[int, typer.Option(help="how many customers (the generator's "
                                                  "size unit)", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same "
                                           "data")] = 1,
    database_url: DbOpt = None,
) -> None:
    """Generate demo data for an installed app from its bundle's demo/generate.py."""
    from runtime.api.app import build_context
    from runtime.errors import LoomError

    ctx = build_context(_settings(database_url))
    try:
        _run_demo(ctx, path, customers=customers, seed=seed)
    except LoomError as e:
        _echo_error(e)
        raise typer.Exit(code=1) from None


def _echo_error(e: LoomError) -> None:
    typer.echo(e.message["en"], err=True)
    for d in e.details:
        typer.echo(f"  {d.field}: {d.message['en']} [{d.code}]", err=True)


def _progress_bar(description: str, total: int) -> tuple[Callable[[int, int], None],
                                                           Callable[[], None]]:
    """A rich progress bar on a terminal: returns (update(done, total), close()).
    Anywhere else (a log, a pipe, CI) a bar only shows its last state, so a line is
    printed instead every `_LOG_EVERY_S` seconds and at the end: done, total, rate,
    time left."""
    if not sys.stdout.isatty():
        return _progress_lines(description, total)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn())
    task = bar.add_task(description, total=total)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


_LOG_EVERY_S = 30.0


def _progress_lines(description: str, total: int, *, every_s: float = _LOG_EVERY_S,
                    clock: Callable[[], float] = time.monotonic,
                    echo: Callable[[str], None] = typer.echo,
                    ) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    started = clock()
    shown = [started]  # when the last line was printed
    last = [0, total]  # done, total

    def line(done: int, total: int) -> str:
        elapsed = max(clock() - started, 1e-9)
        rate = done / elapsed
        left = f", about {(total - done) / rate:,.0f} s left" if 0 < done < total else ""
        share = f" ({done / total:.0%})" if total else ""
        return (f"{description}: {done:,}/{total:,}{share} in {elapsed:,.0f} s, "
                f"{rate:,.1f}/s{left}")

    def update(done: int, total: int) -> None:
        last[:] = [done, total]
        if clock() - shown[0] >= every_s:
            shown[0] = clock()
            echo(line(done, total))

    def close() -> None:
        echo(line(last[0], last[1]))

    return update, close


def _run_demo(ctx: Context, path: Path, *, customers: int, seed: int) -> None:
    from runtime.demo import generate_demo_data

    update, close = _progress_bar(f"demo data {path.name}", customers)
    try:
        result = generate_demo_data(ctx, path, customers=customers, seed=seed,
                                    echo=lambda _m: None, progress=update)
    finally:
        close()
    typer.echo(f"generated {result.records} records ({result.updates} updates, "
               f"{result.users} users)")


@apps_cli.command("validate")
def app_validate(path: Path) -> None:
    """Check a bundle: every problem with file, JSON path and message; exit 1 if any."""
    from builder.bundle import load
    from builder.check import check_bundle
    from builder.problems import BundleInvalid

    try:
        problems = check_bundle(load(path))
    except BundleInvalid as e:
        problems = e.problems
    for p in problems:
        typer.echo(p.render("en"), err=True)
    if problems:
        raise typer.Exit(code=1)
    typer.echo(f"{path}: ok")


@apps_cli.command("export")
def app_export(key: str, output: Annotated[Path, typer.Option("-o", "--output")],
               database_url: DbOpt = None) -> None:
    """Write the app's current published bundle to a zip file."""
    from builder.export import to_zip
    from runtime.api.app import build_context
    from runtime.errors import LoomError

    ctx = build_context(_settings(database_url))
    try:
        with ctx.engine.begin() as conn:
            bundle = ctx.apps.current(conn, key).bundle
    except LoomError as e:
        raise _fail(e.message["en"]) from None
    output.write_bytes(to_zip(bundle))
    typer.echo(f"exported {key} to {output}")


@apps_cli.command("diff")
def app_diff(a: Path, b: Path) -> None:
    """Show which definitions differ between two bundles."""
    from builder.bundle import load
    from builder.diff import diff_bundles

    changes = diff_bundles(load(a), load(b))
    for line in changes:
        typer.echo(line)
    if not changes:
        typer.echo("no differences")


@users_cli.command("create")
def user_create(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[list[str] | None, typer.Option("--role")] = None,
    department: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool, typer.Option("--admin")] = False,
    email: Annotated[str | None, typer.Option(
        help="Where email notifications to this user go")] = None,
    database_url: DbOpt = None,
) -> None:
    """Create a user."""
    from runtime.api.app import build_context
    from runtime.auth.service import create_user
    from runtime.errors import LoomError

    ctx = build_context(_settings(database_url))
    try:
        with ctx.engine.begin() as conn:
            create_user(conn, username=name, password=password, now=ctx.clock.now(),
                        roles=role or [], department=department, is_admin=admin,
                        email=email)
    except LoomError as e:
        raise _fail(e.message["en"]) from None
    finally:
        ctx.engine.dispose()
    typer.echo(f"created user {name}")


@app.command()
def schema(kind: Annotated[str | None, typer.Argument(
        help="app, forms, flows, rules, reports or dashboards")] = None) -> None:
    """Print the JSON Schema of the definition files."""
    from builder.schemas import definition_schemas

    schemas = definition_schemas()
    if kind is None:
        typer.echo(json.dumps(schemas, ensure_ascii=False, indent=2))
        return
    if kind not in schemas:
        raise _fail(f"unknown kind {kind!r}; one of: {', '.join(schemas)}")
    typer.echo(json.dumps(schemas[kind], ensure_ascii=False, indent=2))


@scheduler_cli.command("tick")
def scheduler_tick(
    at: Annotated[str | None, typer.Option("--at", help="ISO-8601 instant (default: now)")]
    = None,
    database_url: DbOpt = None,
) -> None:
    """Run every schedule, timer, SLA and job due at that instant, then return."""
    from runtime.api.app import build_context
    from runtime.clock import FixedClock
    from runtime.scheduler import tick

    when = datetime.now(UTC)
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise _fail(f"--at must be an ISO-8601 instant, got {at!r}") from None
        if when.tzinfo is None:
            raise _fail("--at needs a time zone offset, e.g. 2026-12-01T09:00:00+08:00")
    ctx = build_context(_settings(database_url), clock=FixedClock(when))
    typer.echo(json.dumps(tick(ctx, when), ensure_ascii=False))


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
