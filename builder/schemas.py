"""JSON Schemas of the definition files, generated from the spec models, so editors
(and the designer UI) can check a definition as it is typed."""

from __future__ import annotations

from typing import Any

from builder.app_spec import AppSpec
from builder.kinds import KINDS, spec_class


def definition_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"app": _schema(AppSpec.model_json_schema(), "app")}
    for kind in KINDS:
        out[kind] = _schema(spec_class(kind).model_json_schema(), kind)
    return out


def _schema(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://loom.dev/schema/{kind}.json", **schema}
