"""Demo data for any app bundle: `loom demo-data PATH --customers N`.

A bundle may ship `demo/generate.py` with a function
`generate(writer, *, customers, seed, progress)`. This module imports that file by
path and hands it a `DemoWriter`, the only way the generator touches the platform:

- every record goes through `runtime.records.service` (`create` / `update_record`),
  so demo data obeys exactly the validation, numbering, uniqueness and history of
  real data — a generator that writes something the forms refuse fails loudly;
- writes are grouped many to a transaction (`batch`), and carry a
  `runtime.records.batch.WriteBatch` between them: history entries go in with one
  insert per transaction, auto-number counters are counted on in memory, and a record
  written earlier in the transaction is updated without reading it back (1.5 SQL
  statements a write instead of 3.2 for the credit CRM; with the partial expression
  indexes of `runtime.store.indexes`, bench/crm.py measures the speed);
- the writer owns a `FixedClock` that the generator moves (`writer.at(when)`), so
  months of history get realistic `created_at` / `updated_at` times.

Why write hooks (rules) are switched off while generating: the data is *history*.
Replaying two years of it through the rules would send thousands of notifications,
open flows and tasks for events long past, and duplicate what the generator already
wrote (e.g. a rule creating a follow-up record the history already contains). After
the history is written, `generate_demo_data` runs one scheduler tick at the last
instant of the history, so scheduled rules (nightly recomputations) bring derived
fields up to date the normal way, when such rules are registered.
"""

from __future__ import annotations

import importlib.util
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, insert, select, text

from builder.bundle import load
from engines.expr.workcal import DEFAULT_CALENDAR, WorkCalendar
from runtime.auth.models import SYSTEM, Actor
from runtime.auth.service import create_user
from runtime.clock import FixedClock
from runtime.context import Context
from runtime.errors import BadRequest
from runtime.hooks import Hooks
from runtime.records import service as records_service
from runtime.records.batch import WriteBatch
from runtime.store.tables import departments, users

Echo = Callable[[str], None]
Progress = Callable[[int, int], None]
"""`progress(done, total)`: called by the generator as it goes (units are its own)."""

GENERATOR = Path("demo") / "generate.py"


@dataclass(frozen=True)
class DemoResult:
    records: int
    updates: int
    users: int
    tick: dict[str, Any] | None


class DemoWriter:
    """What a generator may do: create users and departments, write records (as a
    given user, at a given time), and move the clock. Ids come back as strings so
    later records can point at earlier ones."""

    def __init__(self, ctx: Context, *, app: str, clock: FixedClock, batch: int = 2000,
                 password: str | None = None) -> None:
        self._ctx = ctx
        self.app = app
        self.clock = clock
        self._batch = max(1, batch)
        self._password = password or secrets.token_urlsafe(18)
        self._conn: Connection | None = None
        self._pending = 0
        self._writes = WriteBatch()
        self._actors: dict[str, Actor] = {}
        self.records = 0
        self.updates = 0
        self.users = 0
        self._analyzed_at = 1_000  # writes at the last ANALYZE (the first after 2,000)
        self._calendar: WorkCalendar | None = None  # the app's, read on first use

    # -- time
    def at(self, when: datetime) -> None:
        """Move the clock: the next writes happen at `when` (aware datetime)."""
        self.clock.set(when)

    def now(self) -> datetime:
        return self.clock.now()

    def working_after(self, start: datetime, hours: float) -> datetime:
        """The instant `hours` working hours after `start` by the app's calendar
        (`app.json` "calendar"; Monday to Friday when it has none), as ADDWORKHOURS
        computes it — so generated response times fall within the app's SLA clock."""
        if self._calendar is None:  # read through the writer's own transaction
            self._calendar = self._ctx.apps.current(self._connection(), self.app).calendar \
                or DEFAULT_CALENDAR
        return self._calendar.add_seconds(start, hours * 3600, self._ctx.tz)

    # -- people
    def department(self, key: str, name: Mapping[str, str] | str, *,
                   parent: str | None = None, head: str | None = None) -> None:
        """Create a department (kept as it is when it exists already)."""
        conn = self._connection()
        if conn.execute(select(departments.c.key).where(departments.c.key == key)).first():
            return
        conn.execute(insert(departments).values(key=key, name=name, parent=parent, head=head))
        self._tick()

    def user(self, username: str, *, roles: list[str], department: str | None = None,
             display_name: str | None = None) -> Actor:
        """Create a user (or reuse one of that name); returns the actor to write as.
        Demo users share one password (`DemoWriter(password=…)`, random by default)."""
        conn = self._connection()
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is not None:
            actor = Actor(row.username, row.display_name, row.department,
                          tuple(row.roles or ()), bool(row.is_admin))
        else:
            actor = create_user(conn, username=username, password=self._password,
                                now=self.now(), roles=roles, department=department,
                                display_name=display_name)
            self.users += 1
            self._tick()
        self._actors[username] = actor
        return actor

    def _actor(self, username: str | None) -> Actor:
        if username is None:
            return SYSTEM
        actor = self._actors.get(username)
        if actor is None:
            actor = Actor(username)
        return actor

    # -- records
    def create(self, form: str, data: dict[str, Any], *, by: str | None = None,
               owner: str | None = None, at: datetime | None = None) -> str:
        """Create a record through the record service; returns its id."""
        if at is not None:
            self.at(at)
        rec = records_service.create(self._connection(), self._ctx, app=self.app, form=form,
                                     data=data, actor=self._actor(by), owner=owner or by,
                                     batch=self._writes)
        self.records += 1
        self._tick()
        return str(rec["id"])

    def update(self, form: str, record_id: str, patch: dict[str, Any], *,
               by: str | None = None, at: datetime | None = None) -> dict[str, Any]:
        """Change a record through the record service; returns its new data."""
        if at is not None:
            self.at(at)
        rec = records_service.update_record(self._connection(), self._ctx, app=self.app,
                                            form=form, record_id=record_id, patch=patch,
                                            actor=self._actor(by), batch=self._writes)
        self.updates += 1
        self._tick()
        data: dict[str, Any] = rec["data"]
        return data

    # -- transactions
    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._ctx.engine.connect()
            self._conn.begin()
        return self._conn

    def _tick(self) -> None:
        self._pending += 1
        if self._pending >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Commit what was written so far (the generator may call it at any point)."""
        if self._conn is not None:
            self._writes.flush(self._conn)
            self._conn.commit()
            self._conn.close()
            self._conn = None
        self._pending = 0
        written = self.records + self.updates
        if written >= 2 * self._analyzed_at:
            self._analyze()
            self._analyzed_at = written

    def _analyze(self) -> None:
        """PostgreSQL: refresh the planner's statistics each time the writes double.

        Why: a bulk load outruns autovacuum (or runs where it is off), and a planner
        that still believes the table empty reads a record by its id through some
        per-form index — every lookup scanning all the customers written so far: a
        100,000-customer generation slowed to 156 records/s within minutes."""
        if self._ctx.engine.dialect.name != "postgresql":
            return
        with self._ctx.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE records"))
            conn.execute(text("ANALYZE record_history"))

    def abort(self) -> None:
        self._writes.discard()
        if self._conn is not None:
            self._conn.rollback()
            self._conn.close()
            self._conn = None
        self._pending = 0


def load_generator(bundle_path: Path) -> ModuleType:
    """Import `<bundle>/demo/generate.py` by file path (bundles are not packages)."""
    path = Path(bundle_path) / GENERATOR
    if not path.is_file():
        raise BadRequest(f"应用包没有演示数据生成器：{path}",
                         f"The bundle has no demo-data generator: {path}",
                         code="no_demo_generator")
    spec = importlib.util.spec_from_file_location(f"loom_demo_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise BadRequest(f"无法加载 {path}", f"Cannot load {path}", code="no_demo_generator")
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses and typing look their module up there.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    if not callable(getattr(module, "generate", None)):
        raise BadRequest(f"{path} 没有 generate 函数", f"{path} has no generate function",
                         code="no_demo_generator")
    return module


def generate_demo_data(ctx: Context, bundle_path: Path, *, customers: int, seed: int = 1,
                       echo: Echo = print, progress: Progress | None = None,
                       batch: int = 2000, run_tick: bool = True) -> DemoResult:
    """Generate demo data for the (installed) app of the bundle at `bundle_path`.

    `customers` is the generator's size unit (the template's primary entity). The
    app must be installed first (`loom app install`)."""
    bundle = load(bundle_path)
    module = load_generator(Path(bundle_path))
    clock = FixedClock(ctx.clock.now())
    quiet = replace(ctx, clock=clock, hooks=Hooks())
    writer = DemoWriter(quiet, app=bundle.key, clock=clock, batch=batch)
    report = progress or (lambda done, total: None)
    try:
        module.generate(writer, customers=customers, seed=seed, progress=report)
        writer.flush()
    except BaseException:
        writer.abort()
        raise
    echo(f"generated {writer.records} records ({writer.updates} updates, "
         f"{writer.users} users) for {bundle.key}")
    tick_report: dict[str, Any] | None = None
    if run_tick:
        from runtime.scheduler import TICKS, tick

        if TICKS:
            tick_report = tick(replace(ctx, clock=FixedClock(clock.now())), clock.now())
    return DemoResult(writer.records, writer.updates, writer.users, tick_report)
