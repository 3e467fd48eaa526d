"""Structural checks of a form definition beyond what pydantic's shape check sees.

Each function yields `DefinitionIssue`s (JSON path, code, zh/en message) and never
stops at the first: keys that clash, settings that make no sense for a type, ranges
that are upside down, options listed twice, patterns that do not compile, relations
and lookups that point nowhere, layouts that name unknown fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import re2

from engines.form import spec as s
from engines.form.autonumber import pattern_problems
from engines.form.catalogue import COMPUTED_TYPES, FILE_TYPES, SYSTEM_TYPES
from engines.form.issues import DefinitionIssue
from engines.form.normalisers import quiet_re2

RESERVED_NAMES = frozenset({"record", "old", "user"})
_NOT_UNIQUE = frozenset({"subform", "richtext", "address", "location", "multiselect",
                         "checkbox", "boolean", *FILE_TYPES, *SYSTEM_TYPES})
_NOT_INDEXED = frozenset({"subform", "richtext", *FILE_TYPES})


def _issue(path: str, code: str, zh: str, en: str) -> DefinitionIssue:
    return DefinitionIssue(path, code, {"zh": zh, "en": en})


def _keys(fields: list[Any], path: str, *, top: bool) -> Iterator[DefinitionIssue]:
    seen: set[str] = set()
    for i, f in enumerate(fields):
        where = f"{path}[{i}].key"
        if f.key in seen:
            yield _issue(where, "duplicate_key", f"字段键 {f.key} 重复",
                         f"The field key {f.key} is used twice")
        seen.add(f.key)
        if f.key in RESERVED_NAMES or (f.key in s.SYSTEM_FIELDS and f.type != f.key):
            yield _issue(where, "reserved_key", f"字段键 {f.key} 是系统保留名",
                         f"The field key {f.key} is reserved for the system")
        if not top and f.type in SYSTEM_TYPES:
            yield _issue(f"{path}[{i}].type", "not_in_subform", "子表中不能使用系统字段",
                         "System fields cannot be used in a subform")


def form_problems(spec: s.FormSpec,
                  forms: Mapping[str, s.FormSpec] | None) -> Iterator[DefinitionIssue]:
    """Problems of the form as a whole: keys, layout and permissions."""
    yield from _keys(spec.fields, "fields", top=True)
    known = {f.key for f in spec.fields}
    for role, perm in spec.permissions.items():
        for attr in ("hidden", "read_only"):
            for j, key in enumerate(getattr(perm, attr)):
                if key not in known:
                    yield _issue(f"permissions.{role}.{attr}[{j}]", "unknown_field",
                                 f"未知字段 {key}", f"Unknown field {key}")


def _ranges(f: Any, path: str) -> Iterator[DefinitionIssue]:
    lo, hi = getattr(f, "min", None), getattr(f, "max", None)
    if f.type != "rating" and lo is not None and hi is not None and lo > hi:
        yield _issue(f"{path}.min", "min_max", "最小值大于最大值", "min is greater than max")
    lo, hi = getattr(f, "min_length", None), getattr(f, "max_length", None)
    if lo is not None and hi is not None and lo > hi:
        yield _issue(f"{path}.min_length", "min_max", "最小长度大于最大长度",
                     "min_length is greater than max_length")
    lo, hi = getattr(f, "min_items", None), getattr(f, "max_items", None)
    if lo is not None and hi is not None and lo > hi:
        yield _issue(f"{path}.min_items", "min_max", "最少选项数大于最多选项数",
                     "min_items is greater than max_items")
    lo, hi = getattr(f, "min_rows", None), getattr(f, "max_rows", None)
    if lo is not None and hi is not None and lo > hi:
        yield _issue(f"{path}.min_rows", "min_max", "最少行数大于最多行数",
                     "min_rows is greater than max_rows")


def _settings(f: Any, path: str) -> Iterator[DefinitionIssue]:
    def not_for(setting: str) -> DefinitionIssue:
        return _issue(f"{path}.{setting}", "not_applicable",
                      f"{f.type} 类型的字段不支持 {setting}",
                      f"{setting} does not apply to a field of type {f.type}")

    if f.unique and f.type in _NOT_UNIQUE:
        yield not_for("unique")
    if f.indexed and f.type in _NOT_INDEXED:
        yield not_for("indexed")
    if f.type in COMPUTED_TYPES or f.type == "subform":
        for setting in ("default", "default_expr", "linkage"):
            if getattr(f, setting) is not None:
                yield not_for(setting)
    if sum(x is not None for x in (f.default, f.default_expr, f.linkage)) > 1:
        yield _issue(f"{path}.default", "default_conflict",
                     "default、default_expr 和 linkage 只能设置一个",
                     "Set only one of default, default_expr and linkage")
    if isinstance(f, s.LocationField) and (f.center is None) != (f.radius_m is None):
        yield _issue(f"{path}.radius_m", "location_radius", "center 和 radius_m 须同时设置",
                     "center and radius_m go together")


def _options(f: Any, path: str) -> Iterator[DefinitionIssue]:
    seen: set[str] = set()
    for j, option in enumerate(getattr(f, "options", [])):
        if option.value in seen:
            yield _issue(f"{path}.options[{j}].value", "duplicate_option",
                         f"选项值 {option.value} 重复",
                         f"The option {option.value} is listed twice")
        seen.add(option.value)


def _references(f: Any, path: str, siblings: Mapping[str, Any],
                forms: Mapping[str, s.FormSpec] | None) -> Iterator[DefinitionIssue]:
    if isinstance(f, s.RelationField) and forms is not None and f.form not in forms:
        yield _issue(f"{path}.form", "unknown_form", f"未知表单 {f.form}",
                     f"Unknown form {f.form}")
    if isinstance(f, s.LookupField):
        relation = siblings.get(f.through)
        if not isinstance(relation, s.RelationField):
            yield _issue(f"{path}.through", "not_a_relation",
                         f"{f.through} 不是同一层级的关联字段",
                         f"{f.through} is not a relation field beside this one")
        elif forms is not None and relation.form in forms and \
                forms[relation.form].field(f.field) is None:
            yield _issue(f"{path}.field", "unknown_field",
                         f"表单 {relation.form} 没有字段 {f.field}",
                         f"Form {relation.form} has no field {f.field}")


def field_problems(f: Any, path: str, siblings: Mapping[str, Any],
                   forms: Mapping[str, s.FormSpec] | None) -> Iterator[DefinitionIssue]:
    """Problems of one field (and of its row fields, for a subform); `siblings` are
    the fields beside it by key (the form's, or the subform row's)."""
    yield from _ranges(f, path)
    yield from _settings(f, path)
    yield from _options(f, path)
    yield from _references(f, path, siblings, forms)
    if isinstance(f, s.TextField | s.TextareaField) and f.pattern is not None:
        try:
            re2.compile(f.pattern, quiet_re2())
        except re2.error:
            yield _issue(f"{path}.pattern", "bad_pattern", "正则表达式无效（RE2 语法）",
                         "The pattern is not a valid regular expression (RE2 syntax)")
    if isinstance(f, s.AutoNumberField):
        for code, zh, en in pattern_problems(f.pattern):
            yield _issue(f"{path}.pattern", code, zh, en)
    if isinstance(f, s.SubformField):
        yield from _keys(f.fields, f"{path}.fields", top=False)
        row = {g.key: g for g in f.fields}
        for j, g in enumerate(f.fields):
            if g.unique:
                yield _issue(f"{path}.fields[{j}].unique", "not_applicable",
                             "子表字段不支持唯一校验", "unique does not apply inside a subform")
            if g.linkage is not None:
                yield _issue(f"{path}.fields[{j}].linkage", "not_applicable",
                             "子表字段不支持数据联动", "linkage does not apply inside a subform")
            yield from field_problems(g, f"{path}.fields[{j}]", row, forms)
