"""What a person can do with an open task: one small function per action.

Each function works on the `Run`'s copy of the state; the caller (`FlowEngine.act`)
has already checked that the task is open, that the actor holds it and that the node
allows the action, so a call that raises here changed nothing the caller keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engines.common import both
from engines.effects import SetFields
from engines.flow.approval import APPROVE, REJECT, decide, previous_node, record_vote, return_to
from engines.flow.errors import FlowError
from engines.flow.run import Run
from engines.flow.state import OPEN, WAITING, CarbonCopy, Task

DECISIONS = frozenset({"approve", "reject", "return", "transfer", "delegate", "add_signer"})


@dataclass(frozen=True)
class TaskAction:
    """A person's action on a task, as the task centre posts it."""

    task_id: str
    actor: str
    action: str
    comment: str | None = None
    to: str | None = None  # return: "previous", "initiator" or an earlier node id
    users: tuple[str, ...] = ()  # transfer, delegate, add_signer, cc
    position: str = "before"  # add_signer: before or after the actor
    values: Mapping[str, Any] | None = field(default=None)  # field edits with approve


def _apply_edits(run: Run, task: Task, values: Mapping[str, Any] | None) -> None:
    access = run.flow.nodes[task.node].fields
    if not values and not access.required:
        return
    values = dict(values or {})
    refused = sorted(set(values) - access.editable)
    if refused:
        raise FlowError("field_not_editable", f"此节点不能修改字段：{', '.join(refused)}",
                        f"fields not editable at this node: {', '.join(refused)}")
    merged = {**run.record, **values}
    missing = sorted(f for f in access.required if merged.get(f) in (None, "", [], {}))
    if missing:
        raise FlowError("field_required", f"此节点必须填写：{', '.join(missing)}",
                        f"required at this node: {', '.join(missing)}")
    if values:
        run.effects.append(SetFields(values=values, form=run.flow.form,
                                     record_id=run.state.record_id))
        run.record = merged


def approve(run: Run, task: Task, action: TaskAction) -> None:
    _apply_edits(run, task, action.values)
    run.close_task(task, "approved")
    run.trail("approve" if task.kind != "resubmit" else "resubmit", actor=action.actor,
              node=task.node, task=task.id, comment=action.comment)
    if task.owner is not None:
        _back_to_owner(run, task, action)
        return
    act = run.state.active[task.node]
    if task.kind == "resubmit":
        run.complete(act)
    elif task.kind == "escalation":
        decide(run, act, APPROVE, actor=action.actor)
    else:
        record_vote(run, task, APPROVE)


def reject(run: Run, task: Task, action: TaskAction) -> None:
    run.close_task(task, "rejected")
    run.trail("reject", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment)
    if task.owner is not None:
        _back_to_owner(run, task, action)
        return
    act = run.state.active[task.node]
    if task.kind == "resubmit":
        run.finish("withdrawn", node=task.node, actor=action.actor, comment=action.comment)
    elif task.kind == "escalation":
        decide(run, act, REJECT, actor=action.actor)
    else:
        record_vote(run, task, REJECT)


def _back_to_owner(run: Run, task: Task, action: TaskAction) -> None:
    """委派: the delegate's opinion is recorded and the task returns to its owner."""
    owner = task.owner or task.assignee
    act = run.state.active[task.node]
    node = run.flow.nodes[task.node]
    run.new_task(node, act, owner, slot=task.slot, kind=task.kind,
                 resume_task=task.resume_task)
    run.trail("delegate_back", actor=action.actor, node=task.node, task=task.id,
              detail={"to": owner, "opinion": task.outcome})


def return_task(run: Run, task: Task, action: TaskAction) -> None:
    node = run.flow.nodes[task.node]
    wanted = action.to or "previous"
    if wanted == "previous":
        target = previous_node(run, node)
    elif wanted == "initiator":
        target = run.flow.start
    else:
        target = wanted
    if target == node.id or target not in run.flow.nodes or (
            target not in node.ancestors) or (
            target != run.flow.start and target not in run.state.path):
        raise FlowError("return_target", f"不能退回到 {target}：只能退回到已经过的上游节点",
                        f"cannot return to {target}: only to an upstream node already passed")
    run.close_task(task, "returned")
    return_to(run, node.id, target, actor=action.actor, comment=action.comment)


def _one_user(action: TaskAction) -> str:
    if len(action.users) != 1 or not action.users[0]:
        raise FlowError("bad_action", "请指定一位用户", f"{action.action} needs exactly one user")
    return action.users[0]


def transfer(run: Run, task: Task, action: TaskAction) -> None:
    """转交: the new holder decides in the actor's place."""
    user = _one_user(action)
    run.close_task(task, "transferred")
    act = run.state.active[task.node]
    new = run.new_task(run.flow.nodes[task.node], act, user, slot=task.slot, kind=task.kind,
                       owner=task.owner, resume_task=task.resume_task)
    run.trail("transfer", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment, detail={"to": user, "new_task": new.id})


def delegate(run: Run, task: Task, action: TaskAction) -> None:
    """委派: the delegate gives an opinion; then the task comes back to the actor."""
    user = _one_user(action)
    run.close_task(task, "delegated")
    act = run.state.active[task.node]
    new = run.new_task(run.flow.nodes[task.node], act, user, slot=task.slot, kind=task.kind,
                       owner=task.owner or task.assignee, resume_task=task.resume_task)
    run.trail("delegate", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment, detail={"to": user, "new_task": new.id})


def add_signer(run: Run, task: Task, action: TaskAction) -> None:
    """加签. Before: the signers decide first, then the task reopens for the actor.
    After: the actor approves now, and the slot passes only when the signers approve.
    Either way a signer's rejection is the slot's rejection."""
    users = [u for u in dict.fromkeys(action.users) if u and u != task.assignee]
    if not users or action.position not in ("before", "after") or task.kind != "approve":
        raise FlowError("bad_action", "加签需要指定其他用户和位置（before/after）",
                        "add_signer needs other users and a position (before/after)")
    act = run.state.active[task.node]
    node = run.flow.nodes[task.node]
    if action.position == "before":
        task.status = WAITING
        for user in users:
            run.new_task(node, act, user, slot=task.slot, resume_task=task.id)
    else:
        run.close_task(task, "approved")
        run.state.approvals[task.node] = (*run.state.approvals.get(task.node, ()), task.assignee)
        for user in users:
            run.new_task(node, act, user, slot=task.slot)
    run.trail("add_signer", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment, detail={"users": users, "position": action.position})


def comment(run: Run, task: Task, action: TaskAction) -> None:
    if not action.comment:
        raise FlowError("bad_action", "评论不能为空", "a comment needs text")
    run.trail("comment", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment)


def carbon_copy(run: Run, task: Task, action: TaskAction) -> None:
    """抄送 from a task: the users can read the record; their read status is kept."""
    users = [u for u in dict.fromkeys(action.users) if u]
    if not users:
        raise FlowError("bad_action", "请指定抄送人", "cc needs users")
    known = {(c.user, c.node) for c in run.state.cc}
    for user in users:
        if (user, task.node) not in known:
            run.state.cc.append(CarbonCopy(user, task.node, run.now))
    node = run.flow.nodes[task.node]
    run.notify_users(users, both(f"{action.actor} 抄送给你：{node.title['zh']}",
                                 f"{action.actor} copied you on: {node.title['en']}"))
    run.trail("cc", actor=action.actor, node=task.node, task=task.id,
              comment=action.comment, detail={"users": users})


def urge_open_tasks(run: Run, actor: str, comment_text: str | None) -> None:
    users = sorted({t.assignee for t in run.state.tasks.values() if t.status == OPEN})
    run.notify_users(users, both(f"{actor} 催办：请尽快处理待办", f"{actor} asks you to act soon"))
    run.trail("urge", actor=actor, comment=comment_text, detail={"users": users})


HANDLERS = {
    "approve": approve, "reject": reject, "return": return_task, "transfer": transfer,
    "delegate": delegate, "add_signer": add_signer, "comment": comment, "cc": carbon_copy,
}
