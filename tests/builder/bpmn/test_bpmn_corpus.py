"""The 21 reference models of the BPMN Model Interchange Working Group (CC BY 3.0,
github.com/bpmn-miwg/bpmn-miwg-test-suite @ bc9f858c), read from ../shared/corpora:
each is imported or refused with reasons, never a crash; A.1.0 and A.2.0 import,
run, export and re-import with the same graph."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from corpora import corpus_path
from flow_testkit_bpmn import AdminsOnly, compile_condition

from builder.bpmn import export_bpmn, import_bpmn
from engines.flow import FlowEngine, FlowSpec, InstanceState, TaskAction, compile_flow

CORPUS = corpus_path("bpmn-miwg")
MODELS = sorted(CORPUS.glob("*.bpmn")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not MODELS, reason=f"BPMN MIWG corpus absent at {CORPUS}")


def graph_of(spec: FlowSpec) -> tuple[set[tuple[str, str]], set[tuple[str, str, str | None,
                                                                       bool]]]:
    return ({(n.id, n.type) for n in spec.nodes},
            {(e.from_, e.to, e.when, e.default) for e in spec.edges})


@needs_corpus
def test_corpus_every_model_is_imported_or_refused_with_reasons() -> None:
    assert len(MODELS) == 21
    imported, refused, why = [], [], Counter[str]()
    for model in MODELS:
        result = import_bpmn(model.read_bytes(), compile_condition=compile_condition)
        if result.ok:
            imported.append(model.stem)
            assert result.reasons == ()
        else:
            refused.append(model.stem)
            assert result.reasons, f"{model.stem} refused without a reason"
            for reason in result.reasons:
                assert reason.code and reason.message
                why[f"{reason.code}:{reason.element}"] += 1
    print(f"\nBPMN MIWG: {len(imported)} imported {imported}, {len(refused)} refused")
    for reason, count in why.most_common():
        print(f"  {count:3d} × {reason}")
    assert {"A.1.0", "A.2.0"} <= set(imported)
    assert "C.6.0" in refused  # compensation is outside the subset
    assert len(imported) + len(refused) == 21


@needs_corpus
@pytest.mark.parametrize("name", ["A.1.0", "A.2.0"])
def test_corpus_model_imports_runs_exports_and_reimports(name: str) -> None:
    first = import_bpmn((CORPUS / f"{name}.bpmn").read_bytes(),
                        compile_condition=compile_condition)
    assert first.spec is not None, first.reasons
    flow = compile_flow(first.spec, compile_condition)
    tasks = [n.id for n in first.spec.nodes if n.type == "approval"]
    # no lanes in these models: tasks go to the admin (no_assignee policy "admin")
    record = {"bpmn_route": tasks[-1]} if name == "A.2.0" else {}
    engine = FlowEngine(AdminsOnly())
    now = datetime(2026, 1, 5, tzinfo=UTC)
    state, _ = engine.start(flow, instance_id="m1", initiator="ivan", now=now, record=record)
    steps = 0
    while state.status == "running":
        (task,) = state.open_tasks("admin")
        state, _ = engine.act(flow, state, TaskAction(task.id, "admin", "approve"), now=now,
                              record=record)
        state = InstanceState.from_json(state.to_json())
        steps += 1
    assert state.status == "approved" and steps == (3 if name == "A.1.0" else 2)
    if name == "A.2.0":
        assert state.path[-1] == tasks[-1]  # the route field picked that branch
    again = import_bpmn(export_bpmn(first.spec), compile_condition=compile_condition)
    assert again.spec is not None, again.reasons
    assert graph_of(again.spec) == graph_of(first.spec)
    assert again.spec == first.spec
