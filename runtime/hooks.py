"""Write hooks: what reacts to a record being written, inside its transaction.

The rule engine registers here; every write path (API, import, flows, rules) calls
`Hooks.after_write` through the record service, so no path can bypass rules. A hook
gets the event and returns effects; the record service applies them in the same
transaction. `depth` bounds cascades (a rule's write firing other rules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

if TYPE_CHECKING:
    from runtime.auth.models import Actor
    from runtime.context import Context


@dataclass(frozen=True)
class WriteEvent:
    app: str
    form: str
    record_id: str
    action: str  # created | updated | deleted
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    actor: Actor
    depth: int = 0
    system: Mapping[str, Any] | None = None
    """The written record's system columns (id, owner, department, created_*, updated_*,
    version) and `marks`, as the writer has them at hand, so hooks need not read the row
    back; None when the writer does not know them."""


Hook = Callable[["Connection", "Context", WriteEvent], None]


@dataclass
class Hooks:
    after_write: list[Hook] = field(default_factory=list)

    def fire(self, conn: Connection, ctx: Context, event: WriteEvent) -> None:
        for hook in self.after_write:
            hook(conn, ctx, event)
