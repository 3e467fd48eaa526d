"""`WriteBatch`: what a long run of writes in one transaction carries from write to write.

Demo data and bulk loads write tens of thousands of records through the record service,
one transaction per few thousand writes. Two things each write would otherwise do
one at a time are carried here instead:

- history entries are collected and inserted with one `executemany` at `flush` (which
  the owner of the transaction calls before it commits), not one INSERT per write;
- the rows written in this batch are remembered, so updating a record written earlier
  in the batch neither reads the row back nor reads its last history hash: the hash
  chain goes on from the entry kept here (each record's chain still starts at its own
  genesis entry, and every entry still covers the one before it);
- an auto-number counter is taken from the database once (which locks its row until
  the commit) and counted on here; its last value is written back at `flush`.

Only for transactions where every write goes through the same batch. Write hooks
(rules) write records on their own, without the batch, and would find neither the
buffered history nor the remembered rows, so the record service ignores a batch while
hooks are registered (it writes through, as without one). The optimistic lock still
guards every UPDATE (`WHERE version = …`), so a remembered row that went stale fails
loudly as a stale write, never silently.

Memory is bounded by the batch: `flush` forgets everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from runtime.store.tables import record_history, sequences

_INSERT_HISTORY = insert(record_history)
_SET_COUNTER = update(sequences).where(
    sequences.c.app == bindparam("q_app"), sequences.c.form == bindparam("q_form"),
    sequences.c.field == bindparam("q_field"), sequences.c.period == bindparam("q_period")
).values(value=bindparam("q_value"))
Counter = tuple[str, str, str, str]
"""(app, form, field, period) of an auto-number counter."""


class WriteBatch:
    def __init__(self) -> None:
        self._history: list[dict[str, Any]] = []
        self._last: dict[int, tuple[int, str]] = {}  # record id -> (seq, hash)
        self._rows: dict[int, dict[str, Any]] = {}   # record id -> its columns
        self._numbers: dict[Counter, int] = {}  # counters taken, their last value
        self._counted: set[Counter] = set()      # those counted on since

    def __len__(self) -> int:
        """History entries waiting to be written."""
        return len(self._history)

    def add_history(self, entries: list[dict[str, Any]]) -> None:
        self._history.extend(entries)
        for e in entries:
            self._last[e["record_id"]] = (e["seq"], e["hash"])

    def last_hash(self, record_id: int, seq: int) -> str | None:
        """The hash of entry `seq` of the record when this batch wrote it, else None."""
        known = self._last.get(record_id)
        return known[1] if known is not None and known[0] == seq else None

    def remember(self, row: Mapping[str, Any]) -> None:
        """The record's columns as just written (id, data, version, owner, …, marks)."""
        self._rows[int(row["id"])] = dict(row)

    def row(self, record_id: int, app: str, form: str) -> dict[str, Any] | None:
        """The record as this batch last wrote it, if it did (and it is that form's)."""
        row = self._rows.get(record_id)
        if row is None or row["app"] != app or row["form"] != form:
            return None
        return row

    def forget(self, record_id: int) -> None:
        self._rows.pop(record_id, None)

    def next_number(self, counter: Counter) -> int | None:
        """The counter's next value, when this batch has taken it from the database."""
        last = self._numbers.get(counter)
        if last is None:
            return None
        self._numbers[counter] = last + 1
        self._counted.add(counter)
        return last + 1

    def took_number(self, counter: Counter, value: int) -> None:
        """The database's counter gave `value` (its row is now locked until commit)."""
        self._numbers[counter] = value

    def flush(self, conn: Connection) -> int:
        """Write the collected history entries and the counters counted on; returns how
        many entries. Call it before the transaction commits."""
        count = len(self._history)
        if self._counted:
            conn.execute(_SET_COUNTER, [
                {"q_app": c[0], "q_form": c[1], "q_field": c[2], "q_period": c[3],
                 "q_value": self._numbers[c]} for c in sorted(self._counted)])
        if self._history:
            conn.execute(_INSERT_HISTORY, self._history)
        self.discard()
        return count

    def discard(self) -> None:
        """Forget everything (the transaction rolled back, or it was flushed)."""
        self._history = []
        self._last.clear()
        self._rows.clear()
        self._numbers.clear()
        self._counted.clear()
