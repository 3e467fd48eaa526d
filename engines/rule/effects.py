"""Effects only rules produce, beside those of `engines.effects`.

Tags and flags are marks on a record that live outside its form's fields (the UI
shows them as badges and list filters use them), so they are effects of their own
rather than `SetFields` on a field the analyst would have to add to every form.
"""

from __future__ import annotations

from dataclasses import dataclass

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


RuleEffect = Effect | TagRecord | FlagRecord | RejectWrite
