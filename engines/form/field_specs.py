"""The field models of a form definition: one pydantic model per field type.

Fields are a discriminated union on `type`, one model per field type of the catalogue
(DESIGN §6). Every field shares the properties of `BaseField`; type-specific settings
live on the subclasses. Subform rows hold the same field types except subforms
(no nesting, as Jiandaoyun and Mingdao), auto-numbers and system fields (those
belong to the record, not to a row). `engines.form.spec` re-exports all of them.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from engines.common import Key, Label, StrictModel

Expr = Annotated[str, Field(min_length=1, max_length=4000)]
"""An expression in Loom's expression language (engines.expr)."""

HexColor = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")]


class ValidationSpec(StrictModel):
    """A custom check: `expr` must be true, else `message` is reported."""

    expr: Expr
    message: Label
    when: Expr | None = None  # only checked when this is true


class OptionSpec(StrictModel):
    """One choice of a select/radio/multiselect/checkbox field."""

    value: Annotated[str, Field(min_length=1, max_length=200)]
    label: Label
    color: HexColor | None = None


class LinkageSpec(StrictModel):
    """Data linkage (数据联动): a default pulled from another form by a condition.

    `where` is an expression over the other form's fields; `record.x` names this
    form's value, e.g. `{"form": "product", "where": "code == record.product_code",
    "field": "price"}`. Runtime resolves it through `LinkageResolver`.
    """

    form: Key
    where: Expr
    field: Key


class BaseField(StrictModel):
    """Properties every field type has (FORMATS.md names)."""

    key: Key
    label: Label
    help: Label | None = None
    placeholder: Label | None = None
    required: bool = False
    required_when: Expr | None = None
    visible_when: Expr | None = None
    read_only: bool = False
    read_only_when: Expr | None = None
    when_hidden: Literal["clear", "keep"] = "clear"
    """What the server does with the value of a field whose visible_when is false."""
    default: Any = None
    default_expr: Expr | None = None
    linkage: LinkageSpec | None = None
    unique: bool = False
    indexed: bool = False
    validations: list[ValidationSpec] = Field(default_factory=list)


class _TextLike(BaseField):
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    pattern: Annotated[str, Field(max_length=1000)] | None = None
    """A regular expression (RE2 syntax) the whole value must match."""


class TextField(_TextLike):
    type: Literal["text"]


class TextareaField(_TextLike):
    type: Literal["textarea"]


class RichTextField(BaseField):
    """HTML from the editor; stored as given, length-limited (sanitising is the UI's
    and the renderer's job: stored HTML is never trusted)."""

    type: Literal["richtext"]
    max_length: Annotated[int, Field(ge=1, le=10_000_000)] | None = None


class EmailField(BaseField):
    type: Literal["email"]
    max_length: Annotated[int, Field(ge=3, le=320)] | None = None


class UrlField(BaseField):
    type: Literal["url"]
    max_length: Annotated[int, Field(ge=8, le=8000)] | None = None


class PhoneField(BaseField):
    """Mainland China numbers: `mobile` (11 digits, 1[3-9]…), `landline`
    (area code + number, optional extension) or `any` of the two."""

    type: Literal["phone"]
    kind: Literal["mobile", "landline", "any"] = "any"


class UsccField(BaseField):
    """Unified social credit code (统一社会信用代码), GB 32100-2015 check character."""

    type: Literal["uscc"]


class ResidentIdField(BaseField):
    """Resident identity card number (居民身份证号码), GB 11643-1999 check digit."""

    type: Literal["resident_id"]


class NumberField(BaseField):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    precision: Annotated[int, Field(ge=0, le=10)] | None = None
    """Decimal places kept; values are rounded half-up to it."""


class IntegerField(BaseField):
    type: Literal["integer"]
    min: int | None = None
    max: int | None = None


class MoneyField(BaseField):
    """Exact decimal amount, stored as a decimal string ("1200.50")."""

    type: Literal["money"]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    precision: Annotated[int, Field(ge=0, le=6)] = 2
    min: Decimal | None = None
    max: Decimal | None = None


class PercentField(BaseField):
    """A ratio stored as a number (0.25 means 25%); the UI shows it times 100."""

    type: Literal["percent"]
    min: float | None = None
    max: float | None = None
    precision: Annotated[int, Field(ge=0, le=10)] | None = None


class DateField(BaseField):
    type: Literal["date"]
    min: date | None = None
    max: date | None = None


class DateTimeField(BaseField):
    type: Literal["datetime"]
    min: datetime | None = None
    max: datetime | None = None


class TimeField(BaseField):
    type: Literal["time"]
    min: time | None = None
    max: time | None = None


class _SingleChoice(BaseField):
    options: list[OptionSpec] = Field(min_length=1, max_length=1000)


class _MultiChoice(BaseField):
    options: list[OptionSpec] = Field(min_length=1, max_length=1000)
    min_items: Annotated[int, Field(ge=0)] | None = None
    max_items: Annotated[int, Field(ge=1)] | None = None


class SelectField(_SingleChoice):
    type: Literal["select"]


class RadioField(_SingleChoice):
    type: Literal["radio"]


class MultiSelectField(_MultiChoice):
    type: Literal["multiselect"]


class CheckboxField(_MultiChoice):
    """A group of check boxes (复选框组): several options, like multiselect."""

    type: Literal["checkbox"]


class BooleanField(BaseField):
    """A switch: true or false."""

    type: Literal["boolean"]


class AddressField(BaseField):
    """Province / city / district from the bundled region table, plus a detail line.

    `level` is how deep the choice must go to be complete.
    """

    type: Literal["address"]
    level: Literal["province", "city", "district"] = "district"
    detail: bool = True
    """Whether a street-level detail line is asked for (required when `required`)."""


class LocationField(BaseField):
    """A point (lat/lng, WGS-84) with an optional address text; optionally it must
    lie within `radius_m` metres of `center` (geo check-in)."""

    type: Literal["location"]
    center: tuple[float, float] | None = None
    radius_m: Annotated[float, Field(gt=0)] | None = None


class _FileLike(BaseField):
    max_files: Annotated[int, Field(ge=1, le=100)] = 10
    max_size: Annotated[int, Field(ge=1)] | None = None
    """Largest size of one file in bytes."""
    accept: list[Annotated[str, Field(pattern=r"^[a-z]+/([a-z0-9.+-]+|\*)$")]] = Field(
        default_factory=list)
    """Allowed content types (`image/*` style wildcards); empty means any."""


class AttachmentField(_FileLike):
    type: Literal["attachment"]


class ImageField(_FileLike):
    type: Literal["image"]


class SignatureField(_FileLike):
    type: Literal["signature"]
    max_files: Annotated[int, Field(ge=1, le=1)] = 1


class RatingField(BaseField):
    type: Literal["rating"]
    max: Annotated[int, Field(ge=1, le=10)] = 5
    allow_half: bool = False


class UserField(BaseField):
    """Member(s) of the organisation, stored as user keys."""

    type: Literal["user"]
    multiple: bool = False


class DepartmentField(BaseField):
    """Department(s), stored as department keys."""

    type: Literal["department"]
    multiple: bool = False


class RelationField(BaseField):
    """A link to record(s) of another form of the same app, stored as id string(s)."""

    type: Literal["relation"]
    form: Key
    multiple: bool = False
    filter: Expr | None = None
    """Which records may be chosen: an expression over the other form, `record.x`
    being this form (checked by runtime, which owns the store)."""
    display: Key | None = None
    """The other form's field shown for a linked record (its title by default)."""


class LookupField(BaseField):
    """A value of the related record, through a relation field of this form.

    `copy` stores the value at write time (a snapshot, e.g. the price when ordered);
    `follow` is resolved live when read and stores nothing.
    """

    type: Literal["lookup"]
    through: Key
    field: Key
    mode: Literal["copy", "follow"] = "copy"


class FormulaField(BaseField):
    """Computed on every write from `expr`, in dependency order."""

    type: Literal["formula"]
    expr: Expr
    result: Literal["number", "integer", "money", "text", "date", "datetime",
                    "boolean"] | None = None
    """The stored type; inferred from the expression when omitted."""
    precision: Annotated[int, Field(ge=0, le=10)] | None = None


class AutoNumberField(BaseField):
    """A running number (流水号) such as `TK-{YYYY}{MM}-{0000}`.

    Tokens: {YYYY} {YY} {MM} {DD} (the date of creation, deployment time zone) and a
    counter {0…0} whose width is the number of zeros (1-12). The counter restarts each
    `reset` period. The store assigns the number; see `autonumber.py`.
    """

    type: Literal["autonumber"]
    pattern: Annotated[str, Field(min_length=1, max_length=100)]
    reset: Literal["never", "year", "month", "day"] = "never"
    start: Annotated[int, Field(ge=0)] = 1


class CreatedByField(BaseField):
    type: Literal["created_by"]


class CreatedAtField(BaseField):
    type: Literal["created_at"]


class UpdatedByField(BaseField):
    type: Literal["updated_by"]


class UpdatedAtField(BaseField):
    type: Literal["updated_at"]


RowFieldSpec = Annotated[
    TextField | TextareaField | RichTextField | EmailField | UrlField | PhoneField
    | UsccField | ResidentIdField | NumberField | IntegerField | MoneyField | PercentField
    | DateField | DateTimeField | TimeField | SelectField | RadioField | MultiSelectField
    | CheckboxField | BooleanField | AddressField | LocationField | AttachmentField
    | ImageField | SignatureField | RatingField | UserField | DepartmentField
    | RelationField | LookupField | FormulaField,
    Field(discriminator="type"),
]
"""A field of a subform row."""


class SubformField(BaseField):
    """Detail rows (子表单) with their own fields, validations and formulas.

    Row formulas see the row's fields by name and the parent's as `record.x`; the
    parent sees a column as a list (`SUM(lines.subtotal)`).
    """

    type: Literal["subform"]
    fields: list[RowFieldSpec] = Field(min_length=1, max_length=200)
    min_rows: Annotated[int, Field(ge=0)] | None = None
    max_rows: Annotated[int, Field(ge=1, le=10_000)] | None = 1000
    row_validations: list[ValidationSpec] = Field(default_factory=list)


FieldSpec = Annotated[
    TextField | TextareaField | RichTextField | EmailField | UrlField | PhoneField
    | UsccField | ResidentIdField | NumberField | IntegerField | MoneyField | PercentField
    | DateField | DateTimeField | TimeField | SelectField | RadioField | MultiSelectField
    | CheckboxField | BooleanField | AddressField | LocationField | AttachmentField
    | ImageField | SignatureField | RatingField | UserField | DepartmentField
    | RelationField | LookupField | FormulaField | AutoNumberField | SubformField
    | CreatedByField | CreatedAtField | UpdatedByField | UpdatedAtField,
    Field(discriminator="type"),
]
"""Any field of a form, chosen by its `type`."""

AnyField = (
    TextField | TextareaField | RichTextField | EmailField | UrlField | PhoneField
    | UsccField | ResidentIdField | NumberField | IntegerField | MoneyField | PercentField
    | DateField | DateTimeField | TimeField | SelectField | RadioField | MultiSelectField
    | CheckboxField | BooleanField | AddressField | LocationField | AttachmentField
    | ImageField | SignatureField | RatingField | UserField | DepartmentField
    | RelationField | LookupField | FormulaField | AutoNumberField | SubformField
    | CreatedByField | CreatedAtField | UpdatedByField | UpdatedAtField
)
"""The same union without the discriminator annotation, for type hints."""
