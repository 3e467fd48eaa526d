"""Flows in the runtime: the pure flow engine (`engines.flow`) over the store.

`service` starts instances and acts on them in the caller's transaction; `store` keeps
the instance row (its `version` is the optimistic lock) and mirrors the engine's tasks
into the task centre; `effects` applies what a step returns; `hooks` starts flows from
record events and runs SLA timers as jobs; `api` is the HTTP edge.
"""
