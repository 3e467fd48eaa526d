"""Narrow copies of the records that reports join to (PostgreSQL).

Why: a report grouping by a related record's field (`customer.region`) hashes every
live record of the related form, and on PostgreSQL a form's records lie scattered
among all the others in the one `records` table. The credit CRM's trust dashboard
joins customers in three of its statements; each read all 100,000 customers — ~37,000
pages of ~2 KB documents — to take four short fields from them, which was most of what
those statements did (bench/crm.py --scale 100000). A projection keeps, for each form
reports reach through a relation, a copy of its records holding only the fields reports
read that way (and the system columns): a few hundred bytes a record, a tenth of the
pages. The runtime keeps the copy in step with every write, in the same transaction
(runtime.store.projections), and rebuilds it when a version is published.

Which fields: `projected_fields` reads every report and dashboard of the app version
statically — dimensions, measures, filter and parameter expressions, drill paths, a
dashboard's global filters, and each widget's dimensions (a linkage click filters the
other widgets by them). A call that still reaches a field outside the copy (a filter an
integrator passes by hand) is planned again from the records themselves
(`ProjectionMiss`): the projection only ever changes how fast a report runs.

SQLite needs none: there each joined record is read by its primary key per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Table

from engines.report.compile import CompiledReport
from engines.report.spec import DashboardSpec


@dataclass(frozen=True, eq=False)
class Projection:
    """Where the narrow copies live, and the fields each projected form keeps. One per
    app version, shared by its reports (compared and hashed by identity)."""

    table: Table
    fields: Mapping[str, frozenset[str]]


class ProjectionMiss(LookupError):
    """A statement read a related field its form's projection does not hold."""


T = TypeVar("T")


def narrow_or_records(plan: Callable[[bool], T]) -> T:
    """`plan(narrow=True)`, joining the projection; planned again from the records
    (`narrow=False`) when it reads a field the projection does not hold."""
    try:
        return plan(True)
    except ProjectionMiss:
        return plan(False)


def report_reads(report: CompiledReport) -> dict[str, set[str]]:
    """Fields `report` reads through its relations, by related form."""
    spec = report.spec
    expressions = [*spec.filters, *(p.filter for p in spec.params if p.filter),
                   *(d.expr for d in spec.dimensions if d.expr),
                   *(m.where for m in spec.measures if m.where)]
    names: set[str] = {*(d.field for d in spec.dimensions if d.field),
                       *(m.field for m in spec.measures if m.field), *spec.drill}
    for source in expressions:
        names |= report.backend.names(source, report.fields, report.param_kinds)
    return _through_relations(report, names)


def _through_relations(report: CompiledReport, names: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name in names:
        found = report.resolve(name)
        if found is not None and found.relation is not None:
            out.setdefault(found.form, set()).add(found.key)
    return out


def projected_fields(reports: Iterable[CompiledReport],
                     dashboards: Iterable[tuple[DashboardSpec, Mapping[str, CompiledReport]]],
                     ) -> dict[str, frozenset[str]]:
    """The fields to keep per related form, for these reports and dashboards (each
    dashboard with its compiled reports by key)."""
    out: dict[str, set[str]] = {}

    def add(reads: Mapping[str, set[str]]) -> None:
        for form, keys in reads.items():
            out.setdefault(form, set()).update(keys)

    for report in reports:
        add(report_reads(report))
    for spec, by_key in dashboards:
        widgets = [by_key[w.report] for w in spec.widgets if w.report in by_key]
        names = {f.field for f in spec.filters}
        for report in widgets:  # what a linkage click on a widget filters the others by
            names |= {d.field for d in report.spec.dimensions if d.field}
            names |= set(report.spec.drill)
        for report in widgets:
            add(_through_relations(report, names))
    return {form: frozenset(keys) for form, keys in sorted(out.items())}
