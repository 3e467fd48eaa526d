"""Reading an uploaded spreadsheet safely: streamed, bounded, never evaluated.

An import file comes from a user and may be hostile, so it is checked before any
parser sees it and read row by row afterwards:

- the bytes decide the format (a zip holding `xl/workbook.xml` is XLSX; text that
  decodes as UTF-8 or GB18030 is CSV); a name whose extension disagrees, or any other
  extension, is refused;
- XLSX: the zip directory is read first (no extraction) and the file refused when it
  has too many members, when the members would expand to more than
  `max_uncompressed` bytes, when one member expands more than `max_ratio` times (a
  zip bomb), when the shared strings (which openpyxl keeps in memory) are too large,
  or when an XML part declares a DOCTYPE (entity expansion); then the sheet's declared
  dimensions are checked against the row and column limits, because openpyxl pads
  rows up to the declared size;
- openpyxl runs with `read_only=True` (streamed) and `data_only=True`: a formula cell
  gives the value Excel cached for it, or nothing; no formula is ever evaluated;
- CSV is decoded incrementally and parsed with the csv module, with a cap on the
  length of one field;
- rows and columns are counted while reading and the read stops at the limits.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runtime.errors import BadRequest

Format = Literal["xlsx", "csv"]
_DOCTYPE_SCAN = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_rows: int = 200_000
    max_columns: int = 200
    max_uncompressed: int = 1024 * 1024 * 1024
    max_ratio: int = 200
    max_members: int = 2_000
    max_shared_strings: int = 256 * 1024 * 1024
    max_cell_chars: int = 32_767  # Excel's own limit


def refused(zh: str, en: str, code: str = "bad_file") -> BadRequest:
    return BadRequest(zh, en, code=code)


def detect_format(path: Path, name: str | None) -> Format:
    """XLSX or CSV from the bytes, checked against the name's extension."""
    ext = Path(name or "").suffix.lower()
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"PK\x03\x04"):
        kind: Format | None = "xlsx"
    elif head and b"\x00" not in head and _decodes(head):
        kind = "csv"
    else:
        kind = None
    if kind is None:
        raise refused("无法识别的文件：只接受 .xlsx 或 .csv",
                      "Unrecognised file: only .xlsx and .csv are accepted", "bad_format")
    if ext and ext != f".{kind}":
        raise refused(f"文件扩展名 {ext} 与内容（{kind}）不符",
                      f"The extension {ext} does not match the content ({kind})",
                      "wrong_extension")
    return kind


def _decodes(head: bytes) -> bool:
    return _encoding_of(head) is not None


def _encoding_of(head: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def check_xlsx_archive(path: Path, limits: Limits) -> None:
    """Refuse zip bombs and XML entity tricks before openpyxl opens the file."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                raise refused("XLSX 文件包含的部件过多", "The XLSX file has too many parts",
                              "zip_bomb")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise refused("这不是 Excel 工作簿（.xlsx）",
                              "This is not an Excel workbook (.xlsx)", "bad_format")
            total = sum(i.file_size for i in infos)
            if total > limits.max_uncompressed:
                raise refused("XLSX 解压后过大", "The XLSX file expands to too many bytes",
                              "zip_bomb")
            for info in infos:
                if info.file_size > 1024 * 1024 and \
                        info.file_size > limits.max_ratio * max(info.compress_size, 1):
                    raise refused("XLSX 文件压缩比异常（疑似压缩炸弹）",
                                  "The XLSX file is compressed suspiciously well "
                                  "(a zip bomb?)", "zip_bomb")
                if info.filename == "xl/sharedStrings.xml" and \
                        info.file_size > limits.max_shared_strings:
                    raise refused("XLSX 的共享字符串过大",
                                  "The XLSX file's shared strings are too large", "too_large")
                if info.filename.endswith((".xml", ".rels")):
                    with zf.open(info) as member:
                        if b"<!DOCTYPE" in member.read(_DOCTYPE_SCAN):
                            raise refused("XLSX 含有不允许的 DOCTYPE 声明",
                                          "The XLSX file declares a DOCTYPE, which is not "
                                          "allowed", "bad_file")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as exc:
        raise refused("XLSX 文件已损坏", f"The XLSX file is damaged ({type(exc).__name__})",
                      "bad_file") from None


@dataclass
class Sheet:
    """An open spreadsheet: its header row and an iterator over the data rows, each
    `(spreadsheet row number, {header: cell})`; close it when done."""

    headers: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    declared_rows: int | None
    closer: Any = None

    def close(self) -> None:
        if self.closer is not None:
            self.closer()


def open_sheet(path: Path, fmt: Format, limits: Limits) -> Sheet:
    return _open_xlsx(path, limits) if fmt == "xlsx" else _open_csv(path, limits)


def _headers(raw: list[Any] | tuple[Any, ...], limits: Limits) -> list[str]:
    cells = list(raw)
    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
        cells.pop()
    if not cells:
        raise refused("第一行应是列标题", "The first row must hold the column headers",
                      "no_headers")
    if len(cells) > limits.max_columns:
        raise refused(f"列数超过上限 {limits.max_columns}",
                      f"More than {limits.max_columns} columns", "too_many_columns")
    headers: list[str] = []
    for i, cell in enumerate(cells):
        text = "" if cell is None else str(cell).strip()
        name = text or f"#{i + 1}"
        while name in headers:
            name += "'"
        headers.append(name)
    return headers


def _too_many_rows(limits: Limits) -> BadRequest:
    return refused(f"行数超过上限 {limits.max_rows}", f"More than {limits.max_rows} rows",
                   "too_many_rows")


def _open_xlsx(path: Path, limits: Limits) -> Sheet:
    from openpyxl import load_workbook

    check_xlsx_archive(path, limits)
    handle = path.open("rb")  # a file object: openpyxl checks a path's extension

    def close() -> None:
        book.close()
        handle.close()

    try:
        book = load_workbook(handle, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        handle.close()
        raise refused("无法读取 XLSX 文件", f"Cannot read the XLSX file ({type(exc).__name__})",
                      "bad_file") from None
    try:
        sheet = book.worksheets[0]
        declared_rows = sheet.max_row if isinstance(sheet.max_row, int) else None
        declared_cols = sheet.max_column if isinstance(sheet.max_column, int) else None
        if declared_rows is not None and declared_rows > limits.max_rows + 1:
            raise _too_many_rows(limits)
        if declared_cols is not None and declared_cols > limits.max_columns:
            raise refused(f"列数超过上限 {limits.max_columns}",
                          f"More than {limits.max_columns} columns", "too_many_columns")
        it = sheet.iter_rows(values_only=True, max_col=limits.max_columns)
        first = next(it, None)
        headers = _headers(first or (), limits)
    except BaseException:
        close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        width = len(headers)
        for number, raw in enumerate(it, start=2):
            if number > limits.max_rows + 1:
                raise _too_many_rows(limits)
            cells = raw[:width]
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield number, dict(zip(headers, cells, strict=False))

    return Sheet(headers, rows(), (declared_rows - 1) if declared_rows else None, close)


def _open_csv(path: Path, limits: Limits) -> Sheet:
    with path.open("rb") as f:
        encoding = _encoding_of(f.read(64 * 1024)) or "utf-8-sig"
    stream = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="", errors="strict")
    csv.field_size_limit(max(limits.max_cell_chars, 1024))
    reader = csv.reader(stream)
    try:
        headers = _headers(next(reader, []), limits)
    except (csv.Error, UnicodeDecodeError) as exc:
        stream.close()
        raise refused("CSV 文件格式有误", f"The CSV file is malformed ({exc})", "bad_file") \
            from None
    except BaseException:
        stream.close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        width = len(headers)
        try:
            for number, raw in enumerate(reader, start=2):
                if number > limits.max_rows + 1:
                    raise _too_many_rows(limits)
                if len(raw) > limits.max_columns:
                    raise refused(f"第 {number} 行的列数超过上限",
                                  f"Row {number} has too many columns", "too_many_columns")
                if not any(c.strip() for c in raw):
                    continue
                yield number, dict(zip(headers, raw[:width], strict=False))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise refused("CSV 文件格式有误", f"The CSV file is malformed ({exc})",
                          "bad_file") from None

    return Sheet(headers, rows(), None, stream.close)
