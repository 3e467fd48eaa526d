"""Approval and handle nodes: creating tasks, counting votes, deciding, returning.

Modes (node setting `mode`):
- `single` / `or_sign` (或签): every candidate gets a task; the first decision decides.
- `countersign` (会签): every candidate votes; the node passes with `pass.count`
  approvals or `pass.ratio` of the voters (default: all). With `pass.veto` one
  rejection rejects at once; otherwise the node is rejected only when the rule can no
  longer be met.
- `sequential` (依次审批): one task at a time in assignee order; any rejection rejects.

A vote belongs to a *slot*, not to a task: transferring, delegating or adding a signer
creates new tasks in the same slot, and the slot votes once, when the last task of
its chain decides. That is what makes duplicate and concurrent votes count once.
"""

from __future__ import annotations

import math

from engines.common import both
from engines.flow.assignees import assign
from engines.flow.compile import CompiledNode
from engines.flow.durations import add_duration, parse_duration
from engines.flow.run import Run
from engines.flow.state import OPEN, WAITING, Activation, Task

APPROVE = "approve"
REJECT = "reject"


def enter_task_node(run: Run, node: CompiledNode, resume_to: str | None) -> None:
    state = run.state
    act = run.activate(node, resume_to)
    state.approvals[node.id] = ()
    assignment = assign(run.flow, node, state=state, record=run.record,
                        directory=run.directory)
    if assignment.empty and node.empty_policy == "skip":
        run.trail("skip", node=node.id, detail={"reason": "no_assignee"})
        run.complete(act)
        return
    if not assignment.deciders and not assignment.auto:
        run.fail("no_assignee", node.id)
        return
    for user, reason in assignment.auto:
        slot = f"auto:{user}"
        act.slots.append(slot)
        act.votes[slot] = APPROVE
        state.approvals[node.id] += (user,)
        run.trail("auto_approve", node=node.id, detail={"user": user, "reason": reason})
    if node.sla is not None:
        _arm_sla(run, node, act)
    deciders = list(assignment.deciders)
    if node.mode == "sequential" and deciders:
        act.queue = deciders[1:]
        deciders = deciders[:1]
    for user in deciders:
        run.new_task(node, act, user)
    settle(run, act)


def _arm_sla(run: Run, node: CompiledNode, act: Activation) -> None:
    sla = node.sla
    if sla is None:
        return
    due = node.sla_due(run.record) if node.sla_due is not None else None
    if due is None and sla.due is not None:
        due = add_duration(run.now, parse_duration(sla.due), sla.days, run.calendar)
    if due is None:  # due_at is blank on this record and there is no fallback duration
        run.trail("no_due", node=node.id)
        return
    act.due_at = due
    if sla.remind_before is not None:
        remind_at = due - parse_duration(sla.remind_before)
        if remind_at > run.now:
            run.schedule(act, remind_at, "remind")
    run.schedule(act, due, "timeout")


def tally(node: CompiledNode, act: Activation) -> str | None:
    """The node's decision from its votes so far, or None while it is open."""
    approvals = rejections = 0
    for vote in act.votes.values():
        if vote == APPROVE:
            approvals += 1
        else:
            rejections += 1
    mode = node.mode
    if mode in ("single", "or_sign"):
        if rejections:
            return REJECT
        return APPROVE if approvals else None
    if mode == "sequential":
        if rejections:
            return REJECT
        done = approvals == len(act.slots) and not act.queue
        return APPROVE if done and approvals else None
    total = len(act.slots)
    rule = node.pass_rule
    if rule is None or (rule.count is None and rule.ratio is None):
        needed = total
    elif rule.count is not None:
        needed = min(rule.count, total)
    else:
        needed = max(1, math.ceil((rule.ratio or 1.0) * total - 1e-9))
    if approvals >= needed:
        return APPROVE
    veto = rule.veto if rule is not None else True
    if (veto and rejections) or total - rejections < needed:
        return REJECT
    return None


def settle(run: Run, act: Activation, *, actor: str | None = None) -> None:
    """Advance a sequential queue, then decide the node if its votes say so."""
    node = run.flow.nodes[act.node]
    if node.mode == "sequential" and act.queue and REJECT not in act.votes.values() and all(
            slot in act.votes for slot in act.slots):
        run.new_task(node, act, act.queue.pop(0))
        return
    decision = tally(node, act)
    if decision is not None:
        decide(run, act, decision, actor=actor)


def decide(run: Run, act: Activation, decision: str, *, actor: str | None = None) -> None:
    node = run.flow.nodes[act.node]
    if decision == APPROVE:
        if node.mode in ("countersign", "sequential") or actor is None:
            run.trail("node_approved", node=node.id)  # else the approval says it all
        run.complete(act)
        return
    run.trail("node_rejected", node=node.id)
    run.state.active.pop(node.id, None)
    run.cancel_node_tasks(node.id)
    policy = getattr(node.spec, "on_reject", "end")
    if policy == "end":
        run.finish("rejected", node=node.id, actor=actor)
    elif policy == "to_initiator":
        return_to(run, node.id, run.flow.start, actor=actor)
    elif policy == "to_previous":
        return_to(run, node.id, previous_node(run, node), actor=actor)
    else:
        return_to(run, node.id, getattr(node.spec, "reject_to", None) or run.flow.start,
                  actor=actor)


def record_vote(run: Run, task: Task, vote: str) -> None:
    """Count the decision of `task` in its slot, once."""
    state = run.state
    act = state.active[task.node]
    chain = [t for t in state.tasks.values()
             if t.slot == task.slot and t.id != task.id and t.status in (OPEN, WAITING)]
    if vote == APPROVE:
        if task.resume_task is not None:
            waiting = state.tasks[task.resume_task]
            if not any(t.resume_task == waiting.id and t.status == OPEN for t in chain):
                waiting.status = OPEN
                run.trail("signer_done", node=task.node, task=waiting.id)
            return
        if chain:
            return  # signers added after this one still have to decide
        act.votes[task.slot] = APPROVE
        state.approvals[task.node] = (*state.approvals.get(task.node, ()), task.assignee)
    else:
        for other in chain:
            run.close_task(other, "cancelled", status="cancelled")
        act.votes[task.slot] = REJECT
    settle(run, act, actor=task.assignee)


def previous_node(run: Run, node: CompiledNode) -> str:
    """The last completed task (or start) node upstream of `node`."""
    for earlier in reversed(run.state.path):
        if earlier in node.ancestors and (
                earlier == run.flow.start or run.flow.nodes[earlier].type in ("approval",
                                                                              "handle")):
            return earlier
    return run.flow.start


def return_to(run: Run, from_node: str, target: str, *, actor: str | None = None,
              comment: str | None = None) -> None:
    """退回: re-enter `target`, cancelling what the return makes moot.

    Inside one parallel branch only the returning node is cancelled; a return that
    leaves the branch cancels every active node (the branches will run again).
    Approvals given at or after the target are forgotten, so a repeated-approver
    policy never skips someone whose approval the return undid. With the returning
    node's `on_return: resume`, the target jumps straight back here when it passes.
    """
    state = run.state
    source = run.flow.nodes[from_node]
    same_region = source.region == run.flow.nodes[target].region
    if same_region:
        state.active.pop(from_node, None)
        run.cancel_node_tasks(from_node, "returned")
    else:
        for node_id in list(state.active):
            run.cancel_node_tasks(node_id, "returned")
        state.active.clear()
        state.joins.clear()
    if target in state.path:
        cut = len(state.path) - 1 - state.path[::-1].index(target)
        for forgotten in state.path[cut:]:
            state.approvals.pop(forgotten, None)
        del state.path[cut:]
    run.trail("return", actor=actor, node=from_node, comment=comment, detail={"to": target})
    resume = getattr(source.spec, "on_return", "replay") == "resume" and same_region
    run.go(target, resume_to=from_node if resume else None, returned=True)


def escalate(run: Run, node: CompiledNode, act: Activation) -> None:
    """Give the escalation targets a task that decides the node on its own."""
    sla = node.sla
    if sla is None:
        return
    assignment = assign(run.flow, node, state=run.state, record=run.record,
                        directory=run.directory, specs=sla.escalate_to)
    users = list(assignment.deciders) + [u for u, _ in assignment.auto]
    for user in users:
        run.new_task(node, act, user, slot=f"escalation:{user}", kind="escalation")
    run.notify_users(users, both(f"「{node.title['zh']}」已超时，请处理",
                                 f"'{node.title['en']}' is overdue and escalated to you"))
    run.trail("escalate", node=node.id, detail={"users": users})
