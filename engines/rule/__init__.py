"""The rule engine: when something happens to a record (or the clock reaches a time),
check a condition and return the effects of ordered actions. Pure: time, records and
aggregates come in; effects go out; runtime applies them in the write's transaction.

    spec = RuleSpec.model_validate(json)                 # rules/<key>.json
    app = compile_rules(specs, forms, flows=...)         # every problem, located
    firings = app.for_form("ticket").fire(RecordEvent("updated", "ticket", new, old), env)
    guard.admit(f.rule, f.record_id, depth, allow_repeat=f.allow_repeat)  # cascades
    claim = firing.claim                                 # once-per key to claim
    dry_run(app.rules["overdue"], candidates, env)       # writes nothing

Scheduled rules: `timing.occurrences` (cron in the deployment zone) and
`timing.field_window` (date-relative triggers as bounds on the date field) tell
runtime what to query; `fire_scheduled` turns the candidates into firings.

The names below are imported on first use, so that the bundle loader's import of
`engines.rule.spec` does not pay for the compiler, the expression language and the
form engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engines.rule.cascade import CascadeGuard, CascadeLimitError
    from engines.rule.compile import AppRules, compile_rule, compile_rules
    from engines.rule.compiled import Claim, CompiledRule
    from engines.rule.cycles import RuleCycle, find_cycles
    from engines.rule.events import FlowEvent, RecordEvent
    from engines.rule.preview import DryRunItem, DryRunReport, dry_run
    from engines.rule.problems import RuleInvalidError, RuleProblem
    from engines.rule.ruleset import Firing, RuleSet, fire_scheduled
    from engines.rule.spec import RuleSpec

_WHERE = {
    "CascadeGuard": "cascade", "CascadeLimitError": "cascade", "AppRules": "compile",
    "compile_rule": "compile", "compile_rules": "compile", "Claim": "compiled",
    "CompiledRule": "compiled", "RuleCycle": "cycles", "find_cycles": "cycles",
    "DryRunItem": "preview", "DryRunReport": "preview", "dry_run": "preview",
    "FlowEvent": "events", "RecordEvent": "events", "RuleInvalidError": "problems",
    "RuleProblem": "problems", "Firing": "ruleset", "RuleSet": "ruleset",
    "fire_scheduled": "ruleset", "RuleSpec": "spec",
}

__all__ = [
    "AppRules", "CascadeGuard", "CascadeLimitError", "Claim", "CompiledRule", "DryRunItem",
    "DryRunReport", "Firing", "FlowEvent", "RecordEvent", "RuleCycle", "RuleInvalidError",
    "RuleProblem", "RuleSet", "RuleSpec", "compile_rule", "compile_rules", "dry_run",
    "find_cycles", "fire_scheduled",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'engines.rule' has no attribute {name!r}")
    return getattr(importlib.import_module(f"engines.rule.{module}"), name)
