"""A batch of scheduled firings that only set fields on their own records, applied
with a few statements for the whole batch: the claims in one INSERT, the records
through `runtime.records.bulk.update_many`, the run log behind them.

The nightly recompute of a score is exactly this (one `set_fields` per customer),
and one firing at a time it costs seven round trips to the database (claim,
savepoint, read and lock, update, last history hash, history, release). Semantics are
those of `apply_firing` one by one: a claim taken already (another tick, another
scheduler) skips its firing; everything happens in a savepoint, and when anything
fails (one record's validation, say) the savepoint is rolled back and None tells the
caller to apply the batch firing by firing, where the failure is logged alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engines.effects import SetFields
from engines.rule.cascade import CascadeLimitError
from engines.rule.compiled import Claim
from engines.rule.ruleset import Firing
from runtime.auth.models import SYSTEM
from runtime.effects.serialize import effect_json
from runtime.records.bulk import update_many
from runtime.rules.runs import log_run
from runtime.store.tables import rule_claims

if TYPE_CHECKING:
    from datetime import datetime

    from runtime.context import Context

log = logging.getLogger("loom.rules")


def _fits(firing: Firing) -> bool:
    """One set_fields on the firing's own record, nothing else."""
    if firing.error is not None or not firing.record_id or len(firing.effects) != 1:
        return False
    effect = firing.effects[0]
    return (type(effect) is SetFields and effect.record_id in (None, firing.record_id)
            and effect.form in (None, firing.form))


def _values(firing: Firing) -> dict[str, Any]:
    effect = firing.effects[0]
    assert isinstance(effect, SetFields)  # noqa: S101 - checked by _fits
    return dict(effect.values)


def claim_many(conn: Connection, *, app: str, claims: Sequence[Claim],
               now: datetime) -> set[str]:
    """Take these claims at once (as `runs.claim` does one); the keys this call got."""
    if not claims:
        return set()
    build = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = build(rule_claims).on_conflict_do_nothing(
        index_elements=["app", "rule", "subject", "episode"]).returning(
        rule_claims.c.rule, rule_claims.c.subject, rule_claims.c.episode)
    rows = conn.execute(stmt, [{"app": app, "rule": c.rule, "subject": c.subject[:64],
                                "episode": c.episode[:128], "claimed_at": now}
                               for c in claims])
    got = {(r.rule, r.subject, r.episode) for r in rows}
    return {c.key for c in claims if (c.rule, c.subject[:64], c.episode[:128]) in got}


def apply_many(conn: Connection, ctx: Context, app: str,
               batch: Sequence[Firing]) -> list[str] | None:
    """Outcomes of the batch applied at once, or None when it must go one by one."""
    if not batch or not all(_fits(f) for f in batch) or \
            len({f.record_id for f in batch}) != len(batch) or \
            len({f.form for f in batch}) != 1:
        return None
    started = time.perf_counter()
    now = ctx.clock.now()
    try:
        with conn.begin_nested():
            claims = list({f.claim.key: f.claim for f in batch if f.claim is not None}
                          .values())
            taken = claim_many(conn, app=app, claims=claims, now=now)
            todo: list[Firing] = []
            outcomes: list[str] = []
            for firing in batch:
                key = firing.claim.key if firing.claim is not None else None
                if key is not None and key not in taken:
                    outcomes.append("skipped")  # handled already, or by an earlier firing
                    continue
                if key is not None:
                    taken.discard(key)
                todo.append(firing)
                outcomes.append("ok")
            update_many(conn, ctx, app=app, form=batch[0].form,
                        patches=[(int(f.record_id), _values(f)) for f in todo],
                        actor=SYSTEM, depth=1)
            each = int((time.perf_counter() - started) * 1000 / max(1, len(todo)))
            for firing in todo:
                log_run(conn, app=app, rule=firing.rule, form=firing.form,
                        record_id=firing.record_id, trigger=firing.trigger,
                        effects=[effect_json(e) for e in firing.effects], outcome="ok",
                        error=None, duration_ms=each, at=now)
    except CascadeLimitError:
        raise
    except Exception as exc:  # retried firing by firing, where it is logged alone
        log.info("rule %s: batch of %d applied one by one (%s)", batch[0].rule, len(batch),
                 type(exc).__name__)
        return None
    return outcomes
