from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from gateway.auth.caller import Caller
from gateway.domain.assets.service import AssetService
from gateway.http.openapi import SECURITY, problems
from gateway.messages.common import Id
from gateway.messages.participants import (
    FlexAsset,
    FlexAssetCreate,
    Prequalification,
    PrequalificationDecision,
)


class AssetController(Controller):
    path = "/v1/flex-assets"
    tags = ("flex-assets",)
    security = SECURITY

    @post("/", operation_id="registerFlexAsset", status_code=201, responses=problems(409, 415, 422))
    async def register(
        self,
        data: JSONBody[FlexAssetCreate],
        caller: NamedDependency[Caller],
        assets: NamedDependency[AssetService],
    ) -> FlexAsset:
        """An aggregator or ESP registers an asset at a node; it waits for prequalification."""
        return await assets.register(caller, data)

    @get("/", operation_id="listFlexAssets", responses=problems())
    async def list_assets(
        self,
        caller: NamedDependency[Caller],
        assets: NamedDependency[AssetService],
        zone_id: Annotated[Id | None, QueryParameter(name="zone_id")] = None,
        prequalification: Annotated[
            Prequalification | None, QueryParameter(name="prequalification")
        ] = None,
    ) -> list[FlexAsset]:
        """Owners see their assets, a DSO those in its zones, the market operator all."""
        return await assets.list_visible(caller, zone_id, prequalification)

    @get("/{asset_id:str}", operation_id="getFlexAsset", responses=problems(404))
    async def get_asset(
        self, asset_id: Id, caller: NamedDependency[Caller], assets: NamedDependency[AssetService]
    ) -> FlexAsset:
        return await assets.get(caller, asset_id)

    @post(
        "/{asset_id:str}/prequalification",
        operation_id="decideFlexAssetPrequalification",
        status_code=200,
        responses=problems(404, 409, 415, 422),
    )
    async def decide(
        self,
        asset_id: Id,
        data: JSONBody[PrequalificationDecision],
        caller: NamedDependency[Caller],
        assets: NamedDependency[AssetService],
    ) -> FlexAsset:
        """The zone's DSO confirms or rejects the asset (once)."""
        return await assets.decide(caller, asset_id, data)
