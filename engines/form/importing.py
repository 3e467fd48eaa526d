"""The pure half of spreadsheet import: column mapping and row → submission.

Runtime reads the XLSX/CSV file (streamed, size-limited) into rows of
`{column header: cell value}` and owns the store; this module decides what the
columns mean and turns each row into a submission for `CompiledForm.process`, so an
import goes through the same processing as the API and every row error says which
row, which field and why.

- `suggest_mapping(headers, form)`: each header → a field key, matched on the key,
  the zh label or the en label (ignoring case, spaces and punctuation), then on the
  closest label (difflib ratio ≥ 0.8); each field is used at most once.
- `row_to_submission(row, mapping, form)`: spreadsheet cells → submission values:
  empty cells and NaN/NaT are blank; select options may be written as their value or
  their zh/en label; multiple choices and multiple keys may be one cell separated by
  `,`, `，`, `、`, `;` or a new line; computed fields are not importable.
- `process_rows(rows, mapping, form, env=…)`: both, then `process`, one `ImportedRow`
  per row with its data or its errors (rows are numbered from `first_row`, the
  spreadsheet row of the first data row, so a report can point at the cell).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engines.common import DEFAULT_LANG, Lang
from engines.form.catalogue import CHOICE_TYPES, COMPUTED_TYPES, MULTI_CHOICE_TYPES
from engines.form.compiled import CompiledForm
from engines.form.issues import FieldIssue
from engines.form.plan import FieldPlan, RecordSource

_FOLD = re.compile(r"[\s_\-—:：()（）\[\]【】./\\*]+")
_SPLIT = re.compile(r"\s*[,，、;；\n]\s*")


def _fold(text: str) -> str:
    return _FOLD.sub("", text).casefold()


@dataclass(frozen=True, slots=True)
class ColumnMatch:
    """One header's suggested field; `how` is key, label_zh, label_en, close or None."""

    column: str
    field: str | None
    how: str | None
    score: float = 0.0


def importable(form: CompiledForm) -> list[FieldPlan]:
    """Top-level fields a spreadsheet column can fill (not computed, not subforms)."""
    return [p for p in form.plans
            if p.stores and p.input and p.rows is None and p.type not in COMPUTED_TYPES]


def suggest_mapping(headers: Sequence[str], form: CompiledForm) -> list[ColumnMatch]:
    plans = importable(form)
    names: dict[str, list[tuple[str, str]]] = {}
    for plan in plans:
        for how, name in (("key", plan.key), ("label_zh", plan.label["zh"]),
                          ("label_en", plan.label["en"])):
            if name:
                names.setdefault(_fold(name), []).append((plan.key, how))
    used: set[str] = set()
    out: list[ColumnMatch | None] = [None] * len(headers)
    for i, header in enumerate(headers):  # exact matches first, in column order
        for key, how in names.get(_fold(str(header)), []):
            if key not in used:
                used.add(key)
                out[i] = ColumnMatch(str(header), key, how, 1.0)
                break
    for i, header in enumerate(headers):
        if out[i] is not None:
            continue
        best: tuple[float, str] | None = None
        for folded, targets in names.items():
            score = difflib.SequenceMatcher(None, _fold(str(header)), folded).ratio()
            for key, _ in targets:
                if key not in used and score >= 0.8 and (best is None or score > best[0]):
                    best = (score, key)
        if best is not None:
            used.add(best[1])
            out[i] = ColumnMatch(str(header), best[1], "close", round(best[0], 3))
        else:
            out[i] = ColumnMatch(str(header), None, None)
    return [m for m in out if m is not None]


def _blank_cell(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if type(value).__name__ in ("NaTType", "NAType"):
        return True
    return isinstance(value, str) and not value.strip()


def _option_value(plan: FieldPlan, cell: Any) -> Any:
    text = str(cell).strip()
    options = getattr(plan.spec, "options", [])
    for option in options:
        if text == option.value:
            return option.value
    for option in options:
        label = option.label
        names = [label] if isinstance(label, str) else [label.zh, label.en]
        if any(n is not None and _fold(n) == _fold(text) for n in names):
            return option.value
    return text  # the normaliser reports it as not an option


def cell_value(plan: FieldPlan, cell: Any) -> Any:
    """One spreadsheet cell as a submission value for `plan`."""
    if _blank_cell(cell):
        return None
    multiple = plan.type in MULTI_CHOICE_TYPES or getattr(plan.spec, "multiple", False)
    if multiple and isinstance(cell, str):
        parts = [p for p in _SPLIT.split(cell.strip()) if p]
        return [_option_value(plan, p) for p in parts] if plan.type in CHOICE_TYPES \
            else parts
    if plan.type in CHOICE_TYPES:
        return _option_value(plan, cell)
    if plan.type in ("text", "textarea", "phone", "uscc", "resident_id", "user",
                     "department", "relation") and isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # Excel stores "13812345678" typed as a number
    return cell


def row_to_submission(row: Mapping[str, Any], mapping: Mapping[str, str | None],
                      form: CompiledForm) -> dict[str, Any]:
    """The submission of one row; columns mapped to None or unknown fields are skipped."""
    out: dict[str, Any] = {}
    for column, key in mapping.items():
        plan = form.by_key.get(key) if key else None
        if plan is None or column not in row:
            continue
        value = cell_value(plan, row[column])
        if value is not None:
            out[plan.key] = value
    return out


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One row's outcome: `data` to write when `ok`, else `errors` (in `lang`), each
    error also naming the spreadsheet column of its field when there is one."""

    number: int
    data: dict[str, Any]
    issues: tuple[FieldIssue, ...]
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def process_rows(rows: Iterable[Mapping[str, Any]], mapping: Mapping[str, str | None],
                 form: CompiledForm, *, env: Any, lang: Lang = DEFAULT_LANG,
                 source: RecordSource | None = None, first_row: int = 2,
                 old_by_row: Mapping[int, Mapping[str, Any]] | None = None,
                 ) -> Iterator[ImportedRow]:
    """Convert and process each row (lazily, so a large file streams through).

    `old_by_row` gives, for an upsert, the stored data of the record a row updates
    (keyed by row number); rows absent from it are creates.
    """
    column_of = {key: column for column, key in mapping.items() if key}
    for offset, row in enumerate(rows):
        number = first_row + offset
        submission = row_to_submission(row, mapping, form)
        old = old_by_row.get(number) if old_by_row else None
        result = form.process(submission, env=env, old=old, lang=lang, source=source)
        errors = []
        for issue in result.issues:
            rendered = issue.render(lang)
            top = (issue.field or "").split("[")[0].split(".")[0]
            rendered["column"] = column_of.get(top)
            errors.append(rendered)
        yield ImportedRow(number, result.data, result.issues, errors)
