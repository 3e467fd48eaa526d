"""Pivot an aggregated result with pandas: rows by the index dimensions, one column
group per value of the series dimension.

The database has already aggregated (one row per dimension combination), so pandas
only *reshapes* — it never scans records. Totals are never summed here: the row
totals and the grand total come from the statement's subtotal and total levels,
which are exact for every measure (ratios, distinct counts, averages).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def pivot_table(rows: Sequence[dict[str, Any]], index: Sequence[str], series: str | None,
                measures: Sequence[str], *, subtotals: Sequence[dict[str, Any]] = (),
                subtotal_key: str | None = None,
                total: dict[str, Any] | None = None) -> dict[str, Any]:
    """`{"index": [...], "columns": [series values], "measures": [...], "rows":
    [{"key": [...], "cells": {column: {measure: value}}, "total": {...}}],
    "column_totals": {column: {...}}, "total": {...}}`.

    `subtotals` are grouped by `subtotal_key` (the report's first dimension): they
    are the row totals when that is the only index dimension, the column totals when
    it is the series.
    """
    if not rows:
        return {"index": list(index), "columns": [], "measures": list(measures), "rows": [],
                "column_totals": None, "total": total}
    frame = pd.DataFrame(list(rows))
    blank = "\x00"  # pandas drops None keys when grouping; keep them as a marker
    keys = [*index, *([series] if series else [])]
    for k in keys:
        frame[k] = frame[k].astype(object).where(frame[k].notna(), blank)
    column_values = list(dict.fromkeys(frame[series])) if series else [None]
    if series:
        wide = frame.pivot_table(index=list(index) or None, columns=series, values=list(measures),
                                 aggfunc="first", sort=False, dropna=False)
    else:
        wide = frame.set_index(list(index))[list(measures)] if index else frame[list(measures)]
    row_totals: dict[Any, dict[str, Any]] = {}
    column_totals: dict[str, dict[str, Any]] = {}
    if subtotal_key is not None and list(index) == [subtotal_key]:
        row_totals = {_key(s[subtotal_key]): {m: _cell(s[m]) for m in measures}
                      for s in subtotals}
    elif subtotal_key is not None and subtotal_key == series:
        column_totals = {"" if s[series] is None else str(s[series]):
                         {m: _cell(s[m]) for m in measures} for s in subtotals}
    out_rows = []
    for idx, values in wide.iterrows():
        key = list(idx) if isinstance(idx, tuple) else [idx]
        key = [None if k == blank else _cell(k) for k in key]
        cells: dict[str, dict[str, Any]] = {}
        for col in column_values:
            name = "" if col is None or col == blank else str(col)
            row: Any = values
            cells[name] = {m: _cell(row[(m, col)] if series else row[m]) for m in measures}
        entry: dict[str, Any] = {"key": key, "cells": cells}
        if row_totals:
            entry["total"] = row_totals.get(_key(key[0]))
        out_rows.append(entry)
    columns = ["" if c is None or c == blank else str(c) for c in column_values]
    return {"index": list(index), "columns": columns, "measures": list(measures),
            "rows": out_rows, "column_totals": column_totals or None,
            "total": ({m: _cell(total[m]) for m in measures} if total else None)}


def _key(value: Any) -> Any:
    return _cell(value)
