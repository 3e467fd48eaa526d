"""Content-addressed file storage under `settings.files_path`.

A file's bytes live at `<root>/<sha256[:2]>/<sha256[2:4]>/<sha256>`: the same content
uploaded twice is stored once, a stored file never changes, and a path can be checked
against its name. Uploads stream to a temporary file in `<root>/tmp` while being
hashed and counted, so a file over the limit is cut off without being held in memory,
and only a complete, accepted file is moved (atomically) into place. Nothing is ever
deleted by a record write: references are cheap and files outlive soft deletes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import TooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    """An upload written to a temporary file, not yet accepted."""

    path: Path
    sha256: str
    size: int
    head: bytes


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def stage(self, chunks: Iterable[bytes], *, limit: int, head_bytes: int) -> Staged:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"文件超过上限 {limit} 字节",
                                       f"The file is larger than the limit of {limit} bytes",
                                       code="too_large")
                    if len(head) < head_bytes:
                        head += chunk[:head_bytes - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Staged(Path(name), digest.hexdigest(), size, head)

    def keep(self, staged: Staged) -> Path:
        """Move a staged upload into its content address (a no-op for known content)."""
        target = self.path_of(staged.sha256)
        if target.exists():
            staged.path.unlink(missing_ok=True)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        return target

    def put_bytes(self, content: bytes) -> tuple[str, Path]:
        """Store generated content (an import's error report); returns (sha256, path)."""
        staged = self.stage([content], limit=len(content) + 1, head_bytes=0)
        return staged.sha256, self.keep(staged)

    @staticmethod
    def discard(staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)


def read_chunks(stream: object, size: int = CHUNK) -> Iterable[bytes]:
    read = getattr(stream, "read")  # noqa: B009 - any binary file-like object
    while True:
        chunk: bytes = read(size)
        if not chunk:
            return
        yield chunk
