"""The form definition as written in `forms/<key>.json` (FORMATS.md).

This module is only the *shape* of a form: pydantic models that parse the file, refuse
unknown keys and say where a definition is malformed. Meaning (expressions that
compile, keys that exist, a formula graph without cycles, settings that apply to a
type) is checked by `engines.form.compile.compile_form`, which reports every problem
at once with a JSON path, a code and a zh/en message.

The field models live in `engines.form.field_specs` and are re-exported here, so
`from engines.form.spec import FormSpec, TextField` keeps working.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from engines.common import Key, Label, StrictModel, Versioned
from engines.form.field_specs import (
    AddressField,
    AnyField,
    AttachmentField,
    AutoNumberField,
    BaseField,
    BooleanField,
    CheckboxField,
    CreatedAtField,
    CreatedByField,
    DateField,
    DateTimeField,
    DepartmentField,
    EmailField,
    Expr,
    FieldSpec,
    FormulaField,
    HexColor,
    ImageField,
    IntegerField,
    LinkageSpec,
    LocationField,
    LookupField,
    MoneyField,
    MultiSelectField,
    NumberField,
    OptionSpec,
    PercentField,
    PhoneField,
    RadioField,
    RatingField,
    RelationField,
    ResidentIdField,
    RichTextField,
    RowFieldSpec,
    SelectField,
    SignatureField,
    SubformField,
    TextareaField,
    TextField,
    TimeField,
    UpdatedAtField,
    UpdatedByField,
    UrlField,
    UsccField,
    UserField,
    ValidationSpec,
)


class SectionLayout(StrictModel):
    """A titled group of fields shown in `columns` columns."""

    section: Label
    columns: Annotated[int, Field(ge=1, le=4)] = 1
    fields: list[Key] = Field(default_factory=list)
    help: Label | None = None
    collapsed: bool = False


class TabLayout(StrictModel):
    tab: Label
    sections: list[SectionLayout] = Field(min_length=1)


class TabsLayout(StrictModel):
    """Tabs, each holding sections."""

    tabs: list[TabLayout] = Field(min_length=1)


LayoutItem = SectionLayout | TabsLayout


class RolePermission(StrictModel):
    """What one role may do with this form's records and fields (DESIGN §7)."""

    create: bool = False
    read: bool = False
    update: bool = False
    delete: bool = False
    export: bool = False
    import_: bool = Field(default=False, alias="import")
    rows: Literal["all", "own", "department", "department_tree"] = "all"
    hidden: list[Key] = Field(default_factory=list)
    read_only: list[Key] = Field(default_factory=list)


class FormSpec(Versioned):
    """`forms/<key>.json`: the fields, layout and checks of one form."""

    key: Key
    name: Label
    description: Label | None = None
    icon: Annotated[str, Field(max_length=64)] | None = None
    title: Expr | None = None
    """How a record is named in lists and relation pickers (an expression)."""
    fields: list[FieldSpec] = Field(min_length=1, max_length=500)
    validations: list[ValidationSpec] = Field(default_factory=list)
    layout: list[LayoutItem] = Field(default_factory=list)
    permissions: dict[Key, RolePermission] = Field(default_factory=dict)
    """Per role key; the runtime's permission service reads it."""

    def field(self, key: str) -> AnyField | None:
        """The top-level field named `key`, if any."""
        for field in self.fields:
            if field.key == key:
                return field
        return None


SYSTEM_FIELDS: tuple[str, ...] = (
    "id", "created_at", "created_by", "updated_at", "updated_by", "owner",
    "department", "version",
)
"""Names every record has (FORMATS.md); a form field may not reuse them, except the
created/updated field types which show the system value under its own name."""

__all__ = [
    "SYSTEM_FIELDS",
    "AddressField",
    "AnyField",
    "AttachmentField",
    "AutoNumberField",
    "BaseField",
    "BooleanField",
    "CheckboxField",
    "CreatedAtField",
    "CreatedByField",
    "DateField",
    "DateTimeField",
    "DepartmentField",
    "EmailField",
    "Expr",
    "FieldSpec",
    "FormSpec",
    "FormulaField",
    "HexColor",
    "ImageField",
    "IntegerField",
    "LayoutItem",
    "LinkageSpec",
    "LocationField",
    "LookupField",
    "MoneyField",
    "MultiSelectField",
    "NumberField",
    "OptionSpec",
    "PercentField",
    "PhoneField",
    "RadioField",
    "RatingField",
    "RelationField",
    "ResidentIdField",
    "RichTextField",
    "RolePermission",
    "RowFieldSpec",
    "SectionLayout",
    "SelectField",
    "SignatureField",
    "SubformField",
    "TabLayout",
    "TabsLayout",
    "TextField",
    "TextareaField",
    "TimeField",
    "UpdatedAtField",
    "UpdatedByField",
    "UrlField",
    "UsccField",
    "UserField",
    "ValidationSpec",
]
