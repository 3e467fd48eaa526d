"""Writing a bundle back out as a folder or a zip, one pretty-printed JSON file per
definition, so app definitions diff cleanly in git."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from builder.bundle import Bundle


def _dump(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def files_of(bundle: Bundle) -> dict[str, bytes]:
    return {name: _dump(value) for name, value in sorted(bundle.files().items())}


def to_zip(bundle: Bundle) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files_of(bundle).items():
            zf.writestr(f"{bundle.key}/{name}", content)
    return buf.getvalue()


def to_folder(bundle: Bundle, root: Path) -> None:
    for name, content in files_of(bundle).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
