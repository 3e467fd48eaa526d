"""The per-row error report: the failed rows as they were, plus a reason column.

Written with openpyxl's write-only mode (rows go to a temporary file, not memory), so
a report of many failed rows costs no more memory than a few. The columns are the
import's own headers, so the user fixes the cells and imports the file again.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

REASON = {"zh": "错误原因", "en": "Reason"}
ROW = {"zh": "原行号", "en": "Source row"}
_PLAIN = (int, float, Decimal, bool, date, datetime, time)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, _PLAIN):
        return value
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


class ErrorReport:
    def __init__(self, headers: Sequence[str], lang: str) -> None:
        self.headers = list(headers)
        self.lang = "en" if lang == "en" else "zh"
        self.count = 0
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet("errors")
        bold = Font(bold=True)
        from openpyxl.cell import WriteOnlyCell

        header = []
        for text in [*self.headers, REASON[self.lang], ROW[self.lang]]:
            cell = WriteOnlyCell(self._sheet, value=text)
            cell.font = bold
            header.append(cell)
        self._sheet.append(header)

    def add(self, number: int, cells: Mapping[str, Any], reason: str) -> None:
        self.count += 1
        self._sheet.append([*(_cell(cells.get(h)) for h in self.headers), reason, number])

    def discard(self) -> None:
        """Finish the half-written sheet so its writer closes cleanly (an import that
        stopped on a refused file never saves its report)."""
        self._sheet.close()

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self._book.save(out)
        return out.getvalue()


def reason_of(errors: Sequence[Mapping[str, Any]]) -> str:
    """'Column: message; …' — what the user reads in the reason column."""
    parts = []
    for e in errors:
        where = e.get("column") or e.get("field")
        parts.append(f"{where}: {e['message']}" if where else str(e["message"]))
    return "; ".join(parts)
