"""The bound on cascades: one write may fire rules whose writes fire rules, up to a point.

Runtime creates one `CascadeGuard` per command (an API write, an import row, a flow
step) and asks it before applying each firing. Past the bound it raises
`CascadeLimitError`, and runtime rolls the whole write back with that message: a
half-applied chain is worse than none. Within a chain a rule acts on a record once
(a per-chain fired set, as Odoo's "done" checklist), unless the rule is marked
`allow_cycle`, in which case only the depth and count limits stop it.

The numbers follow Discourse's per-thread depth of 5 (research/rules.md) and leave
room for fan-out (one update touching 20 related records).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_MAX_DEPTH = 5
DEFAULT_MAX_FIRINGS = 200


class CascadeLimitError(Exception):
    """Too deep or too many rule firings for one write; the write must roll back."""

    def __init__(self, code: str, zh: str, en: str, chain: tuple[tuple[str, str], ...]) -> None:
        super().__init__(en)
        self.code = code
        self.message = {"zh": zh, "en": en}
        self.chain = chain


@dataclass
class CascadeGuard:
    max_depth: int = DEFAULT_MAX_DEPTH
    max_firings: int = DEFAULT_MAX_FIRINGS
    firings: int = 0
    fired: set[tuple[str, str]] = field(default_factory=set)
    trail: list[tuple[str, str]] = field(default_factory=list)

    def admit(self, rule: str, record_id: str, depth: int, *,
              allow_repeat: bool = False) -> bool:
        """May `rule` act on `record_id` at cascade `depth` (0 = the user's write)?

        False means "already acted on this record in this chain: skip quietly".
        Raises CascadeLimitError past the depth or count bound.
        """
        if depth > self.max_depth:
            chain = (*self.trail[-self.max_depth:], (rule, record_id))
            path = " → ".join(f"{r}({rid})" for r, rid in chain)
            raise CascadeLimitError(
                "cascade_depth",
                f"规则连锁触发超过 {self.max_depth} 层，已撤销本次保存：{path}",
                f"rules fired each other more than {self.max_depth} levels deep; "
                f"the write was rolled back: {path}",
                chain)
        key = (rule, record_id)
        if key in self.fired and not allow_repeat:
            return False
        self.firings += 1
        if self.firings > self.max_firings:
            raise CascadeLimitError(
                "cascade_count",
                f"一次保存触发的规则超过 {self.max_firings} 次，已撤销本次保存",
                f"one write fired rules more than {self.max_firings} times; "
                f"the write was rolled back",
                (*self.trail[-10:], key))
        self.fired.add(key)
        self.trail.append(key)
        return True
