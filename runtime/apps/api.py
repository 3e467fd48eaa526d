"""Apps over HTTP: install (zip upload), list, get, export, publish, drafts."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Request, Response, status
from pydantic import BaseModel

from builder.bundle import load_zip
from builder.export import to_zip
from builder.problems import BundleInvalid
from runtime.api.deps import ActorDep, CtxDep, unit_of_work
from runtime.api.schemas import errors
from runtime.apps import service
from runtime.errors import BadRequest

router = APIRouter(tags=["apps"])


class AppSummary(BaseModel):
    key: str
    name: Any
    version: int | None
    semver: str | None


class Installed(BaseModel):
    key: str
    version: int


class Published(BaseModel):
    key: str
    version: int


class Definition(BaseModel):
    app: str
    kind: str
    key: str
    definition: dict[str, Any]


@router.get("/apps", response_model=list[AppSummary], responses=errors())
def list_apps(ctx: CtxDep, _actor: ActorDep) -> list[dict[str, Any]]:
    with unit_of_work(ctx) as conn:
        return service.list_apps(conn)


@router.post("/apps", response_model=Installed, status_code=status.HTTP_201_CREATED,
             responses=errors(400),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
async def install_app(request: Request, ctx: CtxDep, actor: ActorDep) -> Installed:
    """Install or upgrade an app from a zipped bundle sent as the request body."""
    content = await request.body()
    if not content:
        raise BadRequest("请上传应用包（zip）", "Send the app bundle as a zip body",
                         code="empty_body")
    try:
        bundle = load_zip(content)
    except BundleInvalid as e:
        raise service.invalid(e.problems) from None
    with unit_of_work(ctx) as conn:
        version = service.install(conn, ctx, bundle, actor=actor)
    return Installed(key=bundle.key, version=version)


@router.get("/apps/{app}", responses=errors(404))
def get_app(app: str, ctx: CtxDep, _actor: ActorDep) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return service.get_app(conn, app)


@router.get("/apps/{app}/export", responses={
    **errors(404), 200: {"content": {"application/zip": {}}, "description": "The bundle"}})
def export_app(app: str, ctx: CtxDep, _actor: ActorDep) -> Response:
    with unit_of_work(ctx) as conn:
        bundle = ctx.apps.current(conn, app).bundle
    return Response(to_zip(bundle), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{app}.zip"'})


class PublishBody(BaseModel):
    """`keep`: records written with older versions keep them and stay readable (the only
    migration offered so far; see GET /apps/{app}/publish/impact)."""

    migration: Literal["keep"] | None = None


@router.post("/apps/{app}/publish", response_model=Published, responses=errors(404, 409))
def publish(app: str, ctx: CtxDep, actor: ActorDep,
            body: PublishBody | None = Body(None)) -> Published:  # noqa: B008
    with unit_of_work(ctx) as conn:
        version = service.publish(conn, app, actor=actor, now=ctx.clock.now(),
                                  migration=body.migration if body else None, tz=ctx.tz)
    return Published(key=app, version=version)


@router.get("/apps/{app}/{kind}/{key}/definition", response_model=dict[str, Any],
            responses=errors(404))
def get_definition(app: str, kind: str, key: str, ctx: CtxDep,
                   _actor: ActorDep) -> dict[str, Any]:
    with unit_of_work(ctx) as conn:
        return service.get_draft(conn, app, kind, key)


@router.put("/apps/{app}/{kind}/{key}/definition", response_model=Definition,
            responses=errors(404))
def put_definition(app: str, kind: str, key: str, ctx: CtxDep, actor: ActorDep,
                   definition: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
    with unit_of_work(ctx) as conn:
        return service.put_draft(conn, app, kind, key, definition, actor=actor,
                                 now=ctx.clock.now())
