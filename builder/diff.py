"""`loom app diff A B`: which definitions were added, removed or changed, and for a
changed one the JSON paths that differ."""

from __future__ import annotations

from typing import Any

from builder.bundle import Bundle


def _paths(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"+ {sub}")
            elif k not in b:
                out.append(f"- {sub}")
            else:
                out.extend(_paths(a[k], b[k], sub))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(_paths(x, y, f"{path}[{i}]"))
        return out
    return [] if a == b else [f"~ {path or '(root)'}"]


def diff_bundles(a: Bundle, b: Bundle) -> list[str]:
    fa, fb = a.files(), b.files()
    lines = []
    for name in sorted(set(fa) | set(fb)):
        if name not in fb:
            lines.append(f"removed {name}")
        elif name not in fa:
            lines.append(f"added {name}")
        elif fa[name] != fb[name]:
            lines.append(f"changed {name}")
            lines.extend(f"    {p}" for p in _paths(fa[name], fb[name]))
    return lines
