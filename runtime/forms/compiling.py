"""Compile one form of a published bundle (cached by the app registry)."""

from __future__ import annotations

from typing import Any, cast

from builder.bundle import Bundle
from engines.form.compile import compile_form
from engines.form.compiled import CompiledForm
from engines.form.spec import FormSpec


def app_forms(bundle: Bundle) -> dict[str, FormSpec]:
    return {k: cast(FormSpec, v) for k, v in bundle.of("forms").items()}


def compile_app_form(bundle: Bundle, spec: Any) -> CompiledForm:
    return compile_form(spec, forms=app_forms(bundle))
