"""Flow conditions compiled with engines.expr: checked once, located when wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engines.expr import Field, Scope, T
from engines.flow import FlowDefinitionError, FlowSpec, compile_flow
from engines.flow.conditions import expr_conditions

SCOPE = Scope({"amount": Field(T.MONEY), "status": Field(T.TEXT)})


def spec(when: str) -> FlowSpec:
    return FlowSpec.model_validate({
        "key": "f", "name": "f", "form": "doc",
        "nodes": [{"id": "start", "type": "start"}, {"id": "c", "type": "condition"},
                  {"id": "end", "type": "end"}, {"id": "no", "type": "end",
                                                 "result": "rejected"}],
        "edges": [{"from": "start", "to": "c"}, {"from": "c", "to": "end", "when": when},
                  {"from": "c", "to": "no", "default": True}]})


def test_conditions_compile_once_and_evaluate_on_records() -> None:
    flow = compile_flow(spec("amount > 1000000 and status != 'draft'"), expr_conditions(SCOPE))
    condition = flow.node("c").edges[0].condition
    assert condition is not None
    assert condition({"amount": Decimal("2000000"), "status": "open"}) is True
    assert condition({"amount": Decimal(5), "status": "open"}) is False


@pytest.mark.parametrize("bad", ["amount >", "missing_field > 1", "amount + 1"])
def test_bad_conditions_are_located_issues(bad: str) -> None:
    with pytest.raises(FlowDefinitionError) as err:
        compile_flow(spec(bad), expr_conditions(SCOPE))
    (problem,) = err.value.issues
    assert (problem.code, problem.node, problem.path) == ("bad_condition", "c", "edges[1].when")
