"""`/expr`: the designer's function list, expression check and "try it" evaluation.

Mounted by the lead under /api/v1 (with auth). Errors come back as 422 with the shared
error shape, the message in the request's language and the position in `details`.
Which fields an app's form has is runtime knowledge: the `get_scope_resolver`
dependency answers it and is overridden where the app registry is wired in; without an
app/form the names are taken loosely (any name, any type) for checks, and typed from
the sample values for evaluation.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from engines.expr import (
    FUNCTIONS,
    ExprError,
    FixedEnv,
    Scope,
    T,
    compile_expr,
    fields_to_native,
    to_json,
)
from engines.expr import Field as ExprField
from engines.expr.checker import RESERVED
from runtime.api.deps import LangDep
from runtime.clock import SystemClock

router = APIRouter(prefix="/expr", tags=["expressions"])


class ScopeResolver(Protocol):
    def __call__(self, app: str, form: str) -> Scope:
        """The scope of `form` in `app`; LookupError when either is unknown."""
        ...


def _no_registry(app: str, form: str) -> Scope:
    raise LookupError(f"{app}/{form}")


def get_scope_resolver() -> ScopeResolver:
    """Overridden by the app wiring (`app.dependency_overrides`)."""
    return _no_registry


def get_expr_env() -> FixedEnv:
    """The environment "try it" evaluates in: now, the deployment zone, no other records."""
    return FixedEnv(at=SystemClock().now())


ResolverDep = Annotated[ScopeResolver, Depends(get_scope_resolver)]
EnvDep = Annotated[FixedEnv, Depends(get_expr_env)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(max_length=20_000)
    app: str | None = Field(default=None, max_length=64)
    form: str | None = Field(default=None, max_length=64)


class CheckRequest(_Body):
    expect: T | None = None


class EvalRequest(_Body):
    values: dict[str, Any] = Field(default_factory=dict)


class CheckResponse(BaseModel):
    ok: bool
    type: T
    names: list[str]


class EvalResponse(BaseModel):
    value: Any
    type: T


class FunctionsResponse(BaseModel):
    functions: list[dict[str, Any]]


class ErrorDetail(BaseModel):
    field: str | None
    code: str
    message: str
    line: int | None = None
    column: int | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    error: ErrorBody


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "The expression is refused or failed"},
    404: {"model": ErrorResponse, "description": "Unknown app or form"},
}


def _error(status: int, code: str, message: dict[str, str], lang: str,
           details: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message.get(lang) or message["en"],
                                   "details": details or []}}, status_code=status)


def _expr_error(err: ExprError, lang: str) -> JSONResponse:
    detail = {"field": "expression", "code": err.code,
              "message": err.message.get(lang) or err.message["en"],
              "line": err.line or None, "column": err.column or None}
    prefix = {"zh": "表达式有误：", "en": "The expression is refused: "}
    return _error(422, err.code, {k: prefix[k] + err.message[k] for k in prefix}, lang, [detail])


def _loose_scope(source: str) -> Scope:
    """Any name the expression uses, typed ANY (a check without a form)."""
    try:
        tree = ast.parse("(\n" + source + "\n)", mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return Scope({})
    names = {n.id: ExprField(T.ANY) for n in ast.walk(tree)
             if isinstance(n, ast.Name) and n.id not in RESERVED and not n.id.isupper()}
    return Scope(names)


def _type_of(value: Any) -> ExprField:
    if isinstance(value, bool):
        return ExprField(T.BOOLEAN)
    if isinstance(value, int):
        return ExprField(T.INTEGER)
    if isinstance(value, float):
        return ExprField(T.NUMBER)
    if isinstance(value, str):
        return ExprField(T.TEXT)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return ExprField(T.SUBFORM, {k: _type_of(v) for row in value for k, v in row.items()})
        return ExprField(T.LIST)
    return ExprField(T.ANY)


def _scope(body: _Body, resolver: ScopeResolver, lang: str,
           values: dict[str, Any] | None = None) -> Scope | JSONResponse:
    if body.app and body.form:
        try:
            return resolver(body.app, body.form)
        except LookupError:
            return _error(404, "not_found", {"zh": f"找不到表单 {body.app}/{body.form}",
                                             "en": f"Unknown form {body.app}/{body.form}"}, lang)
    if values is not None:
        loose = _loose_scope(body.expression).fields
        return Scope({**loose, **{k: _type_of(v) for k, v in values.items()}})
    return _loose_scope(body.expression)


@router.get("/functions", response_model=FunctionsResponse, summary="The function library")
def list_functions() -> FunctionsResponse:
    """Every function with its signature, zh/en description and examples (autocomplete)."""
    return FunctionsResponse(functions=[fn.to_dict() for fn in FUNCTIONS.values()])


@router.post("/check", response_model=CheckResponse, responses=_ERRORS,
             summary="Check an expression")
def check_expression(body: CheckRequest, lang: LangDep, resolver: ResolverDep) -> Any:
    """Parse and type-check; 200 with the result type, or 422 with the position."""
    scope = _scope(body, resolver, lang)
    if isinstance(scope, JSONResponse):
        return scope
    try:
        compiled = compile_expr(body.expression, scope, body.expect)
    except ExprError as err:
        return _expr_error(err, lang)
    return CheckResponse(ok=True, type=compiled.type, names=sorted(compiled.names))


@router.post("/eval", response_model=EvalResponse, responses=_ERRORS,
             summary="Evaluate an expression on sample values")
def eval_expression(body: EvalRequest, lang: LangDep, resolver: ResolverDep,
                    env: EnvDep) -> Any:
    """Evaluate on sample values (stored JSON form), under the same checks and bounds."""
    scope = _scope(body, resolver, lang, body.values)
    if isinstance(scope, JSONResponse):
        return scope
    try:
        compiled = compile_expr(body.expression, scope)
        values = fields_to_native(body.values, scope.fields)
        result = compiled.evaluate(values, env)
    except ExprError as err:
        return _expr_error(err, lang)
    return EvalResponse(value=_jsonable(to_json(result, compiled.type)), type=compiled.type)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat() if not isinstance(value, datetime) else \
            value.astimezone(UTC).isoformat()
    return value
