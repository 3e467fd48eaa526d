"""Deployment settings, read from the environment once, when the app or CLI starts.

Nothing is read at import time: `Settings.from_env()` is called by the app factory and
by the CLI, and tests build `Settings` directly. The CLI options of `loom serve` and
friends override the same names (DESIGN §9).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_DATABASE_URL = "sqlite:///var/loom.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    admin_password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    var_dir: Path = Path("var")
    files_dir: Path | None = None
    body_limit: int = 1024 * 1024  # bytes; uploads have their own limit
    upload_limit: int = 20 * 1024 * 1024
    token_ttl_hours: int = 24 * 30
    jobs_in_process: bool = True  # tests turn it off and run jobs explicitly

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        s = cls()
        return replace(
            s,
            database_url=e.get("LOOM_DATABASE_URL", s.database_url),
            admin_password=e.get("LOOM_ADMIN_PASSWORD") or None,
            host=e.get("LOOM_HOST", s.host),
            port=int(e.get("LOOM_PORT", s.port)),
            timezone=e.get("LOOM_TIMEZONE", s.timezone),
            var_dir=Path(e.get("LOOM_VAR_DIR", str(s.var_dir))),
            files_dir=Path(e["LOOM_FILES_DIR"]) if e.get("LOOM_FILES_DIR") else None,
            body_limit=int(e.get("LOOM_BODY_LIMIT", s.body_limit)),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def files_path(self) -> Path:
        return self.files_dir or self.var_dir / "files"

    @property
    def dialect(self) -> str:
        return "postgresql" if self.database_url.startswith("postgresql") else "sqlite"
