"""Wiring the engines into a context: file references are checked, rules and flows
react to writes, ticks and jobs. Idempotent; the app factory, the CLI context and the
job handlers that write records all call it."""

from __future__ import annotations

from runtime.context import Context


def wire_engines(ctx: Context) -> None:
    from runtime.files.hooks import install_file_hooks
    from runtime.flows.hooks import install_flow_hooks
    from runtime.rules import install_rule_hooks

    install_file_hooks(ctx)
    install_rule_hooks(ctx)
    install_flow_hooks(ctx)
