"""Rules in the runtime: event rules as a write hook (inside the write's transaction),
scheduled and date-relative rules as a scheduler tick (condition in SQL, once per
claim), the run log, and dry runs.

    install_rule_hooks(ctx)          # event rules on every write; registers the tick
    scheduler.tick(ctx, at)          # scheduled/date rules due by `at`, then jobs
    run_flow_rules(conn, ctx, app=, flow=, event=, form=, record_id=, actor=)  # flows
"""

from __future__ import annotations

from runtime.rules.events import RuleCascadeError, install_rule_hooks, run_flow_rules

__all__ = ["RuleCascadeError", "install_rule_hooks", "run_flow_rules"]
