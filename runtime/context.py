"""What services need besides a connection: settings, clock, compiled apps, the hooks
that react to writes, and the job queue. Built once by the app factory or the CLI and
passed explicitly; there is no global state."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from runtime.apps.registry import AppRegistry
from runtime.clock import Clock, SystemClock
from runtime.config import Settings
from runtime.hooks import Hooks


@dataclass
class Context:
    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    apps: AppRegistry = field(default_factory=AppRegistry)
    hooks: Hooks = field(default_factory=Hooks)

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
