"""The state of one flow instance: plain, serialisable data.

An instance is only data plus a reference to its compiled flow (by key and version),
in SpiffWorkflow's "spec vs instance" style: the engine takes a state and an event and
returns a *new* state and effects; it never mutates the state it was given and never
saves anything. `to_json`/`from_json` round-trip everything, and stored JSON carries
`schema_version` with one upgrade function per older version (`UPGRADES`).

Terms:
- activation: a node currently entered (a token). `epoch` is unique per entry, so a
  timer armed for an earlier entry (before a return) is recognised as stale.
- slot: one vote of an approval node. Transfers, delegations and added signers create
  new tasks in the same slot; the slot's vote counts once, when its chain decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1

UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""`UPGRADES[n]` turns stored state of schema_version n into n + 1 (none yet)."""

OPEN = "open"
WAITING = "waiting"  # a task whose holder added a signer before themselves
DONE = "done"
CANCELLED = "cancelled"

RUNNING = "running"
_LIVE = frozenset({OPEN, WAITING})


@dataclass(slots=True)
class Task:
    id: str
    node: str
    epoch: int
    assignee: str
    slot: str
    created_at: datetime
    kind: str = "approve"  # approve | handle | resubmit | escalation
    status: str = OPEN
    closed_at: datetime | None = None
    outcome: str | None = None
    owner: str | None = None  # delegation: who gets the task back
    resume_task: str | None = None  # add signer before: task reopened after this one
    due: datetime | None = None

    def copy(self) -> Task:
        return Task(self.id, self.node, self.epoch, self.assignee, self.slot, self.created_at,
                    self.kind, self.status, self.closed_at, self.outcome, self.owner,
                    self.resume_task, self.due)


@dataclass(slots=True)
class Activation:
    node: str
    epoch: int
    entered_at: datetime
    slots: list[str] = field(default_factory=list)
    votes: dict[str, str] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    resume_to: str | None = None
    due_at: datetime | None = None

    def copy(self) -> Activation:
        return Activation(self.node, self.epoch, self.entered_at, list(self.slots),
                          dict(self.votes), list(self.queue), self.resume_to, self.due_at)


@dataclass(slots=True)
class TrailEntry:
    """One step of the readable trail: who did what, when, with which comment.

    Never changed once appended (states share entries); not frozen only because
    frozen dataclasses are several times slower to create, and every step adds some.
    """

    at: datetime
    actor: str | None  # None: the system (timers, automatic nodes, policies)
    action: str
    node: str | None = None
    task: str | None = None
    comment: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CarbonCopy:
    user: str
    node: str
    at: datetime
    read_at: datetime | None = None


@dataclass(slots=True)
class InstanceState:
    instance_id: str
    flow: str
    initiator: str
    started_at: datetime
    flow_version: str | None = None
    record_id: str | None = None
    status: str = RUNNING  # running | approved | rejected | withdrawn | error
    ended_at: datetime | None = None
    error: str | None = None
    counter: int = 0
    acts: int = 0  # human decisions so far (withdraw checks)
    active: dict[str, Activation] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    joins: dict[str, int] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)  # completed task nodes, in order
    # node → who approved it; tuples, replaced on change, so clones share them
    approvals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped_once: list[str] = field(default_factory=list)
    chosen: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cc: list[CarbonCopy] = field(default_factory=list)
    trail: list[TrailEntry] = field(default_factory=list)
    # the state before the last approval (撤回), kept as loaded JSON until needed
    undo: InstanceState | dict[str, Any] | None = None
    undo_actor: str | None = None
    undo_acts: int = -1
    schema_version: int = SCHEMA_VERSION
    _loaded: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    def next_id(self) -> str:
        self.counter += 1
        return f"{self.instance_id}.{self.counter}"

    def open_tasks(self, user: str | None = None) -> list[Task]:
        return [t for t in self.tasks.values()
                if t.status == OPEN and (user is None or t.assignee == user)]

    def clone(self) -> InstanceState:
        """A copy the engine may change; the original stays as it was.

        Closed tasks are shared, not copied: the engine never changes a task once it
        is done or cancelled, and copying every past task made each step O(history).
        """
        return InstanceState(
            self.instance_id, self.flow, self.initiator, self.started_at, self.flow_version,
            self.record_id, self.status, self.ended_at, self.error, self.counter, self.acts,
            {k: a.copy() for k, a in self.active.items()},
            {k: t.copy() if t.status in _LIVE else t for k, t in self.tasks.items()},
            dict(self.joins), list(self.path), dict(self.approvals),
            list(self.skipped_once), self.chosen,
            list(self.cc), list(self.trail), self.undo, self.undo_actor, self.undo_acts,
            self.schema_version)

    # -- serialisation -------------------------------------------------------------

    def undo_state(self) -> InstanceState | None:
        """The state before the last approval (parsed from stored JSON when needed;
        not cached, so reading it never changes this state)."""
        if isinstance(self.undo, dict):
            return InstanceState.from_dict(self.undo)
        return self.undo

    def to_dict(self, *, with_undo: bool = True) -> dict[str, Any]:
        """Plain JSON data; the undo snapshot is stored one level deep only, and
        without trail and carbon copies (a withdraw keeps the current ones).

        A state loaded from JSON and never changed (the engine never changes the state
        it is given) reuses what it was loaded from, so storing the next state does
        not serialise its predecessor again.
        """
        if not with_undo and self._loaded is not None:
            return {**self._loaded, "undo": None, "trail": [], "cc": []}
        undo: dict[str, Any] | None = None
        previous = self.undo if with_undo else None
        if isinstance(previous, dict):
            undo = previous
        elif previous is not None:
            undo = previous.to_dict(with_undo=False)
        return {
            "schema_version": self.schema_version, "instance_id": self.instance_id,
            "flow": self.flow, "flow_version": self.flow_version, "record_id": self.record_id,
            "initiator": self.initiator, "status": self.status,
            "started_at": _dt(self.started_at), "ended_at": _dt(self.ended_at),
            "error": self.error, "counter": self.counter, "acts": self.acts,
            "active": {k: _activation_out(a) for k, a in self.active.items()},
            "tasks": {k: _task_out(t) for k, t in self.tasks.items()},
            "joins": dict(self.joins), "path": list(self.path),
            "approvals": {k: list(v) for k, v in self.approvals.items()},
            "skipped_once": list(self.skipped_once),
            "chosen": {k: list(v) for k, v in self.chosen.items()},
            "cc": [{"user": c.user, "node": c.node, "at": _dt(c.at), "read_at": _dt(c.read_at)}
                   for c in self.cc] if with_undo else [],
            "trail": [_trail_out(e) for e in self.trail] if with_undo else [],
            "undo": undo,
            "undo_actor": self.undo_actor, "undo_acts": self.undo_acts,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> InstanceState:
        doc = upgrade(doc)
        state = cls(
            instance_id=doc["instance_id"], flow=doc["flow"], initiator=doc["initiator"],
            started_at=_parse(doc["started_at"]), flow_version=doc.get("flow_version"),
            record_id=doc.get("record_id"), status=doc["status"],
            ended_at=_opt(doc.get("ended_at")), error=doc.get("error"),
            counter=doc["counter"], acts=doc.get("acts", 0),
            active={k: _activation_in(a) for k, a in doc["active"].items()},
            tasks={k: _task_in(t) for k, t in doc["tasks"].items()},
            joins=dict(doc["joins"]), path=list(doc["path"]),
            approvals={k: tuple(v) for k, v in doc["approvals"].items()},
            skipped_once=list(doc["skipped_once"]),
            chosen={k: tuple(v) for k, v in doc["chosen"].items()},
            cc=[CarbonCopy(c["user"], c["node"], _parse(c["at"]), _opt(c["read_at"]))
                for c in doc["cc"]],
            trail=[_trail_in(e) for e in doc["trail"]],
            undo=doc.get("undo"), undo_actor=doc.get("undo_actor"),
            undo_acts=doc.get("undo_acts", -1),
        )
        state._loaded = doc
        return state

    @classmethod
    def from_json(cls, text: str) -> InstanceState:
        return cls.from_dict(json.loads(text))


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring stored state up to SCHEMA_VERSION, one version at a time."""
    version = int(doc.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(f"instance state schema_version {version} is newer than this engine")
    while version < SCHEMA_VERSION:
        doc = UPGRADES[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _task_out(t: Task) -> dict[str, Any]:
    return {"id": t.id, "node": t.node, "epoch": t.epoch, "assignee": t.assignee,
            "slot": t.slot, "created_at": _dt(t.created_at), "kind": t.kind,
            "status": t.status, "closed_at": _dt(t.closed_at), "outcome": t.outcome,
            "owner": t.owner, "resume_task": t.resume_task, "due": _dt(t.due)}


def _task_in(d: dict[str, Any]) -> Task:
    return Task(d["id"], d["node"], d["epoch"], d["assignee"], d["slot"],
                _parse(d["created_at"]), d["kind"], d["status"], _opt(d["closed_at"]),
                d["outcome"], d["owner"], d["resume_task"], _opt(d["due"]))


def _activation_out(a: Activation) -> dict[str, Any]:
    return {"node": a.node, "epoch": a.epoch, "entered_at": _dt(a.entered_at),
            "slots": list(a.slots), "votes": dict(a.votes), "queue": list(a.queue),
            "resume_to": a.resume_to, "due_at": _dt(a.due_at)}


def _activation_in(d: dict[str, Any]) -> Activation:
    return Activation(d["node"], d["epoch"], _parse(d["entered_at"]), list(d["slots"]),
                      dict(d["votes"]), list(d["queue"]), d["resume_to"], _opt(d["due_at"]))


def _trail_out(e: TrailEntry) -> dict[str, Any]:
    return {"at": _dt(e.at), "actor": e.actor, "action": e.action, "node": e.node,
            "task": e.task, "comment": e.comment, "detail": e.detail}


def _trail_in(d: dict[str, Any]) -> TrailEntry:
    return TrailEntry(_parse(d["at"]), d["actor"], d["action"], d["node"], d["task"],
                      d["comment"], d["detail"])
