"""Who is acting: the user behind a request, a CLI command or a job."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    display_name: str = ""
    department: str | None = None
    roles: tuple[str, ...] = field(default_factory=tuple)
    is_admin: bool = False


SYSTEM = Actor(username="system", display_name="System", is_admin=True)
