"""`app.json`: the app's identity, roles and menu (FORMATS.md)."""

from __future__ import annotations

from pydantic import Field, model_validator

from engines.common import Key, Label, StrictModel, Versioned

SEMVER = r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$"


class RoleSpec(StrictModel):
    key: Key
    name: Label
    description: Label | None = None


class MenuItem(StrictModel):
    """One entry of the app's menu: exactly one of form, dashboard, report or flow."""

    form: Key | None = None
    dashboard: Key | None = None
    report: Key | None = None
    flow: Key | None = None
    label: Label | None = None

    @model_validator(mode="after")
    def _one_target(self) -> MenuItem:
        targets = [t for t in (self.form, self.dashboard, self.report, self.flow) if t]
        if len(targets) != 1:
            raise ValueError("a menu item names exactly one of form, dashboard, report, flow")
        return self

    @property
    def target(self) -> tuple[str, str]:
        for kind in ("form", "dashboard", "report", "flow"):
            value = getattr(self, kind)
            if value:
                return kind, value
        raise AssertionError("unreachable: validated above")


class AppSpec(Versioned):
    key: Key
    name: Label
    version: str = Field(pattern=SEMVER)
    description: Label | None = None
    roles: list[RoleSpec] = Field(default_factory=list)
    menu: list[MenuItem] = Field(default_factory=list)
    icon: str | None = None
