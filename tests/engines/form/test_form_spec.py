"""The definition shape: FORMATS.md parses, typos and wrong types are refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engines.form.spec import FormSpec, MoneyField, SubformField, TextField


def test_formats_example_parses_with_every_key(ticket_doc: dict[str, Any]) -> None:
    spec = FormSpec.model_validate(ticket_doc)
    assert spec.key == "ticket"
    assert [f.type for f in spec.fields] == [
        "autonumber", "text", "relation", "lookup", "select", "textarea", "datetime",
        "subform", "formula", "select"]
    lines = spec.field("lines")
    assert isinstance(lines, SubformField)
    price = lines.fields[2]
    assert isinstance(price, MoneyField) and price.currency == "CNY"
    assert spec.validations[0].expr == "due_at > NOW()"
    assert spec.layout[0].columns == 2  # type: ignore[union-attr]


def test_unknown_key_is_refused_with_its_location(ticket_doc: dict[str, Any]) -> None:
    ticket_doc["fields"][1]["maxlength"] = 5
    with pytest.raises(ValidationError) as caught:
        FormSpec.model_validate(ticket_doc)
    locs = [e["loc"] for e in caught.value.errors()]
    assert ("fields", 1, "text", "maxlength") in locs


def test_unknown_field_type_names_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        FormSpec.model_validate({"key": "f", "name": "F",
                                 "fields": [{"key": "a", "type": "txt", "label": "A"}]})
    assert "text" in str(caught.value)


def test_bad_key_and_schema_version_refused() -> None:
    with pytest.raises(ValidationError):
        FormSpec.model_validate({"key": "Bad-Key", "name": "F",
                                 "fields": [{"key": "a", "type": "text", "label": "A"}]})
    with pytest.raises(ValidationError):
        FormSpec.model_validate({"schema_version": 2, "key": "f", "name": "F",
                                 "fields": [{"key": "a", "type": "text", "label": "A"}]})


def test_subform_cannot_nest_subforms() -> None:
    inner = {"key": "x", "type": "subform", "label": "X",
             "fields": [{"key": "a", "type": "text", "label": "A"}]}
    with pytest.raises(ValidationError):
        FormSpec.model_validate({"key": "f", "name": "F", "fields": [
            {"key": "s", "type": "subform", "label": "S", "fields": [inner]}]})


def test_spec_is_immutable_and_has_a_json_schema() -> None:
    spec = FormSpec.model_validate({"key": "f", "name": "F",
                                    "fields": [{"key": "a", "type": "text", "label": "A"}]})
    with pytest.raises(ValidationError):
        spec.key = "g"  # type: ignore[misc]
    schema = FormSpec.model_json_schema()
    assert "fields" in schema["properties"]
    assert isinstance(spec.fields[0], TextField)


def test_permissions_accept_import_alias() -> None:
    spec = FormSpec.model_validate({
        "key": "f", "name": "F", "fields": [{"key": "a", "type": "text", "label": "A"}],
        "permissions": {"agent": {"read": True, "import": True, "rows": "own",
                                  "hidden": ["a"]}}})
    assert spec.permissions["agent"].import_ is True
