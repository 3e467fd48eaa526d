"""First start: migrate, create the first admin, install the template app.

Shared by `loom serve` and `loom app install`, so `make run` on a fresh machine and an
integrator's script take the same path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from builder.bundle import load
from builder.problems import BundleInvalid
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.auth.service import ensure_admin
from runtime.context import Context
from runtime.store.migrate import upgrade
from runtime.store.tables import apps

Echo = Callable[[str], None]


def bootstrap(ctx: Context, *, template: Path | None = None, echo: Echo = print,
              demo_data: int = 0,
              progress: Callable[[str, int], tuple[Callable[[int, int], None],
                                                   Callable[[], None]]] | None = None) -> None:
    """Migrate, ensure the admin, and on first start install `template` (with demo
    data for `demo_data` customers when asked; `progress` makes the bar)."""
    upgrade(ctx.engine)
    from runtime.reports.provider import ensure_projections

    for app in ensure_projections(ctx):  # a database that predates them
        echo(f"built the report projections of {app}")
    with ctx.engine.begin() as conn:
        generated = ensure_admin(conn, password=ctx.settings.admin_password,
                                 var_dir=ctx.settings.var_dir, now=ctx.clock.now())
    if generated:
        path = ctx.settings.var_dir / "initial-admin-password"
        echo(f"Created user 'admin' with password: {generated}  (also in {path}, mode 600)")
    if template is not None:
        with ctx.engine.connect() as conn:
            any_app = conn.execute(select(apps.c.key).limit(1)).first()
        if any_app is None:
            install_bundle(ctx, template, echo=echo)
            if demo_data:
                _demo(ctx, template, customers=demo_data, echo=echo, progress=progress)


def _demo(ctx: Context, template: Path, *, customers: int, echo: Echo,
          progress: Callable[[str, int], tuple[Callable[[int, int], None],
                                               Callable[[], None]]] | None) -> None:
    from runtime.demo import generate_demo_data

    update, close = progress(f"demo data {template.name}", customers) if progress else \
        (None, lambda: None)
    try:
        generate_demo_data(ctx, template, customers=customers, echo=echo, progress=update)
    finally:
        close()


def install_bundle(ctx: Context, path: Path, *, if_absent: bool = False,
                   echo: Echo = print) -> int | None:
    """Install (or upgrade) a bundle; its seed data is loaded on first install.
    Returns the new version, or None when skipped."""
    upgrade(ctx.engine)
    try:
        bundle = load(path)
    except BundleInvalid as e:
        raise apps_service.invalid(e.problems) from None
    with ctx.engine.begin() as conn:
        exists = conn.execute(select(apps.c.key).where(apps.c.key == bundle.key)).first()
        if exists and if_absent:
            echo(f"{bundle.key} is installed already")
            return None
        version = apps_service.install(conn, ctx, bundle, actor=SYSTEM)
    echo(f"installed {bundle.key} version {version}")
    return version
