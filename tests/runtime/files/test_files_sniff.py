"""Type sniffing, kind rules, name sanitising and Content-Disposition, without a
database."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from runtime.files import sniff
from runtime.files.service import content_disposition


def _write(tmp_path: Path, content: bytes, name: str = "f") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _zip(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n in names:
            zf.writestr(n, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize(("content", "name", "expected"), [
    (b"\x89PNG\r\n\x1a\nrest", "a.jpg", sniff.PNG),
    (b"\xff\xd8\xff\xe0rest", "a.png", sniff.JPEG),
    (b"GIF89a....", "a", sniff.GIF),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a", sniff.WEBP),
    (b"%PDF-1.7\n", "a.doc", sniff.PDF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "old.xls", sniff.XLS),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "old.exe", None),
    ("名称,金额\n甲,1\n".encode(), "a.csv", sniff.CSV),
    ("名称,金额\n".encode("gb18030"), "a.txt", sniff.TEXT),
    (b"MZ\x90\x00\x03", "setup.pdf", None),
    (b"\x00\x01\x02", "a.txt", None),
])
def test_sniff_by_bytes(tmp_path: Path, content: bytes, name: str,
                        expected: str | None) -> None:
    path = _write(tmp_path, content)
    assert sniff.sniff(content[:sniff.HEAD_BYTES], path, name, complete=True) == expected


def test_zip_based_office_files(tmp_path: Path) -> None:
    for names, expected in ((("[Content_Types].xml", "xl/workbook.xml"), sniff.XLSX),
                            (("[Content_Types].xml", "ppt/presentation.xml"), sniff.PPTX),
                            (("readme.txt",), sniff.ZIP)):
        content = _zip(*names)
        assert sniff.sniff(content, _write(tmp_path, content), "x", complete=True) == expected
    broken = b"PK\x03\x04garbage"
    assert sniff.sniff(broken, _write(tmp_path, broken), "x.zip", complete=True) is None


def test_kinds() -> None:
    assert sniff.accepted("signature", sniff.PNG)
    assert not sniff.accepted("signature", sniff.JPEG)
    assert sniff.accepted("image", sniff.WEBP) and not sniff.accepted("image", sniff.PDF)
    assert sniff.accepted("attachment", sniff.DOCX)
    assert not sniff.accepted("nope", sniff.PNG)


@pytest.mark.parametrize(("raw", "ctype", "expected"), [
    ("报价单.pdf", sniff.PDF, "报价单.pdf"),
    ("C:\\Users\\me\\a.pdf", sniff.PDF, "a.pdf"),
    ("a\x00b\nc.pdf", sniff.PDF, "a_b_c.pdf"),
    ("photo.JPG", sniff.JPEG, "photo.jpg"),
    ("photo", sniff.PNG, "photo.png"),
    (None, sniff.PNG, "file.png"),
    ("x" * 500 + ".pdf", sniff.PDF, "x" * 196 + ".pdf"),
])
def test_sanitise_name(raw: str | None, ctype: str, expected: str) -> None:
    assert sniff.sanitise_name(raw, ctype) == expected


def test_content_disposition_has_an_ascii_fallback_and_rfc5987_name() -> None:
    header = content_disposition('合同 "终版".pdf', inline=False)
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C%20%22%E7%BB%88%E7%89%88%22.pdf" in header
    assert content_disposition("a.png", inline=True).startswith("inline;")
