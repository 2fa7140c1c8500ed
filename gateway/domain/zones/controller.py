from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.domain.zones.service import ZoneService
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.participants import GridNodePage, GridZone, GridZoneCreate

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size")]


class ZoneController(Controller):
    path = "/v1/grid-zones"
    tags = ("grid-zones",)
    security = SECURITY

    @post("/", operation_id="createGridZone", status_code=201, responses=problems(409, 415, 422))
    async def create(
        self,
        data: JSONBody[GridZoneCreate],
        caller: NamedDependency[Caller],
        zones: NamedDependency[ZoneService],
    ) -> GridZone:
        """Create a zone with its nodes: a DSO for itself, the market operator for a DSO."""
        return await zones.create(caller, data)

    @get("/", operation_id="listGridZones", responses=problems())
    async def list_zones(
        self, caller: NamedDependency[Caller], zones: NamedDependency[ZoneService]
    ) -> list[GridZone]:
        """A DSO sees its own zones; the other roles see all zones."""
        return await zones.list_visible(caller)

    @get("/{zone_id:str}", operation_id="getGridZone", responses=problems(404))
    async def get_zone(
        self, zone_id: Id, caller: NamedDependency[Caller], zones: NamedDependency[ZoneService]
    ) -> GridZone:
        return await zones.get(caller, zone_id)

    @get("/{zone_id:str}/nodes", operation_id="listGridNodes", responses=problems(404))
    async def list_nodes(
        self,
        zone_id: Id,
        caller: NamedDependency[Caller],
        zones: NamedDependency[ZoneService],
        cursor: Annotated[str | None, QueryParameter(name="cursor", max_length=400)] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> GridNodePage:
        items, next_cursor = await zones.nodes(caller, zone_id, cursor, limit)
        return GridNodePage(items=items, next_cursor=next_cursor)
