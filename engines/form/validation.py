"""Step 8 of processing: required, row counts and custom validations.

Kept apart from `process` (the steps that build the data) so each module stays small;
these functions only read the run's state and add issues to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engines.form.plan import CheckPlan, FieldPlan

if TYPE_CHECKING:
    from engines.form.process import Run

_NO_REQUIRED = frozenset({"autonumber", "created_by", "created_at", "updated_by",
                          "updated_at"})
_REQUIRED = {"zh": "必填", "en": "Required"}
EMPTYABLE = frozenset({str, list, dict})


def is_blank(value: Any) -> bool:
    """None, whitespace-only text, [] and {} are "no value" (never stored)."""
    if value is None:
        return True
    kind = value.__class__
    if kind is str:
        return not value.strip()
    if kind is list or kind is dict:
        return not value
    return isinstance(value, str | list | dict) and is_blank(kind(value))


def required(run: Run, plan: FieldPlan, value: Any, values: Mapping[str, Any],
             path: str, top: str) -> bool:
    """Report a blank value of a visible field that `required` or `required_when`
    asks for (once per path: a value refused by its normaliser is not also blank)."""
    if (not plan.required and plan.required_when is None) or plan.type in _NO_REQUIRED \
            or not is_blank(value) or path in run.hidden:
        return False
    needed = plan.required or (plan.required_when is not None and run.evaluate(
        plan.required_when, values, path, top) is True)
    if needed and not any(p == path for _, p, _i in run.issues):
        run.issue(top, path, "required", _REQUIRED)
    return needed


def run_checks(run: Run, checks: tuple[CheckPlan, ...], values: Mapping[str, Any],
               path: str | None, top: str, *, skip_blank: bool) -> None:
    """Custom validations: a check fails unless its expression is exactly true; with
    `skip_blank`, a check whose every input is blank is left to `required`."""
    for check in checks:
        if skip_blank and all(is_blank(values.get(n)) for n in check.expr.names):
            continue
        if check.when is not None and run.evaluate(check.when, values, path, top) is not True:
            continue
        if run.evaluate(check.expr, values, path, top) is not True:
            run.issue(top, path, "validation", check.message)


def validate(run: Run) -> None:
    """Step 8: required, row counts and custom validations of visible fields."""
    native = run.native
    for plan in run.form.plans:
        key = plan.key
        if key in run.hidden:
            continue
        value = run.data.get(key)
        required(run, plan, value, native, key, key)
        if plan.rows is not None:
            validate_rows(run, plan, value or [])
        if plan.checks and not is_blank(value):
            run_checks(run, plan.checks, native, key, key, skip_blank=False)
    run_checks(run, run.form.checks, native, None, "", skip_blank=True)


def _native(plan: FieldPlan, value: Any) -> Any:
    convert = plan.to_native
    return convert(value) if convert is not None and value is not None else value


def validate_rows(run: Run, plan: FieldPlan, rows: list[dict[str, Any]]) -> None:
    """Row counts, then each row's required columns and checks; blank cells dropped."""
    spec = plan.rows
    if spec is None:
        return
    if spec.min_rows is not None and len(rows) < spec.min_rows:
        run.issue(plan.key, plan.key, "min_rows", {
            "zh": f"至少 {spec.min_rows} 行", "en": f"At least {spec.min_rows} rows"})
    if spec.max_rows is not None and len(rows) > spec.max_rows:
        run.issue(plan.key, plan.key, "max_rows", {
            "zh": f"最多 {spec.max_rows} 行", "en": f"At most {spec.max_rows} rows"})
    natives = run.native.get(plan.key)
    if not isinstance(natives, list) or len(natives) != len(rows):
        # no expression reads this subform, so its native rows were never built
        natives = [{rp.key: _native(rp, row.get(rp.key)) for rp in spec.fields}
                   for row in rows]
    for i, (row, row_native) in enumerate(zip(rows, natives, strict=True)):
        values = {**run.native, **row_native}
        for row_plan in spec.fields:
            path = f"{plan.key}[{i}].{row_plan.key}"
            value = row.get(row_plan.key)
            required(run, row_plan, value, values, path, plan.key)
            if row_plan.checks and not is_blank(value) and path not in run.hidden:
                run_checks(run, row_plan.checks, values, path, plan.key, skip_blank=False)
        run_checks(run, spec.checks, values, f"{plan.key}[{i}]", plan.key, skip_blank=True)
        for name in [k for k, v in row.items() if v is None or (
                v.__class__ in EMPTYABLE and is_blank(v))]:
            del row[name]
