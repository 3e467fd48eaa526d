"""Records over HTTP. Thin: parse the request, call the service in one transaction,
shape the response (ETag = the record's version; If-Match guards writes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status

from runtime.api.deps import ActorDep, CtxDep, LangDep, unit_of_work
from runtime.api.schemas import History, Record, RecordPage, errors
from runtime.errors import BadRequest
from runtime.records import query, service

router = APIRouter(tags=["records"])

BASE = "/apps/{app}/forms/{form}"


def _if_match(value: str | None) -> int | None:
    """The version an If-Match header asks for ('"3"', 'W/"3"', '3'), None for '*'."""
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise BadRequest("If-Match 必须是记录的版本号", "If-Match must be the record's version",
                         code="bad_if_match")
    return int(text)


def _etag(record: dict[str, Any]) -> str:
    return f'"{record["version"]}"'


@router.get(BASE, responses=errors(404))
def get_form(app: str, form: str, ctx: CtxDep, _actor: ActorDep, lang: LangDep
             ) -> dict[str, Any]:
    """The compiled form: JSON Schema, layout and fields, for the UI."""
    from runtime.forms import adapter

    with unit_of_work(ctx) as conn:
        capp = ctx.apps.current(conn, app)
        return adapter.describe(capp, capp.form(form), lang)


@router.post(BASE + "/records", status_code=status.HTTP_201_CREATED, response_model=Record,
             responses=errors(400, 404, 409))
def create_record(app: str, form: str, ctx: CtxDep, actor: ActorDep, lang: LangDep,
                  response: Response,
                  data: Annotated[dict[str, Any], Body(description="field values")]
                  ) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        record = service.create(conn, ctx, app=app, form=form, data=data, actor=actor,
                                lang=lang)
    response.headers["ETag"] = _etag(record)
    response.headers["Location"] = f"/api/v1/apps/{app}/forms/{form}/records/{record['id']}"
    return record


@router.get(BASE + "/records", response_model=RecordPage, responses=errors(400, 404))
def list_records(
    app: str, form: str, ctx: CtxDep, actor: ActorDep, lang: LangDep,
    filter: Annotated[str | None, Query(max_length=4000,
                                        description="an expression, e.g. amount > 1000")] = None,
    sort: Annotated[str | None, Query(max_length=500, description="-f1,f2")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return query.list_records(conn, ctx, app=app, form=form, filter_expr=filter,
                                  sort=sort, limit=limit, cursor=cursor, actor=actor,
                                  lang=lang)


@router.get(BASE + "/records/{record_id}", response_model=Record, responses=errors(404))
def get_record(app: str, form: str, record_id: str, ctx: CtxDep, _actor: ActorDep,
               response: Response) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        record = service.get(conn, ctx, app=app, form=form, record_id=record_id)
    response.headers["ETag"] = _etag(record)
    return record


@router.patch(BASE + "/records/{record_id}", response_model=Record,
              responses=errors(400, 404, 409, 412))
def patch_record(app: str, form: str, record_id: str, ctx: CtxDep, actor: ActorDep,
                 lang: LangDep, response: Response,
                 data: Annotated[dict[str, Any], Body(description="fields to change")],
                 if_match: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    expected = _if_match(if_match)
    with unit_of_work(ctx) as conn:
        record = service.update_record(conn, ctx, app=app, form=form, record_id=record_id,
                                       patch=data, actor=actor, expected_version=expected,
                                       lang=lang)
    response.headers["ETag"] = _etag(record)
    return record


@router.delete(BASE + "/records/{record_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(400, 404, 412))
def delete_record(app: str, form: str, record_id: str, ctx: CtxDep, actor: ActorDep,
                  if_match: Annotated[str | None, Header()] = None) -> Response:
    expected = _if_match(if_match)
    with unit_of_work(ctx) as conn:
        service.delete_record(conn, ctx, app=app, form=form, record_id=record_id,
                              actor=actor, expected_version=expected)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(BASE + "/records/{record_id}/history", response_model=History,
            responses=errors(404))
def record_history(app: str, form: str, record_id: str, ctx: CtxDep,
                   _actor: ActorDep) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return service.get_history(conn, ctx, app=app, form=form, record_id=record_id)
