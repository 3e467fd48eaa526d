"""Tamper-evident record history.

Each entry's hash covers its content and the previous entry's hash, and the record row
has as many versions as it has entries, so editing an entry, inserting one, deleting
one (the last included) or reordering them is found, and `verify` says where. (Without
a key held outside the database nothing stops someone who rewrites the whole chain;
the chain makes any partial edit evident.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def _instant(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(*, prev_hash: str, record_id: int, seq: int, action: str, actor: str,
               at: datetime, diff: Mapping[str, Any]) -> str:
    body = json.dumps([record_id, seq, action, actor, _instant(at), diff],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def diff_of(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, Any]:
    """Changed keys as {key: [old, new]}."""
    old = old or {}
    new = new or {}
    return {k: [old.get(k), new.get(k)] for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)}


@dataclass(frozen=True)
class Verification:
    verified: bool
    entries: int
    problem: str | None = None
    at_seq: int | None = None


def verify(record_id: int, entries: Sequence[Any], version: int) -> Verification:
    """Check a record's entries (rows with seq, action, actor, at, diff, prev_hash, hash),
    in seq order, against each other and against the record's version."""
    prev = GENESIS
    for expected_seq, e in enumerate(entries, start=1):
        if e.seq != expected_seq:
            return Verification(False, len(entries), "sequence_gap", e.seq)
        if e.prev_hash != prev:
            return Verification(False, len(entries), "chain_broken", e.seq)
        h = entry_hash(prev_hash=prev, record_id=record_id, seq=e.seq, action=e.action,
                       actor=e.actor, at=e.at, diff=e.diff)
        if h != e.hash:
            return Verification(False, len(entries), "entry_altered", e.seq)
        prev = h
    if len(entries) != version:
        return Verification(False, len(entries), "entries_missing", len(entries))
    return Verification(True, len(entries))


def render(entries: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "action": e.action, "actor": e.actor, "at": e.at,
             "diff": e.diff, "hash": e.hash} for e in entries]
