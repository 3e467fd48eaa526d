"""Loading the credit-CRM test app (forms and the four warning rules) from fixtures/."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from engines.form.spec import FormSpec
from engines.rule import AppRules, Firing, compile_rules
from engines.rule.forms import FormInfo, form_infos
from engines.rule.spec import RuleSpec

FIXTURES = Path(__file__).parent / "fixtures"
FLOWS = frozenset({"complaint_escalation"})


def load_forms() -> dict[str, FormSpec]:
    forms = [FormSpec.model_validate(json.loads(p.read_text()))
             for p in sorted((FIXTURES / "forms").glob("*.json"))]
    return {f.key: f for f in forms}


def load_rules() -> dict[str, RuleSpec]:
    rules = [RuleSpec.model_validate(json.loads(p.read_text()))
             for p in sorted((FIXTURES / "rules").glob("*.json"))]
    return {r.key: r for r in rules}


def infos() -> dict[str, FormInfo]:
    return form_infos(load_forms())


def crm_app() -> AppRules:
    return compile_rules(load_rules().values(), load_forms(), flows=FLOWS)


def rule(key: str, **changes: Any) -> RuleSpec:
    """A fixture-like rule built from a dict (for small focused tests)."""
    base: dict[str, Any] = {"key": key, "name": key, "form": "receivable",
                            "trigger": {"kind": "created"},
                            "actions": [{"kind": "tag", "tags": ["x"]}]}
    base.update(changes)
    return RuleSpec.model_validate(base)


class ClaimTable:
    """What runtime's unique (rule, subject, episode) table does: first claim wins."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def apply(self, firings: Iterable[Firing]) -> list[Firing]:
        won = []
        for f in firings:
            if f.claim is None or f.claim.key not in self.keys:
                if f.claim is not None:
                    self.keys.add(f.claim.key)
                won.append(f)
        return won


def by_type(effects: Iterable[object]) -> Mapping[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for e in effects:
        out.setdefault(type(e).__name__, []).append(e)
    return out
