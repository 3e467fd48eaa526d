"""What an uploaded file really is, from its bytes, and whether a field kind takes it.

The client's declared content type and the file name's extension are never trusted:
a PNG renamed `report.pdf` is a PNG, and an HTML page renamed `photo.jpg` is refused.
Only a short list of types is recognised (magic bytes; zip-based Office files by the
entries of their zip directory, read without extracting anything; old binary Office
files by their OLE signature plus the extension, since the three share one signature;
plain text and CSV by decoding as UTF-8 or GB18030 with no NUL byte). Anything else
is refused, which is the point: an attachment store must not serve arbitrary
executables or scripts back to browsers.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from pathlib import Path

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"
TEXT = "text/plain"
CSV = "text/csv"

IMAGES = frozenset({PNG, JPEG, GIF, WEBP})
ALLOWED: dict[str, frozenset[str]] = {
    "image": IMAGES,
    "signature": frozenset({PNG}),
    "attachment": IMAGES | {PDF, ZIP, DOCX, XLSX, PPTX, DOC, XLS, PPT, TEXT, CSV},
    "spreadsheet": frozenset({XLSX, CSV, TEXT}),  # import files (runtime.transfer)
}
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PNG: (".png",), JPEG: (".jpg", ".jpeg"), GIF: (".gif",), WEBP: (".webp",),
    PDF: (".pdf",), ZIP: (".zip",), DOCX: (".docx",), XLSX: (".xlsx",), PPTX: (".pptx",),
    DOC: (".doc",), XLS: (".xls",), PPT: (".ppt",), TEXT: (".txt",), CSV: (".csv",),
}
HEAD_BYTES = 8192
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_BY_EXT = {".doc": DOC, ".xls": XLS, ".ppt": PPT}
_OOXML = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX),
          ("ppt/presentation.xml", PPTX))
_MAX_ZIP_ENTRIES_READ = 10_000


def _zip_type(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()[:_MAX_ZIP_ENTRIES_READ]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in names:
        for marker, ctype in _OOXML:
            if marker in names:
                return ctype
    return ZIP


def _is_text(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        return True
    return False


def sniff(head: bytes, path: Path, name: str, *, complete: bool) -> str | None:
    """The content type of the file at `path` (whose first bytes are `head`), or None
    when it is not a type Loom accepts. `complete` says `head` is the whole file."""
    ext = Path(name).suffix.lower()
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(path)
    if head.startswith(_OLE):
        return _OLE_BY_EXT.get(ext)
    if head and _is_text(head, complete):
        return CSV if ext == ".csv" else TEXT
    return None


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_SPACES = re.compile(r"\s+")
MAX_NAME = 200


def sanitise_name(raw: str | None, content_type: str) -> str:
    """A name safe to store and to put in a header: no path, no control or reserved
    characters, no leading dots, at most 200 characters, and an extension that matches
    the sniffed type (appended when the given one does not)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _SPACES.sub(" ", _UNSAFE.sub("_", name)).strip().lstrip(". ")
    extensions = EXTENSIONS.get(content_type, ())
    stem, ext = (name.rsplit(".", 1)[0], "." + name.rsplit(".", 1)[1].lower()) \
        if "." in name else (name, "")
    if extensions and ext not in extensions:
        stem, ext = (name or "file"), extensions[0]
    stem = stem or "file"
    return stem[:MAX_NAME - len(ext)] + ext


def accepted(kind: str, content_type: str) -> bool:
    return content_type in ALLOWED.get(kind, frozenset())
