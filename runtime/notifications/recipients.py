"""Who a `Recipient` is, asked of the database: roles and departments live there.

Rules hand over recipients partly resolved (a field's users are already usernames);
flows may hand over `field`, `initiator` or `owner` recipients that need the record.
A `department_head` recipient (the head of a user's department, `levels` up; of the
initiator when it names nobody) is answered by the flows' `StoreDirectory`, so a
rule and a flow node mean the same person by it.
Both the effect applier (tasks, inbox rows, in the write's transaction) and the
`notify.send` job (outside channels, after commit) resolve through here, so a role
means the same people everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from engines.effects import Recipient
from plugins.channels.base import Contact
from runtime.flows.directory import StoreDirectory
from runtime.ids import as_id
from runtime.store.tables import records, users


@dataclass(frozen=True, slots=True)
class RecordRef:
    """The record a message or task is about (for field/owner/initiator recipients)."""

    app: str | None = None
    form: str | None = None
    record_id: str | None = None
    initiator: str | None = None


def recipient_json(r: Recipient) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": r.kind, "value": r.value}
    if r.levels != 1:
        doc["levels"] = r.levels
    return doc


def recipient_of(doc: Mapping[str, Any]) -> Recipient:
    value = doc.get("value")
    return Recipient(str(doc["kind"]), None if value is None else str(value),
                     int(doc.get("levels") or 1))


def _record_row(conn: Connection, ref: RecordRef) -> Any:
    rid = as_id(ref.record_id)
    if rid is None:
        return None
    return conn.execute(select(records.c.data, records.c.owner).where(
        records.c.id == rid)).first()


def _as_names(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def resolve_usernames(conn: Connection, recipients: Iterable[Recipient],
                      ref: RecordRef) -> list[str]:
    """Active usernames, each once, in the order the recipients name them.

    Outside email addresses are not users and are left out (see `resolve_contacts`).
    """
    found: list[str] = []
    row: Any = None
    loaded = False
    wanted = list(recipients)
    people: list[Any] | None = None
    directory: StoreDirectory | None = None
    for r in wanted:
        if r.kind in ("role", "department") and people is None:
            people = list(conn.execute(select(users.c.username, users.c.roles,
                                              users.c.department)
                                       .where(users.c.active.is_(True))).all())
        if r.kind in ("field", "owner", "initiator") and not loaded:
            row, loaded = _record_row(conn, ref), True
        if r.kind in ("user", "expr"):
            found += _as_names(r.value)
        elif r.kind == "role":
            found += [p.username for p in people or () if r.value in (p.roles or [])]
        elif r.kind == "department":
            found += [p.username for p in people or () if p.department == r.value]
        elif r.kind == "field" and row is not None and r.value:
            found += _as_names(row.owner if r.value == "owner" else (row.data or {}).get(r.value))
        elif r.kind == "owner" and row is not None:
            found += _as_names(row.owner)
        elif r.kind == "department_head":
            directory = directory or StoreDirectory(conn)
            person = r.value or ref.initiator
            head = directory.department_head(person, r.levels) if person else None
            found += _as_names(head)
        elif r.kind == "initiator":
            found += _as_names(ref.initiator) if ref.initiator else \
                _as_names(row.owner if row is not None else None)
    return _active(conn, list(dict.fromkeys(found)))


def _active(conn: Connection, names: list[str]) -> list[str]:
    if not names:
        return []
    known = set(conn.execute(select(users.c.username).where(
        users.c.username.in_(names), users.c.active.is_(True))).scalars())
    return [n for n in names if n in known]


def _user_email(username: str, email: str | None) -> str | None:
    """The user's address; without one, a username that is an address is used."""
    if email:
        return email
    domain = username.rpartition("@")[2]
    return username if "@" in username and "." in domain else None


def resolve_contacts(conn: Connection, recipients: Iterable[Recipient],
                     ref: RecordRef) -> list[Contact]:
    """Users (with display name and address when known) plus literal email addresses."""
    wanted = list(recipients)
    names = resolve_usernames(conn, [r for r in wanted if r.kind != "email"], ref)
    known = {r.username: r for r in conn.execute(
        select(users.c.username, users.c.display_name, users.c.email)
        .where(users.c.username.in_(names)))}
    out = [Contact(username=n, name=(known[n].display_name if n in known else None) or n,
                   email=_user_email(n, known[n].email if n in known else None))
           for n in names]
    seen = {c.email for c in out if c.email}
    for r in wanted:
        if r.kind == "email" and r.value and r.value not in seen:
            seen.add(r.value)
            out.append(Contact(email=r.value, name=r.value))
    return out
