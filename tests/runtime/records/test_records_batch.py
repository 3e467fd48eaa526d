"""`WriteBatch`: many writes in one transaction, history written once at the flush,
records written earlier in the batch updated without being read back — and the same
records, history chains and errors as writing without it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, func, select, update

from builder.bundle import load
from runtime.apps import service as apps_service
from runtime.auth.models import SYSTEM
from runtime.clock import FixedClock
from runtime.context import Context
from runtime.errors import Conflict, StaleVersion
from runtime.hooks import WriteEvent
from runtime.records import service
from runtime.records.batch import WriteBatch
from runtime.store.tables import record_history, records

BUNDLE = Path(__file__).parents[2] / "fixtures" / "bundles" / "crm_lite"


@pytest.fixture
def app_ctx(ctx: Context) -> Context:
    with ctx.engine.begin() as conn:
        apps_service.install(conn, ctx, load(BUNDLE), actor=SYSTEM)
    return ctx


@contextmanager
def statements(conn: Connection) -> Iterator[list[str]]:
    """The SQL statements run on `conn` inside the block."""
    seen: list[str] = []

    def note(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    event.listen(conn, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn, "before_cursor_execute", note)


def _history_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(record_history)).scalar_one())


def test_batched_writes_leave_the_same_verified_chains(app_ctx: Context,
                                                       clock: FixedClock) -> None:
    ctx = app_ctx
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        before = _history_count(conn)  # the bundle's seed records
        ids = []
        for i in range(3):
            rec = service.create(conn, ctx, app="crm_lite", form="customer",
                                 data={"name": f"C{i}", "region": "east"}, actor=SYSTEM,
                                 batch=batch)
            ids.append(rec["id"])
        assert _history_count(conn) == before and len(batch) == 3  # waiting for the flush
        for step in range(2):
            clock.advance(timedelta(minutes=5))
            for rid in ids:
                rec = service.update_record(conn, ctx, app="crm_lite", form="customer",
                                            record_id=rid, patch={"score": 10 * step + 1},
                                            actor=SYSTEM, batch=batch)
                assert rec["version"] == step + 2
        assert batch.flush(conn) == 9
        assert len(batch) == 0 and batch.row(int(ids[0]), "crm_lite", "customer") is None
        # after the flush the chain goes on from the database, as without a batch
        clock.advance(timedelta(minutes=5))
        service.update_record(conn, ctx, app="crm_lite", form="customer", record_id=ids[0],
                              patch={"region": "north"}, actor=SYSTEM, batch=batch)
        batch.flush(conn)
    with ctx.engine.begin() as conn:
        for rid, versions in zip(ids, (4, 3, 3), strict=True):
            hist = service.get_history(conn, ctx, app="crm_lite", form="customer",
                                       record_id=rid)
            assert hist["verified"], hist
            assert [e["seq"] for e in hist["entries"]] == list(range(1, versions + 1))
            assert [e["action"] for e in hist["entries"]][:2] == ["create", "update"]
        row = conn.execute(select(records).where(records.c.id == int(ids[0]))).one()
        assert (row.version, row.data["score"], row.data["region"]) == (4, 11, "north")


def test_an_update_of_a_record_the_batch_wrote_reads_nothing_back(app_ctx: Context) -> None:
    ctx = app_ctx
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        rid = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "Acme"}, actor=SYSTEM, batch=batch)["id"]
        with statements(conn) as seen:
            service.update_record(conn, ctx, app="crm_lite", form="customer", record_id=rid,
                                  patch={"score": 5}, actor=SYSTEM, batch=batch)
        assert [s.split()[0] for s in seen] == ["UPDATE"]
        batch.flush(conn)
        # without the batch: the row and the previous entry's hash are read first
        with statements(conn) as seen:
            service.update_record(conn, ctx, app="crm_lite", form="customer", record_id=rid,
                                  patch={"score": 6}, actor=SYSTEM)
        assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "SELECT", "INSERT"]


def test_a_stale_remembered_row_fails_as_a_stale_write(app_ctx: Context) -> None:
    ctx = app_ctx
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        rid = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "Acme"}, actor=SYSTEM, batch=batch)["id"]
        # someone changes the row behind the batch's back
        conn.execute(update(records).where(records.c.id == int(rid)).values(version=7))
        with pytest.raises(StaleVersion):
            service.update_record(conn, ctx, app="crm_lite", form="customer",
                                  record_id=rid, patch={"score": 5}, actor=SYSTEM,
                                  batch=batch)


def test_the_batch_is_ignored_while_write_hooks_are_registered(app_ctx: Context) -> None:
    ctx = app_ctx
    events: list[WriteEvent] = []
    ctx.hooks.after_write.append(lambda _conn, _ctx, e: events.append(e))
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        before = _history_count(conn)
        rid = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "Acme"}, actor=SYSTEM, batch=batch)["id"]
        service.update_record(conn, ctx, app="crm_lite", form="customer", record_id=rid,
                              patch={"score": 5}, actor=SYSTEM, batch=batch)
        assert _history_count(conn) == before + 2 and len(batch) == 0
        assert [e.action for e in events] == ["created", "updated"]
        assert batch.flush(conn) == 0


def test_a_batch_keeps_uniques_and_numbers(app_ctx: Context) -> None:
    ctx = app_ctx
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        first = service.create(conn, ctx, app="crm_lite", form="customer",
                               data={"name": "Acme"}, actor=SYSTEM, batch=batch)
        second = service.create(conn, ctx, app="crm_lite", form="customer",
                                data={"name": "Beta"}, actor=SYSTEM, batch=batch)
        n = int(first["data"]["code"].rsplit("-", 1)[1])
        assert second["data"]["code"] == f"C-2026-{n + 1:04d}"
        with pytest.raises(Conflict) as err:
            service.update_record(conn, ctx, app="crm_lite", form="customer",
                                  record_id=second["id"], patch={"name": "Acme"},
                                  actor=SYSTEM, batch=batch)
        assert err.value.code == "duplicate_value"
        # the refused claim left the transaction usable: the batch carries on
        service.update_record(conn, ctx, app="crm_lite", form="customer",
                              record_id=second["id"], patch={"name": "Gamma"}, actor=SYSTEM,
                              batch=batch)
        third = service.create(conn, ctx, app="crm_lite", form="customer",
                               data={"name": "Delta"}, actor=SYSTEM, batch=batch)
        assert third["data"]["code"] == f"C-2026-{n + 2:04d}"  # counted on in memory
        batch.flush(conn)  # ... and the counter written back
    with ctx.engine.begin() as conn:
        fourth = service.create(conn, ctx, app="crm_lite", form="customer",
                                data={"name": "Epsilon"}, actor=SYSTEM)
        assert fourth["data"]["code"] == f"C-2026-{n + 3:04d}"
    with ctx.engine.begin() as conn:
        hist = service.get_history(conn, ctx, app="crm_lite", form="customer",
                                   record_id=second["id"])
        assert hist["verified"] and len(hist["entries"]) == 2


def test_a_delete_in_the_batch_chains_onto_its_buffered_entries(app_ctx: Context) -> None:
    ctx = app_ctx
    batch = WriteBatch()
    with ctx.engine.begin() as conn:
        rid = service.create(conn, ctx, app="crm_lite", form="customer",
                             data={"name": "Acme"}, actor=SYSTEM, batch=batch)["id"]
        service.delete_record(conn, ctx, app="crm_lite", form="customer", record_id=rid,
                              actor=SYSTEM, batch=batch)
        assert batch.row(int(rid), "crm_lite", "customer") is None
        batch.flush(conn)
    with ctx.engine.begin() as conn:
        hist = service.get_history(conn, ctx, app="crm_lite", form="customer",
                                   record_id=rid)
        assert hist["verified"] and [e["action"] for e in hist["entries"]] == [
            "create", "delete"]
