"""Report and dashboard definitions as written (`reports/<key>.json`,
`dashboards/<key>.json`, FORMATS.md).

These models only check the *shape* of a definition (keys, kinds, one-of rules that
need no other file). Everything that needs the form definitions — does `amount`
exist, is it a number, does `late / tickets` name measures — is checked by
`engines.report.compile.compile_report`, which reports every problem at once with
its JSON path, as the bundle checker expects.

Why these choices:
- A dimension is a field path (`customer.region`, through a relation named in
  `joins`), optionally bucketed (`day|week|month|quarter|year`), or an expression.
- A measure is either an aggregate (`agg` over `field`, optionally restricted by
  `where`), a ratio of two other measures (`agg: "ratio"` with `numerator` and
  `denominator`), or a formula over other measures (`expr`, e.g. `late / tickets`).
- A dashboard widget's `chart` overrides only the keys it sets on the report's own
  chart, so `{"type": "kpi", "y": ["late_rate"]}` keeps everything else.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from engines.common import Key, Label, StrictModel, Versioned

Bucket = Literal["day", "week", "month", "quarter", "year"]
Agg = Literal["count", "distinct_count", "sum", "avg", "min", "max", "ratio"]
ChartType = Literal[
    "table", "pivot", "bar", "stacked_bar", "line", "area", "pie", "funnel", "kpi",
    "gauge",
]
ParamType = Literal[
    "text", "number", "integer", "money", "date", "datetime", "boolean", "select",
]
MeasureFormat = Literal["number", "integer", "money", "percent"]

MAX_LIMIT = 100_000
"""No report asks the database for more aggregated rows than this."""

FieldPath = str
"""`field` or `relation.field` (a field of the related form through a join)."""


class Join(StrictModel):
    """Bring a related form in through a relation field of the source form."""

    relation: Key


class Param(StrictModel):
    """A value the viewer sets (a date range end, a region); bound as a parameter.

    `filter` is an expression over the source fields and the parameter's key; it is
    applied when the parameter has a value (given, `default`, or `default_expr`).
    """

    key: Key
    type: ParamType = "text"
    label: Label | None = None
    default: Any = None
    default_expr: str | None = None
    filter: str | None = None
    required: bool = False
    options: list[Any] | None = None


class Dimension(StrictModel):
    key: Key
    label: Label | None = None
    field: FieldPath | None = None
    bucket: Bucket | None = None
    expr: str | None = None

    @model_validator(mode="after")
    def _field_or_expr(self) -> Dimension:
        if (self.field is None) == (self.expr is None):
            raise ValueError("a dimension has exactly one of field or expr")
        if self.bucket is not None and self.field is None:
            raise ValueError("bucket applies to a field")
        return self


class Measure(StrictModel):
    key: Key
    label: Label | None = None
    agg: Agg | None = None
    field: FieldPath | None = None
    where: str | None = None
    expr: str | None = None
    numerator: Key | None = None
    denominator: Key | None = None
    format: MeasureFormat | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)

    @model_validator(mode="after")
    def _one_kind(self) -> Measure:
        if (self.agg is None) == (self.expr is None):
            raise ValueError("a measure has exactly one of agg or expr")
        if self.agg == "ratio":
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio measure names its numerator and denominator")
            if self.field or self.where:
                raise ValueError("a ratio measure takes no field or where")
        elif self.numerator or self.denominator:
            raise ValueError("numerator and denominator belong to agg 'ratio'")
        if self.agg in ("sum", "avg", "min", "max", "distinct_count") and not self.field:
            raise ValueError(f"agg '{self.agg}' needs a field")
        if self.expr is not None and (self.field or self.where):
            raise ValueError("a formula measure takes no field or where")
        return self

    @property
    def is_formula(self) -> bool:
        return self.expr is not None or self.agg == "ratio"


class SortKey(StrictModel):
    key: Key
    desc: bool = False


class ChartSpec(StrictModel):
    """How the result is drawn. `x` and `series` name dimensions, `y` measures.

    For `pivot`, `x` gives the row dimension(s) (the dimensions not used as `series`)
    and `series` the column dimension. A `kpi` compares the last period of the
    report's date-bucketed dimension with the one before when `compare` is
    `previous_period`. `gauge` uses `min`/`max`.
    """

    type: ChartType = "table"
    x: Key | None = None
    series: Key | None = None
    y: list[Key] = Field(default_factory=list)
    stacked: bool = False
    compare: Literal["previous_period", "none"] = "previous_period"
    min: float | None = None
    max: float | None = None
    title: Label | None = None


class ReportSpec(Versioned):
    key: Key
    name: Label
    description: Label | None = None
    source: Key
    joins: list[Join] = Field(default_factory=list)
    filters: list[str] = Field(default_factory=list)
    params: list[Param] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    measures: list[Measure] = Field(min_length=1)
    sort: list[SortKey] = Field(default_factory=list)
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)
    totals: bool = False
    subtotals: bool = False
    chart: ChartSpec = Field(default_factory=ChartSpec)
    drill: list[FieldPath] = Field(default_factory=list)


class DashboardFilter(StrictModel):
    """A global filter: the viewer's value restricts every widget whose source can
    reach `field` (`select`/`text`/`number`: equality, or membership for a list;
    `date_range`: `[from, to]`, both inclusive, either may be null)."""

    key: Key
    field: FieldPath
    type: Literal["select", "text", "number", "date", "date_range"] = "select"
    label: Label | None = None
    default: Any = None
    options: list[Any] | None = None
    bucket: Bucket | None = None


class ChartOverride(StrictModel):
    """The keys of `ChartSpec` a widget changes; unset keys keep the report's."""

    type: ChartType | None = None
    x: Key | None = None
    series: Key | None = None
    y: list[Key] | None = None
    stacked: bool | None = None
    compare: Literal["previous_period", "none"] | None = None
    min: float | None = None
    max: float | None = None
    title: Label | None = None

    def apply(self, base: ChartSpec) -> ChartSpec:
        changes = {k: v for k, v in self.model_dump(exclude_unset=True).items()
                   if v is not None}
        return base.model_copy(update=changes)


class Widget(StrictModel):
    """A report on the dashboard grid. `id` names it for linkage (default: its
    position, `w0`, `w1`, …); `linked` lets a click in it filter the other widgets."""

    id: Key | None = None
    report: Key
    title: Label | None = None
    chart: ChartOverride | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    linked: bool = True
    x: int = Field(default=0, ge=0)
    y: int = Field(default=0, ge=0)
    w: int = Field(default=6, ge=1, le=24)
    h: int = Field(default=4, ge=1)


class DashboardSpec(Versioned):
    key: Key
    name: Label
    description: Label | None = None
    filters: list[DashboardFilter] = Field(default_factory=list)
    widgets: list[Widget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> DashboardSpec:
        ids = self.widget_ids()
        if len(set(ids)) != len(ids):
            raise ValueError("widget ids must be unique")
        keys = [f.key for f in self.filters]
        if len(set(keys)) != len(keys):
            raise ValueError("filter keys must be unique")
        return self

    def widget_ids(self) -> list[str]:
        return [w.id or f"w{i}" for i, w in enumerate(self.widgets)]


__all__ = [
    "MAX_LIMIT",
    "Agg",
    "Bucket",
    "ChartOverride",
    "ChartSpec",
    "ChartType",
    "DashboardFilter",
    "DashboardSpec",
    "Dimension",
    "Join",
    "Measure",
    "Param",
    "ReportSpec",
    "SortKey",
    "Widget",
]
