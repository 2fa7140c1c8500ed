"""REST for a zone's grid models: upload (201 now or 202 as a job), versions, nodes, lines,
and exports as CGMES (zip) or pandapower JSON. `latest` works wherever a version goes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.grid_models.service import GridModelService
from gateway.domain.grid_models.upload import read_upload, require_upload_body
from gateway.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.http.hooks import PrettyResponse
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.grid_models import (
    GridModelDetail,
    GridModelPage,
    GridModelUploaded,
    ModelLinePage,
    ModelNodePage,
)
from gateway.messages.jobs import Job
from gateway.messages.problems import ProblemDetails

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, QueryParameter(name="cursor", max_length=400)]
Version = Annotated[
    str,
    Parameter(
        max_length=12,
        pattern=r"^([1-9][0-9]{0,9}|latest)$",
        description="A version number (1, 2, ...) or `latest`",
    ),
]


def _problem(status: int, description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetails,
        description=description,
        media_type="application/problem+json",
        generate_examples=False,
    )


_UPLOAD_RESPONSES: dict[int, ResponseSpec] = {
    **problems(404, 415, 422),
    202: ResponseSpec(
        data_container=Job,
        description="A large model: imported as a job; Location is the job's URL",
        generate_examples=False,
    ),
    413: _problem(413, "The upload exceeds the size limit, or a zip expands beyond its limits"),
    503: _problem(503, "The import worker stopped unexpectedly"),
}


@dataclass
class _UploadOperation(Operation):
    """The upload's body is files, not JSON: documented here since no Struct describes it."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=cast(Any, "binary"))
        self.request_body = RequestBody(
            required=True,
            description=(
                "CGMES 2.4.15 / CIM16 XML files (EQ, TP, SSH, SV, ...) or one zip of them, as "
                "multipart file parts (an optional `name` field names the model), or one zip "
                "as the whole body (`?name=` names the model)."
            ),
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={
                            "files": Schema(type=OpenAPIType.ARRAY, items=binary),
                            "name": Schema(type=OpenAPIType.STRING, max_length=200),
                        },
                        required=["files"],
                    )
                ),
                "application/zip": OpenAPIMediaType(schema=binary),
            },
        )


class GridModelController(Controller):
    path = "/v1/grid-zones/{zone_id:str}/models"
    tags = ("grid-models",)
    security = SECURITY

    @post(
        "/",
        operation_id="uploadGridModel",
        status_code=201,
        responses=_UPLOAD_RESPONSES,
        before_request=require_upload_body,
        operation_class=_UploadOperation,
    )
    async def upload(
        self,
        zone_id: Id,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
        upload_limit_bytes: NamedDependency[int],
    ) -> Response[GridModelUploaded]:
        """Upload the zone's network as CGMES: each upload is a new version (201), a large one
        is imported as a job (202 with the job's URL). Bad CIM input gets a 422 whose `errors`
        name the file, object mRID and attribute; nothing of it is stored."""
        upload = await read_upload(request, upload_limit_bytes)
        result = await grid_models.upload(caller, zone_id, upload)
        if isinstance(result, Job):
            accepted = PrettyResponse(
                result, status_code=202, headers={"Location": f"/v1/jobs/{result.id}"}
            )
            return cast(Response[GridModelUploaded], accepted)
        location = f"/v1/grid-zones/{zone_id}/models/{result.version}"
        return PrettyResponse(result, status_code=201, headers={"Location": location})

    @get("/", operation_id="listGridModels", responses=problems(404))
    async def list_versions(
        self,
        zone_id: Id,
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> GridModelPage:
        """The zone's model versions, newest first."""
        items, next_cursor = await grid_models.versions(caller, zone_id, cursor, limit)
        return GridModelPage(items=items, next_cursor=next_cursor)

    @get("/{version:str}", operation_id="getGridModel", responses=problems(404))
    async def get_version(
        self,
        zone_id: Id,
        version: Version,
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
    ) -> GridModelDetail:
        """Summary of one version: counts per class, voltage levels, the import's findings."""
        return await grid_models.get(caller, zone_id, version)

    @get("/{version:str}/nodes", operation_id="listGridModelNodes", responses=problems(404))
    async def list_nodes(
        self,
        zone_id: Id,
        version: Version,
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ModelNodePage:
        """The model's buses (topological nodes) by mRID, with their connectivity nodes."""
        items, next_cursor = await grid_models.nodes(caller, zone_id, version, cursor, limit)
        return ModelNodePage(items=items, next_cursor=next_cursor)

    @get("/{version:str}/lines", operation_id="listGridModelLines", responses=problems(404))
    async def list_lines(
        self,
        zone_id: Id,
        version: Version,
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ModelLinePage:
        """The model's AC line segments by mRID (the zone's DSO and the market operator)."""
        items, next_cursor = await grid_models.lines(caller, zone_id, version, cursor, limit)
        return ModelLinePage(items=items, next_cursor=next_cursor)

    @get(
        "/{version:str}/export",
        operation_id="exportGridModel",
        responses=problems(404, 503),
        media_type="application/octet-stream",
    )
    async def export(
        self,
        zone_id: Id,
        version: Version,
        caller: NamedDependency[Caller],
        grid_models: NamedDependency[GridModelService],
        export_format: Annotated[
            Literal["cgmes", "pandapower"], QueryParameter(name="format")
        ] = "cgmes",
    ) -> Response[bytes]:
        """CGMES as a zip of EQ, TP, SSH and SV (SV from an AC power flow of the model), or
        pandapower JSON (the zone's DSO and the market operator)."""
        content, media_type, filename = await grid_models.export(
            caller, zone_id, version, export_format
        )
        return Response(
            content,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
