"""The kinds of definition file in a bundle and the spec model that parses each.

Spec models live with their engines; they are imported lazily so that loading one
kind never pays for importing every engine.
"""

from __future__ import annotations

import importlib
from functools import cache

from pydantic import BaseModel

# folder name in the bundle → (module, class)
KINDS: dict[str, tuple[str, str]] = {
    "forms": ("engines.form.spec", "FormSpec"),
    "flows": ("engines.flow.spec", "FlowSpec"),
    "rules": ("engines.rule.spec", "RuleSpec"),
    "reports": ("engines.report.spec", "ReportSpec"),
    "dashboards": ("engines.report.spec", "DashboardSpec"),
}

SINGULAR = {"forms": "form", "flows": "flow", "rules": "rule", "reports": "report",
            "dashboards": "dashboard"}


@cache
def spec_class(kind: str) -> type[BaseModel]:
    module, name = KINDS[kind]
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise TypeError(f"{module}.{name} is not a pydantic model")
    return cls
