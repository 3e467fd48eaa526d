"""Effects only rules produce, beside those of `engines.effects`.

Tags and flags are marks on a record that live outside its form's fields (the UI
shows them as badges and list filters use them), so they are effects of their own
rather than `SetFields` on a field the analyst would have to add to every form.
Assignments in turn and per-record related updates need the database to finish
(a counter, the related rows), so they are effects runtime completes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

from engines.effects import Effect


@dataclass(frozen=True, slots=True)
class TagRecord:
    form: str
    record_id: str | None
    tags: tuple[str, ...]
    remove: bool = False


@dataclass(frozen=True, slots=True)
class FlagRecord:
    form: str
    record_id: str | None
    flag: str
    on: bool = True
    color: str | None = None
    note: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RejectWrite:
    """The write that fired `rule` must not happen; `message` says why (zh/en)."""

    rule: str
    message: dict[str, str]


@dataclass(frozen=True, slots=True)
class AssignInTurn:
    """Set `field` of the record to the next member of a pool (the `assign` action).

    Who is next depends on a durable counter and, for `least_open`, on the records
    in the database, so runtime picks the member; the pool is described here as data
    (`role` ∩ `department` (and its tree) ∩ `users`, each optional) and `pool_key`
    names the counter. `values` are written in the same update when somebody is
    assigned.
    """

    rule: str
    form: str
    record_id: str | None
    field: str
    role: str | None = None
    department: str | None = None
    subdepartments: bool = False
    users: tuple[str, ...] | None = None
    strategy: str = "round_robin"
    open_when: str | None = None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def pool_key(self) -> str:
        """The pool's identity: one rotation per (app, rule, pool)."""
        parts = [f"role={self.role or ''}",
                 f"dept={self.department or ''}{'+' if self.subdepartments else ''}"]
        if self.users is not None:
            parts.append("users=" + ",".join(sorted(self.users)))
        text = "|".join(parts)
        if len(text) <= 128:
            return text
        return text[:100] + "#" + hashlib.sha256(text.encode()).hexdigest()[:27]


@dataclass(frozen=True, slots=True)
class UpdateEach:
    """An `update_related` whose values read each related record (`target.x`).

    `values` are those that read only the triggering record, computed already (stored
    JSON); the others are computed per record of `form` selected by `where`, by
    `engines.rule.actions.related_values(rule, action, bound, target, env)`, from
    `bound`: the triggering record's values they read (native, as the engine had them).
    """

    rule: str
    action: int
    form: str
    where: str
    values: dict[str, Any]
    bound: dict[str, Any]


RuleEffect = Effect | TagRecord | FlagRecord | RejectWrite | AssignInTurn | UpdateEach
