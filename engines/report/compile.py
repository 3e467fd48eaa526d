"""Check a report definition against the forms and compile it once.

`compile_report` resolves every field path, checks every expression and formula,
and reports *all* problems with their JSON path (`measures[2].field`) in zh and en;
what it returns is an immutable `CompiledReport` that builds the SQL for a call
(`engines.report.query`) and shapes its results (`engines.report.shape`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from engines.common import both
from engines.report.expressions import ExprBackend
from engines.report.fields import (
    NUMERIC_KINDS,
    ORDERED_KINDS,
    SYSTEM_FIELDS,
    TIME_KINDS,
    FormCatalog,
    Kind,
    Problem,
    ReportDefinitionError,
    ResolvedField,
    resolve,
)
from engines.report.formula import Formula, FormulaError, parse_formula
from engines.report.spec import Dimension, Measure, ReportSpec

if TYPE_CHECKING:
    from engines.report.projection import Projection

_PARAM_KINDS: dict[str, Kind] = {
    "text": "text", "select": "text", "number": "number", "integer": "integer",
    "money": "money", "date": "date", "datetime": "datetime", "boolean": "boolean",
}


@dataclass(frozen=True, slots=True)
class CompiledDimension:
    key: str
    spec: Dimension
    field: ResolvedField | None  # None for an expression dimension
    kind: Kind  # kind of the output value ("text" for a bucket label)


@dataclass(frozen=True, slots=True)
class CompiledMeasure:
    key: str
    spec: Measure
    field: ResolvedField | None
    kind: Kind  # kind of the output value
    formula: Formula | None  # formula and ratio measures


@dataclass(frozen=True)
class CompiledReport:
    """A checked report, ready to build queries many times. Immutable."""

    spec: ReportSpec
    catalog: FormCatalog
    fields: Mapping[str, Kind]  # names expressions may read: source fields, join paths
    param_kinds: Mapping[str, Kind]
    dimensions: tuple[CompiledDimension, ...]
    measures: tuple[CompiledMeasure, ...]
    drill: tuple[ResolvedField, ...]
    relations: tuple[str, ...]  # relation fields joined, in order
    backend: ExprBackend
    tz: ZoneInfo
    # narrow copies of the related records (PostgreSQL), set by the runtime for the
    # app version: `engines.report.projection`
    projection: Projection | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def source(self) -> str:
        return self.spec.source

    def forms(self) -> frozenset[str]:
        """Every form whose changes can change this report's result (cache keys)."""
        targets = {self.catalog[self.source][r].target for r in self.relations}
        return frozenset({self.source} | {t for t in targets if t is not None})

    def measure(self, key: str) -> CompiledMeasure:
        return next(m for m in self.measures if m.key == key)

    def resolve(self, path: str) -> ResolvedField | None:
        found = resolve(self.catalog, self.source, path)
        return found if isinstance(found, ResolvedField) else None


class _Checker:
    """Collects problems while compiling, each with its JSON path."""

    def __init__(self, spec: ReportSpec, catalog: FormCatalog, backend: ExprBackend) -> None:
        self.spec, self.catalog, self.backend = spec, catalog, backend
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, zh: str, en: str) -> None:
        self.problems.append(Problem(path, code, both(zh, en)))

    def field(self, path: str, where: str) -> ResolvedField | None:
        found = resolve(self.catalog, self.spec.source, path)
        if isinstance(found, Problem):
            self.problems.append(Problem(where, found.code, found.message))
            return None
        return found

    def expr(self, source: str, where: str, fields: Mapping[str, Kind],
             names: Mapping[str, Kind]) -> bool:
        problem = self.backend.check(source, fields, names)
        if problem is not None:
            self.problems.append(Problem(where, problem[0], problem[1]))
            return False
        return True


def expression_fields(catalog: FormCatalog, source: str) -> dict[str, Kind]:
    """Names a report expression may use: the source form's fields and system fields,
    and `relation.field` for every field of every related form."""
    out: dict[str, Kind] = dict(SYSTEM_FIELDS)
    for key, info in catalog.get(source, {}).items():
        out[key] = info.kind
        target = info.target
        if info.kind == "relation" and target is not None and target in catalog:
            for sub in (*SYSTEM_FIELDS, *catalog[target]):
                found = resolve(catalog, source, f"{key}.{sub}")
                if isinstance(found, ResolvedField):
                    out[f"{key}.{sub}"] = found.kind
    return out


def compile_report(spec: ReportSpec, catalog: FormCatalog, *, backend: ExprBackend,
                   tz: ZoneInfo | str = "Asia/Shanghai") -> CompiledReport:
    """Check `spec` against `catalog` and compile it; raises ReportDefinitionError listing
    every problem."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    check = _Checker(spec, catalog, backend)
    if spec.source not in catalog:
        check.add("source", "unknown_form", f"表单不存在：{spec.source}",
                  f"form not found: {spec.source}")
        raise ReportDefinitionError(check.problems)
    fields = expression_fields(catalog, spec.source)
    relations: list[str] = []
    for i, join in enumerate(spec.joins):
        info = catalog[spec.source].get(join.relation)
        if info is None or info.kind != "relation" or info.target not in catalog:
            check.add(f"joins[{i}].relation", "not_a_relation",
                      f"{join.relation} 不是可关联的关联字段",
                      f"{join.relation} is not a relation field to a known form")
        elif join.relation not in relations:
            relations.append(join.relation)

    param_kinds = {p.key: _PARAM_KINDS[p.type] for p in spec.params}
    _check_names(check, spec, fields, param_kinds)
    for i, param in enumerate(spec.params):
        if param.filter is not None:
            check.expr(param.filter, f"params[{i}].filter", fields, param_kinds)
        if param.default_expr is not None:
            check.expr(param.default_expr, f"params[{i}].default_expr", {}, {})
    for i, source in enumerate(spec.filters):
        check.expr(source, f"filters[{i}]", fields, param_kinds)

    dims = tuple(d for d in (_dimension(check, fields, param_kinds, i, d)
                             for i, d in enumerate(spec.dimensions)) if d)
    measures = _measures(check, fields, param_kinds)
    drill = tuple(f for f in (check.field(p, f"drill[{i}]") for i, p in enumerate(spec.drill))
                  if f)
    _check_chart_and_sort(check, spec)
    used = [d.field for d in dims] + [m.field for m in measures]
    for field in used:
        if field and field.relation and field.relation not in relations:
            relations.append(field.relation)
    for f in drill:
        if f.relation and f.relation not in relations:
            relations.append(f.relation)
    if check.problems:
        raise ReportDefinitionError(check.problems)
    return CompiledReport(spec, catalog, fields, param_kinds, dims, measures, drill,
                          tuple(relations), backend, zone)


def _check_names(check: _Checker, spec: ReportSpec, fields: Mapping[str, Kind],
                 params: Mapping[str, Kind]) -> None:
    seen: dict[str, str] = {}
    keyed: list[tuple[str, list[str]]] = [
        ("dimensions", [d.key for d in spec.dimensions]),
        ("measures", [m.key for m in spec.measures]),
        ("params", [p.key for p in spec.params])]
    for kind, keys in keyed:
        for i, key in enumerate(keys):
            if key in seen:
                check.add(f"{kind}[{i}].key", "duplicate_key", f"键 {key} 与 {seen[key]} 重复",
                          f"key {key} is already used by {seen[key]}")
            seen.setdefault(key, f"{kind}[{i}]")
    for i, p in enumerate(spec.params):
        if p.key in fields:
            check.add(f"params[{i}].key", "param_shadows_field",
                      f"参数 {p.key} 与字段同名", f"parameter {p.key} has the name of a field")


def _dimension(check: _Checker, fields: Mapping[str, Kind], params: Mapping[str, Kind],
               i: int, dim: Dimension) -> CompiledDimension | None:
    if dim.expr is not None:
        if not check.expr(dim.expr, f"dimensions[{i}].expr", fields, params):
            return None
        return CompiledDimension(dim.key, dim, None, check.backend.kind(dim.expr, fields, params))
    field = check.field(str(dim.field), f"dimensions[{i}].field")
    if field is None:
        return None
    if field.kind == "list":
        check.add(f"dimensions[{i}].field", "not_groupable", f"不能按多值字段 {dim.field} 分组",
                  f"cannot group by the multi-valued field {dim.field}")
        return None
    if dim.bucket is not None:
        if field.kind not in TIME_KINDS:
            check.add(f"dimensions[{i}].bucket", "bucket_needs_date",
                      f"只有日期字段可以按{dim.bucket}分组：{dim.field}",
                      f"only a date field can be bucketed by {dim.bucket}: {dim.field}")
            return None
        return CompiledDimension(dim.key, dim, field, "text")
    return CompiledDimension(dim.key, dim, field, field.kind)


def _measures(check: _Checker, fields: Mapping[str, Kind],
              params: Mapping[str, Kind]) -> tuple[CompiledMeasure, ...]:
    spec = check.spec
    keys = {m.key for m in spec.measures}
    out: list[CompiledMeasure] = []
    for i, m in enumerate(spec.measures):
        where = f"measures[{i}]"
        if m.is_formula:
            source = m.expr if m.expr is not None else f"{m.numerator} / {m.denominator}"
            try:
                formula = parse_formula(source)
            except FormulaError as exc:
                check.problems.append(Problem(f"{where}.expr", exc.code, exc.message))
                continue
            unknown = sorted(formula.names - keys)
            if unknown:
                path = f"{where}.expr" if m.expr is not None else f"{where}.numerator"
                check.add(path, "unknown_measure", f"公式引用了不存在的度量：{', '.join(unknown)}",
                          f"the formula names unknown measures: {', '.join(unknown)}")
                continue
            out.append(CompiledMeasure(m.key, m, None, "number", formula))
            continue
        if m.where is not None:
            check.expr(m.where, f"{where}.where", fields, params)
        field = check.field(m.field, f"{where}.field") if m.field else None
        if m.field and field is None:
            continue
        kind = _measure_kind(check, where, m, field)
        if kind is not None:
            out.append(CompiledMeasure(m.key, m, field, kind, None))
    _check_formula_cycles(check, out)
    return tuple(out)


def _measure_kind(check: _Checker, where: str, m: Measure,
                  field: ResolvedField | None) -> Kind | None:
    if m.agg in ("count", "distinct_count"):
        return "integer"
    if field is None:
        return None
    if m.agg in ("sum", "avg") and field.kind not in NUMERIC_KINDS:
        check.add(f"{where}.field", "not_numeric",
                  f"{m.agg} 需要数字字段，{m.field} 是 {field.kind}",
                  f"{m.agg} needs a number field; {m.field} is {field.kind}")
        return None
    if m.agg in ("min", "max") and field.kind not in ORDERED_KINDS:
        check.add(f"{where}.field", "not_ordered",
                  f"{m.agg} 需要数字、日期或文本字段，{m.field} 是 {field.kind}",
                  f"{m.agg} needs a number, date or text field; {m.field} is {field.kind}")
        return None
    if m.agg == "avg":
        return "money" if field.kind == "money" else "number"
    return field.kind


def _check_formula_cycles(check: _Checker, measures: list[CompiledMeasure]) -> None:
    formulas = {m.key: m.formula for m in measures if m.formula}
    index = {m.key: i for i, m in enumerate(check.spec.measures)}

    def visit(key: str, trail: tuple[str, ...]) -> bool:
        if key in trail:
            return False
        formula = formulas.get(key)
        return formula is None or all(visit(n, (*trail, key)) for n in formula.names)

    for key in formulas:
        if not visit(key, ()):
            check.add(f"measures[{index[key]}].expr", "formula_cycle",
                      f"度量公式循环引用：{key}", f"the measure formula refers to itself: {key}")


def _check_chart_and_sort(check: _Checker, spec: ReportSpec) -> None:
    dims = {d.key for d in spec.dimensions}
    measures = {m.key for m in spec.measures}
    chart = spec.chart
    for name, value in (("x", chart.x), ("series", chart.series)):
        if value is not None and value not in dims:
            check.add(f"chart.{name}", "unknown_dimension", f"图表引用了不存在的维度：{value}",
                      f"the chart names an unknown dimension: {value}")
    for i, y in enumerate(chart.y):
        if y not in measures:
            check.add(f"chart.y[{i}]", "unknown_measure", f"图表引用了不存在的度量：{y}",
                      f"the chart names an unknown measure: {y}")
    for i, s in enumerate(spec.sort):
        if s.key not in dims | measures:
            check.add(f"sort[{i}].key", "unknown_sort_key", f"排序键不存在：{s.key}",
                      f"sort names an unknown dimension or measure: {s.key}")


def param_kind(spec_type: str) -> Kind:
    return _PARAM_KINDS[spec_type]


def check_chart_override(report: CompiledReport, chart: Any, path: str) -> list[Problem]:
    """Problems of a dashboard widget's chart override against its report."""
    problems: list[Problem] = []
    dims = {d.key for d in report.spec.dimensions}
    measures = {m.key for m in report.spec.measures}
    for name in ("x", "series"):
        value = getattr(chart, name)
        if value is not None and value not in dims:
            problems.append(Problem(f"{path}.{name}", "unknown_dimension", both(
                f"图表引用了不存在的维度：{value}",
                f"the chart names an unknown dimension: {value}")))
    for i, y in enumerate(chart.y or []):
        if y not in measures:
            problems.append(Problem(f"{path}.y[{i}]", "unknown_measure", both(
                f"图表引用了不存在的度量：{y}", f"the chart names an unknown measure: {y}")))
    return problems
