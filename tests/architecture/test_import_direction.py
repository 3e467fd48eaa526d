"""Imports go down only: runtime → builder → engines (DESIGN §1). Engines stay pure:
no database session, no web framework, no clock reads, no network.

Checked statically over every module's import statements (including imports inside
functions), so a lazy import cannot sneak past.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FORBIDDEN = {
    "engines": {"runtime", "builder", "plugins", "fastapi", "starlette", "httpx", "uvicorn",
                "requests", "socket", "smtplib", "urllib.request", "alembic", "psycopg",
                "sqlalchemy.orm"},
    "builder": {"runtime", "fastapi", "starlette", "uvicorn", "psycopg", "alembic"},
    "plugins": {"runtime", "builder"},
}
# Reading the clock is for runtime: engines get `now` passed in.
CLOCK_CALLS = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _hits(name: str, banned: set[str]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downwards_only(package: str) -> None:
    offenders = []
    for path in _modules(package):
        for name in _imports(path):
            if _hits(name, FORBIDDEN[package]):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_engines_never_read_the_clock() -> None:
    offenders = []
    for path in _modules("engines"):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CLOCK_CALLS.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == []


def test_the_check_itself_sees_lazy_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from runtime.records import service\n", encoding="utf-8")
    assert "runtime.records" in _imports(probe)
