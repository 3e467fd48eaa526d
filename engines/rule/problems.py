"""Problems found in rule definitions: where (rule and JSON path), what, zh and en.

Engines cannot import `builder`, so this is the rule engine's own small record; the
bundle checker turns it into a `builder.problems.Problem` with the file name
`rules/<rule>.json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleProblem:
    rule: str
    path: str
    code: str
    message: dict[str, str]

    @property
    def file(self) -> str:
        return f"rules/{self.rule}.json"

    def render(self, lang: str = "en") -> str:
        text = self.message.get(lang) or self.message.get("en", "")
        return f"{self.file}:{self.path}: {text} [{self.code}]"


def problem(rule: str, path: str, code: str, zh: str, en: str) -> RuleProblem:
    return RuleProblem(rule, path, code, {"zh": zh, "en": en})


class RuleInvalidError(Exception):
    """Rules that cannot be compiled; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.render() for p in self.problems[:5]))
