"""The history chain detects an edited, inserted, deleted or reordered entry (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.records.history import GENESIS, diff_of, entry_hash, verify

T = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class E:
    seq: int
    action: str
    actor: str
    at: datetime
    diff: dict[str, Any]
    prev_hash: str
    hash: str


def chain(n: int, record_id: int = 7) -> list[E]:
    out: list[E] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        diff = {"amount": [seq - 1, seq]}
        h = entry_hash(prev_hash=prev, record_id=record_id, seq=seq, action="update",
                       actor="alice", at=T + timedelta(minutes=seq), diff=diff)
        out.append(E(seq, "update", "alice", T + timedelta(minutes=seq), diff, prev, h))
        prev = h
    return out


def test_intact_chain_verifies() -> None:
    assert verify(7, chain(5), 5).verified


def test_edited_entry_is_found() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], diff={"amount": [2, 999]})
    result = verify(7, entries, 5)
    assert (result.verified, result.problem, result.at_seq) == (False, "entry_altered", 3)


def test_edited_actor_or_time_is_found() -> None:
    entries = chain(3)
    entries[0] = replace(entries[0], actor="mallory")
    assert verify(7, entries, 3).problem == "entry_altered"
    entries = chain(3)
    entries[1] = replace(entries[1], at=entries[1].at + timedelta(seconds=1))
    assert verify(7, entries, 3).problem == "entry_altered"


def test_deleted_middle_and_last_entries_are_found() -> None:
    entries = chain(5)
    assert verify(7, entries[:2] + entries[3:], 5).problem == "sequence_gap"
    assert verify(7, entries[:4], 5).problem == "entries_missing"


def test_inserted_entry_is_found() -> None:
    entries = chain(4)
    forged = replace(entries[1], seq=3)
    tail = [replace(e, seq=e.seq + 1) for e in entries[2:]]
    result = verify(7, [*entries[:2], forged, *tail], 5)
    assert not result.verified


def test_entries_of_another_record_do_not_verify() -> None:
    assert verify(8, chain(3, record_id=7), 3).problem == "entry_altered"


def test_diff_lists_only_changes() -> None:
    assert diff_of({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": [2, 3]}
    assert diff_of(None, {"a": 1}) == {"a": [None, 1]}
