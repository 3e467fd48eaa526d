"""What happened to a record, as the rule engine is told by runtime.

Values are native Python values (`engines.expr.types.fields_to_native` of the stored
JSON) and include the system fields (`id`, `owner`, …). `depth` is the cascade depth:
0 for a person's (or an import's, or a flow's) write, n+1 for a write made by a rule
fired at depth n.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class RecordEvent:
    kind: Literal["created", "updated", "deleted"]
    form: str
    record: Mapping[str, Any]
    old: Mapping[str, Any] = field(default_factory=dict)
    depth: int = 0

    @property
    def record_id(self) -> str:
        return str(self.record.get("id", ""))

    def changed(self) -> frozenset[str]:
        """Fields whose value differs between `old` and `record` (updates only)."""
        if self.kind != "updated":
            return frozenset()
        keys = set(self.record) | set(self.old)
        return frozenset(k for k in keys if self.record.get(k) != self.old.get(k))


@dataclass(frozen=True, slots=True)
class FlowEvent:
    """A flow instance event on the record it runs for (started, approved, …)."""

    flow: str
    event: str
    form: str
    record: Mapping[str, Any]
    node: str | None = None
    depth: int = 0

    @property
    def record_id(self) -> str:
        return str(self.record.get("id", ""))


Event = RecordEvent | FlowEvent
