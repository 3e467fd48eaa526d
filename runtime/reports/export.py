"""Export a report result to XLSX (formatted) or CSV.

XLSX: a bold, filled header row that stays in view, numbers written as numbers with
a format per measure (money `#,##0.00`, percent `0.00%`, integers `#,##0`),
subtotal and total rows in bold at the end, column widths fitted to the content.
CSV: UTF-8 with a byte-order mark (so Excel opens Chinese text correctly), plain
values (money as its decimal string), the same subtotal and total rows.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from engines.common import Lang
from engines.report.shape import ReportResult

_FORMATS = {"money": "#,##0.00", "percent": "0.00%", "integer": "#,##0", "number": "#,##0.####"}
_LABELS = {"zh": ("小计", "合计"), "en": ("Subtotal", "Total")}
MAX_SHEET_TITLE = 31  # Excel's limit


def _lines(result: ReportResult, lang: Lang) -> list[tuple[str, dict[str, Any]]]:
    sub, total = _LABELS[lang]
    lines = [("row", r) for r in result.rows]
    lines += [(sub, r) for r in result.subtotals]
    if result.total is not None:
        lines.append((total, result.total))
    return lines


def _first_dimension_label(result: ReportResult, kind: str,
                           row: dict[str, Any]) -> dict[str, Any]:
    """Write "Total" (or "Subtotal") in the first blank dimension cell of that row."""
    if kind == "row":
        return row
    row = dict(row)
    for col in result.columns:
        if col["role"] == "dimension" and row.get(col["key"]) is None:
            row[col["key"]] = kind
            break
    return row


def to_xlsx(result: ReportResult, *, title: str, lang: Lang = "zh") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook always has one sheet
    sheet.title = "".join(c for c in title if c not in "[]:*?/\\")[:MAX_SHEET_TITLE] or "report"
    header_font, bold = Font(bold=True, color="FFFFFF"), Font(bold=True)
    fill = PatternFill("solid", fgColor="305496")
    cols = result.columns
    sheet.append([c["label"] for c in cols])
    for cell in sheet[1]:
        cell.font, cell.fill = header_font, fill
    sheet.freeze_panes = "A2"
    widths = [max(len(str(c["label"])) * 2, 8) for c in cols]
    for kind, raw in _lines(result, lang):
        row = _first_dimension_label(result, kind, raw)
        cells = (row.get(c["key"]) for c in cols)
        values = [float(v) if isinstance(v, Decimal) else v for v in cells]
        sheet.append(values)
        line = sheet.max_row
        for i, col in enumerate(cols):
            cell = sheet.cell(row=line, column=i + 1)
            if col["role"] == "measure":
                cell.number_format = _FORMATS.get(col.get("format") or "number", "General")
            if kind != "row":
                cell.font = bold
            widths[i] = max(widths[i], min(len(str(values[i] or "")) + 2, 60))
    for i, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=i + 1).column_letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(result: ReportResult, *, lang: Lang = "zh") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    cols = result.columns
    writer.writerow([c["label"] for c in cols])
    for kind, raw in _lines(result, lang):
        row = _first_dimension_label(result, kind, raw)
        writer.writerow(["" if row.get(c["key"]) is None else row.get(c["key"]) for c in cols])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
